// Several models at once: loaded, run and freed concurrently from different
// threads (heap and caller memory, both backends, one with its own worker
// pool), each must give exactly the logits it gives alone. Loads into caller
// memory run concurrently on purpose: XNNPACK's allocator hooks are process
// wide, so each thread's blocks must still land in its own pool. Assertions
// happen on the main thread (results are collected first). Meant to run under
// ThreadSanitizer too (XNNPACK and pthreadpool themselves are not
// instrumented there; rvgg and the test are).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

struct Job {
  std::vector<uint8_t> model;
  rvgg_options options{};
  bool caller_memory = false;
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<float>> expected;  // computed alone, before the threads start
  // Filled by the thread.
  std::vector<std::vector<float>> got;
  std::string error;
};

// Loads, runs every input `rounds` times, frees; returns "" or what failed.
std::string RunJob(const Job& job, int rounds, std::vector<std::vector<float>>* outputs) {
  rvgg_options o = job.options;
  void* memory = nullptr;
  rvgg_message message;
  if (job.caller_memory) {
    size_t need = 0;
    if (rvgg_model_memory_size(job.model.data(), job.model.size(), &o, &need, &message) !=
        RVGG_STATUS_OK) {
      return std::string("memory size: ") + message.text;
    }
    if (posix_memalign(&memory, RVGG_ARENA_ALIGNMENT, need) != 0) return "posix_memalign";
    o.memory = memory;
    o.memory_size = need;
  }
  rvgg_model* model = nullptr;
  if (rvgg_model_load(job.model.data(), job.model.size(), &o, &model, &message) != RVGG_STATUS_OK) {
    std::free(memory);
    return std::string("load: ") + message.text;
  }
  rvgg_model_info info;
  rvgg_model_get_info(model, &info);
  std::string error;
  outputs->assign(job.inputs.size(), std::vector<float>(info.num_outputs));
  for (int r = 0; r < rounds && error.empty(); ++r) {
    for (size_t i = 0; i < job.inputs.size(); ++i) {
      std::vector<float> out(info.num_outputs);
      if (rvgg_model_run(model, job.inputs[i].data(), RVGG_LAYOUT_NCHW, out.data()) !=
          RVGG_STATUS_OK) {
        error = "run failed";
        break;
      }
      if (r > 0 && out != (*outputs)[i]) error = "a later round differs from the first";
      (*outputs)[i] = out;
    }
  }
  rvgg_model_free(model);
  std::free(memory);
  return error;
}

