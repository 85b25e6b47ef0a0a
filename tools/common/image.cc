#include "tools/common/image.h"

#include <dirent.h>
#include <stb/stb_image.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tools/common/files.h"

namespace rvgg::tools {
namespace {

// One output sample's source taps: a triangle filter of radius `support`
// (1 source pixel when enlarging, the scale factor when shrinking), centred
// on the output pixel's centre mapped into the source (half-pixel centres).
struct Taps {
  uint32_t first = 0;
  std::vector<float> weights;
};

std::vector<Taps> MakeTaps(uint32_t in, uint32_t out) {
  const double scale = static_cast<double>(in) / out;
  const double support = std::max(scale, 1.0);
  std::vector<Taps> taps(out);
  for (uint32_t o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int64_t lo =
        std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - support + 0.5)));
    const int64_t hi =
        std::min<int64_t>(in, static_cast<int64_t>(std::floor(centre + support + 0.5)));
    Taps& t = taps[o];
    t.first = static_cast<uint32_t>(lo);
    double total = 0.0;
    for (int64_t i = lo; i < hi; ++i) {
      const double d = std::fabs((i + 0.5 - centre) / support);
      const double weight = d < 1.0 ? 1.0 - d : 0.0;
      t.weights.push_back(static_cast<float>(weight));
      total += weight;
    }
    if (total <= 0.0) {  // cannot happen for in >= 1; keep the nearest pixel
      t.first = static_cast<uint32_t>(std::min<double>(in - 1, std::floor(centre)));
      t.weights.assign(1, 1.0f);
      total = 1.0;
    }
    for (float& w : t.weights) w = static_cast<float>(w / total);
  }
  return taps;
}

bool HasImageExtension(const std::string& name) {
  static const char* const kExtensions[] = {"png", "jpg", "jpeg", "bmp", "gif", "tga",
                                            "psd", "hdr", "pic",  "pgm", "ppm", "pnm"};
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* e : kExtensions) {
    if (ext == e) return true;
  }
  return false;
}

// stb_image decodes a binary PNM or an uncompressed BMP that is cut short
// without complaint (the missing pixels come out as zeros), so their sizes
// are checked against their headers here. Returns the bytes the header
// promises, or 0 when the format is another one or its size is not fixed.
// Dimensions stb_image refuses anyway (above 2^24) are left to it, which also
// keeps the products below from overflowing.
uint64_t PromisedBytes(const std::vector<uint8_t>& b) {
  constexpr uint64_t kMaxDimension = uint64_t{1} << 24;
  if (b.size() >= 3 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) {
    // "P5" width height maxval, separated by whitespace and # comments, then
    // one whitespace byte and the samples (2 bytes each when maxval > 255).
    size_t i = 2;
    uint64_t fields[3] = {0, 0, 0};
    for (uint64_t& field : fields) {
      for (;;) {
        while (i < b.size() && std::isspace(b[i])) ++i;
        if (i < b.size() && b[i] == '#') {
          while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
        } else {
          break;
        }
      }
      if (i >= b.size() || !std::isdigit(b[i])) return 0;  // malformed: stb reports it
      while (i < b.size() && std::isdigit(b[i]) && field <= kMaxDimension) {
        field = field * 10 + (b[i++] - '0');
      }
    }
    if (fields[0] > kMaxDimension || fields[1] > kMaxDimension) return 0;
    const uint64_t channels = b[1] == '5' ? 1 : 3, sample = fields[2] > 255 ? 2 : 1;
    return i + 1 + fields[0] * fields[1] * channels * sample;
  }
  if (b.size() >= 54 && b[0] == 'B' && b[1] == 'M') {
    const auto u16 = [&](size_t at) { return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8; };
    const auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
    const uint32_t offset = u32(10), header = u32(14);
    if (header < 40) return 0;  // OS/2 headers: left to stb
    const int32_t width = static_cast<int32_t>(u32(18)), height = static_cast<int32_t>(u32(22));
    const uint32_t bits = u16(28), compression = u32(30);
    if (compression != 0 && compression != 3) return 0;  // RLE: no fixed size
    const uint64_t rows = static_cast<uint64_t>(height < 0 ? -int64_t{height} : int64_t{height});
    if (width <= 0 || rows == 0 || uint64_t(width) > kMaxDimension || rows > kMaxDimension)
      return 0;
    const uint64_t stride = (uint64_t{static_cast<uint32_t>(width)} * bits + 31) / 32 * 4;
    // The last row's padding is not required: some writers leave it out.
    return offset + stride * (rows - 1) + (uint64_t{static_cast<uint32_t>(width)} * bits + 7) / 8;
  }
  return 0;
}

}  // namespace

Preprocessing PreprocessingOf(const rvgg_model_info& info) {
  Preprocessing p;
  p.height = info.input_height;
  p.width = info.input_width;
  p.channels = info.input_channels;
  if (info.mean != nullptr) p.mean.assign(info.mean, info.mean + info.input_channels);
  if (info.std != nullptr) p.std.assign(info.std, info.std + info.input_channels);
  return p;
}

