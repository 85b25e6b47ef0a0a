// rvgg-winograd-fp16-bench: runs the Winograd data transforms of TILES
// square tiles, RUNS times, in fp16 (GetWinogradTransformsF16) or fp32
// (GetWinogradTransforms), for counting guest instructions under qemu: the
// count of RUNS=2 minus RUNS=1 is one run, divided by the values it prints.
//
//   rvgg-winograd-fp16-bench f16|f32 input|output STRIDE M RUNS [TILES] [CHANNELS]
//
// input:  the 2-D input transform of each tile as conv2d.cc runs it: along x
//         over the n window rows (pixels -> V), then along y over the n
//         columns in place. Values = tiles x n^2 x channels (V written).
// output: along x over the n rows of M in place (n -> m), then along y over
//         the m columns with bias and ReLU into the image. Values = tiles x
//         n^2 x channels (M read).
// (n = M + 2 for stride 1, 2M + 1 for stride 2.) Defaults: 16 tiles, 96
// channels. Data setup is the same for every RUNS and cancels out:
//   gcc -O2 -shared -fPIC -fvisibility=hidden qemu_insn_count.c -o insn.so
//   export QEMU_PLUGIN=file=$PWD/insn.so QEMU_LOG=plugin QEMU_CPU=cortex-a76
//   build/aarch64/emulator build/aarch64/bin/rvgg-winograd-fp16-bench f16 input 1 4 2
// (then RUNS 1; the same with f32).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/src/half.h"
#include "runtime/src/ops/winograd/transforms.h"

namespace {

namespace wg = rvgg::winograd;

template <class E>
void Run(const wg::LineSetOf<E>& lines, bool input, int n, int m, size_t tiles, size_t c,
         int runs) {
  // Windows (input) or outputs: tiles x n x n pixels of c; V or M: n^2
  // positions of tiles x c.
  std::vector<E> image(tiles * n * n * c), transformed(size_t(n) * n * tiles * c + 64), bias(c);
  for (size_t i = 0; i < image.size(); ++i) {
    const float x = float(i % 29) * 0.125f;
    if constexpr (sizeof(E) == 2) {
      image[i] = rvgg::FloatToHalf(x);
    } else {
      image[i] = x;
    }
  }
  for (size_t i = 0; i < transformed.size(); ++i) transformed[i] = image[i % image.size()];
  for (size_t i = 0; i < c; ++i) bias[i] = image[i];
  const size_t position_stride = tiles * c;
  const E* src[wg::kMaxPositions];
  E* dst[wg::kMaxPositions];
  for (int r = 0; r < runs; ++r) {
    for (size_t t = 0; t < tiles; ++t) {
      E* v = transformed.data() + t * c;
      if (input) {
        const E* window = image.data() + t * n * n * c;
        for (int i = 0; i < n; ++i) {
          for (int j = 0; j < n; ++j) {
            src[j] = window + (size_t(i) * n + j) * c;
            dst[j] = v + (size_t(i) * n + j) * position_stride;
          }
          lines.input(src, dst, c);
        }
        for (int j = 0; j < n; ++j) {
          for (int i = 0; i < n; ++i) {
            dst[i] = v + (size_t(i) * n + j) * position_stride;
            src[i] = dst[i];
          }
          lines.input(src, dst, c);
        }
      } else {
        for (int a = 0; a < n; ++a) {
          for (int b = 0; b < n; ++b) {
            dst[b] = v + (size_t(a) * n + b) * position_stride;
            src[b] = dst[b];
          }
          lines.output(src, dst, c, nullptr, 0.0f);
        }
        E* out = image.data() + t * n * n * c;
        for (int j = 0; j < m; ++j) {
          for (int a = 0; a < n; ++a) src[a] = v + (size_t(a) * n + j) * position_stride;
          for (int i = 0; i < m; ++i) dst[i] = out + (size_t(i) * m + j) * c;
          lines.output_epilogue(src, dst, c, bias.data(), 0.0f);
        }
      }
    }
  }
  // Keep the results observable.
  unsigned sum = 0;
  for (size_t i = 0; i < transformed.size(); i += 7) {
    unsigned bits = 0;
    std::memcpy(&bits, &transformed[i], sizeof(E));
    sum += bits;
  }
  std::printf("checksum %u\n", sum);
}

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "rvgg-winograd-fp16-bench: %s\nusage: rvgg-winograd-fp16-bench f16|f32 "
               "input|output STRIDE M RUNS [TILES] [CHANNELS]\n",
               problem);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 8) Usage("wrong number of arguments");
  const std::string precision = argv[1], part = argv[2];
  const int stride = std::atoi(argv[3]), m = std::atoi(argv[4]), runs = std::atoi(argv[5]);
  const size_t tiles = argc > 6 ? std::strtoul(argv[6], nullptr, 10) : 16;
  const size_t c = argc > 7 ? std::strtoul(argv[7], nullptr, 10) : 96;
  if ((precision != "f16" && precision != "f32") || (part != "input" && part != "output")) {
    Usage("precision is f16 or f32, part input or output");
  }
  const int max_m = stride == 1 ? wg::kMaxTileStride1 : wg::kMaxTileStride2;
  if ((stride != 1 && stride != 2) || m < wg::kMinTile || m > max_m || runs < 0 || tiles == 0 ||
      tiles > 4096 || c == 0 || c % wg::kChannelBlock != 0 || c > 4096) {
    Usage("stride 1 (M 2..6) or 2 (M 2..7), TILES 1..4096, CHANNELS a multiple of 16 up to 4096");
  }
  const int n = wg::Positions(stride, m);
  const bool input = part == "input";
  if (precision == "f16") {
    const wg::TransformSetF16 set = wg::GetWinogradTransformsF16();
    if (set.isa == nullptr) Usage("this CPU has no fp16 transforms (ARMv8.2 FP16 arithmetic)");
    std::printf("%s ", set.isa);
    Run(set.lines(stride, m), input, n, m, tiles, c, runs);
  } else {
    const wg::TransformSet set = wg::GetWinogradTransforms();
    if (set.isa == nullptr) Usage("this CPU has no Winograd transforms");
    std::printf("%s ", set.isa);
    Run(set.lines(stride, m), input, n, m, tiles, c, runs);
  }
  std::printf("values per run: %zu\n", tiles * size_t(n) * n * c);
  return 0;
}
