// Post-training int8 quantization of a fused network.
//
// Weights: symmetric int8, one scale per output channel (max |w| / 127), on
// the fused 3x3 kernels and the classifier; biases int32 in units of
// input_scale * weight_scale[o]. Activations: asymmetric int8, one scale and
// zero point per tensor, with ranges calibrated on images run through the
// fused float network on the runtime's reference kernels. Every range
// contains 0, so zero padding and ReLU's zero are exact. The network input
// and the logits always keep their min/max range (see Quantize).
//
// Biases are then corrected for the mean shift the rounded weights cause
// (empirical bias correction, layer by layer on a few calibration images),
// and the quantized network is run as the runtime's reference backend runs
// it (the same ref:: functions) to measure, per layer, the signal-to-
// quantization-noise ratio against the float activations.
#ifndef RVGG_CONVERTER_SRC_QUANTIZE_H_
#define RVGG_CONVERTER_SRC_QUANTIZE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/fusion.h"
#include "runtime/reference/quant.h"

namespace rvgg::convert {

using rvgg::QuantParams;

// How an activation range is chosen from the calibration statistics.
enum class CalibrationMethod {
  kMinMax,      // the observed minimum and maximum
  kPercentile,  // the given percentile at each end (never beyond min/max)
  kMse,         // the range (min/max scaled by a factor) with the least expected
                // squared quantization error: clipping against rounding
};
const char* CalibrationMethodName(CalibrationMethod method);
bool ParseCalibrationMethod(const std::string& text, CalibrationMethod* method);

// Calibration images: normalized float32, NHWC, all of one shape.
struct CalibrationSet {
  uint32_t height = 0, width = 0, channels = 0;
  std::vector<std::vector<float>> images;
  std::string source;  // "calib.npy", "images/ (37 files)", ...
};

// Distribution of one activation tensor over the calibration set: exact
// count of zeros (ReLU produces many; zero quantizes exactly), exact min and
// max, and 2 * kBinsPerSide equal bins over [-R, R). R is a power of two that
// doubles (merging bin pairs exactly) whenever a larger value arrives.
class ActivationHistogram {
 public:
  static constexpr uint32_t kBinsPerSide = 8192;

  void Add(const float* values, size_t count);
  uint64_t count() const { return count_; }
  uint64_t zeros() const { return zeros_; }
  float min() const { return min_; }
  float max() const { return max_; }
  double bin_width() const { return range_ / kBinsPerSide; }

  // Smallest bin edge e with at least `fraction` of the values <= e, within
  // [min, max] (zeros count at 0).
  float Quantile(double fraction) const;

  // Fraction of the values outside [lo, hi] (by bin centre).
  double FractionOutside(float lo, float hi) const;

  // Expected squared error per value of quantizing to int8 with `q`: values
  // outside the representable range are clipped, the others carry the
  // uniform rounding error step^2 / 12; zeros are exact.
  double QuantizationError(QuantParams q) const;

 private:
  void Grow(double magnitude);

  double range_ = 0.0;  // R; 0 until a non-zero value arrives
  std::vector<uint64_t> bins_;
  uint64_t count_ = 0, zeros_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
};

struct ActivationRange {
  float lo = 0.0f, hi = 0.0f;
};

// The range `method` picks (always containing 0). `percentile` in (50, 100].
ActivationRange ChooseRange(const ActivationHistogram& histogram, CalibrationMethod method,
                            double percentile);

// Asymmetric int8 parameters covering `range` (widened to contain 0 and to a
// minimum width): scale = (hi - lo) / 255, zero point = round(-128 - lo / scale).
QuantParams QuantParamsFor(ActivationRange range);

struct QuantizedWeights {
  std::vector<int8_t> values;  // the float layout (OHWI or [out, in])
  std::vector<float> scales;   // one per output channel
};

// Symmetric per-output-channel int8: scale[o] = max |w[o]| / 127, q =
// round(w / scale) in [-127, 127]. An all-zero channel takes the smallest
// other scale (any positive scale represents it exactly).
QuantizedWeights QuantizeWeightsPerChannel(const std::vector<float>& weights,
                                           uint32_t out_channels);

// round(bias[o] / (input_scale * weight_scales[o])), saturated to what the
// runtime accepts for `taps` products per output (no int32 overflow).
std::vector<int32_t> QuantizeBias(const std::vector<float>& bias, float input_scale,
                                  const std::vector<float>& weight_scales, uint64_t taps);

// One layer's int8 form (int8 == false: the layer stays float32).
struct LayerQuantization {
  bool int8 = false;
  QuantParams input, output;
  QuantizedWeights weights;     // conv and fully connected
  std::vector<int32_t> bias;
};

struct QuantizeOptions {
  CalibrationMethod method = CalibrationMethod::kMse;
  double percentile = 99.99;
  // Layers kept float32: a name matches a layer of that name and the layers
  // under it ("stage1" keeps "stage1.0", "stage1.1", ...). Squeeze-excite is
  // always float32.
  std::vector<std::string> keep_fp32;
  // Images (from the start of the calibration set) the error report runs.
  size_t report_images = 16;
  // Images for the empirical bias correction (0: none): each int8 layer's
  // bias absorbs the mean shift its rounded weights (and the int8 layers
  // before it) cause, measured against the float network.
  size_t bias_correction_images = 16;
};

struct LayerReport {
  std::string name;
  std::string kind;                // "conv 3x3/2", "global avg pool", ...
  bool int8 = false;
  ActivationRange observed;        // output min/max on the calibration set
  ActivationRange chosen;          // the quantized output range (int8 layers)
  double clipped_fraction = 0.0;   // of the calibration outputs, outside `chosen`
  // 10 log10(signal power / noise power) of the layer's output against the
  // float network, over the report images:
  double sqnr_layer_db = 0.0;      // this layer alone, fed the exact float input
  double sqnr_network_db = 0.0;    // the int8 network up to and including it
};

struct QuantizationResult {
  std::vector<LayerQuantization> layers;  // one per FusedNet layer
  std::vector<LayerReport> report;
  std::string description;                // recorded as Provenance.quantization
  size_t calibration_images = 0;
  size_t report_images = 0;
  double top1_agreement = 0.0;            // int8 vs float argmax on the report images
};

// Which layers become int8 (false for kept and squeeze-excite layers). Throws
// ConvertError naming a keep_fp32 entry that matches no layer.
std::vector<bool> SelectInt8Layers(const FusedNet& net, const std::vector<std::string>& keep_fp32);

// Calibrates, quantizes and measures. Throws ConvertError on an empty or
// mismatched calibration set.
QuantizationResult Quantize(const FusedNet& net, const CalibrationSet& calibration,
                            const QuantizeOptions& options);

// Logits of one NHWC image through the quantized network, computed exactly as
// the runtime's reference backend computes them.
std::vector<float> RunQuantized(const FusedNet& net, const std::vector<LayerQuantization>& layers,
                                uint32_t height, uint32_t width, const std::vector<float>& input);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_QUANTIZE_H_
