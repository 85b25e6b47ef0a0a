// rvgg-winograd-fp16-accuracy: how far an fp16 Winograd layer lands from the
// exact convolution, per tile size, beside XNNPACK's fp16 direct
// convolution (the floor any fp16 kernel sits on). For choosing the tiles
// the fp16 path may use; needs a CPU with ARMv8.2 FP16 arithmetic (under
// qemu: -cpu cortex-a76).
//
//   rvgg-winograd-fp16-accuracy [--shape H,W,CIN,COUT,STRIDE]... [--square]
//                               [--seed N] [--no-split] [--float-transforms]
//
// Without --shape: RepVGG-A0-like layers (56x56x48, 28x28x96 and 14x14x192
// stride 1; 28x28x96 -> 192 and 14x14x192 -> 1280 stride 2). Channels must be
// multiples of 16 (no channel tails to stage). --square: square tiles only.
//
// The layer: RepVGG-like fused weights, OHWI, N(0, 0.05) plus 1.0 on the
// centre tap of input channel o % CIN for output o (the identity / 1x1
// branches' large centre tap), bias N(0, 0.1), ReLU; input post-ReLU-like,
// max(0, N(0, 1.5)) clipped to 4, rounded to fp16 (a previous fp16 layer's
// output). The oracle is the direct convolution in double of that fp16
// input with the fp32 weights and bias.
//
// The fp16 Winograd pipeline, as the fp16 kernel would run it: the fp16
// input transform (GetWinogradTransformsF16), per position an XNNPACK f16
// fully-connected operator (fp16 weights U = G g G^T computed in double,
// rounded once; fp16 accumulation in its neonfp16arith kernels), the fp16
// output transform with fp16 bias and ReLU. With the split (default) each
// tile runs a second time with the GEMMs in fp32 on the same fp16 V and U,
// M rounded to fp16 after: the difference shows how much of the error is
// the GEMM's fp16 accumulation. --float-transforms runs the portable
// fp16-storage lines (float arithmetic inside each line, one rounding per
// stored value) instead of the fp16-arithmetic ones: the difference is the
// transforms' own arithmetic.
//
// Per layer and tile: max |error| / max |output| and RMS error / RMS output.
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/src/half.h"
#include "runtime/src/model.h"
#include "runtime/src/ops/winograd/transforms.h"
#include "runtime/src/ops/winograd/winograd.h"
#include "tests/runtime/conv_desc.h"

namespace {

using rvgg::FloatToHalf;
using rvgg::Half;
using rvgg::HalfToFloat;
namespace wg = rvgg::winograd;

struct Shape {
  uint32_t h, w, in_c, out_c, stride;
};

struct Layer {
  Shape s;
  rvgg::LayerDesc desc;
  std::vector<float> weights, bias;  // OHWI; fp32, as the model holds them
  std::vector<Half> weights16, bias16, input;
  std::vector<double> reference;  // direct convolution in double
};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "rvgg-winograd-fp16-accuracy: %s\n", what);
  std::exit(1);
}

void Check(xnn_status status, const char* what) {
  if (status != xnn_status_success) Die(what);
}

Layer MakeLayer(const Shape& s, uint32_t seed) {
  Layer l;
  l.s = s;
  l.desc = rvgg::testing::Conv3x3Desc(s.h, s.w, s.in_c, s.out_c, s.stride, 1, /*relu=*/true);
  l.desc.name = "fp16-accuracy";
  std::mt19937 rng(seed);
  std::normal_distribution<float> weight(0.0f, 0.05f), bias(0.0f, 0.1f), pixel(0.0f, 1.5f);
  l.weights.resize(size_t{s.out_c} * 9 * s.in_c);
  for (float& w : l.weights) w = weight(rng);
  for (uint32_t o = 0; o < s.out_c; ++o)
    l.weights[(size_t{o} * 9 + 4) * s.in_c + o % s.in_c] += 1.0f;
  l.bias.resize(s.out_c);
  for (float& b : l.bias) b = bias(rng);
  l.input.resize(size_t{s.h} * s.w * s.in_c);
  for (Half& x : l.input) x = FloatToHalf(std::min(4.0f, std::max(0.0f, pixel(rng))));
  for (float w : l.weights) l.weights16.push_back(FloatToHalf(w));
  for (float b : l.bias) l.bias16.push_back(FloatToHalf(b));
  l.desc.weights = l.weights.data();
  l.desc.bias = l.bias.data();

  // The oracle: weights as [tap][in][out] doubles, out innermost.
  const rvgg::LayerDesc& d = l.desc;
  std::vector<double> w(l.weights.size());
  for (uint32_t o = 0; o < s.out_c; ++o) {
    for (uint32_t k = 0; k < 9; ++k) {
      for (uint32_t i = 0; i < s.in_c; ++i) {
        w[(size_t{k} * s.in_c + i) * s.out_c + o] = l.weights[(size_t{o} * 9 + k) * s.in_c + i];
      }
    }
  }
  l.reference.assign(size_t{d.out_h} * d.out_w * s.out_c, 0.0);
  std::vector<double> acc(s.out_c);
  for (uint32_t oy = 0; oy < d.out_h; ++oy) {
    for (uint32_t ox = 0; ox < d.out_w; ++ox) {
      for (uint32_t o = 0; o < s.out_c; ++o) acc[o] = l.bias[o];
      for (int ky = 0; ky < 3; ++ky) {
        const int iy = int(oy * s.stride) + ky - 1;
        if (iy < 0 || iy >= int(s.h)) continue;
        for (int kx = 0; kx < 3; ++kx) {
          const int ix = int(ox * s.stride) + kx - 1;
          if (ix < 0 || ix >= int(s.w)) continue;
          const Half* x = &l.input[(size_t(iy) * s.w + ix) * s.in_c];
          const double* wk = &w[size_t(ky * 3 + kx) * s.in_c * s.out_c];
          for (uint32_t i = 0; i < s.in_c; ++i) {
            const double xi = HalfToFloat(x[i]);
            if (xi == 0.0) continue;
            const double* wi = wk + size_t{i} * s.out_c;
            for (uint32_t o = 0; o < s.out_c; ++o) acc[o] += wi[o] * xi;
          }
        }
      }
      double* out = &l.reference[(size_t{oy} * d.out_w + ox) * s.out_c];
      for (uint32_t o = 0; o < s.out_c; ++o) out[o] = std::max(0.0, acc[o]);
    }
  }
  return l;
}

