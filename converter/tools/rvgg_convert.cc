// rvgg-convert: RepVGG checkpoint -> fused .rvgg model.
//
//   rvgg-convert CHECKPOINT -o MODEL.rvgg [--input-size N | HxW]
//                [--mean a[,b,c]] [--std a[,b,c]] [--labels FILE] [--weights KEY]
//   rvgg-convert --synthetic VARIANT -o MODEL.rvgg [--input-size ...]
//   ... --quantize int8 --calibration X.npy [--calibration-images DIR] [--keep-fp32 a,b]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "converter/src/convert.h"
#include "converter/src/error.h"

namespace {

using rvgg::convert::ConvertError;

const char kUsage[] =
    "usage: rvgg-convert CHECKPOINT -o MODEL.rvgg [--input-size N | HxW]\n"
    "                    [--mean a[,b,c]] [--std a[,b,c]] [--labels FILE] [--weights KEY]\n"
    "       rvgg-convert --synthetic VARIANT -o MODEL.rvgg [--input-size N | HxW]\n"
    "                    [--classes N] [--in-channels N] [--seed N]\n"
    "\n"
    "Reads a RepVGG checkpoint (torch.save .pth/.bin, also of a whole model, a\n"
    "TorchScript .pt, or .safetensors; official, timm or MMPretrain names; train-time,\n"
    "deploy or mixed; wrapped or not; float32/16, bfloat16),\n"
    "fuses every block into one 3x3 convolution, checks the fused network\n"
    "against the multi-branch one, and writes a .rvgg model.\n"
    "\n"
    "  -o, --output FILE     model to write (replaced only on success)\n"
    "  --input-size N|HxW    input resolution recorded in the model (default 224)\n"
    "  --mean a[,b,c]        per-channel normalization mean (default: ImageNet for 3 channels)\n"
    "  --std a[,b,c]         per-channel normalization std\n"
    "  --labels FILE         class labels, one per line\n"
    "  --weights KEY         the checkpoint entry holding the weights, e.g. 'model' when\n"
    "                        a training checkpoint has both 'model' and 'model_ema';\n"
    "                        nested entries as 'state_dict.model'. Default: the file's\n"
    "                        own state dict, else the first of model_ema, state_dict_ema,\n"
    "                        ema, state_dict, model, module, net (EMA weights first)\n"
    "  --synthetic VARIANT   random fused weights for an official variant (A0 ... B3g4, D2se)\n"
    "  --classes N           synthetic: number of classes (default 1000)\n"
    "  --in-channels N       synthetic: input channels (default 3)\n"
    "  --seed N              random seed for the fusion check and synthetic weights\n"
    "  --fusion-tolerance X  fail when fused and multi-branch logits differ by more\n"
    "                        than X * max(1, max |logit|) (default 1e-3)\n"
    "\n"
    "int8 post-training quantization (per-channel int8 weights, per-tensor int8\n"
    "activations calibrated on sample inputs; prints each layer's error):\n"
    "  --quantize int8       write an int8 model\n"
    "  --calibration X.npy   calibration inputs: float32 [N, C, H, W], normalized\n"
    "                        like rvgg-run's input\n"
    "  --calibration-images DIR\n"
    "                        calibration images (PNG, JPEG, ...), preprocessed as\n"
    "                        rvgg-classify does with the model's mean/std\n"
    "  --calibration-limit N use at most N calibration images\n"
    "  --calibration-method mse|percentile|minmax\n"
    "                        how activation ranges are chosen (default mse: the\n"
    "                        least expected squared error, clipping vs rounding)\n"
    "  --percentile P        percentile for --calibration-method percentile\n"
    "                        (default 99.99)\n"
    "  --keep-fp32 a,b,...   layers to keep float32 (names as rvgg-info shows them;\n"
    "                        'stage1' keeps all of stage1's blocks)\n"
    "  --bias-correction-images N\n"
    "                        images for the bias correction: each int8 layer's bias\n"
    "                        absorbs the mean shift rounding causes (default 16,\n"
    "                        0: off)\n"
    "  --report-images N     images for the per-layer error report (default 16)\n";

[[noreturn]] void Die(std::string message) {
  // One line whatever the checkpoint's names hold.
  for (char& c : message) c = (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  std::fprintf(stderr, "rvgg-convert: error: %s\n", message.c_str());
  std::exit(1);
}

uint32_t ParseCount(const std::string& flag, const std::string& value, uint32_t max) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || v == 0 || v > max) {
    Die(flag + " expects a whole number from 1 to " + std::to_string(max) + ", got '" + value + "'");
  }
  return static_cast<uint32_t>(v);
}

