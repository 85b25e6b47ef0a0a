// rvgg-qconv-vnni-bench: times RepVGG-A0's 22 convolutions at 224 (and its
// 1280 -> 1000 classifier as a 1x1 convolution) on the VNNI int8 families
// of runtime/src/kernels/qconv_vnni.h and on XNNPACK's qc8 convolution, in
// the same process, interleaved: each run passes through the whole network
// once per implementation (alternating which goes first), so each layer
// meets its weights as cold as inside a network. Random int8 data; each
// layer reads the previous layer's output.
//
//   rvgg-qconv-vnni-bench [--runs N] [--threads 1,2] [--min] [--model M.rvgg]...
//
// Prints per layer and in total the median time in ms of N runs (thread
// CPU time with one thread, wall time with more) and XNNPACK's time over
// each family's. Each --model is loaded through the C API (default options,
// the same thread count) and one whole inference of it joins every run, on
// the same clock: the fp32 network to compare the int8 convolutions with.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/kernels/qconv_vnni.h"
#include "rvgg/rvgg.h"

namespace {

using rvgg::kernels::QConvFamily;
using rvgg::kernels::QConvParams;

struct Shape {
  const char* name;
  uint32_t h, w, in_c, out_c, kernel, stride;
};

std::vector<Shape> A0Shapes() {
  std::vector<Shape> s;
  s.push_back({"stage0", 224, 224, 3, 48, 3, 2});
  s.push_back({"stage1.0", 112, 112, 48, 48, 3, 2});
  s.push_back({"stage1.1", 56, 56, 48, 48, 3, 1});
  s.push_back({"stage2.0", 56, 56, 48, 96, 3, 2});
  for (const char* n : {"stage2.1", "stage2.2", "stage2.3"}) s.push_back({n, 28, 28, 96, 96, 3, 1});
  s.push_back({"stage3.0", 28, 28, 96, 192, 3, 2});
  static const char* const kStage3[] = {
      "stage3.1", "stage3.2", "stage3.3",  "stage3.4",  "stage3.5",  "stage3.6", "stage3.7",
      "stage3.8", "stage3.9", "stage3.10", "stage3.11", "stage3.12", "stage3.13"};
  for (const char* n : kStage3) s.push_back({n, 14, 14, 192, 192, 3, 1});
  s.push_back({"stage4.0", 14, 14, 192, 1280, 3, 2});
  s.push_back({"fc", 1, 1, 1280, 1000, 1, 1});
  return s;
}
constexpr size_t kConvLayers = 22;

void* Aligned(size_t bytes) {
  return std::aligned_alloc(64, (bytes + 64 + 63) / 64 * 64);  // + tail bytes
}

// With one thread the calling thread's CPU time (a shared machine's other
// loads do not count); with a pool, wall time.
double Now(bool cpu) {
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e3 * double(ts.tv_sec) + 1e-6 * double(ts.tv_nsec);
  }
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The median, or with --min the fastest run (on a loaded machine, the runs
// no other process interrupted).
bool g_minimum = false;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (g_minimum) return v.front();
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Layer {
  Shape shape;
  QConvParams params;
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<float> weight_scales, requant;
  float input_scale = 0.05f, output_scale = 0.05f;
  int8_t* input = nullptr;
  int8_t* output = nullptr;
  xnn_operator_t xnn = nullptr;
  std::vector<void*> packed;  // per family
};

// One implementation's pass over all layers: per-layer ms appended.
struct Series {
  std::string name;
  std::vector<std::vector<double>> ms;  // [layer][run]
  std::vector<double> total_ms;         // conv layers only, per run
};

struct Model {
  std::string path;
  std::vector<char> data;
  rvgg_model* handle = nullptr;
  std::vector<float> input, logits;
};

bool LoadModel(const std::string& path, uint32_t threads, Model* m) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fseek(f, 0, SEEK_END);
  m->data.resize(static_cast<size_t>(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  const bool read = std::fread(m->data.data(), 1, m->data.size(), f) == m->data.size();
  std::fclose(f);
  if (!read) return false;
  rvgg_options options;
  rvgg_options_default(&options);
  options.num_threads = threads;
  rvgg_message message;
  if (rvgg_model_load(m->data.data(), m->data.size(), &options, &m->handle, &message) !=
      RVGG_STATUS_OK) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), message.text);
    return false;
  }
  rvgg_model_info info;
  rvgg_model_get_info(m->handle, &info);
  m->input.resize(size_t{info.input_height} * info.input_width * info.input_channels);
  for (size_t i = 0; i < m->input.size(); ++i) m->input[i] = float(i % 29) * 0.1f - 1.4f;
  m->logits.resize(info.num_outputs);
  m->path = path;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  std::vector<uint32_t> thread_counts = {1, 2};
  std::vector<std::string> model_paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      for (const char* p = argv[++i]; *p != '\0';) {
        char* end = nullptr;
        thread_counts.push_back(std::max(1L, std::strtol(p, &end, 10)));
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p != '\0') break;
      }
    } else if (arg == "--min") {
      g_minimum = true;
    } else if (arg == "--model" && i + 1 < argc) {
      model_paths.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--runs N] [--threads 1,2] [--min] [--model M.rvgg]...\n",
                   argv[0]);
      return 2;
    }
  }
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "xnn_initialize failed\n");
    return 1;
  }

  std::vector<const QConvFamily*> families;
  for (const QConvFamily* f : {&rvgg::kernels::kQConvAvx512Vnni, &rvgg::kernels::kQConvAvxVnni}) {
    QConvParams probe;
    probe.in_h = probe.in_w = probe.out_h = probe.out_w = probe.in_c = probe.out_c = 4;
    const float one = 1.0f;
    probe.requant_scale = &one;
    if (f->applies(probe)) {
      families.push_back(f);
    } else {
      std::printf("# %s: not on this CPU\n", f->name);
    }
  }

  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(-127, 127);
  std::uniform_int_distribution<int32_t> bias(-20000, 20000);
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  std::vector<Layer> layers;
  size_t scratch_bytes = 0;
  int8_t* previous = nullptr;
  for (const Shape& s : A0Shapes()) {
    Layer l;
    l.shape = s;
    QConvParams& p = l.params;
    p.in_h = s.h;
    p.in_w = s.w;
    p.in_c = s.in_c;
    p.out_c = s.out_c;
    p.kernel_h = p.kernel_w = s.kernel;
    p.stride = s.stride;
    p.padding = s.kernel / 2;
    p.out_h = (s.h + 2 * p.padding - s.kernel) / s.stride + 1;
    p.out_w = (s.w + 2 * p.padding - s.kernel) / s.stride + 1;
    const bool relu = s.kernel == 3;
    p.input_zero_point = layers.empty() ? -3 : -128;
    p.output_zero_point = relu ? -128 : 5;
    p.output_min = relu ? -128 : -128;
    p.output_max = 127;
    const size_t taps = size_t{s.kernel} * s.kernel * s.in_c;
    l.weights.resize(taps * s.out_c);
    for (int8_t& w : l.weights) w = static_cast<int8_t>(byte(rng));
    l.bias.resize(s.out_c);
    for (int32_t& b : l.bias) b = bias(rng);
    l.weight_scales.resize(s.out_c);
    l.requant.resize(s.out_c);
    l.output_scale = l.input_scale * 0.01f * std::sqrt(float(taps)) * 74.0f * 74.0f / 40.0f;
    for (uint32_t o = 0; o < s.out_c; ++o) {
      l.weight_scales[o] = 0.01f * unit(rng);
      l.requant[o] = l.input_scale * l.weight_scales[o] / l.output_scale;
    }
    p.requant_scale = l.requant.data();
    const size_t in_bytes = size_t{s.h} * s.w * s.in_c;
    if (previous == nullptr) {
      previous = static_cast<int8_t*>(Aligned(in_bytes));
      for (size_t i = 0; i < in_bytes; ++i) previous[i] = static_cast<int8_t>(byte(rng));
    }
    l.input = previous;
    l.output = static_cast<int8_t*>(Aligned(size_t{p.out_h} * p.out_w * s.out_c));
    previous = l.output;
    for (const QConvFamily* f : families) {
      void* packed = Aligned(f->packed_bytes(p));
      if (!f->pack(p, l.weights.data(), l.bias.data(), packed)) {
        std::fprintf(stderr, "%s: pack failed on %s\n", f->name, s.name);
        return 1;
      }
      l.packed.push_back(packed);
      for (uint32_t t : thread_counts)
        scratch_bytes = std::max(scratch_bytes, f->scratch_bytes(p, t));
    }
    if (xnn_create_convolution2d_nhwc_qc8(
            p.padding, p.padding, p.padding, p.padding, p.kernel_h, p.kernel_w, p.stride, p.stride,
            1, 1, 1, s.in_c, s.out_c, s.in_c, s.out_c, static_cast<int8_t>(p.input_zero_point),
            l.input_scale, l.weight_scales.data(), l.weights.data(), l.bias.data(),
            static_cast<int8_t>(p.output_zero_point), l.output_scale,
            static_cast<int8_t>(p.output_min), static_cast<int8_t>(p.output_max), 0,
            &l.xnn) != xnn_status_success) {
      std::fprintf(stderr, "xnn_create_convolution2d_nhwc_qc8 failed on %s\n", s.name);
      return 1;
    }
    layers.push_back(std::move(l));
  }
  void* scratch = Aligned(scratch_bytes);

  for (uint32_t threads : thread_counts) {
    pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
    const bool cpu = pool == nullptr;
    for (Layer& l : layers) {
      if (xnn_setup_convolution2d_nhwc_qc8(l.xnn, 1, l.shape.h, l.shape.w, l.input, l.output,
                                           pool) != xnn_status_success) {
        std::fprintf(stderr, "xnn_setup_convolution2d_nhwc_qc8 failed on %s\n", l.shape.name);
        return 1;
      }
    }
    std::vector<Model> models(model_paths.size());
    for (size_t m = 0; m < models.size(); ++m) {
      if (!LoadModel(model_paths[m], threads, &models[m])) {
        std::fprintf(stderr, "cannot load %s\n", model_paths[m].c_str());
        return 1;
      }
    }
    std::vector<Series> series(families.size() + 1);
    for (size_t f = 0; f < families.size(); ++f) series[f].name = families[f]->name;
    series.back().name = "xnnpack qc8";
    for (Series& s : series) s.ms.resize(layers.size());
    std::vector<std::vector<double>> model_ms(models.size());
    auto infer = [&](size_t m) {
      const double start = Now(cpu);
      rvgg_model_run(models[m].handle, models[m].input.data(), RVGG_LAYOUT_NCHW,
                     models[m].logits.data());
      model_ms[m].push_back(Now(cpu) - start);
    };

    auto pass = [&](size_t impl) {
      Series& s = series[impl];
      double total = 0.0;
      for (size_t i = 0; i < layers.size(); ++i) {
        Layer& l = layers[i];
        const double start = Now(cpu);
        if (impl < families.size()) {
          families[impl]->run(l.params, l.packed[impl], l.input, l.output, scratch, pool);
        } else {
          xnn_run_operator(l.xnn, pool);
        }
        const double ms = Now(cpu) - start;
        s.ms[i].push_back(ms);
        if (i < kConvLayers) total += ms;
      }
      s.total_ms.push_back(total);
    };
    // One warm-up pass each, then the timed runs, alternating the order.
    const size_t steps = series.size() + models.size();
    auto step = [&](size_t k) {
      if (k < series.size()) {
        pass(k);
      } else {
        infer(k - series.size());
      }
    };
    for (size_t k = 0; k < steps; ++k) step(k);
    for (Series& s : series) {
      for (auto& v : s.ms) v.clear();
      s.total_ms.clear();
    }
    for (auto& v : model_ms) v.clear();
    for (int r = 0; r < runs; ++r) {
      for (size_t k = 0; k < steps; ++k) step(r % 2 == 0 ? k : steps - 1 - k);
    }

    std::printf("\n## %u thread%s, %s of %d runs, ms (%s)\n", threads, threads == 1 ? "" : "s",
                g_minimum ? "minimum" : "median", runs, cpu ? "thread CPU time" : "wall time");
    std::printf("%-10s %-22s", "layer", "shape");
    for (const Series& s : series) std::printf(" %16s", s.name.c_str());
    for (size_t f = 0; f < families.size(); ++f) std::printf("  xnn/%-12s", families[f]->name + 5);
    std::printf("\n");
    for (size_t i = 0; i < layers.size(); ++i) {
      const Shape& sh = layers[i].shape;
      char shape[64];
      std::snprintf(shape, sizeof(shape), "%ux%ux%u>%u k%u s%u", sh.h, sh.w, sh.in_c, sh.out_c,
                    sh.kernel, sh.stride);
      std::printf("%-10s %-22s", sh.name, shape);
      const double xnn = Median(series.back().ms[i]);
      for (const Series& s : series) std::printf(" %16.3f", Median(s.ms[i]));
      for (size_t f = 0; f < families.size(); ++f) {
        std::printf("  %16.2f", xnn / Median(series[f].ms[i]));
      }
      std::printf("\n");
    }
    std::printf("%-10s %-22s", "total", "22 convolutions");
    const double xnn_total = Median(series.back().total_ms);
    for (const Series& s : series) std::printf(" %16.3f", Median(s.total_ms));
    for (size_t f = 0; f < families.size(); ++f) {
      std::printf("  %16.2f", xnn_total / Median(series[f].total_ms));
    }
    std::printf("\n");
    for (size_t m = 0; m < models.size(); ++m) {
      std::printf("%-33s %16.3f  (whole network, rvgg_model_run)\n", models[m].path.c_str(),
                  Median(model_ms[m]));
      rvgg_model_free(models[m].handle);
    }
    if (pool != nullptr) pthreadpool_destroy(pool);
  }
  return 0;
}