// XNNPACK's fp16 direct convolution (fp16 weights, bias and accumulation).
std::vector<Half> DirectF16(const Layer& l) {
  const Shape& s = l.s;
  xnn_operator_t op = nullptr;
  Check(xnn_create_convolution2d_nhwc_f16(1, 1, 1, 1, 3, 3, s.stride, s.stride, 1, 1, 1, s.in_c,
                                          s.out_c, s.in_c, s.out_c, l.weights16.data(),
                                          l.bias16.data(), 0.0f,
                                          std::numeric_limits<float>::infinity(), 0, &op),
        "xnn_create_convolution2d_nhwc_f16 failed");
  std::vector<Half> input = l.input;
  input.resize(input.size() + XNN_EXTRA_BYTES / sizeof(Half));
  std::vector<Half> out(l.reference.size());
  Check(xnn_setup_convolution2d_nhwc_f16(op, 1, s.h, s.w, input.data(), out.data(), nullptr),
        "xnn_setup_convolution2d_nhwc_f16 failed");
  Check(xnn_run_operator(op, nullptr), "running the fp16 convolution failed");
  xnn_delete_operator(op);
  return out;
}

struct Axis {
  int m, n, step;
  wg::LineSetF16 lines;
};

// The fp16 Winograd layer with tile my x mx.
std::vector<Half> WinogradF16(const Layer& l, const wg::TransformSetF16& t, int my, int mx,
                              bool fp32_gemm) {
  const Shape& s = l.s;
  const rvgg::LayerDesc& d = l.desc;
  const int stride = int(s.stride);
  const Axis ay{my, wg::Positions(stride, my), my * stride, t.lines(stride, my)};
  const Axis ax{mx, wg::Positions(stride, mx), mx * stride, t.lines(stride, mx)};
  const uint32_t tiles_y = (d.out_h + my - 1) / my, tiles_x = (d.out_w + mx - 1) / mx;
  const size_t tiles = size_t{tiles_y} * tiles_x;
  const size_t positions = size_t(ay.n) * ax.n;
  const size_t extra = XNN_EXTRA_BYTES / sizeof(Half);
  std::vector<Half> v(positions * tiles * s.in_c + extra, 0);
  std::vector<Half> m(positions * tiles * s.out_c + extra, 0);
  const std::vector<Half> zeros(s.in_c, 0);
  const Half* src[wg::kMaxPositions];
  Half* dst[wg::kMaxPositions];

  // Input transform, two passes per tile (as conv2d.cc runs the fp32 one).
  for (size_t tile = 0; tile < tiles; ++tile) {
    const int y0 = int(tile / tiles_x) * ay.step - 1, x0 = int(tile % tiles_x) * ax.step - 1;
    const size_t position_stride = tiles * s.in_c;
    Half* vt = v.data() + tile * s.in_c;
    bool row_ok[wg::kMaxPositions];
    for (int i = 0; i < ay.n; ++i) {
      const int iy = y0 + i;
      row_ok[i] = iy >= 0 && iy < int(s.h);
      if (!row_ok[i]) continue;
      for (int j = 0; j < ax.n; ++j) {
        const int ix = x0 + j;
        src[j] =
            ix >= 0 && ix < int(s.w) ? &l.input[(size_t(iy) * s.w + ix) * s.in_c] : zeros.data();
        dst[j] = vt + (size_t(i) * ax.n + j) * position_stride;
      }
      ax.lines.input(src, dst, s.in_c);
    }
    for (int j = 0; j < ax.n; ++j) {
      for (int i = 0; i < ay.n; ++i) {
        dst[i] = vt + (size_t(i) * ax.n + j) * position_stride;
        src[i] = row_ok[i] ? dst[i] : zeros.data();
      }
      ay.lines.input(src, dst, s.in_c);
    }
  }

  // One GEMM per position: M_p [tiles x out_c] = V_p [tiles x in_c] U_p^T.
  const uint32_t code = wg::TileCode(my, mx);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> u(size_t{s.out_c} * s.in_c);
  std::vector<Half> u16(u.size());
  std::vector<float> v32, u32, m32;
  for (size_t p = 0; p < positions; ++p) {
    wg::TransformWeights(d, code, int(p) / ax.n, int(p) % ax.n, 0, u.data());
    for (size_t i = 0; i < u.size(); ++i) u16[i] = FloatToHalf(u[i]);
    Half* vp = v.data() + p * tiles * s.in_c;
    Half* mp = m.data() + p * tiles * s.out_c;
    xnn_operator_t op = nullptr;
    if (!fp32_gemm) {
      Check(xnn_create_fully_connected_nc_f16(s.in_c, s.out_c, s.in_c, s.out_c, u16.data(), nullptr,
                                              -inf, inf, 0, &op),
            "xnn_create_fully_connected_nc_f16 failed");
      Check(xnn_setup_fully_connected_nc_f16(op, tiles, vp, mp, nullptr),
            "xnn_setup_fully_connected_nc_f16 failed");
    } else {
      v32.resize(tiles * s.in_c + extra);
      m32.resize(tiles * s.out_c);
      u32.resize(u16.size());
      for (size_t i = 0; i < tiles * s.in_c; ++i) v32[i] = HalfToFloat(vp[i]);
      for (size_t i = 0; i < u16.size(); ++i) u32[i] = HalfToFloat(u16[i]);
      Check(xnn_create_fully_connected_nc_f32(s.in_c, s.out_c, s.in_c, s.out_c, u32.data(), nullptr,
                                              -inf, inf, 0, &op),
            "xnn_create_fully_connected_nc_f32 failed");
      Check(xnn_setup_fully_connected_nc_f32(op, tiles, v32.data(), m32.data(), nullptr),
            "xnn_setup_fully_connected_nc_f32 failed");
    }
    Check(xnn_run_operator(op, nullptr), "running a fully-connected operator failed");
    xnn_delete_operator(op);
    if (fp32_gemm) {
      for (size_t i = 0; i < tiles * s.out_c; ++i) mp[i] = FloatToHalf(m32[i]);
    }
  }

  // Output transform, along x in place, then along y with bias and ReLU.
  std::vector<Half> out(l.reference.size());
  for (size_t tile = 0; tile < tiles; ++tile) {
    const int y0 = int(tile / tiles_x) * my, x0 = int(tile % tiles_x) * mx;
    const int rows = std::min(my, int(d.out_h) - y0), cols = std::min(mx, int(d.out_w) - x0);
    const size_t position_stride = tiles * s.out_c;
    Half* mt = m.data() + tile * s.out_c;
    for (int a = 0; a < ay.n; ++a) {
      for (int b = 0; b < ax.n; ++b) {
        dst[b] = mt + (size_t(a) * ax.n + b) * position_stride;
        src[b] = dst[b];
      }
      ax.lines.output(src, dst, s.out_c, nullptr, 0.0f);
    }
    for (int j = 0; j < cols; ++j) {
      Half* o = &out[(size_t(y0) * d.out_w + size_t(x0 + j)) * s.out_c];
      for (int a = 0; a < ay.n; ++a) src[a] = mt + (size_t(a) * ax.n + j) * position_stride;
      for (int i = 0; i < my; ++i) {
        dst[i] = i < rows ? o + size_t(i) * d.out_w * s.out_c : const_cast<Half*>(src[i]);
      }
      ay.lines.output_epilogue(src, dst, s.out_c, l.bias16.data(), 0.0f);
    }
  }
  return out;
}