std::string WithCommas(uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Bytes(uint64_t v) {
  char buf[64];
  if (v >= (1u << 20)) {
    std::snprintf(buf, sizeof(buf), "%.2f MiB (%s bytes)", v / 1048576.0, WithCommas(v).c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB (%s bytes)", v / 1024.0, WithCommas(v).c_str());
  }
  return buf;
}

std::string Db(double db) {
  if (std::isinf(db)) return db > 0 ? "exact" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f dB", db);
  return buf;
}

void PrintQuantization(const rvgg::convert::QuantizationResult& q, double seconds) {
  std::printf("  quantization  %s\n", q.description.c_str());
  std::printf("                int8 vs float32 top-1 agreement %.1f%% on %zu image%s (%.1f s)\n",
              100.0 * q.top1_agreement, q.report_images, q.report_images == 1 ? "" : "s", seconds);
  std::printf("                per layer, on those images: output range seen (float32) and kept\n"
              "                (int8), share of outputs clipped, SQNR of the layer alone (exact\n"
              "                float input) and of the int8 network up to it\n");
  std::printf("    %3s  %-16s %-16s %-5s %-21s %-21s %7s %10s %10s\n", "#", "layer", "type", "dtype",
              "seen", "kept", "clipped", "SQNR layer", "SQNR net");
  for (size_t i = 0; i < q.report.size(); ++i) {
    const auto& l = q.report[i];
    char seen[48], kept[48] = "-", clipped[16] = "-";
    std::snprintf(seen, sizeof(seen), "[%.3g, %.3g]", l.observed.lo, l.observed.hi);
    if (l.int8) {
      std::snprintf(kept, sizeof(kept), "[%.3g, %.3g]", l.chosen.lo, l.chosen.hi);
      std::snprintf(clipped, sizeof(clipped), "%.3f%%", 100.0 * l.clipped_fraction);
    }
    std::printf("    %3zu  %-16.16s %-16s %-5s %-21s %-21s %7s %10s %10s\n", i, l.name.c_str(),
                l.kind.c_str(), l.int8 ? "int8" : "fp32", seen, kept, clipped,
                l.int8 ? Db(l.sqnr_layer_db).c_str() : "-", Db(l.sqnr_network_db).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  rvgg::convert::ConvertOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "-o" || arg == "--output") {
      o.output = value();
    } else if (arg == "--input-size") {
      const std::string v = value();
      if (!rvgg::convert::ParseInputSize(v, &o.input_height, &o.input_width)) {
        Die("--input-size expects N or HxW (1 to 16384), got '" + v + "'");
      }
    } else if (arg == "--mean" || arg == "--std") {
      const std::string v = value();
      if (!rvgg::convert::ParseFloatList(v, arg == "--mean" ? &o.mean : &o.std)) {
        Die(arg + " expects numbers separated by commas, got '" + v + "'");
      }
    } else if (arg == "--labels") {
      o.labels_file = value();
    } else if (arg == "--weights") {
      o.weights_key = value();
      if (o.weights_key.empty()) Die("--weights expects a checkpoint key such as 'model'");
    } else if (arg == "--synthetic") {
      o.synthetic = value();
    } else if (arg == "--classes") {
      o.synthetic_classes = ParseCount(arg, value(), 1u << 16);
    } else if (arg == "--in-channels") {
      o.synthetic_in_channels = ParseCount(arg, value(), 4096);
    } else if (arg == "--seed") {
      o.seed = ParseCount(arg, value(), 0x7fffffff);
    } else if (arg == "--fusion-tolerance") {
      const std::string v = value();
      char* end = nullptr;
      o.fusion_tolerance = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.fusion_tolerance > 0)) {
        Die("--fusion-tolerance expects a positive number, got '" + v + "'");
      }
    } else if (arg == "--quantize") {
      o.quantize = value();
      if (o.quantize != "int8") Die("--quantize supports int8 only, got '" + o.quantize + "'");
    } else if (arg == "--calibration") {
      o.calibration_npy = value();
    } else if (arg == "--calibration-images") {
      o.calibration_images = value();
    } else if (arg == "--calibration-limit") {
      o.calibration_limit = ParseCount(arg, value(), 1u << 30);
    } else if (arg == "--calibration-method") {
      const std::string v = value();
      if (!rvgg::convert::ParseCalibrationMethod(v, &o.quantization.method)) {
        Die("--calibration-method expects mse, percentile or minmax, got '" + v + "'");
      }
    } else if (arg == "--percentile") {
      const std::string v = value();
      char* end = nullptr;
      o.quantization.percentile = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.quantization.percentile > 50.0) ||
          o.quantization.percentile > 100.0) {
        Die("--percentile expects a number in (50, 100], got '" + v + "'");
      }
    } else if (arg == "--keep-fp32") {
      const std::string v = value();
      size_t start = 0;
      while (start <= v.size()) {
        const size_t comma = v.find(',', start);
        const std::string name = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!name.empty()) o.quantization.keep_fp32.push_back(name);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (arg == "--bias-correction-images") {
      const std::string v = value();
      char* end = nullptr;
      const unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n > (1u << 20)) {
        Die("--bias-correction-images expects a whole number (0: no correction), got '" + v + "'");
      }
      o.quantization.bias_correction_images = n;
    } else if (arg == "--report-images") {
      o.quantization.report_images = ParseCount(arg, value(), 1u << 20);
    } else if (!arg.empty() && arg[0] == '-') {
      Die("unknown option '" + arg + "' (see --help)");
    } else if (o.checkpoint.empty()) {
      o.checkpoint = arg;
    } else {
      Die("more than one checkpoint given ('" + o.checkpoint + "' and '" + arg + "')");
    }
  }
  if (o.checkpoint.empty() && o.synthetic.empty()) Die("no checkpoint given (see --help)");
  if (!o.checkpoint.empty() && !o.synthetic.empty()) Die("give a checkpoint or --synthetic, not both");
  if (!o.weights_key.empty() && o.checkpoint.empty()) Die("--weights needs a checkpoint");
  if (o.output.empty()) Die("no output file given (-o MODEL.rvgg)");
  if (o.quantize.empty() && (!o.calibration_npy.empty() || !o.calibration_images.empty() ||
                             !o.quantization.keep_fp32.empty())) {
    Die("calibration and --keep-fp32 options need --quantize int8");
  }

  rvgg::convert::ConvertReport r;
  try {
    r = rvgg::convert::Convert(o);
  } catch (const ConvertError& e) {
    Die(e.what());
  } catch (const std::bad_alloc&) {
    Die("out of memory");
  } catch (const std::exception& e) {
    Die(std::string("internal error: ") + e.what());
  }
  const std::string source = o.synthetic.empty() ? o.checkpoint : "--synthetic " + o.synthetic;
  std::printf("rvgg-convert: %s -> %s\n", source.c_str(), o.output.c_str());
  if (o.synthetic.empty()) {
    std::printf("  format        %s, %s tensors\n", r.container.c_str(), r.dtypes.c_str());
    std::printf("  naming        %s\n", r.naming.c_str());
    std::printf("  weights       %s\n", r.weights.c_str());
  } else {
    std::printf("  format        %s\n", r.source_format.c_str());
  }
  std::printf("  architecture  %s: %s\n", r.architecture.c_str(), r.description.c_str());
  std::printf("  input         %u x %u x %u (C x H x W), %u classes%s\n", r.in_channels,
              r.input_height, r.input_width, r.classes, r.labels ? ", labels recorded" : "");
  std::printf("  blocks        %zu (%zu already fused in the checkpoint)\n", r.blocks, r.fused_blocks);
  std::printf("  layers        %zu (%s)\n", r.layers, r.layer_summary.c_str());
  std::printf("  parameters    %s\n", WithCommas(r.parameters).c_str());
  std::printf("  compute       %.3f GMAC = %.3f GFLOP per image\n", r.macs / 1e9, 2 * r.macs / 1e9);
  std::printf("  arena         %s\n", Bytes(r.arena_bytes).c_str());
  std::printf("  normalization %s\n", r.normalization.c_str());
  std::printf("  fusion check  max |fused - multi-branch| = %.3g (%.3g of max |logit|) at %ux%u\n",
              r.fusion_max_abs_diff, r.fusion_rel_diff, r.proof_height, r.proof_width);
  if (r.quantization) PrintQuantization(*r.quantization, r.quantization_seconds);
  std::printf("  wrote         %s, %s in %.1f s\n", o.output.c_str(), Bytes(r.file_bytes).c_str(),
              r.seconds);
  return 0;
}
