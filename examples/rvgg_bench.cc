// rvgg-bench: latency of one loaded model, optionally per layer.
//
//   rvgg-bench MODEL.rvgg [--threads N] [--runs N] [--warmup N] [--json]
//              [--per-layer] [--backend xnnpack|reference]
//              [--winograd off|auto|2|4|6] [--winograd-budget SIZE]
//
// Loads once, runs `warmup` untimed inferences, then times `runs` inferences
// one by one with a steady clock and reports min / median / max, the work
// (2 x multiply-accumulates) and the rate at the median. With --per-layer the
// layer callback timestamps every layer; a layer's time is the median over
// the runs. The input is a fixed pseudo-random image in NCHW, so the time
// includes the runtime's NCHW -> NHWC copy, as it does for a user.
//
// Portable C++17 and the C API only: it builds for ARM as it does for the
// host (times under an emulator mean nothing, but --json still works there).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "rvgg/rvgg.h"

namespace {

using Clock = std::chrono::steady_clock;

const char kUsage[] =
    "usage: rvgg-bench MODEL.rvgg [--threads N] [--runs N] [--warmup N] [--json]\n"
    "                  [--per-layer] [--backend xnnpack|reference]\n"
    "                  [--winograd off|auto|2|4|6]\n"
    "                  [--winograd-budget SIZE]\n"
    "                  [--precision auto|fp32|fp16]\n"
    "\n"
    "Times inferences of one loaded model (steady clock, one image at a time).\n"
    "  --threads N     worker threads (default 1)\n"
    "  --runs N        timed inferences (default 20)\n"
    "  --warmup N      untimed inferences first (default 3)\n"
    "  --json          print one JSON object on stdout instead of the text report\n"
    "  --per-layer     also time every layer (median over the runs)\n"
    "  --winograd-budget SIZE  cap on Winograd-transformed weights (e.g. 16M;\n"
    "                  default no cap; layers over it run the direct convolution)\n";

const char* WinogradName(rvgg_winograd w) {
  switch (w) {
    case RVGG_WINOGRAD_AUTO:
      return "auto";
    case RVGG_WINOGRAD_OFF:
      return "off";
    case RVGG_WINOGRAD_F2:
      return "2";
    case RVGG_WINOGRAD_F4:
      return "4";
    case RVGG_WINOGRAD_F6:
      return "6";
  }
  return "?";
}

// "conv3x3/s2", "conv1x1/g4", "avgpool", "fc".
std::string LayerKind(const rvgg_layer_info& l) {
  std::string s = rvgg_layer_type_name(l.type);
  if (l.type != RVGG_LAYER_CONV2D) return s;
  s += std::to_string(l.kernel_h) + "x" + std::to_string(l.kernel_w);
  if (l.stride != 1) s += "/s" + std::to_string(l.stride);
  if (l.groups != 1) s += "/g" + std::to_string(l.groups);
  return s;
}

std::string Shape(uint32_t h, uint32_t w, uint32_t c) {
  return std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Filled by the layer callback during a run: the time each layer finished.
struct LayerClock {
  std::vector<Clock::time_point> done;
};

void OnLayerDone(void* user_data, uint32_t layer_index) {
  auto* clock = static_cast<LayerClock*>(user_data);
  if (layer_index < clock->done.size()) clock->done[layer_index] = Clock::now();
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  rvgg::tools::Cli cli("rvgg-bench", kUsage);
  std::string model_path;
  uint32_t runs = 20, warmup = 3;
  bool json = false, per_layer = false;
  rvgg_options options;
  rvgg_options_default(&options);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs") {
      runs = cli.Count(arg, cli.Value(argc, argv, &i), 1, 1000000);
    } else if (arg == "--warmup") {
      warmup = cli.Count(arg, cli.Value(argc, argv, &i), 0, 1000000);
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--per-layer") {
      per_layer = true;
    } else {
      cli.ParseCommonArgument(argc, argv, &i, &options, &model_path);
    }
  }
  if (model_path.empty()) cli.Die("no model given (see --help)");

  rvgg::tools::LoadedModel model;
  cli.LoadModel(model_path, options, &model);
  const rvgg_model_info& info = model.info;
  const uint32_t threads = options.num_threads > 1 ? options.num_threads : 1;
  const char* backend = options.backend == RVGG_BACKEND_REFERENCE ? "reference" : "xnnpack";

