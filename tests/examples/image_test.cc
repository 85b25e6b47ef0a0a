// tools/common/image.cc: decoding, channel conversion, resize/crop and
// normalization, on PNG/BMP files written by stb_image_write.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include "tools/common/image.h"

namespace rvgg::tools {
namespace {

std::string Dir() {
  mkdir(RVGG_TEST_IMAGE_DIR, 0755);
  return RVGG_TEST_IMAGE_DIR;
}

// Writes [h][w][c] bytes as PNG (or BMP) and returns the path.
std::string Write(const std::string& name, uint32_t w, uint32_t h, uint32_t c,
                  const std::vector<uint8_t>& pixels) {
  const std::string path = Dir() + "/" + name;
  const bool bmp = name.size() > 4 && name.substr(name.size() - 4) == ".bmp";
  const int ok = bmp ? stbi_write_bmp(path.c_str(), int(w), int(h), int(c), pixels.data())
                     : stbi_write_png(path.c_str(), int(w), int(h), int(c), pixels.data(), int(w * c));
  REQUIRE(ok != 0);
  return path;
}

std::vector<uint8_t> Gradient(uint32_t w, uint32_t h, uint32_t c) {
  std::vector<uint8_t> p(size_t{w} * h * c);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t ch = 0; ch < c; ++ch) p[(size_t{y} * w + x) * c + ch] = uint8_t((x * 7 + y * 3 + ch * 50) % 256);
  return p;
}

TEST_CASE("image: PNG decodes to the written pixels; grey <-> RGB follow the model's channels") {
  const auto rgb = Gradient(5, 4, 3);
  const std::string path = Write("rgb.png", 5, 4, 3, rgb);
  Image image;
  std::string error;
  REQUIRE(DecodeImage(path, 3, &image, &error));
  CHECK(image.width == 5);
  CHECK(image.height == 4);
  CHECK(image.pixels == rgb);
  // RGB -> grey: ITU-R 601 luma, (77 R + 150 G + 29 B) / 256 in stb.
  REQUIRE(DecodeImage(path, 1, &image, &error));
  CHECK(image.channels == 1);
  CHECK(int(image.pixels[0]) == (77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2]) >> 8);
  // grey -> RGB repeats the value.
  const std::string grey = Write("grey.bmp", 3, 2, 1, {10, 20, 30, 40, 50, 60});
  REQUIRE(DecodeImage(grey, 3, &image, &error));
  CHECK(image.pixels == std::vector<uint8_t>{10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40, 50, 50, 50, 60, 60, 60});
}

TEST_CASE("image: a missing or broken file is one line naming it") {
  Image image;
  std::string error;
  CHECK_FALSE(DecodeImage(Dir() + "/missing.png", 3, &image, &error));
  CHECK(error.find("missing.png") != std::string::npos);
  const std::string junk = Dir() + "/junk.png";
  FILE* f = std::fopen(junk.c_str(), "wb");
  std::fputs("not a png", f);
  std::fclose(f);
  CHECK_FALSE(DecodeImage(junk, 3, &image, &error));
  CHECK(error.find(junk + ": ") == 0);
}

// Writes the first `keep` bytes of `bytes` to DIR/name and returns the path.
std::string WriteBytes(const std::string& name, const std::vector<uint8_t>& bytes, size_t keep) {
  const std::string path = Dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (keep != 0) REQUIRE(std::fwrite(bytes.data(), 1, keep, f) == keep);
  std::fclose(f);
  return path;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::vector<uint8_t> bytes;
  FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  for (int ch; (ch = std::fgetc(f)) != EOF;) bytes.push_back(uint8_t(ch));
  std::fclose(f);
  return bytes;
}

TEST_CASE("image: missing, directory, empty and non-image files get their own reasons") {
  Image image;
  std::string error;
  CHECK_FALSE(DecodeImage(Dir() + "/missing.png", 1, &image, &error));
  CHECK(error == Dir() + "/missing.png: No such file or directory");
  CHECK_FALSE(DecodeImage(Dir(), 1, &image, &error));
  CHECK(error == Dir() + ": is a directory");
  const std::string empty = WriteBytes("empty.png", {}, 0);
  CHECK_FALSE(DecodeImage(empty, 1, &image, &error));
  CHECK(error == empty + ": empty file");
  const std::string text = WriteBytes("text.jpg", {'h', 'e', 'l', 'l', 'o', '\n'}, 6);
  CHECK_FALSE(DecodeImage(text, 1, &image, &error));
  CHECK(error.find(text + ": not a readable image (") == 0);
}

