// rvgg-qconv-winograd-bench: runs the int8 Winograd kernel
// (runtime/src/kernels/qconv_winograd.h) on RepVGG-A0's stride-1 3x3 layers
// at 224 (stage1.1 56x56x48, stage2.1-2.3 28x28x96, stage3.1-3.13
// 14x14x192), each --runs times, for counting guest instructions under qemu:
// one run of the selected layers = count(--runs 2) - count(--runs 1).
//
//   rvgg-qconv-winograd-bench [--runs N] [--layer NAME] [--form neon|portable]
//                             [--threads N] [--model A0-INT8.rvgg] [--check]
//
// Data are random int8 (weights of a triangular distribution, as trained
// ones are mostly small), or with --model the model's own weights, biases,
// zero points and scales for the layers of that shape (inputs stay random).
// --check compares every output with ref::Conv2DQs8 (slow under qemu).
// Packing and data generation happen once, before the runs.
#include <pthreadpool.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/kernels/qconv_winograd.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/reference.h"

namespace {

using rvgg::kernels::QConvFamily;
using rvgg::kernels::QConvParams;

struct Layer {
  std::string name;
  uint32_t size, channels;
  bool relu = true;
  rvgg::QuantParams input_q{0.05f, -128}, output_q{0.05f, -128};
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<float> weight_scales, requant;
};

std::vector<Layer> A0Layers() {
  std::vector<Layer> layers;
  auto add = [&](const char* stage, int first, int last, uint32_t size, uint32_t channels) {
    for (int i = first; i <= last; ++i) {
      Layer l;
      l.name = std::string(stage) + "." + std::to_string(i);
      l.size = size;
      l.channels = channels;
      layers.push_back(l);
    }
  };
  add("stage1", 1, 1, 56, 48);
  add("stage2", 1, 3, 28, 96);
  add("stage3", 1, 13, 14, 192);
  return layers;
}

void RandomData(Layer* l, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> half(-63, 63), bias(-50000, 50000);
  std::uniform_real_distribution<float> scale(0.002f, 0.01f);
  const uint32_t c = l->channels;
  l->weights.resize(size_t{c} * 9 * c);
  for (int8_t& w : l->weights) w = static_cast<int8_t>(half(rng) + half(rng));
  l->bias.resize(c);
  l->weight_scales.resize(c);
  for (uint32_t o = 0; o < c; ++o) {
    l->bias[o] = bias(rng);
    l->weight_scales[o] = scale(rng);
  }
  l->output_q.scale = l->input_q.scale * 0.006f * 3000.0f;
}

struct ModelLayers {
  std::vector<Layer>* layers;
};

rvgg_status Visit(void* context, const rvgg::LayerDesc& d, rvgg_message*) {
  auto* layers = static_cast<ModelLayers*>(context)->layers;
  if (d.kind != rvgg::LayerKind::kConv2D || d.weights_q == nullptr) return RVGG_STATUS_OK;
  for (Layer& l : *layers) {
    if (l.name != d.name) continue;
    if (d.in_h != l.size || d.in_c != l.channels || d.out_c != l.channels || d.stride != 1 ||
        d.kernel_h != 3 || d.padding != 1 || d.groups != 1) {
      std::fprintf(stderr, "layer %s: not the A0 shape\n", d.name);
      return RVGG_STATUS_INVALID_ARGUMENT;
    }
    const size_t count = size_t{d.out_c} * 9 * d.in_c;
    l.weights.assign(d.weights_q, d.weights_q + count);
    l.bias.assign(d.bias_q, d.bias_q + d.out_c);
    l.weight_scales.assign(d.weight_scales, d.weight_scales + d.out_c);
    l.input_q = d.input_q;
    l.output_q = d.output_q;
    l.relu = d.relu;
  }
  return RVGG_STATUS_OK;
}

bool LoadModel(const char* path, std::vector<Layer>* layers) {
  FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  void* data = std::aligned_alloc(64, (static_cast<size_t>(size) + 63) / 64 * 64);
  const bool read = std::fread(data, 1, static_cast<size_t>(size), f) == static_cast<size_t>(size);
  std::fclose(f);
  ModelLayers context{layers};
  rvgg_message message;
  const bool ok = read && rvgg::VerifyModel(data, static_cast<size_t>(size), nullptr, Visit,
                                            &context, &message) == RVGG_STATUS_OK;
  std::free(data);
  return ok;
}

void* Aligned(size_t bytes) {
  return std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1;
  uint32_t threads = 1;
  std::string only, form = "neon", model;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--runs" && has_value) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--layer" && has_value) {
      only = argv[++i];
    } else if (a == "--form" && has_value) {
      form = argv[++i];
    } else if (a == "--threads" && has_value) {
      threads = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (a == "--model" && has_value) {
      model = argv[++i];
    } else if (a == "--check") {
      check = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--runs N] [--layer NAME] [--form neon|portable] [--threads N] "
                   "[--model FILE.rvgg] [--check]\n",
                   argv[0]);
      return 2;
    }
  }
  const QConvFamily* family = &rvgg::kernels::kQConvWinogradPortable;
