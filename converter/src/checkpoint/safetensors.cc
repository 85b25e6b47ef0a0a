#include "converter/src/checkpoint/safetensors.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/error.h"

namespace rvgg::convert::ckpt {
namespace {

using Json = nlohmann::ordered_json;  // keeps the header's order

struct DTypeCode {
  const char* code;
  DType dtype;
};
constexpr DTypeCode kDTypes[] = {
    {"F32", DType::kFloat32}, {"F16", DType::kFloat16}, {"BF16", DType::kBFloat16},
    {"F64", DType::kFloat64}, {"I64", DType::kInt64},   {"I32", DType::kInt32},
    {"I16", DType::kInt16},   {"I8", DType::kInt8},     {"U8", DType::kUInt8},
    {"BOOL", DType::kBool},
};

struct Entry {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

class SafetensorsReader {
 public:
  SafetensorsReader(const uint8_t* data, size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {}

  ValuePtr Read() {
    if (size_ < 8)
      Fail("file is too short for a safetensors header (" + std::to_string(size_) + " bytes)");
    uint64_t header_length = 0;
    for (int i = 0; i < 8; ++i) header_length |= static_cast<uint64_t>(data_[i]) << (8 * i);
    if (header_length > size_ - 8) {
      Fail("safetensors header length " + std::to_string(header_length) +
           " runs past the end of the file (" + std::to_string(size_) + " bytes)");
    }
    if (header_length > kMaxSafetensorsHeader) {
      Fail("safetensors header length " + std::to_string(header_length) + " exceeds the " +
           std::to_string(kMaxSafetensorsHeader) + "-byte limit");
    }
    const uint8_t* header = data_ + 8;
    data_section_ = header + header_length;
    data_size_ = size_ - 8 - static_cast<size_t>(header_length);

    std::vector<Entry> entries = ParseHeader(header, static_cast<size_t>(header_length));
    CheckOverlaps(entries);

    auto root = std::make_shared<Value>();
    root->kind = Value::Kind::kDict;
    for (const Entry& entry : entries) {
      auto key = std::make_shared<Value>();
      key->kind = Value::Kind::kString;
      key->string_value = entry.name;
      auto tensor = std::make_shared<Tensor>();
      tensor->shape = entry.shape;
      tensor->source_dtype = entry.dtype;
      const size_t count = static_cast<size_t>((entry.end - entry.begin) / DTypeSize(entry.dtype));
      tensor->data.resize(count);
      ConvertToFloat(entry.dtype, data_section_ + entry.begin, count, tensor->data.data());
      auto value = std::make_shared<Value>();
      value->kind = Value::Kind::kTensor;
      value->tensor = std::move(tensor);
      root->entries.emplace_back(std::move(key), std::move(value));
    }
    return root;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const { throw ConvertError(name_ + ": " + what); }

  std::string TensorName(const std::string& name) const {
    return "tensor '" + Printable(name, 120) + "'";
  }

  std::vector<Entry> ParseHeader(const uint8_t* header, size_t length) {
    // Duplicate names would silently collapse in the parsed object; the
    // callback sees every top-level key as it is read.
    std::unordered_set<std::string> seen;
    std::string duplicate;
    Json::parser_callback_t watch_keys = [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
      }
      return true;
    };
    Json json;
    try {
      json = Json::parse(header, header + length, watch_keys);
    } catch (const Json::exception& e) {
      Fail(std::string("safetensors header is not valid JSON: ") + Printable(e.what(), 300));
    }
    if (!duplicate.empty()) Fail("safetensors header names " + TensorName(duplicate) + " twice");
    if (!json.is_object()) Fail("safetensors header is not a JSON object");

    std::vector<Entry> entries;
    for (const auto& [key, description] : json.items()) {
      if (key == "__metadata__") {
        if (!description.is_object()) Fail("safetensors __metadata__ is not a JSON object");
        continue;
      }
      entries.push_back(ParseEntry(key, description));
    }
    return entries;
  }

  Entry ParseEntry(const std::string& key, const Json& description) {
    const std::string what = TensorName(key);
    if (!description.is_object())
      Fail(what + " is described by a JSON " + description.type_name() + ", not an object");
    Entry entry;
    entry.name = key;

    const auto dtype = description.find("dtype");
    if (dtype == description.end() || !dtype->is_string()) Fail(what + " has no dtype string");
    const std::string& code = dtype->get_ref<const std::string&>();
    bool known = false;
    for (const DTypeCode& candidate : kDTypes) {
      if (code == candidate.code) {
        entry.dtype = candidate.dtype;
        known = true;
      }
    }
    if (!known) {
      Fail(what + " has dtype '" + Printable(code, 40) +
           "', which is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL are)");
    }

    const auto shape = description.find("shape");
    if (shape == description.end() || !shape->is_array()) Fail(what + " has no shape array");
    if (shape->size() > kMaxDims)
      Fail(what + " has more than " + std::to_string(kMaxDims) + " dimensions");
    int64_t numel = 1;
    for (const Json& dim : *shape) {
      if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        Fail(what +
             " has a shape entry that is not a non-negative integer: " + Printable(dim.dump(), 40));
      }
      const int64_t d = static_cast<int64_t>(dim.get<uint64_t>());
      entry.shape.push_back(d);
      if (!CheckedMul(numel, d, &numel)) Fail(what + " has more elements than int64 can count");
    }

    const auto offsets = description.find("data_offsets");
    if (offsets == description.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      Fail(what + " has no data_offsets [begin, end] pair of non-negative integers");
    }
    entry.begin = (*offsets)[0].get<uint64_t>();
    entry.end = (*offsets)[1].get<uint64_t>();
    const std::string range =
        "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
    if (entry.begin > entry.end) Fail(what + " data_offsets " + range + " begin after they end");
    if (entry.end > data_size_) {
      Fail(what + " data_offsets " + range + " end past the data section (" +
           std::to_string(data_size_) + " bytes)");
    }
    int64_t bytes = 0;
    const bool representable =
        CheckedMul(numel, static_cast<int64_t>(DTypeSize(entry.dtype)), &bytes);
    if (!representable || static_cast<uint64_t>(bytes) != entry.end - entry.begin) {
      Fail(what + " (" + code + " " + Shape(entry.shape) + ") needs " +
           (representable ? std::to_string(bytes) : std::string("more than 2^63")) +
           " bytes but data_offsets " + range + " hold " + std::to_string(entry.end - entry.begin));
    }
    return entry;
  }

