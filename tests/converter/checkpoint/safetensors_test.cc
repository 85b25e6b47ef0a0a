// converter/src/checkpoint/safetensors.cc: files written byte by byte by
// make_fixtures.py (values from torch), and hand-built broken headers.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "tests/converter/checkpoint/test_support.h"

namespace rvgg::convert {
namespace {

using test::CheckAgainstTorch;
using test::Contains;
using test::ErrorOf;
using test::Fixture;

// 8-byte little-endian header length, the header, the data section.
std::vector<uint8_t> Safetensors(const std::string& header, const std::string& data,
                                 uint64_t claimed_length = UINT64_MAX) {
  const uint64_t length = claimed_length == UINT64_MAX ? header.size() : claimed_length;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(length >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string Error(const std::string& header, const std::string& data) {
  return ErrorOf([&] { test::ReadBytes(Safetensors(header, data), "model.safetensors"); });
}

TEST_CASE("safetensors: F32, F16 and BF16 tensors match torch, in header order, metadata skipped") {
  const Checkpoint c = ReadCheckpoint(Fixture("model.safetensors"));
  CHECK(c.container == "safetensors");
  CHECK(test::Keys(*c.root) == std::vector<std::string>{"stem.conv.weight", "head.fc.weight",
                                                        "stem.bn.bias", "head.fc.bias"});
  CHECK(CheckAgainstTorch(c, "model.safetensors") == 4);
  CHECK(c.root->Get("__metadata__") == nullptr);
  CHECK(c.root->Get("head.fc.weight")->tensor->source_dtype == DType::kFloat16);
  CHECK(c.root->Get("stem.bn.bias")->tensor->source_dtype == DType::kBFloat16);
}

TEST_CASE("safetensors: F64, integer, BOOL, 0-d and zero-size tensors match torch") {
  const Checkpoint c = ReadCheckpoint(Fixture("dtypes.safetensors"));
  CHECK(CheckAgainstTorch(c, "dtypes.safetensors") == 13);
  CHECK(c.root->Get("scalar")->tensor->shape.empty());
  CHECK(c.root->Get("empty")->tensor->ShapeString() == "[0, 4]");
}

TEST_CASE("safetensors: gaps between tensors and trailing bytes are tolerated") {
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})";
  const Checkpoint c =
      test::ReadBytes(Safetensors(header, std::string("\xff\0\0\0\x07\x08\x09\x09", 8)));
  CHECK(test::Keys(*c.root) == std::vector<std::string>{"b", "a"});
  CHECK(c.root->Get("a")->tensor->data == std::vector<float>{-1.0f});
  CHECK(c.root->Get("b")->tensor->data == std::vector<float>{7.0f, 8.0f});
}

TEST_CASE("safetensors: a header length past the end of the file is refused") {
  const std::vector<uint8_t> bytes = Safetensors(R"({"a":1})", "", 1000);
  CHECK(
      ErrorOf([&] { test::ReadBytes(bytes, "model.safetensors"); }) ==
      "model.safetensors: safetensors header length 1000 runs past the end of the file (15 bytes)");
}

TEST_CASE("safetensors: data_offsets past the data section are refused") {
  CHECK(Error(R"({"stem.conv.weight":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}})",
              std::string(2048, '\0')) ==
        "model.safetensors: tensor 'stem.conv.weight' data_offsets [0, 4096] end past the data "
        "section (2048 bytes)");
  CHECK(
      Error(
          R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})",
          std::string(8, '\0')) ==
      "model.safetensors: tensor 'w' data_offsets [18446744073709551612, 18446744073709551615] end "
      "past the data section (8 bytes)");
}

TEST_CASE("safetensors: reversed, mis-sized and overlapping ranges are refused") {
  CHECK(Contains(
      Error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')),
      "tensor 'w' data_offsets [8, 4] begin after they end"));
  CHECK(Error(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(12, '\0')) ==
        "model.safetensors: tensor 'w' (F32 [3]) needs 12 bytes but data_offsets [0, 8] hold 8");
  CHECK(Contains(
      Error(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", ""),
      "more elements than int64 can count"));
  CHECK(
      Error(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          std::string(12, '\0')) ==
      "model.safetensors: tensor 'a' and tensor 'b' overlap in the data section ([0, 8] and [4, "
      "12])");
}

TEST_CASE("safetensors: a header that is not valid JSON is reported in one line") {
  const std::string message = Error("{\"w\": {\"dtype\": \n\"F32\",, }", "");
  CHECK(message.rfind("model.safetensors: safetensors header is not valid JSON: ", 0) == 0);
  CHECK(Contains(message, "parse error"));
}

TEST_CASE("safetensors: an unknown dtype is refused by name") {
  CHECK(
      Error(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
            std::string(1, '\0')) ==
      "model.safetensors: tensor 'w' has dtype 'F8_E4M3', which is not supported (F32, F16, BF16, "
      "F64, I64, I32, I16, I8, U8, BOOL are)");
}

TEST_CASE("safetensors: malformed entries and repeated names are refused") {
  CHECK(Contains(
      Error(
          R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          std::string(8, '\0')),
      "safetensors header names tensor 'w' twice"));
  CHECK(
      Contains(Error(R"({"w":3})", ""), "tensor 'w' is described by a JSON number, not an object"));
  CHECK(Contains(Error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
                 "has no dtype string"));
  CHECK(Contains(
      Error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')),
      "shape entry that is not a non-negative integer: -1"));
  CHECK(Contains(
      Error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::string(4, '\0')),
      "has no data_offsets [begin, end] pair"));
  CHECK(Contains(Error(R"({"__metadata__":[1]})", ""), "__metadata__ is not a JSON object"));
}

}  // namespace
}  // namespace rvgg::convert