#if defined(__aarch64__)
  if (form == "neon") family = &rvgg::kernels::kQConvWinogradNeon;
#endif
  if (form != "portable" && family == &rvgg::kernels::kQConvWinogradPortable) {
    std::fprintf(stderr, "form %s: not in this build\n", form.c_str());
    return 2;
  }

  std::vector<Layer> layers = A0Layers();
  if (!only.empty()) {
    layers.erase(std::remove_if(layers.begin(), layers.end(),
                                [&](const Layer& l) { return l.name != only; }),
                 layers.end());
    if (layers.empty()) {
      std::fprintf(stderr, "no layer %s\n", only.c_str());
      return 2;
    }
  }
  uint32_t seed = 1;
  for (Layer& l : layers) RandomData(&l, ++seed);
  if (!model.empty() && !LoadModel(model.c_str(), &layers)) {
    std::fprintf(stderr, "%s: cannot read the model's layers\n", model.c_str());
    return 1;
  }

  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  int failures = 0;
  for (Layer& l : layers) {
    QConvParams p;
    p.in_h = p.out_h = p.in_w = p.out_w = l.size;
    p.in_c = p.out_c = l.channels;
    p.input_zero_point = l.input_q.zero_point;
    p.output_zero_point = l.output_q.zero_point;
    p.output_min = l.relu ? std::max(-128, l.output_q.zero_point) : -128;
    l.requant.resize(l.channels);
    for (uint32_t o = 0; o < l.channels; ++o) {
      l.requant[o] = l.input_q.scale * l.weight_scales[o] / l.output_q.scale;
    }
    p.requant_scale = l.requant.data();
    const size_t in_bytes = size_t{l.size} * l.size * l.channels;
    std::vector<int8_t> input(in_bytes + 16), output(in_bytes);
    std::mt19937 rng(seed++);
    std::uniform_int_distribution<int> byte(-128, 127);
    for (int8_t& x : input) x = static_cast<int8_t>(byte(rng));
    const size_t packed_bytes = family->packed_bytes(p);
    const size_t scratch_bytes = family->scratch_bytes(p, threads);
    void* packed = Aligned(packed_bytes);
    void* scratch = Aligned(scratch_bytes);
    int64_t bound = 0;
    for (uint32_t o = 0; o < l.channels; ++o) {
      bound = std::max(
          bound, rvgg::kernels::qwinograd::AccumulatorBound(p, l.weights.data(), l.bias.data(), o));
    }
    const bool ok = family->pack(p, l.weights.data(), l.bias.data(), packed);
    std::printf("%-10s %2ux%2ux%3u  %s  packed %zu B, scratch %zu B, |acc| <= %lld (%.3f of 2^25)",
                l.name.c_str(), l.size, l.size, l.channels, ok ? "packed" : "REFUSED", packed_bytes,
                scratch_bytes, static_cast<long long>(bound), bound / 33554432.0);
    if (ok) {
      for (int r = 0; r < runs; ++r) {
        family->run(p, packed, input.data(), output.data(), scratch, pool);
      }
      if (check) {
        const rvgg::ref::Conv2DShape shape{l.size, l.size, l.channels, l.size, l.size, l.channels,
                                           3,      3,      1,          1,      1,      l.relu};
        std::vector<int8_t> expected(in_bytes);
        rvgg::ref::Conv2DQs8(shape, l.input_q, l.output_q, input.data(), l.weights.data(),
                             l.weight_scales.data(), l.bias.data(), expected.data());
        size_t exact = 0;
        int worst = 0;
        for (size_t i = 0; i < in_bytes; ++i) {
          const int d = std::abs(int{output[i]} - int{expected[i]});
          exact += d == 0;
          worst = std::max(worst, d);
        }
        std::printf(", %zu of %zu bit-exact, max diff %d", exact, in_bytes, worst);
        failures += worst > 1;
      }
    } else {
      ++failures;
    }
    std::printf("\n");
    std::free(packed);
    std::free(scratch);
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  return failures == 0 ? 0 : 1;
}