bool DecodeImage(const std::string& path, uint32_t channels, Image* image, std::string* error) {
  if (channels != 1 && channels != 3) {
    *error =
        "images can be decoded to 1 or 3 channels, the model takes " + std::to_string(channels);
    return false;
  }
  // Read the file here rather than through stbi_load: its only message for
  // a missing file, a directory or an unreadable one is "can't fopen".
  std::vector<uint8_t> bytes;
  if (!ReadFile(path, &bytes, error)) return false;
  if (bytes.empty()) {
    *error = path + ": empty file";
    return false;
  }
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    *error = path + ": too large to decode (" + std::to_string(bytes.size()) + " bytes)";
    return false;
  }
  const uint64_t promised = PromisedBytes(bytes);
  if (promised > bytes.size()) {
    *error = path + ": truncated (" + std::to_string(bytes.size()) + " bytes, its header needs " +
             std::to_string(promised) + ")";
    return false;
  }
  int w = 0, h = 0, n = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n,
                                        static_cast<int>(channels));
  if (data == nullptr) {
    const char* reason = stbi_failure_reason();
    *error =
        path + ": not a readable image (" + (reason != nullptr ? reason : "cannot decode") + ")";
    return false;
  }
  if (w <= 0 || h <= 0) {
    // stb_image returns an empty image for a PNM header cut before its size.
    stbi_image_free(data);
    *error = path + ": not a readable image (no pixels: " + std::to_string(w) + " x " +
             std::to_string(h) + ")";
    return false;
  }
  image->width = static_cast<uint32_t>(w);
  image->height = static_cast<uint32_t>(h);
  image->channels = channels;
  image->pixels.assign(data, data + size_t{image->width} * image->height * channels);
  stbi_image_free(data);
  return true;
}

std::vector<float> ResizeBilinear(const Image& image, uint32_t height, uint32_t width) {
  const uint32_t c = image.channels;
  const std::vector<Taps> across = MakeTaps(image.width, width);
  const std::vector<Taps> down = MakeTaps(image.height, height);
  // Horizontal pass: [image.height][width][c].
  std::vector<float> rows(size_t{image.height} * width * c, 0.0f);
  for (uint32_t y = 0; y < image.height; ++y) {
    const uint8_t* src = image.pixels.data() + size_t{y} * image.width * c;
    float* dst = rows.data() + size_t{y} * width * c;
    for (uint32_t x = 0; x < width; ++x) {
      const Taps& t = across[x];
      for (size_t k = 0; k < t.weights.size(); ++k) {
        const uint8_t* p = src + (size_t{t.first} + k) * c;
        for (uint32_t ch = 0; ch < c; ++ch) dst[size_t{x} * c + ch] += t.weights[k] * p[ch];
      }
    }
  }
  // Vertical pass: [height][width][c].
  std::vector<float> out(size_t{height} * width * c, 0.0f);
  const size_t row = size_t{width} * c;
  for (uint32_t y = 0; y < height; ++y) {
    const Taps& t = down[y];
    float* dst = out.data() + y * row;
    for (size_t k = 0; k < t.weights.size(); ++k) {
      const float* src = rows.data() + (size_t{t.first} + k) * row;
      for (size_t i = 0; i < row; ++i) dst[i] += t.weights[k] * src[i];
    }
  }
  return out;
}

bool PreprocessImage(const Image& image, const Preprocessing& p, std::vector<float>* nchw,
                     std::string* error) {
  if (image.width == 0 || image.height == 0 || p.width == 0 || p.height == 0) {
    *error = "cannot resize a " + std::to_string(image.width) + " x " +
             std::to_string(image.height) + " image to " + std::to_string(p.width) + " x " +
             std::to_string(p.height);
    return false;
  }
  if (image.channels != p.channels) {
    *error = "the image has " + std::to_string(image.channels) + " channels, the model takes " +
             std::to_string(p.channels);
    return false;
  }
  uint32_t rh = p.height, rw = p.width, top = 0, left = 0;
  if (std::min(p.height, p.width) >= kCropMinSize) {
    // Cover (H / 0.875) x (W / 0.875) keeping the aspect ratio, then crop.
    const double scale =
        std::max(p.height / kCropFraction / image.height, p.width / kCropFraction / image.width);
    rh = std::max(p.height, static_cast<uint32_t>(std::lround(image.height * scale)));
    rw = std::max(p.width, static_cast<uint32_t>(std::lround(image.width * scale)));
    top = (rh - p.height) / 2;
    left = (rw - p.width) / 2;
  }
  const std::vector<float> resized = ResizeBilinear(image, rh, rw);
  const uint32_t c = p.channels;
  nchw->assign(size_t{c} * p.height * p.width, 0.0f);
  for (uint32_t ch = 0; ch < c; ++ch) {
    const float mean = p.mean.empty() ? 0.0f : p.mean[ch];
    const float inv_std = p.std.empty() ? 1.0f : 1.0f / p.std[ch];
    float* plane = nchw->data() + size_t{ch} * p.height * p.width;
    for (uint32_t y = 0; y < p.height; ++y) {
      const float* src = resized.data() + (size_t{top + y} * rw + left) * c + ch;
      for (uint32_t x = 0; x < p.width; ++x) {
        plane[size_t{y} * p.width + x] = (src[size_t{x} * c] / 255.0f - mean) * inv_std;
      }
    }
  }
  return true;
}

bool LoadImage(const std::string& path, const Preprocessing& p, std::vector<float>* nchw,
               std::string* error) {
  Image image;
  return DecodeImage(path, p.channels, &image, error) && PreprocessImage(image, p, nchw, error);
}

bool ListImageFiles(const std::string& dir, std::vector<std::string>* paths, std::string* error) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    *error = dir + ": " + std::strerror(errno);
    return false;
  }
  paths->clear();
  errno = 0;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name.empty() || name[0] == '.' || !HasImageExtension(name)) continue;
    const std::string path = dir + (dir.back() == '/' ? "" : "/") + name;
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) paths->push_back(path);
    errno = 0;
  }
  const int read_error = errno;
  closedir(d);
  if (read_error != 0) {
    *error = dir + ": " + std::strerror(read_error);
    return false;
  }
  std::sort(paths->begin(), paths->end());
  return true;
}

}  // namespace rvgg::tools
