// rvgg-qconv-winograd-bench: runs the int8 Winograd kernel
// (runtime/src/kernels/qconv_winograd.h) on RepVGG-A0's 3x3 layers at 224
// (stage0 224x224x3 -> 48 and stage1.0, 2.0, 3.0, 4.0 at stride 2; stage1.1
// 56x56x48, stage2.1-2.3 28x28x96, stage3.1-3.13 14x14x192 at stride 1),
// each --runs times, for counting guest instructions under qemu: one run of
// the selected layers = count(--runs 2) - count(--runs 1).
//
//   rvgg-qconv-winograd-bench [--runs N] [--layer NAME] [--stride 1|2]
//                             [--form neon|portable|direct] [--threads N]
//                             [--model A0-INT8.rvgg] [--check]
//
// --form direct runs XNNPACK's qc8 convolution instead (what the runtime
// runs today). Data are random int8 (weights of a triangular distribution,
// as trained ones are mostly small), or with --model the model's own
// weights, biases, zero points and scales for the layers of that name
// (inputs stay random). --check compares every output with ref::Conv2DInt8
// (slow under qemu). Packing, operator creation and data generation happen
// once, before the runs; each layer prints its packed and scratch bytes and
// the accumulator bound `pack` checks.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/kernels/qconv_winograd.h"
#include "runtime/src/model.h"
#include "runtime/reference/reference.h"