struct Error {
  double max_rel, rms_rel;  // max |e| / max |y|, RMS e / RMS y
};

Error Measure(const Layer& l, const std::vector<Half>& out) {
  double max_e = 0, max_y = 0, sum_e = 0, sum_y = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double y = l.reference[i], e = double(HalfToFloat(out[i])) - y;
    if (!(std::fabs(e) <= max_e)) max_e = std::isnan(e) ? INFINITY : std::fabs(e);
    max_y = std::max(max_y, std::fabs(y));
    sum_e += e * e;
    sum_y += y * y;
  }
  return {max_e / max_y, std::sqrt(sum_e / sum_y)};
}

[[noreturn]] void Usage(const char* problem) {
  std::fprintf(stderr,
               "rvgg-winograd-fp16-accuracy: %s\nusage: rvgg-winograd-fp16-accuracy "
               "[--shape H,W,CIN,COUT,STRIDE]... [--square] [--seed N] [--no-split] "
               "[--float-transforms]\n",
               problem);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Shape> shapes;
  bool square = false, split = true, float_transforms = false;
  uint32_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--shape" && i + 1 < argc) {
      Shape s{};
      char tail = 0;
      if (std::sscanf(argv[++i], "%u,%u,%u,%u,%u%c", &s.h, &s.w, &s.in_c, &s.out_c, &s.stride,
                      &tail) != 5 ||
          s.h == 0 || s.w == 0 || s.h > 1024 || s.w > 1024 || s.in_c == 0 || s.out_c == 0 ||
          s.in_c % 16 != 0 || s.out_c % 16 != 0 || s.in_c > 4096 || s.out_c > 4096 ||
          (s.stride != 1 && s.stride != 2)) {
        Usage("--shape wants H,W,CIN,COUT,STRIDE (channels multiples of 16, stride 1 or 2)");
      }
      shapes.push_back(s);
    } else if (arg == "--square") {
      square = true;
    } else if (arg == "--float-transforms") {
      float_transforms = true;
    } else if (arg == "--no-split") {
      split = false;
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else {
      Usage(("unknown argument " + arg).c_str());
    }
  }
  if (shapes.empty()) {
    shapes = {{56, 56, 48, 48, 1},
              {28, 28, 96, 96, 1},
              {14, 14, 192, 192, 1},
              {28, 28, 96, 192, 2},
              {14, 14, 192, 1280, 2}};
  }
  const wg::TransformSetF16 transforms =
      float_transforms ? wg::ScalarF16Transforms() : wg::GetWinogradTransformsF16();
  if (wg::GetWinogradTransformsF16().isa == nullptr) {
    Die("this CPU has no ARMv8.2 FP16 arithmetic (under qemu: -cpu cortex-a76)");
  }
  Check(xnn_initialize(nullptr), "xnn_initialize failed (XNNPACK does not support this CPU)");
  std::printf(
      "fp16 transforms: %s; errors vs the double direct convolution, relative to the "
      "output's max (max) and RMS (rms)%s\n\n",
      transforms.isa, split ? "; 'fp32 GEMM': the same with fp32-accumulated GEMMs" : "");
  for (const Shape& s : shapes) {
    const Layer l = MakeLayer(s, seed);
    const Error direct = Measure(l, DirectF16(l));
    rvgg_options options;
    rvgg_options_default(&options);
    options.backend = RVGG_BACKEND_XNNPACK;
    options.winograd = RVGG_WINOGRAD_AUTO;
    rvgg::KernelChoice choice;
    wg::ChooseTiles(&l.desc, 1, options, &choice);
    const uint32_t auto_tile = choice.variant;
    char auto_name[24] = "direct";
    if (auto_tile != 0) wg::TileName(l.desc, auto_tile, auto_name, sizeof(auto_name));
    std::printf("### %ux%ux%u -> %ux%ux%u, stride %u (fp32 AUTO picks %s)\n\n", s.h, s.w, s.in_c,
                l.desc.out_h, l.desc.out_w, s.out_c, s.stride, auto_name);
    std::printf("| tile | max | rms |%s\n|---|---:|---:|%s\n",
                split ? " max, fp32 GEMM | rms, fp32 GEMM |" : "", split ? "---:|---:|" : "");
    std::printf("| direct f16 (XNNPACK) | %.2e | %.2e |%s\n", direct.max_rel, direct.rms_rel,
                split ? " | |" : "");
    std::fflush(stdout);
    const int max_m = s.stride == 1 ? wg::kMaxTileStride1 : wg::kMaxTileStride2;
    for (int my = wg::kMinTile; my <= max_m; ++my) {
      for (int mx = wg::kMinTile; mx <= max_m; ++mx) {
        if (square && my != mx) continue;
        const Error e = Measure(l, WinogradF16(l, transforms, my, mx, false));
        std::printf("| %s%dx%d | %.2e | %.2e |", s.stride == 2 ? "s2 " : "", my, mx, e.max_rel,
                    e.rms_rel);
        if (split) {
          const Error f = Measure(l, WinogradF16(l, transforms, my, mx, true));
          std::printf(" %.2e | %.2e |", f.max_rel, f.rms_rel);
        }
        std::printf("\n");
        std::fflush(stdout);
      }
    }
    std::printf("\n");
  }
  return 0;
}