  static std::string Shape(const std::vector<int64_t>& shape) {
    Tensor t;
    t.shape = shape;
    return t.ShapeString();
  }

  // Overlapping ranges would let a small file expand into many copies of
  // its data; no writer produces them.
  void CheckOverlaps(const std::vector<Entry>& entries) const {
    std::vector<const Entry*> sorted;
    for (const Entry& e : entries) {
      if (e.end > e.begin) sorted.push_back(&e);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i]->begin < sorted[i - 1]->end) {
        Fail(TensorName(sorted[i - 1]->name) + " and " + TensorName(sorted[i]->name) +
             " overlap in the data section ([" + std::to_string(sorted[i - 1]->begin) + ", " +
             std::to_string(sorted[i - 1]->end) + "] and [" + std::to_string(sorted[i]->begin) +
             ", " + std::to_string(sorted[i]->end) + "])");
      }
    }
  }

  const uint8_t* data_;
  size_t size_;
  std::string name_;
  const uint8_t* data_section_ = nullptr;
  size_t data_size_ = 0;
};

}  // namespace

ValuePtr ReadSafetensors(const uint8_t* data, size_t size, const std::string& name) {
  SafetensorsReader reader(data, size, name);
  return reader.Read();
}

}  // namespace rvgg::convert::ckpt