  // A fixed input: timing must not depend on the image, but denormals or
  // all-zero activations could flatter a kernel, so use values like a
  // normalized photo's (a small linear congruential generator, in [-2, 2)).
  std::vector<float> input(size_t{info.input_channels} * info.input_height * info.input_width);
  uint32_t state = 12345;
  for (float& x : input) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / 16777216.0f * 4.0f - 2.0f;
  }
  std::vector<float> logits(info.num_outputs);

  LayerClock clock;
  const uint32_t num_layers = info.num_layers;
  std::vector<std::vector<double>> layer_ms;  // [layer][run]
  if (per_layer) {
    clock.done.resize(num_layers);
    layer_ms.assign(num_layers, std::vector<double>(runs));
    rvgg_model_set_layer_callback(model.handle, OnLayerDone, &clock);
  }

  auto run_once = [&](uint32_t index) {
    const rvgg_status status =
        rvgg_model_run(model.handle, input.data(), RVGG_LAYOUT_NCHW, logits.data());
    if (status != RVGG_STATUS_OK) {
      cli.Die("inference " + std::to_string(index) + " failed: " + rvgg_status_string(status));
    }
  };
  for (uint32_t r = 0; r < warmup; ++r) run_once(r);
  std::vector<double> total_ms(runs);
  // Process CPU time (every thread) over the timed runs: near the thread
  // count when no worker waited for a core, lower when other work took one.
  const std::clock_t cpu_start = std::clock();
  const Clock::time_point wall_start = Clock::now();
  for (uint32_t r = 0; r < runs; ++r) {
    const Clock::time_point start = Clock::now();
    run_once(warmup + r);
    const Clock::time_point end = Clock::now();
    total_ms[r] = Ms(end - start);
    if (per_layer) {
      // Layer 0 also carries the input copy; the logits copy after the last
      // layer is in the total only.
      Clock::time_point previous = start;
      for (uint32_t l = 0; l < num_layers; ++l) {
        layer_ms[l][r] = Ms(clock.done[l] - previous);
        previous = clock.done[l];
      }
    }
  }

  const double wall_ms = Ms(Clock::now() - wall_start);
  const double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double cpu_per_wall = wall_ms > 0 ? cpu_ms / wall_ms : 0.0;
  const double median_ms = Median(total_ms);
  const double min_ms = *std::min_element(total_ms.begin(), total_ms.end());
  const double max_ms = *std::max_element(total_ms.begin(), total_ms.end());
  const double gflop = 2.0 * static_cast<double>(info.macs) / 1e9;
  const double gflops = median_ms > 0 ? gflop / (median_ms / 1000.0) : 0.0;

  struct LayerRow {
    rvgg_layer_info info;
    double ms;
  };
  std::vector<LayerRow> rows;
  double layers_total_ms = 0;
  if (per_layer) {
    for (uint32_t l = 0; l < num_layers; ++l) {
      LayerRow row{};
      const rvgg_status status = rvgg_model_get_layer_info(model.handle, l, &row.info);
      if (status != RVGG_STATUS_OK) {
        cli.Die("layer " + std::to_string(l) + ": " + rvgg_status_string(status));
      }
      row.ms = Median(layer_ms[l]);
      layers_total_ms += row.ms;
      rows.push_back(row);
    }
  }
  auto percent = [&](double ms) {
    return layers_total_ms > 0 ? 100.0 * ms / layers_total_ms : 0.0;
  };

  const std::string compute = rvgg::tools::ComputeTypes(model.handle);

  if (json) {
    std::string out = "{";
    out += "\"model\": " + JsonString(model_path);
    out += ", \"architecture\": " + JsonString(info.architecture);
    out += ", \"input\": [" + std::to_string(info.input_height) + ", " +
           std::to_string(info.input_width) + ", " + std::to_string(info.input_channels) + "]";
    out += ", \"threads\": " + std::to_string(threads);
    out += ", \"backend\": " + JsonString(backend);
    out += ", \"winograd\": " + JsonString(WinogradName(options.winograd));
    out += ", \"precision\": " + JsonString(rvgg::tools::PrecisionName(options.precision));
    out += ", \"compute\": " + JsonString(compute);
    out += ", \"isa\": " + JsonString(rvgg_kernel_isa());
    out += ", \"runs\": " + std::to_string(runs);
    out += ", \"warmup\": " + std::to_string(warmup);
    out += ", \"median_ms\": " + Number(median_ms);
    out += ", \"min_ms\": " + Number(min_ms);
    out += ", \"max_ms\": " + Number(max_ms);
    out += ", \"cpu_per_wall\": " + Number(cpu_per_wall);
    out += ", \"macs\": " + std::to_string(info.macs);
    out += ", \"gflop\": " + Number(gflop);
    out += ", \"gflops\": " + Number(gflops);
    out += ", \"times_ms\": [";
    for (uint32_t r = 0; r < runs; ++r) out += (r ? ", " : "") + Number(total_ms[r]);
    out += "]";
    if (per_layer) {
      out += ", \"layers_total_ms\": " + Number(layers_total_ms);
      out += ", \"layers\": [";
      for (size_t l = 0; l < rows.size(); ++l) {
        const rvgg_layer_info& li = rows[l].info;
        out += l ? ", {" : "{";
        out += "\"index\": " + std::to_string(l);
        out += ", \"name\": " + JsonString(li.name);
        out += ", \"type\": " + JsonString(LayerKind(li));
        out +=
            ", \"input\": " + JsonString(Shape(li.input_height, li.input_width, li.input_channels));
        out += ", \"output\": " +
               JsonString(Shape(li.output_height, li.output_width, li.output_channels));
        out += ", \"macs\": " + std::to_string(li.macs);
        out += ", \"ms\": " + Number(rows[l].ms);
        out += ", \"percent\": " + Number(percent(rows[l].ms));
        out += ", \"kernel\": " + JsonString(li.kernel);
        out += "}";
      }
      out += "]";
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }

  std::printf("model      %s (%s, %ux%ux%u -> %u, %u layers)\n", model_path.c_str(),
              info.architecture[0] ? info.architecture : "unnamed", info.input_height,
              info.input_width, info.input_channels, info.num_outputs, info.num_layers);
  std::printf("runtime    %s backend, winograd %s, precision %s (%s), %u thread%s, kernel ISA %s\n",
              backend, WinogradName(options.winograd),
              rvgg::tools::PrecisionName(options.precision), compute.c_str(), threads,
              threads == 1 ? "" : "s", rvgg_kernel_isa());
  std::printf("runs       %u timed after %u warm-up\n", runs, warmup);
  std::printf("latency    min %.3f ms  median %.3f ms  max %.3f ms\n", min_ms, median_ms, max_ms);
  std::printf("cpu        %.2f CPU seconds per wall second over the timed runs (%u thread%s)\n",
              cpu_per_wall, threads, threads == 1 ? "" : "s");
  std::printf("work       %.3f GFLOP (2 x %.3f G multiply-adds): %.1f GFLOP/s at the median\n",
              gflop, static_cast<double>(info.macs) / 1e9, gflops);
  if (per_layer) {
    std::printf("\n%4s  %-12s %-12s %-28s %9s %6s %7s  %s\n", "#", "name", "type",
                "input -> output (HxWxC)", "ms", "%", "GFLOP/s", "runs on");
    for (size_t l = 0; l < rows.size(); ++l) {
      const rvgg_layer_info& li = rows[l].info;
      const std::string shape = Shape(li.input_height, li.input_width, li.input_channels) + " -> " +
                                Shape(li.output_height, li.output_width, li.output_channels);
      const double rate =
          rows[l].ms > 0 ? 2.0 * static_cast<double>(li.macs) / 1e6 / rows[l].ms : 0;
      std::printf("%4zu  %-12s %-12s %-28s %9.3f %6.1f %7.1f  %s\n", l, li.name,
                  LayerKind(li).c_str(), shape.c_str(), rows[l].ms, percent(rows[l].ms), rate,
                  li.kernel);
    }
    std::printf("%4s  %-12s %-12s %-28s %9.3f %6.1f\n", "", "sum", "", "(medians per layer)",
                layers_total_ms, 100.0);
  }
  return 0;
}
