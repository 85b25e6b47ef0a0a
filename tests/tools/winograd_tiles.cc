// rvgg-winograd-tiles: times one convolution layer with every Winograd tile
// that fits it (and the direct convolution), each with the weights cold in
// cache as they are inside a network, and prints one JSON line per run with
// the cost model's estimate beside it. tools/bench/winograd_fit.py fits the
// cost model's constants to these lines.
//
//   rvgg-winograd-tiles [--shape H,W,CIN,COUT,STRIDE]... [--reps N] [--square]
//                       [--threads N]
//   rvgg-winograd-tiles --gemm M,K,N,P [--reps N]
//
// Without --shape: the distinct 3x3 layers of RepVGG-A0 at 224. --square
// times only square stride-1 tiles (all stride-2 shapes are always timed).
// --gemm times the positions' GEMMs alone, P of [M x K] by [K x N] (one
// layer's worth, weights warm in cache), on XNNPACK's fully-connected
// operators and on rvgg's own GEMM where this CPU has one, alternating.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <string>
#include <vector>

#include "runtime/src/memory.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/kernel.h"
#include "runtime/src/ops/registry.h"
#include "runtime/src/ops/winograd/gemm.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "runtime/src/plan.h"
#include "tests/runtime/conv_desc.h"

namespace {

struct Shape {
  uint32_t h, w, in_c, out_c, stride;
};

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// --threads: layers run on a pool of this many threads, timed by the wall
// clock (one thread: the calling thread's CPU time).
uint32_t g_threads = 1;
pthreadpool_t g_pool = nullptr;

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double LayerSeconds() { return g_threads > 1 ? WallSeconds() : ThreadSeconds(); }

// Larger than any last-level cache this runs on: touching it evicts the
// layer's weights, so every timed run streams them from memory.
std::vector<char> g_evict(128u << 20);

void Evict() {
  for (size_t i = 0; i < g_evict.size(); i += 64) ++g_evict[i];
}

// Median ms of `reps` runs, or a negative value when the kernel cannot be made.
double TimeLayer(const rvgg::LayerDesc& d, uint32_t code, int reps) {
  using namespace rvgg;
  const size_t in_bytes = d.input_elements() * sizeof(float) + kTensorTailBytes;
  const size_t out_bytes = d.output_elements() * sizeof(float) + kTensorTailBytes;
  const KernelChoice choice{FindImpl(d, RVGG_BACKEND_XNNPACK, code), code, g_threads};
  const size_t scratch_bytes = ScratchBytes(d, choice) + kTensorTailBytes;
  auto* in = static_cast<float*>(AllocateAligned(in_bytes, kAlignment));
  auto* out = static_cast<float*>(AllocateAligned(out_bytes, kAlignment));
  void* scratch = AllocateAligned(scratch_bytes, kAlignment);
  double result = -1.0;
  Kernel* kernel = nullptr;
  if (in != nullptr && out != nullptr && scratch != nullptr) {
    for (size_t i = 0; i < d.input_elements(); ++i) in[i] = float(i % 17) * 0.1f;
    Bindings b;
    b.input = in;
    b.output = out;
    b.scratch = scratch;
    b.scratch_bytes = scratch_bytes;
    rvgg_message message;
    if (CreateKernel(d, choice, b, g_pool, &kernel, &message) == RVGG_STATUS_OK) {
      std::vector<double> ms;
      for (int r = 0; r < reps; ++r) {
        Evict();
        const double start = LayerSeconds();
        kernel->Run();
        ms.push_back(1e3 * (LayerSeconds() - start));
      }
      std::sort(ms.begin(), ms.end());
      result = ms[ms.size() / 2];
    } else {
      std::fprintf(stderr, "rvgg-winograd-tiles: %s\n", message.text);
    }
  }
  if (kernel != nullptr) DestroyKernel(kernel);
  FreeAligned(in);
  FreeAligned(out);
  FreeAligned(scratch);
  return result;
}

void TimeShape(const Shape& s, int reps, bool square) {
  using namespace rvgg;
  std::vector<float> weights(size_t{s.out_c} * 9 * s.in_c), bias(s.out_c, 0.01f);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = float((i * 7919) % 1000) * 1e-4f - 0.05f;
  LayerDesc d = testing::Conv3x3Desc(s.h, s.w, s.in_c, s.out_c, s.stride, 1, /*relu=*/true);
  d.name = "timed";
  d.weights = weights.data();
  d.bias = bias.data();
  std::vector<uint32_t> codes{winograd::kDirect};
  if (winograd::GemmDirectApplies(d)) codes.push_back(winograd::kGemmDirect);
  const int max_m = s.stride == 1 ? winograd::kMaxTileStride1 : winograd::kMaxTileStride2;
  for (int my = winograd::kMinTile; my <= max_m; ++my) {
    for (int mx = winograd::kMinTile; mx <= max_m; ++mx) {
      if (square && s.stride == 1 && my != mx) continue;
      const uint32_t code = winograd::TileCode(my, mx);
      if (winograd::FitsScratch(d, code)) codes.push_back(code);
    }
  }
  for (uint32_t code : codes) {
    const double ms = TimeLayer(d, code, reps);
    if (ms < 0) continue;
    std::printf(
        "{\"h\": %u, \"w\": %u, \"in_c\": %u, \"out_c\": %u, \"stride\": %u, \"rows\": %d, "
        "\"cols\": %d, \"ms\": %.4f, \"estimate\": %.6g, \"weight_bytes\": %llu, "
        "\"mr\": %u, \"block\": %u, \"kernel\": \"%s\"}\n",
        s.h, s.w, s.in_c, s.out_c, s.stride, winograd::TileRows(code), winograd::TileCols(code), ms,
        winograd::EstimatedCost(d, code),
        static_cast<unsigned long long>(code == winograd::kDirect || code == winograd::kGemmDirect
                                            ? 0
                                            : winograd::WeightBytes(d, code)),
        winograd::OwnGemm() ? winograd::OwnGemmRows() : 0,
        code == winograd::kDirect ? 0 : winograd::PlanBlocks(d, code, 1).tiles_per_block,
        code == winograd::kDirect       ? "xnnpack"
        : code == winograd::kGemmDirect ? "gemm-direct"
                                        : "winograd");
    std::fflush(stdout);
  }
}

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "rvgg-winograd-tiles: %s\nusage: rvgg-winograd-tiles "
               "[--shape H,W,CIN,COUT,STRIDE]... [--reps N] [--square] [--blocked 0|1]\n"
               "                           [--threads N]\n"
               "       rvgg-winograd-tiles --gemm M,K,N,P [--reps N]\n",
               problem);
  std::exit(2);
}

