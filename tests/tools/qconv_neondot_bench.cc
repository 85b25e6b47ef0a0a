// rvgg-qconv-neondot-bench: RepVGG-A0's 22 convolutions at 224x224 (all 3x3,
// padding 1, ReLU) on random int8 data, through the SDOT family
// (kernels/qconv_neondot.h) or XNNPACK's qc8 convolution, for counting guest
// instructions under qemu: everything but the runs happens once, so the count
// of --runs 2 minus the count of --runs 1 is one pass.
//
//   rvgg-qconv-neondot-bench [--runs N] [--layer I] [--threads T] [--xnnpack] [--check]
//
// --layer I runs only layer I (0..21; 22 is the 1280 -> 1000 fully connected
// layer as a 1x1 convolution over a 1x1 image, which runs only when asked).
// --check compares every output with ref::Conv2DInt8 after the runs (the
// SDOT family exactly, XNNPACK within 1).
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/kernels/qconv_neondot.h"
#include "runtime/reference/reference.h"

namespace {

using rvgg::kernels::kQConvNeonDot;
using rvgg::kernels::QConvParams;

struct Layer {
  const char* name;
  uint32_t h, w, in_c, out_c, stride, kernel, padding;
};

// A0 at 224: stage widths 48, 48, 96, 192, 1280 and 1, 2, 4, 14, 1 blocks.
std::vector<Layer> A0Layers() {
  std::vector<Layer> layers = {{"stage0", 224, 224, 3, 48, 2, 3, 1},
                               {"stage1.0", 112, 112, 48, 48, 2, 3, 1},
                               {"stage1.1", 56, 56, 48, 48, 1, 3, 1},
                               {"stage2.0", 56, 56, 48, 96, 2, 3, 1}};
  static const char* const kStage2[] = {"stage2.1", "stage2.2", "stage2.3"};
  for (const char* name : kStage2) layers.push_back({name, 28, 28, 96, 96, 1, 3, 1});
  layers.push_back({"stage3.0", 28, 28, 96, 192, 2, 3, 1});
  static const char* const kStage3[] = {
      "stage3.1", "stage3.2", "stage3.3",  "stage3.4",  "stage3.5",  "stage3.6", "stage3.7",
      "stage3.8", "stage3.9", "stage3.10", "stage3.11", "stage3.12", "stage3.13"};
  for (const char* name : kStage3) layers.push_back({name, 14, 14, 192, 192, 1, 3, 1});
  layers.push_back({"stage4.0", 14, 14, 192, 1280, 2, 3, 1});
  layers.push_back({"linear", 1, 1, 1280, 1000, 1, 1, 0});
  return layers;
}

constexpr size_t kConvLayers = 22;

// One layer's data and whichever kernel runs it.
struct Prepared {
  Layer layer;
  rvgg::ref::Conv2DShape shape;
  rvgg::QuantParams input_q, output_q;
  std::vector<int8_t> input, weights, output;
  std::vector<int32_t> bias;
  std::vector<float> weight_scales, requant;
  QConvParams params;
  void* packed = nullptr;
  void* scratch = nullptr;
  xnn_operator_t op = nullptr;
};

void* AlignedAlloc(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, bytes > 0 ? bytes : 64) != 0) {
    std::fprintf(stderr, "out of memory\n");
    std::exit(1);
  }
  return p;
}