std::vector<Job> MakeJobs() {
  std::vector<Job> jobs;
  const rvgg_backend backends[] = {
#if RVGG_WITH_XNNPACK
    RVGG_BACKEND_XNNPACK,
#endif
    RVGG_BACKEND_REFERENCE
  };
  const size_t nb = sizeof(backends) / sizeof(backends[0]);
  for (int k = 0; k < 6; ++k) {
    Job job;
    ModelSpec spec = k % 2 == 0 ? SmallRepVGGLikeSpec() : ModelSpec{};
    spec.seed = 100 + k;
    job.model = BuildModel(spec);
    rvgg_options_default(&job.options);
    job.options.backend = backends[k % nb];
    job.options.precision = RVGG_PRECISION_FP32;  // compared with float32 runs
    job.caller_memory = k % 3 != 2;
    if (k == 2 && job.options.backend == RVGG_BACKEND_XNNPACK) job.options.num_threads = 2;
    const size_t n = size_t{spec.channels} * spec.height * spec.width;
    for (uint32_t s = 0; s < 3; ++s) job.inputs.push_back(RandomInput(n, 1000 * k + s));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

TEST_CASE("threads: models loaded, run and freed concurrently give the logits they give alone") {
  std::vector<Job> jobs = MakeJobs();
  for (Job& job : jobs) {
    const std::string error = RunJob(job, 1, &job.expected);
    INFO(error);
    REQUIRE(error.empty());
  }
  // Each thread loads its model afresh several times while the others run.
  constexpr int kCycles = 8;
  std::vector<std::thread> threads;
  for (Job& job : jobs) {
    threads.emplace_back([&job] {
      for (int c = 0; c < kCycles && job.error.empty(); ++c) {
        job.error = RunJob(job, 4, &job.got);
        if (job.error.empty() && job.got != job.expected)
          job.error = "logits differ from a lone run";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t k = 0; k < jobs.size(); ++k) {
    CAPTURE(k);
    CHECK(jobs[k].error == "");
  }
}

TEST_CASE("threads: one model per thread, all loaded first, then run at the same time") {
  std::vector<Job> jobs = MakeJobs();
  std::vector<rvgg_model*> models(jobs.size(), nullptr);
  std::vector<void*> memories(jobs.size(), nullptr);
  for (size_t k = 0; k < jobs.size(); ++k) {
    REQUIRE(RunJob(jobs[k], 1, &jobs[k].expected).empty());
    rvgg_options o = jobs[k].options;
    if (jobs[k].caller_memory) {
      size_t need = 0;
      REQUIRE(rvgg_model_memory_size(jobs[k].model.data(), jobs[k].model.size(), &o, &need,
                                     nullptr) == RVGG_STATUS_OK);
      REQUIRE(posix_memalign(&memories[k], RVGG_ARENA_ALIGNMENT, need) == 0);
      o.memory = memories[k];
      o.memory_size = need;
    }
    REQUIRE(rvgg_model_load(jobs[k].model.data(), jobs[k].model.size(), &o, &models[k], nullptr) ==
            RVGG_STATUS_OK);
  }
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (size_t k = 0; k < jobs.size(); ++k) {
    threads.emplace_back([&, k] {
      ++ready;
      while (ready.load() < static_cast<int>(jobs.size())) std::this_thread::yield();
      rvgg_model_info info;
      rvgg_model_get_info(models[k], &info);
      jobs[k].got.assign(jobs[k].inputs.size(), std::vector<float>(info.num_outputs));
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < jobs[k].inputs.size(); ++i) {
          if (rvgg_model_run(models[k], jobs[k].inputs[i].data(), RVGG_LAYOUT_NCHW,
                             jobs[k].got[i].data()) != RVGG_STATUS_OK) {
            jobs[k].error = "run failed";
          }
        }
        if (jobs[k].got != jobs[k].expected) jobs[k].error = "logits differ from a lone run";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t k = 0; k < jobs.size(); ++k) {
    CAPTURE(k);
    CHECK(jobs[k].error == "");
    rvgg_model_free(models[k]);
    std::free(memories[k]);
  }
}

#if RVGG_WITH_XNNPACK
// Logits of `spec`'s model with `options` on `threads` pool threads, and the
// kernel of each layer.
std::vector<float> RunOnThreads(const std::vector<uint8_t>& model, rvgg_options options,
                                uint32_t threads, const std::vector<float>& input,
                                std::vector<std::string>* kernels) {
  options.num_threads = threads;
  rvgg_model* m = nullptr;
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(model.data(), model.size(), &options, &m, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  rvgg_model_info info;
  rvgg_model_get_info(m, &info);
  std::vector<float> out(info.num_outputs);
  // Twice: the second run reuses the scratch slots and the pool.
  REQUIRE(rvgg_model_run(m, input.data(), RVGG_LAYOUT_NCHW, out.data()) == RVGG_STATUS_OK);
  std::vector<float> again(info.num_outputs);
  REQUIRE(rvgg_model_run(m, input.data(), RVGG_LAYOUT_NCHW, again.data()) == RVGG_STATUS_OK);
  CHECK(again == out);
  kernels->clear();
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info li;
    REQUIRE(rvgg_model_get_layer_info(m, i, &li) == RVGG_STATUS_OK);
    kernels->push_back(li.kernel);
  }
  rvgg_model_free(m);
  return out;
}

TEST_CASE("threads: a model on 2, 3 and 4 pool threads gives the 1-thread logits exactly") {
  // Every kernel computes each output the same way whatever thread takes it
  // (the Winograd kernel's tile blocks, its three passes and XNNPACK's
  // tiles), so more threads change nothing. Winograd forced to F(2) and F(4)
  // and chosen by AUTO; fp32 and, where the CPU has FP16 arithmetic, fp16.
  ModelSpec spec = SmallRepVGGLikeSpec();
  spec.seed = 77;
  const std::vector<uint8_t> model = BuildModel(spec);
  const auto input = RandomInput(size_t{spec.channels} * spec.height * spec.width, 78);
  for (rvgg_precision precision : {RVGG_PRECISION_FP32, RVGG_PRECISION_AUTO}) {
    for (rvgg_winograd setting : {RVGG_WINOGRAD_F2, RVGG_WINOGRAD_F4, RVGG_WINOGRAD_AUTO}) {
      rvgg_options o;
      rvgg_options_default(&o);
      o.backend = RVGG_BACKEND_XNNPACK;
      o.winograd = setting;
      o.precision = precision;
      std::vector<std::string> kernels_one, kernels;
      const auto one = RunOnThreads(model, o, 1, input, &kernels_one);
      for (uint32_t threads = 2; threads <= 4; ++threads) {
        CAPTURE(threads);
        CAPTURE(int(setting));
        CAPTURE(int(precision));
        const auto got = RunOnThreads(model, o, threads, input, &kernels);
        CHECK(kernels == kernels_one);
        CHECK(got == one);
      }
    }
  }
}
#endif

}  // namespace
}  // namespace rvgg::testing
