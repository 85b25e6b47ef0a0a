// The raw XNNPACK floor for an .rvgg model: the same convolutions, global
// average pool and fully-connected layer created straight on XNNPACK from the
// model's tensors, run in a bare loop over xnn_run_operator. No rvgg code is
// involved beyond the generated schema header, so rvgg's time over this one is
// what the runtime itself costs (input copy, dispatch, callbacks).
//
//   g++ -O2 -std=c++17 -I BUILD/generated xnnpack_floor.cc \
//       -lXNNPACK -lpthreadpool -lcpuinfo -pthread -o xnnpack_floor
//   xnnpack_floor MODEL.rvgg [--threads N] [--runs N] [--warmup N]
//
// Built by tools/bench/compare.py at benchmark time. Prints one JSON object
// with the same timing fields as `rvgg-bench --json`. fp32 models without
// squeeze-excite only (A/B variants); anything else is refused.
#include <xnnpack.h>
#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "schema/rvgg_generated.h"

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "xnnpack_floor: error: %s\n", message.c_str());
  std::exit(1);
}

void Check(xnn_status status, const char* what, size_t layer) {
  if (status != xnn_status_success) {
    Die(std::string(what) + " failed on layer " + std::to_string(layer) + " (status " +
        std::to_string(static_cast<int>(status)) + ")");
  }
}

