// rvgg-synth-bench: times (or, under qemu with an instruction-count plugin,
// just runs) a synthetic fused RepVGG, so kernels can be compared without a
// checkpoint.
//
//   rvgg-synth-bench (--variant A0 [--size 224] | --model M.rvgg |
//                     --single H,W,CIN,COUT,STRIDE) [--write M.rvgg]
//                    [--runs N] [--warmup N] [--layers] [--compare]
//                    [--threads N] [--winograd off|auto|2|4|6] [--budget BYTES]
//
// --runs N runs N inferences after --warmup ones and prints the median. For
// instruction counts run it twice, with --runs 1 and --runs 2 and --warmup 0:
// the difference is one inference. --compare loads the model twice (with
// --winograd off and with the given setting) and alternates their runs, so
// both medians come from the same conditions. --layers prints per-layer
// medians and kernels.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "tools/common/files.h"
#include "rvgg/rvgg.h"
#include "tests/runtime/test_models.h"

namespace {

const char kUsage[] =
    "usage: rvgg-synth-bench (--variant A0 [--size 224] | --model M.rvgg |\n"
    "                         --single H,W,CIN,COUT,STRIDE) [--write M.rvgg]\n"
    "                        [--runs N] [--warmup N] [--layers] [--compare]\n"
    "                        [--threads N] [--winograd off|auto|2|4|6] [--budget BYTES]\n";

// Single-threaded runs are timed in this thread's CPU time, which other
// processes on a shared machine cannot inflate; threaded runs in wall time.
bool g_cpu_time = true;

struct Clock {
  using time_point = double;  // seconds
  static time_point now() {
    timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
};

struct Timing {
  std::vector<Clock::time_point> stamps;
  Clock::time_point start;
};

void OnLayer(void* user, uint32_t index) {
  auto* t = static_cast<Timing*>(user);
  t->stamps[index] = Clock::now();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double Ms(double seconds) { return 1e3 * seconds; }

struct Loaded {
  rvgg_model* model = nullptr;
  rvgg_model_info info{};
  Timing timing;
  std::vector<std::vector<double>> layer_ms;
  std::vector<double> total_ms;
};

void Load(const rvgg::tools::Cli& cli, const uint8_t* data, size_t size,
          const rvgg_options& options, Loaded* l) {
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(data, size, &options, &l->model, &message);
  if (status != RVGG_STATUS_OK) cli.Die(std::string("load failed: ") + message.text);
  rvgg_model_get_info(l->model, &l->info);
  l->timing.stamps.resize(l->info.num_layers);
  l->layer_ms.resize(l->info.num_layers);
  rvgg_model_set_layer_callback(l->model, OnLayer, &l->timing);
}

void RunOnce(Loaded* l, const std::vector<float>& input, std::vector<float>* output, bool record) {
  output->resize(l->info.num_outputs);
  l->timing.start = Clock::now();
  rvgg_model_run(l->model, input.data(), RVGG_LAYOUT_NCHW, output->data());
  if (!record) return;
  Clock::time_point prev = l->timing.start;
  for (uint32_t i = 0; i < l->info.num_layers; ++i) {
    l->layer_ms[i].push_back(Ms(l->timing.stamps[i] - prev));
    prev = l->timing.stamps[i];
  }
  l->total_ms.push_back(Ms(prev - l->timing.start));
}

void PrintLayers(const char* title, Loaded* l) {
  std::printf("%s\n  %3s %-14s %-16s %-16s %8s %12s\n", title, "#", "name", "in HxWxC", "runs on",
              "ms", "kernel bytes");
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < l->info.num_layers; ++i) {
    rvgg_layer_info li;
    rvgg_model_get_layer_info(l->model, i, &li);
    char in[32];
    std::snprintf(in, sizeof(in), "%ux%ux%u%s", li.input_height, li.input_width, li.input_channels,
                  li.type == RVGG_LAYER_CONV2D && li.stride == 2 ? "/2" : "");
    std::printf("  %3u %-14.14s %-16s %-16s %8.3f %12llu\n", i, li.name, in, li.kernel,
                Median(l->layer_ms[i]), static_cast<unsigned long long>(li.kernel_bytes));
    bytes += li.kernel_bytes;
  }
  std::printf("  kernel bytes total %llu\n", static_cast<unsigned long long>(bytes));
}

// Bytes held by Winograd layers, and how many layers run each way.
void PrintMemory(const char* title, Loaded* l) {
  uint64_t winograd = 0, all = 0;
  std::vector<std::pair<std::string, int>> counts;  // kernel name, layers (first-seen order)
  for (uint32_t i = 0; i < l->info.num_layers; ++i) {
    rvgg_layer_info li;
    rvgg_model_get_layer_info(l->model, i, &li);
    all += li.kernel_bytes;
    const std::string kernel = li.kernel;
    if (kernel.rfind("winograd-", 0) != 0) continue;
    winograd += li.kernel_bytes;
    auto it = std::find_if(counts.begin(), counts.end(),
                           [&](const std::pair<std::string, int>& c) { return c.first == kernel; });
    if (it == counts.end()) {
      counts.emplace_back(kernel, 1);
    } else {
      ++it->second;
    }
  }
  std::string kinds;
  for (const auto& c : counts) {
    kinds += (kinds.empty() ? "" : ", ") + c.first.substr(9) + " x" + std::to_string(c.second);
  }
  std::printf("%s: kernel bytes %.1f MiB, of which winograd %.1f MiB (%s)\n", title,
              all / 1048576.0, winograd / 1048576.0, kinds.empty() ? "none" : kinds.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  rvgg::tools::Cli cli("rvgg-synth-bench", kUsage);
  std::string variant, model_path, write_path, single;
  uint32_t size = 224, runs = 10, warmup = 2;
  bool layers = false, compare = false;
  rvgg_options options;
  rvgg_options_default(&options);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--variant") {
      variant = cli.Value(argc, argv, &i);
    } else if (arg == "--size") {
      size = cli.Count(arg, cli.Value(argc, argv, &i), 8, 4096);
    } else if (arg == "--single") {
      // One 3x3 convolution: --single H,W,CIN,COUT,STRIDE (then pool + FC).
      single = cli.Value(argc, argv, &i);
    } else if (arg == "--model") {
      model_path = cli.Value(argc, argv, &i);
    } else if (arg == "--write") {
      write_path = cli.Value(argc, argv, &i);
    } else if (arg == "--runs") {
      runs = cli.Count(arg, cli.Value(argc, argv, &i), 0, 100000);
    } else if (arg == "--warmup") {
      warmup = cli.Count(arg, cli.Value(argc, argv, &i), 0, 100000);
    } else if (arg == "--budget") {
      options.winograd_budget_bytes = std::stoull(cli.Value(argc, argv, &i));
    } else if (arg == "--layers") {
      layers = true;
    } else if (arg == "--compare") {
      compare = true;
    } else if (!cli.ParseRuntimeOption(argc, argv, &i, &options)) {
      cli.Die("unknown option '" + arg + "' (see --help)");
    }
  }
  g_cpu_time = options.num_threads <= 1;
  std::vector<uint8_t> bytes;
  std::string error;
  if (!model_path.empty()) {
    if (!rvgg::tools::ReadFile(model_path, &bytes, &error)) cli.Die(error);
  } else if (!single.empty()) {
    unsigned h = 0, w = 0, cin = 0, cout = 0, stride = 0;
    if (std::sscanf(single.c_str(), "%u,%u,%u,%u,%u", &h, &w, &cin, &cout, &stride) != 5) {
      cli.Die("--single expects H,W,CIN,COUT,STRIDE");
    }
    rvgg::testing::ModelSpec spec;
    spec.height = h;
    spec.width = w;
    spec.channels = cin;
    spec.classes = 10;
    spec.convs = {rvgg::testing::ConvSpec{cout, 3, stride}};
    bytes = rvgg::testing::BuildModel(spec);
  } else {
    rvgg::testing::ModelSpec spec;
    if (!rvgg::testing::RepVGGSpec(variant, size, &spec))
      cli.Die("unknown variant '" + variant + "'");
    bytes = rvgg::testing::BuildModel(spec);
  }
  if (!write_path.empty()) {
    if (!rvgg::tools::WriteFileAtomically(write_path, bytes, &error)) cli.Die(error);
    std::printf("wrote %s (%zu bytes)\n", write_path.c_str(), bytes.size());
    return 0;
  }
  // The runtime reads the model in place: copy into 64-byte aligned memory.
  std::vector<uint8_t> storage(bytes.size() + 64);
  const size_t shift = (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  std::copy(bytes.begin(), bytes.end(), storage.begin() + shift);
  const uint8_t* data = storage.data() + shift;

  Loaded main_model, off_model;
  Load(cli, data, bytes.size(), options, &main_model);
  if (compare) {
    rvgg_options off = options;
    off.winograd = RVGG_WINOGRAD_OFF;
    Load(cli, data, bytes.size(), off, &off_model);
  }
  const rvgg_model_info& info = main_model.info;
  const std::vector<float> input = rvgg::testing::RandomInput(
      size_t{info.input_channels} * info.input_height * info.input_width, 1);
  std::vector<float> out_main, out_off;
  for (uint32_t r = 0; r < warmup + runs; ++r) {
    const bool record = r >= warmup;
    RunOnce(&main_model, input, &out_main, record);
    if (compare) RunOnce(&off_model, input, &out_off, record);
  }
  PrintMemory("memory", &main_model);
  if (runs > 0) {
    std::printf("%s: %s\n", g_cpu_time ? "thread CPU time" : "wall time", rvgg_kernel_isa());
    std::printf("median %.3f ms (min %.3f) over %u runs, %u thread(s), winograd %d\n",
                Median(main_model.total_ms),
                *std::min_element(main_model.total_ms.begin(), main_model.total_ms.end()), runs,
                options.num_threads > 1 ? options.num_threads : 1u,
                static_cast<int>(options.winograd));
    if (compare) {
      std::printf("median %.3f ms (min %.3f) with winograd off (same run, alternating)\n",
                  Median(off_model.total_ms),
                  *std::min_element(off_model.total_ms.begin(), off_model.total_ms.end()));
      double worst = 0, scale = 0;
      for (size_t i = 0; i < out_main.size(); ++i) {
        worst = std::max(worst, double(std::abs(out_main[i] - out_off[i])));
        scale = std::max(scale, double(std::abs(out_off[i])));
      }
      std::printf("logits: max |diff| %.3g, max |logit| %.3g\n", worst, scale);
    }
    if (layers) {
      PrintLayers("layers:", &main_model);
      if (compare) PrintLayers("layers (winograd off):", &off_model);
    }
  }
  rvgg_model_free(main_model.model);
  rvgg_model_free(off_model.model);
  return 0;
}
