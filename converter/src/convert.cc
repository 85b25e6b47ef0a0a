#include "converter/src/convert.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "converter/src/checkpoint/value.h"
#include "converter/src/error.h"
#include "converter/src/fusion.h"
#include "converter/src/naming/naming.h"
#include "converter/src/variants.h"
#include "converter/src/writer.h"
#include "tools/common/image.h"
#include "tools/common/npy.h"
#include "rvgg/rvgg.h"

namespace rvgg::convert {
namespace {

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> ReadLabels(const std::string& path, uint32_t classes) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw ConvertError("labels file '" + path + "' is a directory");
  }
  std::ifstream in(path);
  if (!in) throw ConvertError("cannot read labels file '" + path + "'");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.size() != classes) {
    throw ConvertError("labels file '" + path + "' has " + std::to_string(labels.size()) +
                       " labels, the model has " + std::to_string(classes) + " classes");
  }
  return labels;
}

// One value per channel: a single value is repeated.
std::vector<float> PerChannel(const std::vector<float>& v, uint32_t channels, const char* what) {
  if (v.size() == 1) return std::vector<float>(channels, v[0]);
  if (v.size() != channels) {
    throw ConvertError(std::string("--") + what + " has " + std::to_string(v.size()) +
                       " values, the model has " + std::to_string(channels) + " input channels");
  }
  return v;
}

std::string FormatList(const std::vector<float>& v) {
  std::ostringstream out;
  for (size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
  return out.str();
}

std::string LayerSummary(const FusedNet& net) {
  std::map<std::string, size_t> counts;
  std::vector<std::string> order;
  for (const FusedLayer& l : net.layers) {
    // Convolutions are counted together whatever their stride.
    const std::string kind = rvgg_layer_label(l.type, l.kernel, 1);
    if (counts[kind]++ == 0) order.push_back(kind);
  }
  std::ostringstream out;
  for (size_t i = 0; i < order.size(); ++i) out << (i ? ", " : "") << counts[order[i]] << " " << order[i];
  return out.str();
}

}  // namespace

bool ParseInputSize(const std::string& text, uint32_t* height, uint32_t* width) {
  const size_t x = text.find_first_of("xX");
  auto parse = [](const std::string& s, uint32_t* out) {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    const unsigned long v = std::stoul(s);
    if (v == 0 || v > 16384) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  };
  if (x == std::string::npos) {
    if (!parse(text, height)) return false;
    *width = *height;
    return true;
  }
  return parse(text.substr(0, x), height) && parse(text.substr(x + 1), width);
}

bool ParseFloatList(const std::string& text, std::vector<float>* values) {
  values->clear();
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const float v = std::strtof(item.c_str(), &end);
    if (item.empty() || end == item.c_str() || *end != '\0' || !std::isfinite(v)) return false;
    values->push_back(v);
  }
  return !values->empty() && text.back() != ',';
}

namespace {

// Fails early, before any work, when the output cannot be written.
void CheckOutputPath(const std::string& path) {
  if (path.empty()) throw ConvertError("no output file given (-o MODEL.rvgg)");
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw ConvertError("output '" + path + "' is a directory");
  }
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw ConvertError("output folder '" + dir + "' does not exist");
  }
  if (access(dir.c_str(), W_OK) != 0) {
    throw ConvertError("output folder '" + dir + "' is not writable");
  }
}