namespace {

using rvgg::kernels::QConvFamily;
using rvgg::kernels::QConvParams;

struct Layer {
  std::string name;
  uint32_t size, in_c, out_c, stride;
  bool relu = true;
  rvgg::QuantParams input_q{0.05f, -128}, output_q{0.05f, -128};
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<float> weight_scales, requant;
  uint32_t out_size() const { return (size - 1) / stride + 1; }
};

std::vector<Layer> A0Layers() {
  std::vector<Layer> layers;
  auto add = [&](const char* stage, int first, int last, uint32_t size, uint32_t in_c,
                 uint32_t out_c, uint32_t stride) {
    for (int i = first; i <= last; ++i) {
      Layer l;
      l.name = std::string(stage) + (i < 0 ? "" : "." + std::to_string(i));
      l.size = size;
      l.in_c = in_c;
      l.out_c = out_c;
      l.stride = stride;
      layers.push_back(l);
    }
  };
  add("stage0", -1, -1, 224, 3, 48, 2);
  add("stage1", 0, 0, 112, 48, 48, 2);
  add("stage1", 1, 1, 56, 48, 48, 1);
  add("stage2", 0, 0, 56, 48, 96, 2);
  add("stage2", 1, 3, 28, 96, 96, 1);
  add("stage3", 0, 0, 28, 96, 192, 2);
  add("stage3", 1, 13, 14, 192, 192, 1);
  add("stage4", 0, 0, 14, 192, 1280, 2);
  return layers;
}

void RandomData(Layer* l, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> half(-63, 63), bias(-50000, 50000);
  std::uniform_real_distribution<float> scale(0.002f, 0.01f);
  l->weights.resize(size_t{l->out_c} * 9 * l->in_c);
  for (int8_t& w : l->weights) w = static_cast<int8_t>(half(rng) + half(rng));
  l->bias.resize(l->out_c);
  l->weight_scales.resize(l->out_c);
  for (uint32_t o = 0; o < l->out_c; ++o) {
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
  if (d.op != rvgg::schema::Op::Conv2D || d.weights_q == nullptr) return RVGG_STATUS_OK;
  for (Layer& l : *layers) {
    if (l.name != d.name) continue;
    if (d.in_h != l.size || d.in_c != l.in_c || d.out_c != l.out_c || d.stride != l.stride ||
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

// One layer on XNNPACK's qc8 convolution (created once, run `runs` times).
bool RunDirect(const Layer& l, const int8_t* input, int8_t* output, int runs, pthreadpool_t pool) {
  xnn_operator_t op = nullptr;
  const int8_t qmin = static_cast<int8_t>(l.relu ? std::max(-128, l.output_q.zero_point) : -128);
  if (xnn_create_convolution2d_nhwc_qc8(
          1, 1, 1, 1, 3, 3, l.stride, l.stride, 1, 1, 1, l.in_c, l.out_c, l.in_c, l.out_c,
          static_cast<int8_t>(l.input_q.zero_point), l.input_q.scale, l.weight_scales.data(),
          l.weights.data(), l.bias.data(), static_cast<int8_t>(l.output_q.zero_point),
          l.output_q.scale, qmin, INT8_MAX, 0, &op) != xnn_status_success) {
    return false;
  }
  bool ok = xnn_setup_convolution2d_nhwc_qc8(op, 1, l.size, l.size, input, output, pool) ==
            xnn_status_success;
  for (int r = 0; ok && r < runs; ++r) ok = xnn_run_operator(op, pool) == xnn_status_success;
  xnn_delete_operator(op);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1;
  uint32_t threads = 1;
  std::string only, form = "neon", model;
  uint32_t stride = 0;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--runs" && has_value) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--layer" && has_value) {
      only = argv[++i];
    } else if (a == "--stride" && has_value) {
      stride = static_cast<uint32_t>(std::atoi(argv[++i]));
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
                   "usage: %s [--runs N] [--layer NAME] [--stride 1|2] "
                   "[--form neon|portable|direct] [--threads N] [--model FILE.rvgg] [--check]\n",
                   argv[0]);
      return 2;
    }
  }
  const bool direct = form == "direct";
  const QConvFamily* family = &rvgg::kernels::kQConvWinogradPortable;
#if defined(__aarch64__)
  if (form == "neon") family = &rvgg::kernels::kQConvWinogradNeon;
#endif
  if (!direct && form != "portable" && family == &rvgg::kernels::kQConvWinogradPortable) {
    std::fprintf(stderr, "form %s: not in this build\n", form.c_str());
    return 2;
  }
  if (direct && xnn_initialize(nullptr) != xnn_status_success) {
    std::fprintf(stderr, "xnn_initialize failed\n");
    return 1;
  }

  std::vector<Layer> layers = A0Layers();
  layers.erase(std::remove_if(layers.begin(), layers.end(),
                              [&](const Layer& l) {
                                return (!only.empty() && l.name != only) ||
                                       (stride != 0 && l.stride != stride);
                              }),
               layers.end());
  if (layers.empty()) {
    std::fprintf(stderr, "no layer %s\n", only.c_str());
    return 2;
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
    p.in_h = p.in_w = l.size;
    p.out_h = p.out_w = l.out_size();
    p.in_c = l.in_c;
    p.out_c = l.out_c;
    p.stride = l.stride;
    p.input_zero_point = l.input_q.zero_point;
    p.output_zero_point = l.output_q.zero_point;
    p.output_min = l.relu ? std::max(-128, l.output_q.zero_point) : -128;
    l.requant.resize(l.out_c);
    for (uint32_t o = 0; o < l.out_c; ++o) {
      l.requant[o] = l.input_q.scale * l.weight_scales[o] / l.output_q.scale;
    }
    p.requant_scale = l.requant.data();
    const size_t in_bytes = size_t{l.size} * l.size * l.in_c;
    const size_t out_bytes = size_t{p.out_h} * p.out_w * l.out_c;
    std::vector<int8_t> input(in_bytes + 16), output(out_bytes + 16);
    std::mt19937 rng(seed++);
    std::uniform_int_distribution<int> byte(-128, 127);
    for (int8_t& x : input) x = static_cast<int8_t>(byte(rng));
    std::printf("%-10s %3ux%3ux%4u -> %4u s%u ", l.name.c_str(), l.size, l.size, l.in_c, l.out_c,
                l.stride);
    bool ok = false;
    if (direct) {
      ok = RunDirect(l, input.data(), output.data(), runs, pool);
      std::printf(" xnnpack qc8 %s", ok ? "ran" : "FAILED");
    } else if (!family->applies(p)) {
      std::printf(" not applicable");
      ok = true;
      check = false;
    } else {
      const size_t packed_bytes = family->packed_bytes(p);
      const size_t scratch_bytes = family->scratch_bytes(p, threads);
      void* packed = Aligned(packed_bytes);
      void* scratch = Aligned(scratch_bytes);
      int64_t bound = 0;
      for (uint32_t o = 0; o < l.out_c; ++o) {
        bound = std::max(bound, rvgg::kernels::qwinograd::AccumulatorBound(p, l.weights.data(),
                                                                           l.bias.data(), o));
      }
      ok = family->pack(p, l.weights.data(), l.bias.data(), packed);
      const int64_t limit = rvgg::kernels::qwinograd::MakePlan(p).accumulator_limit;
      std::printf(" %s, packed %zu B, scratch %zu B, |acc| <= %lld (%.3f of the limit 2^%d)",
                  ok ? "packed" : "REFUSED", packed_bytes, scratch_bytes,
                  static_cast<long long>(bound), static_cast<double>(bound) / limit,
                  limit == (int64_t{1} << 27) ? 27 : 25);
      for (int r = 0; ok && r < runs; ++r) {
        family->run(p, packed, input.data(), output.data(), scratch, pool);
      }
      std::free(packed);
      std::free(scratch);
    }
    if (ok && check) {
      const rvgg::ref::Conv2DShape shape{l.size, l.size, l.in_c,   p.out_h, p.out_w, l.out_c,
                                         3,      3,      l.stride, 1,       1,       l.relu};
      std::vector<int8_t> expected(out_bytes);
      rvgg::ref::Conv2DInt8(shape, l.input_q, l.output_q, input.data(), l.weights.data(),
                           l.weight_scales.data(), l.bias.data(), expected.data());
      size_t exact = 0;
      int worst = 0;
      for (size_t i = 0; i < out_bytes; ++i) {
        const int d = std::abs(int{output[i]} - int{expected[i]});
        exact += d == 0;
        worst = std::max(worst, d);
      }
      std::printf(", %zu of %zu bit-exact, max diff %d", exact, out_bytes, worst);
      ok = worst <= 1;
    }
    failures += !ok;
    std::printf("\n");
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  return failures == 0 ? 0 : 1;
}