void Prepare(Prepared& l, uint32_t seed, bool xnnpack, uint32_t threads, pthreadpool_t pool) {
  const Layer& c = l.layer;
  rvgg::ref::Conv2DShape& s = l.shape;
  s.in_h = c.h, s.in_w = c.w, s.in_c = c.in_c;
  s.out_h = (c.h + 2 * c.padding - c.kernel) / c.stride + 1;
  s.out_w = (c.w + 2 * c.padding - c.kernel) / c.stride + 1;
  s.out_c = c.out_c;
  s.kernel_h = s.kernel_w = c.kernel;
  s.stride = c.stride, s.padding = c.padding, s.groups = 1, s.relu = true;
  const size_t k = size_t{c.kernel} * c.kernel * c.in_c;

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(-128, 127), weight(-127, 127);
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  l.input.resize(size_t{c.h} * c.w * c.in_c + 16);
  for (auto& v : l.input) v = static_cast<int8_t>(byte(rng));
  l.weights.resize(c.out_c * k);
  for (auto& v : l.weights) v = static_cast<int8_t>(weight(rng));
  l.bias.resize(c.out_c);
  for (auto& v : l.bias) v = byte(rng) * 64;
  l.output.assign(size_t{s.out_h} * s.out_w * c.out_c + 16, 0);
  l.input_q = {0.05f, -10};
  l.output_q = {static_cast<float>(0.05 * 0.01 * std::sqrt(double(k)) * 110 * 73 / 40), -100};
  l.weight_scales.resize(c.out_c);
  l.requant.resize(c.out_c);
  for (uint32_t o = 0; o < c.out_c; ++o) {
    l.weight_scales[o] = 0.01f * unit(rng);
    l.requant[o] = l.input_q.scale * l.weight_scales[o] / l.output_q.scale;
  }

  if (xnnpack) {
    if (xnn_create_convolution2d_nhwc_qc8(
            c.padding, c.padding, c.padding, c.padding, c.kernel, c.kernel, c.stride, c.stride, 1,
            1, 1, c.in_c, c.out_c, c.in_c, c.out_c, static_cast<int8_t>(l.input_q.zero_point),
            l.input_q.scale, l.weight_scales.data(), l.weights.data(), l.bias.data(),
            static_cast<int8_t>(l.output_q.zero_point), l.output_q.scale,
            static_cast<int8_t>(l.output_q.zero_point), 127, 0, &l.op) != xnn_status_success ||
        xnn_setup_convolution2d_nhwc_qc8(l.op, 1, c.h, c.w, l.input.data(), l.output.data(),
                                         pool) != xnn_status_success) {
      std::fprintf(stderr, "%s: XNNPACK qc8 convolution failed\n", c.name);
      std::exit(1);
    }
    return;
  }
  QConvParams& p = l.params;
  p.in_h = c.h, p.in_w = c.w, p.in_c = c.in_c;
  p.out_h = s.out_h, p.out_w = s.out_w, p.out_c = c.out_c;
  p.kernel_h = p.kernel_w = c.kernel;
  p.stride = c.stride, p.padding = c.padding;
  p.input_zero_point = l.input_q.zero_point;
  p.output_zero_point = l.output_q.zero_point;
  p.output_min = l.output_q.zero_point;
  p.output_max = 127;
  p.requant_scale = l.requant.data();
  if (!kQConvNeonDot.applies(p)) {
    std::fprintf(stderr, "%s: the SDOT family does not apply (no dot product on this CPU?)\n",
                 c.name);
    std::exit(1);
  }
  l.packed = AlignedAlloc(kQConvNeonDot.packed_bytes(p));
  kQConvNeonDot.pack(p, l.weights.data(), l.bias.data(), l.packed);
  l.scratch = AlignedAlloc(kQConvNeonDot.scratch_bytes(p, threads));
}

void Run(Prepared& l, bool xnnpack, pthreadpool_t pool) {
  if (xnnpack) {
    xnn_run_operator(l.op, pool);
  } else {
    kQConvNeonDot.run(l.params, l.packed, l.input.data(), l.output.data(), l.scratch, pool);
  }
}

// Number of outputs that differ from the reference by more than `tolerance`.
size_t Check(const Prepared& l, int tolerance) {
  std::vector<int8_t> expected(l.output.size() - 16);
  rvgg::ref::Conv2DInt8(l.shape, l.input_q, l.output_q, l.input.data(), l.weights.data(),
                       l.weight_scales.data(), l.bias.data(), expected.data());
  size_t bad = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    bad += std::abs(int{l.output[i]} - int{expected[i]}) > tolerance;
  }
  return bad;
}

int Usage() {
  std::fprintf(stderr,
               "usage: rvgg-qconv-neondot-bench [--runs N] [--layer I] [--threads T] [--xnnpack] "
               "[--check]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1, layer = -1;
  uint32_t threads = 1;
  bool xnnpack = false, check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--layer" && i + 1 < argc) {
      layer = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (a == "--xnnpack") {
      xnnpack = true;
    } else if (a == "--check") {
      check = true;
    } else {
      return Usage();
    }
  }
  const std::vector<Layer> all = A0Layers();
  if (layer >= static_cast<int>(all.size()) || runs < 0 || threads == 0) return Usage();
  if (xnnpack && xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "xnn_initialize failed\n");
    return 1;
  }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;

  std::vector<Prepared> layers;
  for (size_t i = 0; i < all.size(); ++i) {
    if (layer >= 0 ? static_cast<size_t>(layer) != i : i >= kConvLayers) continue;
    layers.emplace_back();
    layers.back().layer = all[i];
  }
  uint32_t seed = 1;
  for (Prepared& l : layers) Prepare(l, seed++, xnnpack, threads, pool);
  for (int r = 0; r < runs; ++r) {
    for (Prepared& l : layers) Run(l, xnnpack, pool);
  }
  int status = 0;
  if (check) {
    for (const Prepared& l : layers) {
      const size_t bad = Check(l, xnnpack ? 1 : 0);
      std::printf("%-9s %s\n", l.layer.name, bad == 0 ? "matches the reference" : "MISMATCH");
      if (bad != 0) status = 1;
    }
  }
  for (Prepared& l : layers) {
    if (l.op != nullptr) xnn_delete_operator(l.op);
    std::free(l.packed);
    std::free(l.scratch);
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  return status;
}
