// runtime/src/isa.cc: rvgg_kernel_isa() names the SIMD level XNNPACK runs at,
// and on ARM (under qemu in the cross builds) that level is NEON.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#if RVGG_WITH_XNNPACK
#include <cpuinfo.h>
#endif

#include "rvgg/rvgg.h"
#include "tests/runtime/layer_harness.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

#if !RVGG_WITH_XNNPACK

TEST_CASE("isa: a build without XNNPACK says it runs the reference kernels") {
  CHECK(Contains(rvgg_kernel_isa(), "reference"));
}

#else

TEST_CASE("isa: rvgg_kernel_isa() agrees with what cpuinfo reports for this CPU") {
  REQUIRE(cpuinfo_initialize());
  const std::string isa = rvgg_kernel_isa();
  INFO("rvgg_kernel_isa() = " << isa);
#if defined(__aarch64__)
  // NEON (Advanced SIMD) with FMA is part of ARMv8-A: cpuinfo must see it
  // through AT_HWCAP even where /proc/cpuinfo is the host's (qemu-user).
  CHECK(cpuinfo_has_arm_neon());
  CHECK(cpuinfo_has_arm_neon_fma());
  CHECK(isa.rfind("aarch64 NEON+FMA", 0) == 0);
  CHECK(Contains(isa, "dot product") == cpuinfo_has_arm_neon_dot());
#elif defined(__arm__)
  // Built for -mfpu=neon-vfpv4: the CPU we run on must have NEON, or XNNPACK
  // would refuse to initialize (and this binary would not run at all).
  CHECK(cpuinfo_has_arm_neon());
  CHECK(isa.rfind("armv7 NEON", 0) == 0);
  CHECK(Contains(isa, "FMA") == cpuinfo_has_arm_neon_fma());
#elif defined(__x86_64__) || defined(__i386__)
  CHECK(isa.rfind("x86-64", 0) == 0);
  CHECK(Contains(isa, "AVX-512F") == cpuinfo_has_x86_avx512f());
#endif
}

TEST_CASE("isa: XNNPACK initializes here and its operators match the reference kernels") {
  // XNNPACK refuses to initialize on a CPU without the SIMD level it was
  // built for (NEON on ARM): loading with the XNNPACK backend proves it runs.
  const auto bytes = BuildModel(SmallRepVGGLikeSpec());
  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = RVGG_BACKEND_XNNPACK;
  options.winograd = RVGG_WINOGRAD_OFF;  // every convolution through XNNPACK
  options.precision = RVGG_PRECISION_FP32;  // compared within float32's tolerance
  rvgg_model* xnn = nullptr;
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(bytes.data(), bytes.size(), &options, &xnn, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  rvgg_layer_info layer;
  REQUIRE(rvgg_model_get_layer_info(xnn, 0, &layer) == RVGG_STATUS_OK);
  CHECK(std::string(layer.kernel) == "xnnpack");

  options.backend = RVGG_BACKEND_REFERENCE;
  rvgg_model* ref = nullptr;
  REQUIRE(rvgg_model_load(bytes.data(), bytes.size(), &options, &ref, &message) == RVGG_STATUS_OK);
  rvgg_model_info info;
  REQUIRE(rvgg_model_get_info(ref, &info) == RVGG_STATUS_OK);
  const auto input = RandomInput(size_t{info.input_channels} * info.input_height * info.input_width, 3);
  std::vector<float> y_xnn(info.num_outputs), y_ref(info.num_outputs);
  REQUIRE(rvgg_model_run(xnn, input.data(), RVGG_LAYOUT_NCHW, y_xnn.data()) == RVGG_STATUS_OK);
  REQUIRE(rvgg_model_run(ref, input.data(), RVGG_LAYOUT_NCHW, y_ref.data()) == RVGG_STATUS_OK);
  CheckClose(y_xnn, y_ref, 1e-4);
  rvgg_model_free(xnn);
  rvgg_model_free(ref);
}

#endif  // RVGG_WITH_XNNPACK

}  // namespace
}  // namespace rvgg::testing