const float* Floats(const rvgg::schema::Tensor* t, size_t count, size_t layer) {
  if (t == nullptr || t->f32() == nullptr || t->f32()->size() != count) {
    Die("layer " + std::to_string(layer) + ": missing or mis-sized fp32 tensor");
  }
  return t->f32()->data();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int threads = 1, runs = 20, warmup = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) Die(a + " needs a value");
      return std::atoi(argv[++i]);
    };
    if (a == "--threads") {
      threads = value();
    } else if (a == "--runs") {
      runs = value();
    } else if (a == "--warmup") {
      warmup = value();
    } else if (!a.empty() && a[0] == '-') {
      Die("unknown option '" + a + "'");
    } else {
      path = a;
    }
  }
  if (path.empty() || threads < 1 || runs < 1 || warmup < 0) {
    Die("usage: xnnpack_floor MODEL.rvgg [--threads N] [--runs N] [--warmup N]");
  }

  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) Die(path + ": cannot open");
  std::vector<uint8_t> bytes(static_cast<size_t>(file.tellg()));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    Die(path + ": read failed");
  }
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), 64, 100000000);
  if (!rvgg::schema::VerifyModelBuffer(verifier)) Die(path + ": not a valid .rvgg model");
  const rvgg::schema::Model* model = rvgg::schema::GetModel(bytes.data());

  if (xnn_initialize(nullptr) != xnn_status_success) Die("xnn_initialize failed");
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(static_cast<size_t>(threads)) : nullptr;

  // Ping-pong activation buffers, sized by a first pass over the shapes.
  size_t h = model->input_height(), w = model->input_width(), c = model->input_channels();
  size_t largest = h * w * c;
  uint64_t macs = 0;
  struct Shape {
    size_t h, w, c;
  };
  std::vector<Shape> inputs;
  const auto* layers = model->layers();
  if (layers == nullptr) Die(path + ": no layers");
  for (size_t i = 0; i < layers->size(); ++i) {
    const rvgg::schema::Layer* layer = layers->Get(i);
    if (layer->compute_type() != rvgg::schema::DataType::Float32) Die("int8 layers are not supported");
    inputs.push_back({h, w, c});
    if (const auto* conv = layer->op_as_Conv2D()) {
      const size_t oh = (h + 2 * conv->padding() - conv->kernel_h()) / conv->stride() + 1;
      const size_t ow = (w + 2 * conv->padding() - conv->kernel_w()) / conv->stride() + 1;
      macs += uint64_t{oh} * ow * conv->out_channels() * conv->kernel_h() * conv->kernel_w() *
              (c / conv->groups());
      h = oh, w = ow, c = conv->out_channels();
    } else if (layer->op_as_GlobalAveragePool()) {
      h = w = 1;
    } else if (const auto* fc = layer->op_as_FullyConnected()) {
      macs += uint64_t{fc->in_features()} * fc->out_features();
      h = w = 1, c = fc->out_features();
    } else {
      Die("layer " + std::to_string(i) + ": only Conv2D, GlobalAveragePool and FullyConnected");
    }
    largest = std::max(largest, h * w * c);
  }
  const size_t padded = largest + XNN_EXTRA_BYTES / sizeof(float);
  std::vector<float> ping(padded), pong(padded);
  uint32_t state = 12345;
  for (size_t i = 0; i < inputs[0].h * inputs[0].w * inputs[0].c; ++i) {
    state = state * 1664525u + 1013904223u;
    ping[i] = static_cast<float>(state >> 8) / 16777216.0f * 4.0f - 2.0f;
  }

  const float inf = std::numeric_limits<float>::infinity();
  std::vector<xnn_operator_t> ops;
  for (size_t i = 0; i < layers->size(); ++i) {
    const rvgg::schema::Layer* layer = layers->Get(i);
    const Shape in = inputs[i];
    const float* x = (i % 2 == 0 ? ping : pong).data();
    float* y = (i % 2 == 0 ? pong : ping).data();
    xnn_operator_t op = nullptr;
    if (const auto* conv = layer->op_as_Conv2D()) {
      const size_t g = conv->groups(), co = conv->out_channels(), ci = conv->in_channels();
      const size_t kh = conv->kernel_h(), kw = conv->kernel_w(), p = conv->padding();
      const float* weights = Floats(conv->weights(), co * kh * kw * (ci / g), i);
      const float* bias = Floats(conv->bias(), co, i);
      const float lo = conv->activation() == rvgg::schema::Activation::Relu ? 0.0f : -inf;
      Check(xnn_create_convolution2d_nhwc_f32(p, p, p, p, kh, kw, conv->stride(), conv->stride(), 1,
                                              1, g, ci / g, co / g, ci, co, weights, bias, lo, inf,
                                              0, &op),
            "xnn_create_convolution2d_nhwc_f32", i);
      Check(xnn_setup_convolution2d_nhwc_f32(op, 1, in.h, in.w, x, y, pool),
            "xnn_setup_convolution2d_nhwc_f32", i);
    } else if (layer->op_as_GlobalAveragePool()) {
      Check(xnn_create_global_average_pooling_nwc_f32(in.c, in.c, in.c, -inf, inf, 0, &op),
            "xnn_create_global_average_pooling_nwc_f32", i);
      Check(xnn_setup_global_average_pooling_nwc_f32(op, 1, in.h * in.w, x, y, pool),
            "xnn_setup_global_average_pooling_nwc_f32", i);
    } else {
      const auto* fc = layer->op_as_FullyConnected();
      const size_t fi = fc->in_features(), fo = fc->out_features();
      const float lo = fc->activation() == rvgg::schema::Activation::Relu ? 0.0f : -inf;
      Check(xnn_create_fully_connected_nc_f32(fi, fo, fi, fo, Floats(fc->weights(), fi * fo, i),
                                              Floats(fc->bias(), fo, i), lo, inf, 0, &op),
            "xnn_create_fully_connected_nc_f32", i);
      Check(xnn_setup_fully_connected_nc_f32(op, 1, x, y, pool), "xnn_setup_fully_connected_nc_f32",
            i);
    }
    ops.push_back(op);
  }

  using Clock = std::chrono::steady_clock;
  auto run = [&] {
    for (size_t i = 0; i < ops.size(); ++i) Check(xnn_run_operator(ops[i], pool), "xnn_run_operator", i);
  };
  for (int r = 0; r < warmup; ++r) run();
  std::vector<double> times(runs);
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    run();
    times[r] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  const double median = Median(times);
  const double gflop = 2.0 * static_cast<double>(macs) / 1e9;
  std::printf("{\"model\": \"%s\", \"threads\": %d, \"runs\": %d, \"median_ms\": %.6g, "
              "\"min_ms\": %.6g, \"max_ms\": %.6g, \"macs\": %llu, \"gflop\": %.6g, "
              "\"gflops\": %.6g, \"times_ms\": [",
              path.c_str(), threads, runs, median, *std::min_element(times.begin(), times.end()),
              *std::max_element(times.begin(), times.end()), static_cast<unsigned long long>(macs),
              gflop, gflop / (median / 1000.0));
  for (int r = 0; r < runs; ++r) std::printf("%s%.6g", r ? ", " : "", times[r]);
  std::printf("]}\n");

  for (xnn_operator_t op : ops) xnn_delete_operator(op);
  if (pool != nullptr) pthreadpool_destroy(pool);
  return 0;
}