TEST_CASE("image: files cut short fail (PNG by stb; binary PGM/PPM and BMP against their headers)") {
  const auto grey = Gradient(9, 7, 1);
  // PGM with a comment in the header; 16-bit samples double the size.
  std::string header = "P5\n# made by a test\n9 7\n255\n";
  std::vector<uint8_t> pgm(header.begin(), header.end());
  pgm.insert(pgm.end(), grey.begin(), grey.end());
  const auto rgb = Gradient(9, 7, 3);
  header = "P6 9 7 255\n";
  std::vector<uint8_t> ppm(header.begin(), header.end());
  ppm.insert(ppm.end(), rgb.begin(), rgb.end());
  const std::vector<uint8_t> png = ReadAll(Write("whole.png", 9, 7, 1, grey));
  const std::vector<uint8_t> bmp = ReadAll(Write("whole.bmp", 9, 7, 3, rgb));  // rows padded to 28 bytes
  struct Case {
    const char* name;
    const std::vector<uint8_t>* bytes;
  } cases[] = {{"cut.pgm", &pgm}, {"cut.ppm", &ppm}, {"cut.png", &png}, {"cut.bmp", &bmp}};
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    Image image;
    std::string error;
    const std::string whole = WriteBytes(std::string("whole_") + c.name, *c.bytes, c.bytes->size());
    REQUIRE(DecodeImage(whole, 1, &image, &error));
    CHECK(image.width == 9);
    CHECK(image.height == 7);
    const std::string cut = WriteBytes(c.name, *c.bytes, c.bytes->size() - 5);
    CHECK_FALSE(DecodeImage(cut, 1, &image, &error));
    CHECK(error.find(cut + ": ") == 0);
    if (name != "cut.png") {
      // The BMP's last row may lack its padding byte.
      const size_t needed = c.bytes->size() - (name == "cut.bmp" ? 1 : 0);
      CHECK(error == cut + ": truncated (" + std::to_string(c.bytes->size() - 5) +
                         " bytes, its header needs " + std::to_string(needed) + ")");
    }
  }
  // Headers cut before the size: stb_image "decodes" them to 0 x 0 or 3 x 0.
  for (const char* header : {"P5\n# comment\n", "P6 3 3"}) {
    const std::string text = header;
    const std::string path =
        WriteBytes("header.pnm", std::vector<uint8_t>(text.begin(), text.end()), text.size());
    Image image;
    std::string error;
    CAPTURE(text);
    CHECK_FALSE(DecodeImage(path, 1, &image, &error));
    CHECK(error.find(path + ": not a readable image (") == 0);
  }
  // The PGM's pixels are the written ones (the header parse found the data).
  Image image;
  std::string error;
  REQUIRE(DecodeImage(Dir() + "/whole_cut.pgm", 1, &image, &error));
  CHECK(image.pixels == grey);
}

TEST_CASE("image: same-size resize is the identity; shrinking averages (antialiased)") {
  Image image;
  image.width = 6;
  image.height = 4;
  image.channels = 1;
  image.pixels = Gradient(6, 4, 1);
  const std::vector<float> same = ResizeBilinear(image, 4, 6);
  for (size_t i = 0; i < same.size(); ++i) CHECK(same[i] == doctest::Approx(image.pixels[i]));
  // A 0/255 checkerboard shrunk by 2 averages to mid-grey everywhere (plain
  // 2-tap bilinear would alias it back to a pattern).
  image.width = image.height = 8;
  image.pixels.assign(64, 0);
  for (uint32_t y = 0; y < 8; ++y)
    for (uint32_t x = 0; x < 8; ++x) image.pixels[y * 8 + x] = (x + y) % 2 ? 255 : 0;
  for (float v : ResizeBilinear(image, 4, 4)) CHECK(v == doctest::Approx(127.5f).epsilon(0.05));
  // Enlarging a constant image keeps it constant.
  image.pixels.assign(64, 90);
  for (float v : ResizeBilinear(image, 13, 11)) CHECK(v == doctest::Approx(90.0f));
}

