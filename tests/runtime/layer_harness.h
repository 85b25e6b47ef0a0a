// Runs one layer through a backend's kernel, outside any model, so each
// optimized operator can be compared with its reference twin.
#ifndef RVGG_TESTS_RUNTIME_LAYER_HARNESS_H_
#define RVGG_TESTS_RUNTIME_LAYER_HARNESS_H_

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/plan.h"

namespace rvgg::testing {

// Owns the constants a hand-made LayerDesc points to.
struct LayerData {
  std::vector<float> weights, bias, down_w, down_b, up_w, up_b;
};

// Runs `desc` on `choice` (its threads: the pool's, for kernels that size
// per-thread scratch by them) with activations of In and Out (float, or
// int8_t on an int8 layer's int8 edges); `name` (if given) gets what the
// kernel calls itself.
template <typename Out, typename In>
std::vector<Out> RunKernel(const LayerDesc& desc, const KernelChoice& choice,
                           const std::vector<In>& input, pthreadpool_t threadpool = nullptr,
                           std::string* name = nullptr) {
  REQUIRE(choice.impl != nullptr);
  const size_t in_bytes = desc.input_elements() * sizeof(In) + kTensorTailBytes;
  const size_t out_bytes = desc.output_elements() * sizeof(Out) + kTensorTailBytes;
  const size_t scratch_bytes = ScratchBytes(desc, choice) + kTensorTailBytes;
  auto* in = static_cast<In*>(AllocateAligned(in_bytes, kAlignment));
  auto* out = desc.in_place() ? reinterpret_cast<Out*>(in)
                              : static_cast<Out*>(AllocateAligned(out_bytes, kAlignment));
  auto* scratch = AllocateAligned(scratch_bytes, kAlignment);
  std::copy(input.begin(), input.end(), in);
  Bindings b;
  b.input = in;
  b.output = out;
  b.scratch = scratch;
  b.scratch_bytes = scratch_bytes;
  Kernel* kernel = nullptr;
  rvgg_message message;
  const rvgg_status status = CreateKernel(desc, choice, b, threadpool, &kernel, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  if (name != nullptr) *name = kernel->name();
  REQUIRE(kernel->Run() == RVGG_STATUS_OK);
  std::vector<Out> result(out, out + desc.output_elements());
  DestroyKernel(kernel);
  if (static_cast<void*>(out) != static_cast<void*>(in)) FreeAligned(out);
  FreeAligned(in);
  FreeAligned(scratch);
  return result;
}

// `winograd_tile` > 0 runs a conv through that Winograd tile (winograd::TileCode,
// XNNPACK backend).
inline std::vector<float> RunLayer(const LayerDesc& desc, rvgg_backend backend,
                                   const std::vector<float>& input, uint32_t winograd_tile = 0) {
  const KernelChoice choice{FindImpl(desc, backend, winograd_tile), winograd_tile};
  return RunKernel<float>(desc, choice, input);
}

// max |a - b| <= tolerance * max(1, max |b|)
inline void CheckClose(const std::vector<float>& a, const std::vector<float>& b, double tolerance) {
  REQUIRE(a.size() == b.size());
  double scale = 1.0, worst = 0.0;
  for (float v : b) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  INFO("max |diff| = " << worst << ", scale = " << scale);
  CHECK(worst <= tolerance * scale);
}

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_LAYER_HARNESS_H_
