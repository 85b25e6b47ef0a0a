// converter/src/checkpoint/read_checkpoint.cc: telling formats apart from
// the bytes, and what the file system can get wrong.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "tests/converter/checkpoint/test_support.h"

namespace rvgg::convert {
namespace {

using test::Contains;
using test::ErrorOf;
using test::Fixture;
using test::FixtureDir;

std::string ErrorOfBytes(const std::vector<uint8_t>& bytes, const std::string& name = "f.bin") {
  return ErrorOf([&] { test::ReadBytes(bytes, name); });
}

TEST_CASE("detection: a missing path says so") {
  const std::string path = FixtureDir() + "/does-not-exist.pth";
  CHECK(ErrorOf([&] { ReadCheckpoint(path); }) == path + ": no such file");
}

TEST_CASE("detection: a directory is refused, suggesting the file inside it") {
  const std::string path = FixtureDir();
  const std::string message = ErrorOf([&] { ReadCheckpoint(path); });
  CHECK(message.rfind(path + ": is a directory, not a checkpoint file", 0) == 0);
  CHECK(Contains(message, "model.safetensors"));
}

TEST_CASE("detection: an empty file is refused as empty") {
  const std::string path = FixtureDir() + "/empty.pth";
  test::WriteFile(path, {});
  CHECK(ErrorOf([&] { ReadCheckpoint(path); }) == path + ": file is empty");
  CHECK(ErrorOfBytes({}, "x.pth") == "x.pth: file is empty");
}

TEST_CASE("detection: random bytes are not a PyTorch or safetensors checkpoint") {
  std::mt19937 rng(42);
  std::vector<uint8_t> bytes(4096);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  bytes[0] = 0x13;  // not 'P', not a pickle
  bytes[8] = 0x00;  // not '{'
  const std::string message = ErrorOfBytes(bytes, "random.bin");
  CHECK(message.rfind("random.bin: not a PyTorch or safetensors checkpoint (starts with 13 ", 0) ==
        0);
}

TEST_CASE("detection: common look-alikes get a specific hint") {
  const std::string lfs = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n";
  CHECK(Contains(ErrorOfBytes(std::vector<uint8_t>(lfs.begin(), lfs.end())), "Git LFS pointer"));
  CHECK(Contains(ErrorOfBytes({0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0}), "gzip-compressed"));
  CHECK(Contains(ErrorOfBytes({0x80, 0x04, 0x4b, 0x01, 0x2e}),
                 "a Python pickle, but without torch.save's magic number"));
}

TEST_CASE("detection: legacy torch.save streams are recognized with pickle protocols 2 and 4") {
  const std::vector<uint8_t> magic = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                      0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  std::vector<uint8_t> v2 = {0x80, 0x02};
  v2.insert(v2.end(), magic.begin(), magic.end());
  std::vector<uint8_t> v4 = {0x80, 0x04, 0x95, 13, 0, 0, 0, 0, 0, 0, 0};
  v4.insert(v4.end(), magic.begin(), magic.end());
  CHECK(Contains(ErrorOfBytes(v2, "old.pt"), "old.pt: legacy torch.save format"));
  CHECK(Contains(ErrorOfBytes(v4, "old.pt"), "old.pt: legacy torch.save format"));
  CHECK(
      Contains(ErrorOf([] { ReadCheckpoint(Fixture("legacy.pth")); }), "legacy torch.save format"));
}

TEST_CASE("detection: zip and safetensors are told apart by content, not by name") {
  CHECK(ReadCheckpoint(Fixture("torch_zip_named.safetensors")).container == "torch-zip");
  const std::vector<uint8_t> st = test::ReadFile(Fixture("small.safetensors"));
  CHECK(test::ReadBytes(st, "weights.pth").container == "safetensors");
  // An empty zip archive is a zip, just not a checkpoint.
  const std::vector<uint8_t> empty_zip = {'P', 'K', 5, 6, 0, 0, 0, 0, 0, 0, 0,
                                          0,   0,   0, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(ErrorOfBytes(empty_zip, "e.zip") ==
        "e.zip: zip archive has no data.pkl (is this a PyTorch checkpoint?)");
}

}  // namespace
}  // namespace rvgg::convert