// --gemm: P GEMMs of [m x k] by [k x n], as one layer's positions run them.
void TimeGemms(size_t m, size_t k, size_t n, size_t p, int reps) {
  using namespace rvgg;
  std::vector<float> a(p * m * k), c(p * m * n), w(n * k);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 13) * 0.01f - 0.06f;
  const winograd::GemmFn own = winograd::GetWinogradTransforms().gemm;
  const size_t packed_floats = winograd::PackedGemmFloats(k, n);
  auto* packed =
      static_cast<float*>(AllocateAligned(p * packed_floats * sizeof(float), kAlignment));
  std::vector<xnn_operator_t> ops(p, nullptr);
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t q = 0; q < p; ++q) {
    for (size_t i = 0; i < w.size(); ++i) w[i] = float((i * 31 + q) % 101) * 1e-3f - 0.05f;
    if (packed != nullptr) winograd::PackGemmWeights(w.data(), k, n, packed + q * packed_floats);
    if (xnn_create_fully_connected_nc_f32(k, n, k, n, w.data(), nullptr, -inf, inf, 0, &ops[q]) !=
            xnn_status_success ||
        xnn_setup_fully_connected_nc_f32(ops[q], m, a.data() + q * m * k, c.data() + q * m * n,
                                         nullptr) != xnn_status_success) {
      Usage("XNNPACK could not create the fully-connected operators");
    }
  }
  std::vector<double> xnn_ms, own_ms;
  for (int r = 0; r < reps + 1; ++r) {
    double start = ThreadSeconds();
    for (size_t q = 0; q < p; ++q) xnn_run_operator(ops[q], nullptr);
    if (r > 0) xnn_ms.push_back(1e3 * (ThreadSeconds() - start));
    if (own == nullptr || packed == nullptr) continue;
    start = ThreadSeconds();
    for (size_t q = 0; q < p; ++q) {
      own(m, n, k, a.data() + q * m * k, k, packed + q * packed_floats, c.data() + q * m * n, n);
    }
    if (r > 0) own_ms.push_back(1e3 * (ThreadSeconds() - start));
  }
  for (xnn_operator_t op : ops) xnn_delete_operator(op);
  FreeAligned(packed);
  const double flop = 2.0 * double(m) * double(k) * double(n) * double(p);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double x = median(xnn_ms), o = median(own_ms);
  std::printf(
      "{\"m\": %zu, \"k\": %zu, \"n\": %zu, \"p\": %zu, \"xnnpack_ms\": %.4f, "
      "\"xnnpack_gflops\": %.1f, \"own_ms\": %.4f, \"own_gflops\": %.1f}\n",
      m, k, n, p, x, flop / x * 1e-6, o, o > 0 ? flop / o * 1e-6 : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Shape> shapes;
  int reps = 15;
  bool square = false;
  size_t gemm[4] = {0, 0, 0, 0};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--shape" && i + 1 < argc) {
      Shape s{};
      char tail = 0;
      if (std::sscanf(argv[++i], "%u,%u,%u,%u,%u%c", &s.h, &s.w, &s.in_c, &s.out_c, &s.stride,
                      &tail) != 5 ||
          s.h == 0 || s.w == 0 || s.h > 4096 || s.w > 4096 || s.in_c == 0 || s.out_c == 0 ||
          s.in_c > 8192 || s.out_c > 8192 || (s.stride != 1 && s.stride != 2)) {
        Usage("--shape wants H,W,CIN,COUT,STRIDE (stride 1 or 2)");
      }
      shapes.push_back(s);
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
      if (reps < 1 || reps > 10000) Usage("--reps wants 1..10000");
    } else if (arg == "--gemm" && i + 1 < argc) {
      char tail = 0;
      if (std::sscanf(argv[++i], "%zu,%zu,%zu,%zu%c", &gemm[0], &gemm[1], &gemm[2], &gemm[3],
                      &tail) != 4 ||
          gemm[0] == 0 || gemm[1] == 0 || gemm[2] == 0 || gemm[3] == 0 || gemm[0] > 100000 ||
          gemm[1] > 8192 || gemm[2] > 8192 || gemm[3] > 1024) {
        Usage("--gemm wants M,K,N,P (M <= 100000, K and N <= 8192, P <= 1024)");
      }
    } else if (arg == "--threads" && i + 1 < argc) {
      const int threads = std::atoi(argv[++i]);
      if (threads < 1 || threads > 64) Usage("--threads wants 1..64");
      g_threads = static_cast<uint32_t>(threads);
      if (g_threads > 1) g_pool = pthreadpool_create(g_threads);
    } else if (arg == "--blocked" && i + 1 < argc) {
      const std::string mode = argv[++i];
      if (mode != "0" && mode != "1") Usage("--blocked wants 0 (three passes) or 1 (blocked)");
      rvgg::winograd::ForceBlockedPass(mode == "1" ? 1 : 0);
    } else if (arg == "--square") {
      square = true;
    } else {
      Usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (shapes.empty()) {
    // RepVGG-A0 at 224: every distinct 3x3 layer but the 3-channel stem.
    shapes = {{112, 112, 48, 48, 2}, {56, 56, 48, 48, 1},  {56, 56, 48, 96, 2},
              {28, 28, 96, 96, 1},   {28, 28, 96, 192, 2}, {14, 14, 192, 192, 1},
              {14, 14, 192, 1280, 2}};
  }
  if (xnn_initialize(nullptr) != xnn_status_success) Usage("XNNPACK does not run on this CPU");
  if (gemm[0] != 0) {
    TimeGemms(gemm[0], gemm[1], gemm[2], gemm[3], reps);
    return 0;
  }
  for (const Shape& s : shapes) TimeShape(s, reps, square);
  return 0;
}