TEST_CASE("image: small models get a plain resize, then x / 255 normalized per channel") {
  Image image;
  image.width = image.height = 28;
  image.channels = 1;
  image.pixels.assign(28 * 28, 0);
  image.pixels[0] = 255;
  Preprocessing p;
  p.height = p.width = 28;
  p.channels = 1;
  p.mean = {0.5f};
  p.std = {0.25f};
  std::vector<float> out;
  std::string error;
  REQUIRE(PreprocessImage(image, p, &out, &error));
  REQUIRE(out.size() == 28 * 28);
  CHECK(out[0] == doctest::Approx(2.0f));   // (1 - 0.5) / 0.25
  CHECK(out[1] == doctest::Approx(-2.0f));  // (0 - 0.5) / 0.25
  p.channels = 3;
  CHECK_FALSE(PreprocessImage(image, p, &out, &error));
  CHECK(error.find("1 channels, the model takes 3") != std::string::npos);
}

TEST_CASE("image: models >= 64 px resize the short side to size / 0.875 and crop the centre") {
  // 100 x 200 (h x w) for a 64x64 model: scale 64 / 0.875 / 100 = 0.7314,
  // resized 73 x 146, crop rows 4..67 and columns 41..104. A white column at
  // source x = 100 (the centre) lands in the middle of the crop; columns at
  // x < 40 are cut away.
  Image image;
  image.width = 200;
  image.height = 100;
  image.channels = 3;
  image.pixels.assign(size_t{200} * 100 * 3, 0);
  for (uint32_t y = 0; y < 100; ++y) {
    for (uint32_t ch = 0; ch < 3; ++ch) {
      image.pixels[(y * 200 + 100) * 3 + ch] = 255;
      image.pixels[(y * 200 + 10) * 3 + ch] = 255;  // outside the crop
    }
  }
  Preprocessing p;
  p.height = p.width = 64;
  p.channels = 3;
  std::vector<float> out;
  std::string error;
  REQUIRE(PreprocessImage(image, p, &out, &error));
  REQUIRE(out.size() == 3 * 64 * 64);
  // Column energy: the white line sits at resized x = 100 * 0.73 = 73, i.e.
  // crop column 73 - 41 = 32, and nothing else is lit.
  std::vector<double> column(64, 0.0);
  for (uint32_t y = 0; y < 64; ++y)
    for (uint32_t x = 0; x < 64; ++x) column[x] += out[y * 64 + x];
  const size_t brightest = std::max_element(column.begin(), column.end()) - column.begin();
  CHECK(brightest >= 31);
  CHECK(brightest <= 33);
  CHECK(column[0] == 0.0);
  CHECK(column[10] == 0.0);
  // Every channel plane got the same (grey) content.
  for (size_t i = 0; i < 64 * 64; ++i) CHECK(out[i] == out[2 * 64 * 64 + i]);
}

TEST_CASE("image: folders list image files only, sorted") {
  const std::string dir = Dir() + "/listing";
  mkdir(dir.c_str(), 0755);
  const auto px = Gradient(2, 2, 3);
  Write("listing/b.PNG", 2, 2, 3, px);
  Write("listing/a.bmp", 2, 2, 3, px);
  FILE* f = std::fopen((dir + "/notes.txt").c_str(), "w");
  std::fclose(f);
  mkdir((dir + "/sub.png").c_str(), 0755);  // a folder, not a file
  std::vector<std::string> paths;
  std::string error;
  REQUIRE(ListImageFiles(dir, &paths, &error));
  CHECK(paths == std::vector<std::string>{dir + "/a.bmp", dir + "/b.PNG"});
  CHECK_FALSE(ListImageFiles(dir + "/nope", &paths, &error));
  CHECK(error.find("nope") != std::string::npos);
}

}  // namespace
}  // namespace rvgg::tools
