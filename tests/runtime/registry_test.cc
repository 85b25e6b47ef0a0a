// runtime/src/ops/registry.cc: every registered op, walked through its
// verify/describe step and each backend's kernels, float32 and (where the
// op allows it) int8, so a new row is covered the day it is added.
#include "runtime/src/ops/registry.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "rvgg/rvgg.h"
#include "tests/runtime/int8_models.h"
#include "tests/runtime/test_models.h"

namespace rvgg::testing {
namespace {

// A model with a layer of every registered op: a stride-2 stem, a block with
// squeeze-excite, global average pooling and the classifier.
ModelSpec EveryOpSpec() {
  ModelSpec spec;
  spec.height = 9;
  spec.width = 11;
  spec.channels = 3;
  ConvSpec stem{16, 3, 2};
  ConvSpec block{16, 3, 1};
  block.se_reduced = 4;
  spec.convs = {stem, block, ConvSpec{24, 1, 1, 0}};
  spec.classes = 7;
  return spec;
}

// The registry rows the layers of `bytes` belong to, checked against what
// rvgg_model_describe_layer reports.
std::set<const OpRegistration*> OpsOf(const std::vector<uint8_t>& bytes) {
  rvgg_model_info info;
  rvgg_message message;
  REQUIRE(rvgg_model_verify(bytes.data(), bytes.size(), &info, &message) == RVGG_STATUS_OK);
  std::set<const OpRegistration*> ops;
  size_t count = 0;
  const OpRegistration* const* rows = RegisteredOps(&count);
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info layer;
    REQUIRE(rvgg_model_describe_layer(bytes.data(), bytes.size(), i, &layer, &message) ==
            RVGG_STATUS_OK);
    const OpRegistration* row = nullptr;
    for (size_t r = 0; r < count; ++r) {
      if (rows[r]->type == layer.type) row = rows[r];
    }
    REQUIRE(row != nullptr);
    CHECK(std::string(rvgg_layer_label(layer.type, layer.kernel_h, layer.stride)).find(row->name) ==
          0);
    ops.insert(row);
  }
  return ops;
}

struct Run {
  std::vector<float> logits;
  std::vector<std::string> kernels;
};

Run LoadAndRun(const std::vector<uint8_t>& bytes, rvgg_backend backend,
               rvgg_precision precision = RVGG_PRECISION_FP32) {
  rvgg_options options;
  rvgg_options_default(&options);
  options.backend = backend;
  options.precision = precision;
  rvgg_model* model = nullptr;
  rvgg_message message;
  const rvgg_status status =
      rvgg_model_load(bytes.data(), bytes.size(), &options, &model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  rvgg_model_info info;
  REQUIRE(rvgg_model_get_info(model, &info) == RVGG_STATUS_OK);
  Run run;
  for (uint32_t i = 0; i < info.num_layers; ++i) {
    rvgg_layer_info layer;
    REQUIRE(rvgg_model_get_layer_info(model, i, &layer) == RVGG_STATUS_OK);
    run.kernels.push_back(layer.kernel);
  }
  const auto input =
      RandomInput(size_t{info.input_height} * info.input_width * info.input_channels, 5);
  run.logits.resize(info.num_outputs);
  REQUIRE(rvgg_model_run(model, input.data(), RVGG_LAYOUT_NHWC, run.logits.data()) ==
          RVGG_STATUS_OK);
  rvgg_model_free(model);
  return run;
}

double MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
  return worst;
}

double MaxAbs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

bool HasImpl(const OpRegistration& row, rvgg_backend backend, rvgg_dtype type) {
  for (size_t i = 0; i < row.num_impls; ++i) {
    if (row.impls[i].backend == backend && row.impls[i].compute_type == type) return true;
  }
  return false;
}

TEST_CASE("registry: every row is found by its op code, names are unique, labels come from it") {
  size_t count = 0;
  const OpRegistration* const* rows = RegisteredOps(&count);
  REQUIRE(count >= 4);
  std::set<std::string> names, ids;
  std::set<int> types;
  for (size_t i = 0; i < count; ++i) {
    const OpRegistration& row = *rows[i];
    INFO(row.name);
    CHECK(FindOp(row.op) == &row);
    CHECK(names.insert(row.name).second);
    CHECK(types.insert(row.type).second);
    CHECK(bool(row.describe));
    if (row.type != RVGG_LAYER_CONV2D)
      CHECK(std::string(rvgg_layer_label(row.type, 1, 1)) == row.name);
    CHECK(std::string(rvgg_layer_type_name(row.type)) == row.id);
    CHECK(ids.insert(row.id).second);
    // The reference backend is the oracle: it runs every op in every type
    // the op allows, and so does the optimized backend of this build.
    CHECK(HasImpl(row, RVGG_BACKEND_REFERENCE, RVGG_DTYPE_FLOAT32));
    CHECK(HasImpl(row, RVGG_BACKEND_REFERENCE, RVGG_DTYPE_INT8) == (row.check_int8 != nullptr));
#if RVGG_WITH_XNNPACK
    CHECK(HasImpl(row, RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT32));
    CHECK(HasImpl(row, RVGG_BACKEND_XNNPACK, RVGG_DTYPE_FLOAT16));
    CHECK(HasImpl(row, RVGG_BACKEND_XNNPACK, RVGG_DTYPE_INT8) == (row.check_int8 != nullptr));
#endif
    for (size_t k = 0; k < row.num_impls; ++k) CHECK(bool(row.impls[k].create));
  }
  CHECK(FindOp(schema::Op::NONE) == nullptr);
  CHECK(std::string(rvgg_layer_type_name(static_cast<rvgg_layer_type>(99))) == "?");
  CHECK(std::string(rvgg_layer_label(RVGG_LAYER_CONV2D, 3, 2)) == "conv 3x3/2");
  CHECK(std::string(rvgg_layer_label(RVGG_LAYER_CONV2D, 1, 1)) == "conv 1x1");
}

TEST_CASE("registry: a float32 model with every op verifies, describes and runs on both backends") {
  const auto bytes = BuildModel(EveryOpSpec());
  size_t count = 0;
  RegisteredOps(&count);
  CHECK(OpsOf(bytes).size() == count);  // every registered op is in the model
  const Run ref = LoadAndRun(bytes, RVGG_BACKEND_REFERENCE);
  for (const std::string& k : ref.kernels) CHECK(k == "reference");
#if RVGG_WITH_XNNPACK
  const Run xnn = LoadAndRun(bytes, RVGG_BACKEND_XNNPACK);
  for (const std::string& k : xnn.kernels) CHECK(k != "reference");
  CHECK(MaxDiff(xnn.logits, ref.logits) <= 1e-4 * std::max(1.0, MaxAbs(ref.logits)));
  if (std::string(rvgg_kernel_isa()).find("fp16 arithmetic") != std::string::npos) {
    const Run half = LoadAndRun(bytes, RVGG_BACKEND_XNNPACK, RVGG_PRECISION_FP16);
    CHECK(MaxDiff(half.logits, ref.logits) <= 1e-2 * std::max(1.0, MaxAbs(ref.logits)));
  } else {
    MESSAGE("fp16 kernels NOT TESTED here: this CPU has no FP16 arithmetic");
  }
#else
  MESSAGE("built without XNNPACK: the reference backend alone");
#endif
}

TEST_CASE("registry: an int8 model runs every int8-capable op on both backends") {
  Int8ModelSpec spec;
  spec.base = EveryOpSpec();
  const auto bytes = BuildInt8Model(spec);
  std::set<const OpRegistration*> int8_ops;
  for (const OpRegistration* row : OpsOf(bytes)) {
    if (row->check_int8 != nullptr) int8_ops.insert(row);
  }
  size_t count = 0, capable = 0;
  const OpRegistration* const* rows = RegisteredOps(&count);
  for (size_t i = 0; i < count; ++i) capable += rows[i]->check_int8 != nullptr;
  CHECK(int8_ops.size() == capable);
  const Run ref = LoadAndRun(bytes, RVGG_BACKEND_REFERENCE);
  CHECK(std::count(ref.kernels.begin(), ref.kernels.end(), "reference int8") ==
        static_cast<long>(ref.kernels.size()) - 1);  // squeeze-excite stays float32
#if RVGG_WITH_XNNPACK
  const Run xnn = LoadAndRun(bytes, RVGG_BACKEND_XNNPACK);
  // int8 kernels agree within a few output steps.
  CHECK(MaxDiff(xnn.logits, ref.logits) <= 0.05 * std::max(1.0, MaxAbs(ref.logits)));
#endif
}

}  // namespace
}  // namespace rvgg::testing
