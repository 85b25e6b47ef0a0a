// int8 layers outside any model: random int8 data with scales that keep the
// outputs spread over the int8 range (so a wrong kernel shows), and a runner
// for kernels whose edges are int8 or float32.
#ifndef RVGG_TESTS_RUNTIME_INT8_HARNESS_H_
#define RVGG_TESTS_RUNTIME_INT8_HARNESS_H_

#include <doctest/doctest.h>
#if RVGG_WITH_XNNPACK
#include <pthreadpool.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "runtime/src/model.h"
#include "runtime/src/ops/registry.h"
#include "tests/runtime/layer_harness.h"

namespace rvgg::testing {

// Owns the int8 constants a hand-made LayerDesc points to.
struct Int8Data {
  std::vector<int8_t> weights;
  std::vector<float> scales;
  std::vector<int32_t> bias;
};

inline std::vector<int8_t> RandomInt8(size_t count, uint32_t seed, int lo = -128, int hi = 127) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int8_t> v(count);
  for (int8_t& x : v) x = static_cast<int8_t>(dist(rng));
  return v;
}

// Random symmetric weights, per-channel scales in [0.002, 0.01) (or one
// shared scale), int32 biases, and an output scale that puts the typical
// output about 40 LSB from the zero point. `taps` = inputs per output.
inline void FillInt8Layer(LayerDesc* d, Int8Data* data, size_t weight_count, uint32_t taps,
                         uint32_t seed, bool per_tensor = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(0.002f, 0.01f);
  data->weights = RandomInt8(weight_count, seed + 1, -127, 127);
  data->scales.resize(d->out_c);
  const float shared = scale(rng);
  for (float& s : data->scales) s = per_tensor ? shared : scale(rng);
  std::uniform_int_distribution<int32_t> bias(-20000, 20000);
  data->bias.resize(d->out_c);
  for (int32_t& b : data->bias) b = bias(rng);
  d->weights_q = data->weights.data();
  d->weight_scales = data->scales.data();
  d->bias_q = data->bias.data();
  d->input_q = QuantParams{0.05f, -7};
  // acc ~ sqrt(taps) * 74 * 73 (uniform int8 times uniform int8).
  const float typical = std::sqrt(static_cast<float>(taps)) * 74.0f * 73.0f * 0.006f;
  d->output_q = QuantParams{d->input_q.scale * typical / 40.0f, 5};
}

// Every implementation of the optimized backend that runs `desc` on this
// CPU (rvgg's kernel families and XNNPACK's operators), in the registry's
// order, so a test checks each of them, not only the one a load would pick.
inline std::vector<const KernelImpl*> OptimizedImpls(const LayerDesc& desc) {
  std::vector<const KernelImpl*> impls;
  const OpRegistration& row = OpOf(desc);
  for (size_t i = 0; i < row.num_impls; ++i) {
    const KernelImpl& impl = row.impls[i];
    if (impl.backend != RVGG_BACKEND_XNNPACK || impl.compute_type != desc.compute_type) continue;
    if (impl.applies == nullptr || impl.applies(desc, 0)) impls.push_back(&impl);
  }
  return impls;
}

// Runs `desc` on implementation `impl`; In/Out are int8_t or float,
// matching the layer's input_type / output_type. `name` (if given) gets
// what the kernel calls itself.
template <typename Out, typename In>
std::vector<Out> RunTypedLayer(const LayerDesc& desc, const KernelImpl* impl,
                               const std::vector<In>& input, pthreadpool_t threadpool = nullptr,
                               std::string* name = nullptr) {
  REQUIRE(input.size() == desc.input_elements());
  KernelChoice choice{impl, 0, 1};
#if RVGG_WITH_XNNPACK
  // Kernels that keep per-thread scratch size it for the pool they run on.
  if (threadpool != nullptr) {
    choice.threads = static_cast<uint32_t>(pthreadpool_get_threads_count(threadpool));
  }
#endif
  return RunKernel<Out>(desc, choice, input, threadpool, name);
}

// Runs `desc` on what a load with `backend` would pick for it.
template <typename Out, typename In>
std::vector<Out> RunTypedLayer(const LayerDesc& desc, rvgg_backend backend,
                               const std::vector<In>& input, pthreadpool_t threadpool = nullptr) {
  return RunTypedLayer<Out>(desc, FindImpl(desc, backend, 0), input, threadpool);
}

// XNNPACK's int8 output against the reference: every value within `lsb`,
// and the outputs spread enough (not saturated) for the check to mean much.
inline void CheckWithinLsb(const std::vector<int8_t>& xnn, const std::vector<int8_t>& ref,
                           int lsb = 1) {
  REQUIRE(xnn.size() == ref.size());
  int worst = 0;
  size_t differ = 0, saturated = 0;
  std::set<int> distinct;
  for (size_t i = 0; i < ref.size(); ++i) {
    const int d = std::abs(int{xnn[i]} - int{ref[i]});
    worst = std::max(worst, d);
    differ += d != 0;
    saturated += ref[i] == 127 || ref[i] == -128;
    distinct.insert(ref[i]);
  }
  INFO("max |xnnpack - reference| = " << worst << " LSB; " << differ << " of " << ref.size()
                                      << " differ; " << saturated << " saturated; "
                                      << distinct.size() << " distinct values");
  CHECK(worst <= lsb);
  CHECK(saturated * 10 <= ref.size());
  CHECK(distinct.size() >= std::min<size_t>(ref.size() / 8, 32));
}

// Every optimized implementation of `desc` (OptimizedImpls) within `lsb`
// of the reference backend; at least one runs it.
template <typename In>
void CheckOptimizedWithinLsb(const LayerDesc& desc, const std::vector<In>& input, int lsb = 1,
                             pthreadpool_t threadpool = nullptr) {
  const auto ref = RunTypedLayer<int8_t>(desc, RVGG_BACKEND_REFERENCE, input);
  const auto impls = OptimizedImpls(desc);
  REQUIRE(!impls.empty());
  for (const KernelImpl* impl : impls) {
    std::string name;
    const auto out = RunTypedLayer<int8_t>(desc, impl, input, threadpool, &name);
    INFO("kernel " << name);
    CheckWithinLsb(out, ref, lsb);
  }
}

}  // namespace rvgg::testing

#endif  // RVGG_TESTS_RUNTIME_INT8_HARNESS_H_
