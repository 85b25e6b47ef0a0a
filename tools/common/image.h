// Image files -> the float input a classifier model takes: the one
// preprocessing shared by rvgg-classify and rvgg-convert's calibration, so a
// model is calibrated on exactly what it later sees.
//
//   decode (stb_image: PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC, PNM)
//   -> grey <-> RGB to the model's channels (grey = ITU-R 601 luma, as stb
//      computes it; RGB from grey repeats it; alpha is dropped)
//   -> resize, bilinear (a triangle filter widened when shrinking, like
//      PIL's antialiased bilinear):
//        models >= 64 px (min of H, W): scale so the image covers
//        H/0.875 x W/0.875 (224 -> short side 256), then centre-crop H x W;
//        smaller models (28x28 digits, 32x32 tiles): stretch to H x W
//   -> x / 255, then (x - mean[c]) / std[c]
//   -> float32 NCHW [channels, height, width], what rvgg_model_run takes
//      with RVGG_LAYOUT_NCHW (and rvgg-run's .npy files hold).
#ifndef RVGG_TOOLS_COMMON_IMAGE_H_
#define RVGG_TOOLS_COMMON_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rvgg/rvgg.h"

namespace rvgg::tools {

// Decoded 8-bit pixels, interleaved [height][width][channels].
struct Image {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// What a model expects. mean/std: one value per channel, or empty for 0 / 1.
struct Preprocessing {
  uint32_t height = 0, width = 0, channels = 0;
  std::vector<float> mean, std;
};

// The preprocessing recorded in a model (mean/std empty when not recorded).
Preprocessing PreprocessingOf(const rvgg_model_info& info);

// Models at least this many pixels on their short side get resize + centre
// crop; smaller ones a plain resize.
constexpr uint32_t kCropMinSize = 64;
// The crop keeps this fraction of the resized short side (224 of 256).
constexpr double kCropFraction = 0.875;

// Decodes `path` into `channels` (1 or 3) channels. On failure returns false
// with one line in `error` that starts with "PATH: " ("cat.png: No such file
// or directory", "x.jpg: not a readable image (bad huffman code)",
// "y.pgm: truncated (412 bytes, its header needs 799)"). Files cut short are
// caught for PNG (stb_image) and binary PNM and uncompressed BMP (sizes
// checked against their headers); stb_image may decode a JPEG, GIF or TGA
// cut inside its pixel data with the missing part filled in.
bool DecodeImage(const std::string& path, uint32_t channels, Image* image, std::string* error);

// Bilinear resize of 8-bit interleaved pixels to `height` x `width`, in
// float (0..255, not rounded). Antialiased when shrinking.
std::vector<float> ResizeBilinear(const Image& image, uint32_t height, uint32_t width);

// Resize/crop and normalize a decoded image (with p.channels channels) into
// float32 NCHW. Returns false with `error` when the channels differ.
bool PreprocessImage(const Image& image, const Preprocessing& p, std::vector<float>* nchw,
                     std::string* error);

// DecodeImage + PreprocessImage.
bool LoadImage(const std::string& path, const Preprocessing& p, std::vector<float>* nchw,
               std::string* error);

// Image files directly in `dir` (by extension: png, jpg, jpeg, bmp, gif, tga,
// psd, hdr, pic, pgm, ppm, pnm; any case), sorted by name.
bool ListImageFiles(const std::string& dir, std::vector<std::string>* paths, std::string* error);

}  // namespace rvgg::tools

#endif  // RVGG_TOOLS_COMMON_IMAGE_H_
