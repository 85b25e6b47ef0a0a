// converter/src/quantize.cc: the quantization math, calibration methods,
// layer selection, and that the int8 network the converter measures is the
// one the runtime runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "converter/src/error.h"
#include "converter/src/quantize.h"
#include "converter/src/writer.h"
#include "rvgg/rvgg.h"
#include "runtime/reference/reference.h"

namespace rvgg::convert {
namespace {

std::vector<float> Normal(size_t n, float stddev, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Mean squared error of quantizing `x` with `q` and back, the real thing
// (not the histogram's estimate).
double RealError(const std::vector<float>& x, QuantParams q) {
  std::vector<int8_t> b(x.size());
  rvgg::ref::QuantizeF32(x.size(), x.data(), q, b.data());
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double back = (b[i] - q.zero_point) * static_cast<double>(q.scale);
    sum += (back - x[i]) * (back - x[i]);
  }
  return sum / x.size();
}

TEST_CASE("quantize: weights get one scale per output channel, max |w| / 127, rounded values") {
  const std::vector<float> w = {0.5f, -1.27f, 0.014f, 0.0f,  // channel 0: scale 0.01
                                0.0f, 0.0f, 0.0f, 0.254f,    // channel 1: scale 0.002
                                0.0f, 0.0f, 0.0f, 0.0f};     // channel 2: all zero
  const QuantizedWeights q = QuantizeWeightsPerChannel(w, 3);
  REQUIRE(q.scales.size() == 3);
  CHECK(q.scales[0] == doctest::Approx(0.01f));
  CHECK(q.scales[1] == doctest::Approx(0.002f));
  CHECK(q.scales[2] == q.scales[1]);  // a zero channel borrows the smallest scale
  CHECK(q.values == std::vector<int8_t>{50, -127, 1, 0, 0, 0, 0, 127, 0, 0, 0, 0});
}

TEST_CASE("quantize: biases are bias / (input scale x weight scale), saturated to the runtime's bound") {
  const std::vector<int32_t> b = QuantizeBias({1.0f, -0.0301f, 5.0f}, 0.5f, {0.01f, 0.02f, 1e-9f}, 9);
  CHECK(b[0] == 200);
  CHECK(b[1] == -3);  // -3.01 -> -3
  // 1e10 does not fit: clamped so that bias + 9 taps of 255 x 128 stays in int32.
  CHECK(b[2] == INT32_MAX - 9 * 255 * 128);
}

TEST_CASE("quantize: activation parameters hold zero exactly; ReLU ranges use all 256 levels") {
  const QuantParams relu = QuantParamsFor({0.0f, 2.55f});
  CHECK(relu.scale == doctest::Approx(0.01f));
  CHECK(relu.zero_point == -128);
  const QuantParams two_sided = QuantParamsFor({-1.0f, 3.0f});
  CHECK(two_sided.scale == doctest::Approx(4.0f / 255));
  CHECK(two_sided.zero_point == -64);  // round(-128 + 63.75)
  // A range that misses zero is widened to reach it; an empty one gets a width.
  CHECK(QuantParamsFor({0.5f, 2.55f}).zero_point == -128);
  const QuantParams empty = QuantParamsFor({0.0f, 0.0f});
  CHECK(std::isnormal(empty.scale));
  CHECK(empty.zero_point == -128);
}

TEST_CASE("calibration: the histogram keeps exact extremes and zeros, and quantiles within a bin") {
  ActivationHistogram h;
  std::vector<float> all;
  // Batches of growing magnitude force the range to double (bins merge) twice.
  for (float scale : {0.3f, 1.0f, 5.0f}) {
    std::vector<float> batch = Normal(20000, scale, static_cast<uint32_t>(scale * 10));
    for (size_t i = 0; i < batch.size(); i += 4) batch[i] = 0.0f;
    h.Add(batch.data(), batch.size());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(h.count() == all.size());
  CHECK(h.zeros() == 15000);
  CHECK(h.min() == all.front());
  CHECK(h.max() == all.back());
  for (double f : {0.01, 0.3, 0.5, 0.9, 0.999}) {
    const float exact = all[static_cast<size_t>(std::ceil(f * all.size())) - 1];
    CHECK(std::fabs(h.Quantile(f) - exact) <= h.bin_width());
  }
}

TEST_CASE("calibration: percentile clips a lone outlier; MSE weighs it against rounding") {
  std::vector<float> x(100000);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& v : x) v = u(rng);
  x[777] = 50.0f;
  ActivationHistogram h;
  h.Add(x.data(), x.size());
  const ActivationRange minmax = ChooseRange(h, CalibrationMethod::kMinMax, 99.99);
  CHECK(minmax.hi == 50.0f);
  const ActivationRange p = ChooseRange(h, CalibrationMethod::kPercentile, 99.99);
  CHECK(p.lo == 0.0f);
  CHECK(p.hi == doctest::Approx(1.0f).epsilon(0.02));
  // Clipping the one value at 50 costs more squared error than the coarse
  // steps min/max spends on it: MSE keeps most of the range, and it is the
  // smallest real error of the three.
  const ActivationRange m = ChooseRange(h, CalibrationMethod::kMse, 99.99);
  const double e_mse = RealError(x, QuantParamsFor(m));
  CHECK(e_mse <= RealError(x, QuantParamsFor(minmax)));
  CHECK(e_mse < RealError(x, QuantParamsFor(p)));
}

TEST_CASE("calibration: MSE clips a long tail that min/max covers; keeps uniform data whole") {
  // ReLU of a Laplace distribution over 2M values: the max (about ln 1e6 = 14)
  // keeps growing with the sample count, the error-optimal clip (about 10.4
  // for 8 bits) does not.
  std::mt19937 rng(2);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> tail(2000000);
  for (size_t i = 0; i < tail.size(); ++i) tail[i] = i % 2 ? e(rng) : 0.0f;
  ActivationHistogram h;
  h.Add(tail.data(), tail.size());
  const ActivationRange mse = ChooseRange(h, CalibrationMethod::kMse, 99.99);
  const ActivationRange minmax = ChooseRange(h, CalibrationMethod::kMinMax, 99.99);
  const double mse_error = RealError(tail, QuantParamsFor(mse));
  const double minmax_error = RealError(tail, QuantParamsFor(minmax));
  MESSAGE("exponential tail: min/max range ", minmax.hi, " error ", minmax_error, "; MSE range ",
          mse.hi, " error ", mse_error);
  CHECK(mse.hi == doctest::Approx(10.4f).epsilon(0.1));
  CHECK(mse.hi < 0.85f * minmax.hi);
  CHECK(mse_error < 0.8 * minmax_error);
  // The histogram's estimate ranks them the same way.
  CHECK(h.QuantizationError(QuantParamsFor(mse)) < h.QuantizationError(QuantParamsFor(minmax)));

  std::vector<float> flat(100000);
  std::uniform_real_distribution<float> u(-2.0f, 6.0f);
  for (float& v : flat) v = u(rng);
  ActivationHistogram hu;
  hu.Add(flat.data(), flat.size());
  const ActivationRange keep = ChooseRange(hu, CalibrationMethod::kMse, 99.99);
  CHECK(keep.hi > 0.97f * hu.max());
  CHECK(keep.lo < 0.97f * hu.min());
}

// A small plain network: 3 -> 8 (3x3/2) -> 8 (3x3, groups 2) -> 16 (3x3/2,
// no ReLU) + squeeze-excite -> gap -> 5 classes.
FusedNet SmallNet() {
  FusedNet net;
  net.in_channels = 3;
  uint32_t c = 3, seed = 10;
  struct Spec {
    const char* name;
    uint32_t out, stride, groups;
    bool relu;
  };
  for (const Spec& s : {Spec{"stage0", 8, 2, 1, true}, Spec{"stage1.0", 8, 1, 2, true},
                        Spec{"stage2.0", 16, 2, 1, false}}) {
    FusedLayer l;
    l.type = RVGG_LAYER_CONV2D;
    l.name = s.name;
    l.in_channels = c;
    l.out_channels = s.out;
    l.stride = s.stride;
    l.groups = s.groups;
    l.relu = s.relu;
    l.weight = Normal(size_t{s.out} * 9 * (c / s.groups), std::sqrt(2.0f / (9 * c / s.groups)), ++seed);
    l.bias = Normal(s.out, 0.2f, ++seed);
    net.layers.push_back(l);
    c = s.out;
  }
  FusedLayer se;
  se.type = RVGG_LAYER_SQUEEZE_EXCITE;
  se.name = "stage2.0.se";
  se.in_channels = se.out_channels = c;
  se.relu = true;
  se.se.reduced = 4;
  se.se.down_weight = Normal(4 * c, 0.3f, ++seed);
  se.se.down_bias = Normal(4, 0.1f, ++seed);
  se.se.up_weight = Normal(c * 4, 0.5f, ++seed);
  se.se.up_bias = Normal(c, 0.5f, ++seed);
  net.layers.push_back(se);
  FusedLayer pool;
  pool.type = RVGG_LAYER_GLOBAL_AVERAGE_POOL;
  pool.name = "gap";
  pool.in_channels = pool.out_channels = c;
  net.layers.push_back(pool);
  FusedLayer fc;
  fc.type = RVGG_LAYER_FULLY_CONNECTED;
  fc.name = "classifier";
  fc.in_channels = c;
  fc.out_channels = 5;
  fc.weight = Normal(5 * c, 0.5f, ++seed);
  fc.bias = Normal(5, 0.1f, ++seed);
  net.layers.push_back(fc);
  return net;
}

CalibrationSet RandomImages(size_t n, uint32_t h, uint32_t w, uint32_t seed) {
  CalibrationSet cal;
  cal.height = h;
  cal.width = w;
  cal.channels = 3;
  for (size_t i = 0; i < n; ++i) cal.images.push_back(Normal(size_t{h} * w * 3, 1.0f, seed + i));
  cal.source = "random";
  return cal;
}

TEST_CASE("quantize: --keep-fp32 selects layers by name and stage, never by a partial name") {
  FusedNet net = SmallNet();
  net.layers[1].name = "stage1.0";
  CHECK(SelectInt8Layers(net, {}) == std::vector<bool>{true, true, true, false, true, true});
  CHECK(SelectInt8Layers(net, {"stage1"}) == std::vector<bool>{true, false, true, false, true, true});
  CHECK(SelectInt8Layers(net, {"stage0", "classifier"}) ==
        std::vector<bool>{false, true, true, false, true, false});
  try {
    SelectInt8Layers(net, {"stage"});
    FAIL("a prefix that is not a stage or block name must not match");
  } catch (const ConvertError& e) {
    const std::string text = e.what();
    CHECK(text.find("no layer is named 'stage'") != std::string::npos);
    CHECK(text.find("stage0, stage1.0, stage2.0, gap, classifier") != std::string::npos);
  }
}

rvgg_model* Load(const std::vector<uint8_t>& bytes, rvgg_backend backend) {
  rvgg_options o;
  rvgg_options_default(&o);
  o.backend = backend;
  rvgg_model* model = nullptr;
  rvgg_message message;
  const rvgg_status status = rvgg_model_load(bytes.data(), bytes.size(), &o, &model, &message);
  INFO(message.text);
  REQUIRE(status == RVGG_STATUS_OK);
  return model;
}

std::vector<float> RunModel(rvgg_model* model, const std::vector<float>& nhwc, size_t outputs) {
  std::vector<float> out(outputs);
  REQUIRE(rvgg_model_run(model, nhwc.data(), RVGG_LAYOUT_NHWC, out.data()) == RVGG_STATUS_OK);
  return out;
}

void CheckRuntimeRunsWhatWasMeasured(const std::vector<std::string>& keep) {
  const FusedNet net = SmallNet();
  const CalibrationSet cal = RandomImages(12, 15, 13, 100);
  QuantizeOptions options;
  options.keep_fp32 = keep;
  const QuantizationResult q = Quantize(net, cal, options);
  ModelMetadata meta;
  meta.input_height = 15;
  meta.input_width = 13;
  meta.quantization = q.description;
  const std::vector<uint8_t> bytes = SerializeModel(net, meta, &q.layers);
  rvgg_model* ref = Load(bytes, RVGG_BACKEND_REFERENCE);
  rvgg_layer_info info;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    REQUIRE(rvgg_model_get_layer_info(ref, static_cast<uint32_t>(i), &info) == RVGG_STATUS_OK);
    CHECK((info.compute_type == RVGG_DTYPE_INT8) == q.layers[i].int8);
  }
  const CalibrationSet test = RandomImages(3, 15, 13, 500);
  for (const auto& image : test.images) {
    const std::vector<float> expected = RunQuantized(net, q.layers, 15, 13, image);
    CHECK(RunModel(ref, image, 5) == expected);  // bit-exact: the same reference kernels
    const std::vector<float> fp32 = RunFused(net, 15, 13, image);
    double worst = 0.0, scale = 1.0;
    for (size_t k = 0; k < 5; ++k) {
      worst = std::max(worst, static_cast<double>(std::fabs(expected[k] - fp32[k])));
      scale = std::max(scale, static_cast<double>(std::fabs(fp32[k])));
    }
    INFO("max |int8 - float| = " << worst << " of max |logit| " << scale);
    CHECK(worst < 0.1 * scale);
  }
#if RVGG_WITH_XNNPACK
  rvgg_model* xnn = Load(bytes, RVGG_BACKEND_XNNPACK);
  const auto a = RunModel(xnn, test.images[0], 5), b = RunModel(ref, test.images[0], 5);
  for (size_t k = 0; k < 5; ++k) CHECK(std::fabs(a[k] - b[k]) <= 4 * q.layers.back().output.scale);
  rvgg_model_free(xnn);
#endif
  rvgg_model_free(ref);
}

TEST_CASE("quantize: the int8 network written to the file runs bit-identically on the reference backend") {
  CheckRuntimeRunsWhatWasMeasured({});
}

TEST_CASE("quantize: float32-kept layers convert at their edges, in the file and at run time") {
  CheckRuntimeRunsWhatWasMeasured({"stage1"});
  CheckRuntimeRunsWhatWasMeasured({"stage0", "classifier"});
}

TEST_CASE("quantize: int8 layers chain parameters and the report covers every layer") {
  const FusedNet net = SmallNet();
  QuantizeOptions options;
  options.report_images = 4;
  const QuantizationResult q = Quantize(net, RandomImages(8, 15, 13, 7), options);
  REQUIRE(q.layers.size() == net.layers.size());
  CHECK(q.layers[1].input.scale == q.layers[0].output.scale);
  CHECK(q.layers[1].input.zero_point == q.layers[0].output.zero_point);
  CHECK(q.layers[0].output.zero_point == -128);  // ReLU output
  CHECK(q.layers[2].output.zero_point > -128);   // no ReLU before squeeze-excite
  CHECK_FALSE(q.layers[3].int8);
  CHECK(q.report_images == 4);
  CHECK(q.calibration_images == 8);
  REQUIRE(q.report.size() == net.layers.size());
  for (const LayerReport& r : q.report) {
    INFO(r.name);
    CHECK(std::isfinite(r.sqnr_network_db));
    CHECK(r.sqnr_network_db > 15.0);
    if (r.int8) {
      CHECK(r.sqnr_layer_db > 20.0);
      CHECK(r.chosen.hi > 0.0f);
    }
  }
  CHECK(q.description.find("mse over 8 calibration images (random)") != std::string::npos);
  CHECK(q.description.find("float32 layers: stage2.0.se") != std::string::npos);
}

TEST_CASE("quantize: bias correction removes the shift a dominant identity tap causes") {
  // RepVGG's fused identity branch: a centre tap far larger than the other
  // weights sets each channel's scale, the rest round coarsely, and on ReLU
  // (non-negative) inputs their errors add up to a per-channel shift.
  FusedNet net = SmallNet();
  FusedLayer& block = net.layers[1];  // 8 -> 8, stride 1, groups 2
  const uint32_t group_in = block.in_channels / block.groups;
  for (uint32_t o = 0; o < block.out_channels; ++o) {
    block.weight[((size_t{o} * 3 + 1) * 3 + 1) * group_in + o % group_in] += 4.0f;
  }
  const CalibrationSet cal = RandomImages(16, 15, 13, 40);
  QuantizeOptions options;
  options.report_images = 16;
  options.bias_correction_images = 0;
  const QuantizationResult plain = Quantize(net, cal, options);
  options.bias_correction_images = 8;
  const QuantizationResult corrected = Quantize(net, cal, options);
  MESSAGE("block SQNR ", plain.report[1].sqnr_layer_db, " -> ", corrected.report[1].sqnr_layer_db,
          " dB; logits ", plain.report.back().sqnr_network_db, " -> ",
          corrected.report.back().sqnr_network_db, " dB");
  CHECK(corrected.report[1].sqnr_layer_db > plain.report[1].sqnr_layer_db + 1.0);
  CHECK(corrected.report.back().sqnr_network_db > plain.report.back().sqnr_network_db + 2.5);
  // Only biases change.
  CHECK(corrected.layers[1].weights.values == plain.layers[1].weights.values);
  CHECK(corrected.layers[1].bias != plain.layers[1].bias);
  CHECK(corrected.description.find("biases corrected for the mean rounding shift over 8 images") !=
        std::string::npos);
}

TEST_CASE("quantize: a dead layer (always zero) still gets valid requantization") {
  FusedNet net = SmallNet();
  for (float& b : net.layers[1].bias) b = -100.0f;  // ReLU outputs only zeros
  const QuantizationResult q = Quantize(net, RandomImages(4, 15, 13, 9), QuantizeOptions{});
  ModelMetadata meta;
  meta.input_height = 15;
  meta.input_width = 13;
  const std::vector<uint8_t> bytes = SerializeModel(net, meta, &q.layers);
  rvgg_message message;
  CHECK(rvgg_model_verify(bytes.data(), bytes.size(), nullptr, &message) == RVGG_STATUS_OK);
}

TEST_CASE("quantize: a calibration set of the wrong shape is refused") {
  CalibrationSet cal = RandomImages(2, 15, 13, 1);
  cal.channels = 1;
  CHECK_THROWS_AS(Quantize(SmallNet(), cal, QuantizeOptions{}), ConvertError);
  CHECK_THROWS_AS(Quantize(SmallNet(), CalibrationSet{}, QuantizeOptions{}), ConvertError);
}

}  // namespace
}  // namespace rvgg::convert
