// fp32 fused multiply-add peak of this CPU, per core and for N threads.
//
//   g++ -O2 -march=native -ffp-contract=fast -pthread fma_peak.cc -o fma_peak
//   fma_peak [--threads N] [--ms M]
//
// Built by tools/bench/compare.py at benchmark time for the machine it runs
// on; not part of the library build. Twelve independent accumulator chains of
// the widest vector the compiler targets hide the FMA latency (4-5 cycles on
// two pipes needs at least 10 in flight); each step is acc = acc * m + c.
// Prints one JSON object: {"vector_floats": 8, "threads": 1, "gflops": ...}.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
constexpr int kFloats = 16;
#elif defined(__AVX__)
constexpr int kFloats = 8;
#else
constexpr int kFloats = 4;  // SSE, NEON
#endif
typedef float Vec __attribute__((vector_size(kFloats * 4)));
#if defined(__x86_64__) || defined(__i386__)
#define VREG "+x"
#else
#define VREG "+w"  // aarch64 / arm NEON registers
#endif

constexpr int kChains = 12;
constexpr long kStepsPerCall = 1 << 16;

// Returns a value derived from every chain so nothing is optimized away.
__attribute__((noinline)) float Chains(float seed, long calls) {
  Vec m, c, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
  for (int i = 0; i < kFloats; ++i) {
    m[i] = 0.999999f;
    c[i] = seed * 1e-7f;
  }
  // Distinct starting values, or the compiler merges identical chains.
  a0 = c * 1.0f, a1 = c * 2.0f, a2 = c * 3.0f, a3 = c * 4.0f, a4 = c * 5.0f, a5 = c * 6.0f;
  a6 = c * 7.0f, a7 = c * 8.0f, a8 = c * 9.0f, a9 = c * 10.0f, a10 = c * 11.0f, a11 = c * 12.0f;
  for (long k = 0; k < calls * kStepsPerCall; ++k) {
#define STEP(a) a = a * m + c;
    STEP(a0) STEP(a1) STEP(a2) STEP(a3) STEP(a4) STEP(a5)
    STEP(a6) STEP(a7) STEP(a8) STEP(a9) STEP(a10) STEP(a11)
#undef STEP
    // Opaque to the optimizer: every chain is computed, in registers.
    __asm__ volatile("" : VREG(a0), VREG(a1), VREG(a2), VREG(a3), VREG(a4), VREG(a5), VREG(a6),
                     VREG(a7), VREG(a8), VREG(a9), VREG(a10), VREG(a11));
  }
#undef VREG
  Vec s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  float r = 0;
  for (int i = 0; i < kFloats; ++i) r += s[i];
  return r;
}

int main(int argc, char** argv) {
  int threads = 1;
  double target_ms = 300;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--ms") && i + 1 < argc) {
      target_ms = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "fma_peak: error: unknown argument '%s'\n", argv[i]);
      return 1;
    }
  }
  if (threads < 1) threads = 1;
  using Clock = std::chrono::steady_clock;
  // Calibrate the number of calls on one thread, then run every thread for it
  // several times and keep the best (a shared machine only ever slows us).
  long calls = 1;
  for (;;) {
    auto t0 = Clock::now();
    volatile float sink = Chains(1.0f, calls);
    (void)sink;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (ms > target_ms / 4 || calls > (1L << 30)) break;
    calls *= 2;
  }
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    std::vector<float> out(threads);
    auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        out[t] = Chains(static_cast<float>(t + 1), calls);
      });
    }
    for (auto& th : pool) th.join();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    double flop = 2.0 * kFloats * kChains * static_cast<double>(kStepsPerCall) * calls * threads;
    if (flop / s > best) best = flop / s;
    volatile float sink = out[0];
    (void)sink;
  }
  std::printf("{\"vector_floats\": %d, \"chains\": %d, \"threads\": %d, \"gflops\": %.2f}\n",
              kFloats, kChains, threads, best / 1e9);
  return 0;
}