// Refuses to replace the checkpoint being converted with the model.
void CheckNotSameFile(const std::string& input, const std::string& output) {
  struct stat a, b;
  if (stat(input.c_str(), &a) == 0 && stat(output.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    throw ConvertError("output '" + output + "' is the input checkpoint; choose another file");
  }
}

// NCHW image -> NHWC.
std::vector<float> ToNhwc(const float* nchw, uint32_t c, uint32_t h, uint32_t w) {
  std::vector<float> nhwc(size_t{c} * h * w);
  const size_t pixels = size_t{h} * w;
  for (uint32_t ch = 0; ch < c; ++ch)
    for (size_t p = 0; p < pixels; ++p) nhwc[p * c + ch] = nchw[ch * pixels + p];
  return nhwc;
}

CalibrationSet LoadCalibration(const ConvertOptions& o, uint32_t channels,
                               const ModelMetadata& meta) {
  CalibrationSet cal;
  cal.height = o.input_height;
  cal.width = o.input_width;
  cal.channels = channels;
  const size_t limit = o.calibration_limit ? o.calibration_limit : SIZE_MAX;
  std::string error;
  std::vector<std::string> sources;
  if (!o.calibration_npy.empty()) {
    tools::NpyArray x;
    if (!tools::ReadNpy(o.calibration_npy, &x, &error)) throw ConvertError(error);
    const std::vector<uint64_t> image = {channels, o.input_height, o.input_width};
    uint64_t n = 0;
    if (x.shape.size() == 4 && std::vector<uint64_t>(x.shape.begin() + 1, x.shape.end()) == image) {
      n = x.shape[0];
    } else if (x.shape == image) {
      n = 1;
    } else {
      throw ConvertError("--calibration " + o.calibration_npy + " has shape " +
                         tools::ShapeString(x.shape) + "; the model takes [N, " +
                         std::to_string(channels) + ", " + std::to_string(o.input_height) + ", " +
                         std::to_string(o.input_width) + "] (NCHW float32, normalized)");
    }
    const size_t size = size_t{channels} * o.input_height * o.input_width;
    for (uint64_t i = 0; i < n && cal.images.size() < limit; ++i) {
      cal.images.push_back(ToNhwc(x.data.data() + i * size, channels, o.input_height, o.input_width));
    }
    sources.push_back(BaseName(o.calibration_npy));
  }
  if (!o.calibration_images.empty()) {
    std::vector<std::string> paths;
    if (!tools::ListImageFiles(o.calibration_images, &paths, &error)) {
      throw ConvertError("--calibration-images " + error);
    }
    if (paths.empty()) {
      throw ConvertError("--calibration-images: no image files in '" + o.calibration_images + "'");
    }
    tools::Preprocessing p;
    p.height = o.input_height;
    p.width = o.input_width;
    p.channels = channels;
    p.mean = meta.mean;
    p.std = meta.std;
    size_t used = 0;
    for (const std::string& path : paths) {
      if (cal.images.size() >= limit) break;
      std::vector<float> nchw;
      if (!tools::LoadImage(path, p, &nchw, &error)) throw ConvertError(error);
      cal.images.push_back(ToNhwc(nchw.data(), channels, o.input_height, o.input_width));
      ++used;
    }
    std::string dir = o.calibration_images;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    sources.push_back(BaseName(dir) + "/ (" + std::to_string(used) + " images)");
  }
  for (size_t i = 0; i < sources.size(); ++i) cal.source += (i ? " + " : "") + sources[i];
  if (cal.images.empty()) throw ConvertError("no calibration images");
  return cal;
}

}  // namespace

