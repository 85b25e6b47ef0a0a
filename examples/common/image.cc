#include "examples/common/image.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <stb/stb_image.h>

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
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - support + 0.5)));
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
                                            "psd", "hdr", "pic", "pgm", "ppm", "pnm"};
  const size_t dot = name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* e : kExtensions) {
    if (ext == e) return true;
  }
  return false;
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
    *error = "images can be decoded to 1 or 3 channels, the model takes " + std::to_string(channels);
    return false;
  }
  int w = 0, h = 0, n = 0;
  stbi_uc* data = stbi_load(path.c_str(), &w, &h, &n, static_cast<int>(channels));
  if (data == nullptr) {
    const char* reason = stbi_failure_reason();
    *error = path + ": " + (reason != nullptr ? reason : "cannot decode");
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
  if (image.channels != p.channels) {
    *error = "the image has " + std::to_string(image.channels) + " channels, the model takes " +
             std::to_string(p.channels);
    return false;
  }
  uint32_t rh = p.height, rw = p.width, top = 0, left = 0;
  if (std::min(p.height, p.width) >= kCropMinSize) {
    // Cover (H / 0.875) x (W / 0.875) keeping the aspect ratio, then crop.
    const double scale = std::max(p.height / kCropFraction / image.height,
                                  p.width / kCropFraction / image.width);
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