ConvertReport Convert(const ConvertOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  CheckOutputPath(o.output);
  ConvertReport report;
  RepVGGNet net;
  std::string source_file;
  if (!o.synthetic.empty()) {
    const VariantSpec& spec = FindVariant(o.synthetic);
    net = MakeSyntheticNet(spec, o.synthetic_in_channels, o.synthetic_classes, o.seed);
    report.source_format = "synthetic (random fused weights, seed " + std::to_string(o.seed) + ")";
    source_file = "synthetic:" + spec.name;
  } else {
    CheckNotSameFile(o.checkpoint, o.output);
    const Checkpoint checkpoint = ReadCheckpoint(o.checkpoint);
    std::string scheme;
    WeightsSource weights;
    const StateDict state = ExtractStateDict(checkpoint, o.weights_key, &weights);
    net = ParseRepVGG(state, &scheme);
    const std::string wrapper = weights.Compact();
    report.source_format = checkpoint.container + ", " + scheme + (wrapper.empty() ? "" : ", " + wrapper);
    report.container =
        checkpoint.container == "torch-zip" ? "torch.save zip archive" : checkpoint.container;
    report.dtypes = DescribeDtypes(state);
    report.naming = scheme;
    report.weights = weights.Describe();
    source_file = BaseName(o.checkpoint);
  }
  report.architecture = IdentifyVariant(net);
  report.description = DescribeArchitecture(net);
  report.in_channels = net.in_channels;
  report.input_height = o.input_height;
  report.input_width = o.input_width;
  report.classes = net.num_classes();
  report.blocks = net.blocks.size();
  report.fused_blocks = net.num_fused_blocks();

  ModelMetadata meta;
  meta.input_height = o.input_height;
  meta.input_width = o.input_width;
  meta.source_file = source_file;
  meta.source_format = report.source_format;
  meta.architecture = report.architecture;
  if (!o.mean.empty() || !o.std.empty()) {
    meta.mean = o.mean.empty() ? std::vector<float>(net.in_channels, 0.0f)
                               : PerChannel(o.mean, net.in_channels, "mean");
    meta.std = o.std.empty() ? std::vector<float>(net.in_channels, 1.0f)
                             : PerChannel(o.std, net.in_channels, "std");
    for (float s : meta.std) {
      if (!(s > 0.0f)) throw ConvertError("--std values must be positive");
    }
    report.normalization = "mean " + FormatList(meta.mean) + ", std " + FormatList(meta.std);
  } else if (net.in_channels == 3) {
    meta.mean = {0.485f, 0.456f, 0.406f};
    meta.std = {0.229f, 0.224f, 0.225f};
    report.normalization = "ImageNet mean/std (default for 3 channels; set --mean/--std)";
  } else {
    report.normalization = "none recorded (pass --mean/--std)";
  }
  if (!o.labels_file.empty()) meta.labels = ReadLabels(o.labels_file, net.num_classes());
  report.labels = meta.labels.size();

  FusedNet fused = Fuse(net);

  // The proof: multi-branch and fused networks on the reference kernels.
  uint64_t macs_full = 0;
  {
    uint32_t h = o.input_height, w = o.input_width;
    for (const Block& b : net.blocks) {
      h = (h + 2 - 3) / b.stride + 1;
      w = (w + 2 - 3) / b.stride + 1;
      macs_full += uint64_t{h} * w * b.out_channels * (b.in_channels / b.groups) * 9;
    }
  }
  uint32_t ph = o.input_height, pw = o.input_width;
  if (static_cast<double>(macs_full) > o.proof_max_macs) {
    const double scale = std::sqrt(o.proof_max_macs / static_cast<double>(macs_full));
    ph = std::max<uint32_t>(32, static_cast<uint32_t>(ph * scale));
    pw = std::max<uint32_t>(32, static_cast<uint32_t>(pw * scale));
  }
  const FusionCheck check = CheckFusion(net, fused, ph, pw, o.seed);
  report.proof_height = ph;
  report.proof_width = pw;
  report.fusion_max_abs_diff = check.max_abs_diff;
  report.fusion_rel_diff = check.relative();
  if (check.max_abs_diff > o.fusion_tolerance * std::max(1.0, check.max_abs_logit)) {
    std::ostringstream msg;
    msg << "fusion check failed: fused and multi-branch logits differ by " << check.max_abs_diff
        << " (max |logit| " << check.max_abs_logit << ", tolerance " << o.fusion_tolerance
        << " of max(1, |logit|))";
    throw ConvertError(msg.str());
  }
  meta.fusion_max_abs_diff = static_cast<float>(check.max_abs_diff);
  meta.fusion_rel_diff = static_cast<float>(check.relative());

  std::vector<uint8_t> bytes;
  if (o.quantize.empty()) {
    bytes = SerializeModel(fused, meta);
  } else {
    if (o.quantize != "int8") throw ConvertError("--quantize supports int8 only");
    if (o.calibration_npy.empty() && o.calibration_images.empty()) {
      throw ConvertError("--quantize int8 needs calibration data (--calibration X.npy or "
                         "--calibration-images DIR)");
    }
    const auto quantize_start = std::chrono::steady_clock::now();
    const CalibrationSet calibration = LoadCalibration(o, net.in_channels, meta);
    report.quantization = Quantize(fused, calibration, o.quantization);
    meta.quantization = report.quantization->description;
    bytes = SerializeModel(fused, meta, &report.quantization->layers);
    report.quantization_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - quantize_start).count();
  }
  rvgg_model_info info;
  rvgg_message message;
  if (rvgg_model_verify(bytes.data(), bytes.size(), &info, &message) != RVGG_STATUS_OK) {
    throw ConvertError(std::string("the runtime rejects the converted model: ") + message.text);
  }
  report.layers = info.num_layers;
  report.layer_summary = LayerSummary(fused);
  report.parameters = info.parameters;
  report.macs = info.macs;
  report.arena_bytes = info.recorded_arena_bytes;
  report.file_bytes = bytes.size();
  WriteFileAtomically(o.output, bytes);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace rvgg::convert
