// Helpers shared by the checkpoint reader tests: fixture access, comparing
// against the values torch wrote to expected.json, building zips and pickles
// by hand.
#ifndef RVGG_TESTS_CONVERTER_CHECKPOINT_TEST_SUPPORT_H_
#define RVGG_TESTS_CONVERTER_CHECKPOINT_TEST_SUPPORT_H_

#include <doctest/doctest.h>
#include <zip.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "converter/src/error.h"

namespace rvgg::convert::test {

// The folder make_fixtures.py wrote (CTest passes it in the environment).
inline std::string FixtureDir() {
  const char* dir = std::getenv("RVGG_CHECKPOINT_FIXTURES");
  REQUIRE_MESSAGE(dir != nullptr, "RVGG_CHECKPOINT_FIXTURES is not set (run through ctest)");
  return dir;
}

inline std::string Fixture(const std::string& name) { return FixtureDir() + "/" + name; }

inline std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline const nlohmann::json& Expected() {
  static const nlohmann::json json = [] {
    std::ifstream in(Fixture("expected.json"));
    REQUIRE_MESSAGE(in.good(), "expected.json missing");
    return nlohmann::json::parse(in);
  }();
  return json;
}

// The message of the ConvertError `f` throws; fails the test if it throws
// nothing or something else.
template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const ConvertError& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find('\n') == std::string::npos, "message is not one line: " << message);
    return message;
  } catch (const std::exception& e) {
    FAIL("expected ConvertError, got another exception: " << e.what());
    return "";
  }
  FAIL("expected ConvertError, nothing was thrown");
  return "";
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Follows a path of dict keys: strings, or ints for int-keyed dicts
// (optimizer state).
inline const Value* Find(const Value& root, const nlohmann::json& path) {
  const Value* v = &root;
  for (const auto& step : path) {
    if (v == nullptr || v->kind != Value::Kind::kDict) return nullptr;
    if (step.is_string()) {
      v = v->Get(step.get<std::string>());
    } else {
      const Value* next = nullptr;
      for (const auto& [k, value] : v->entries) {
        if (k->kind == Value::Kind::kInt && k->int_value == step.get<int64_t>()) next = value.get();
      }
      v = next;
    }
  }
  return v;
}

inline uint32_t FloatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

inline float BitsFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Checks every tensor expected.json lists for `file`: shape, source dtype
// and each value bit for bit (any NaN matches any NaN). Returns how many
// tensors were compared.
inline size_t CheckAgainstTorch(const Checkpoint& checkpoint, const std::string& file) {
  const nlohmann::json& expected = Expected().at(file);
  CHECK(checkpoint.container == expected.at("container").get<std::string>());
  REQUIRE(checkpoint.root != nullptr);
  size_t compared = 0;
  for (const auto& t : expected.at("tensors")) {
    const std::string where = file + " " + t.at("path").dump();
    const Value* v = Find(*checkpoint.root, t.at("path"));
    REQUIRE_MESSAGE(v != nullptr, where << " not found");
    REQUIRE_MESSAGE(v->kind == Value::Kind::kTensor, where << " is a " << ValueKindName(v->kind));
    const Tensor& tensor = *v->tensor;
    CHECK_MESSAGE(tensor.shape == t.at("shape").get<std::vector<int64_t>>(), where);
    CHECK_MESSAGE(std::string(DTypeName(tensor.source_dtype)) == t.at("dtype").get<std::string>(),
                  where);
    const auto bits = t.at("bits").get<std::vector<uint32_t>>();
    REQUIRE_MESSAGE(tensor.data.size() == bits.size(), where);
    CHECK_MESSAGE(tensor.numel() == static_cast<int64_t>(bits.size()), where);
    size_t mismatches = 0;
    for (size_t i = 0; i < bits.size(); ++i) {
      const float want = BitsFloat(bits[i]);
      const bool same =
          std::isnan(want) ? std::isnan(tensor.data[i]) : FloatBits(tensor.data[i]) == bits[i];
      if (!same && mismatches++ < 3) {
        CHECK_MESSAGE(same, where << " element " << i << ": got " << tensor.data[i]
                                  << ", torch has " << want);
      }
    }
    CHECK_MESSAGE(mismatches == 0, where << ": " << mismatches << " elements differ");
    ++compared;
  }
  return compared;
}

// Top-level keys of a dict root, in order.
inline std::vector<std::string> Keys(const Value& root) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : root.entries) keys.push_back(k->string_value);
  return keys;
}

// A zip archive in memory with the given (name, contents) entries, stored
// uncompressed in that order.
inline std::vector<uint8_t> MakeZip(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  REQUIRE(buffer != nullptr);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  REQUIRE(archive != nullptr);
  for (const auto& [name, contents] : entries) {
    zip_source_t* source = zip_source_buffer(archive, contents.data(), contents.size(), 0);
    REQUIRE(source != nullptr);
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    REQUIRE(index >= 0);
    REQUIRE(zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) ==
            0);
  }
  REQUIRE(zip_close(archive) == 0);
  REQUIRE(zip_source_open(buffer) == 0);
  REQUIRE(zip_source_seek(buffer, 0, SEEK_END) == 0);
  const zip_int64_t size = zip_source_tell(buffer);
  REQUIRE(zip_source_seek(buffer, 0, SEEK_SET) == 0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  REQUIRE(zip_source_read(buffer, bytes.data(), static_cast<zip_uint64_t>(size)) == size);
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return bytes;
}

// Every entry of a zip file, in order.
inline std::vector<std::pair<std::string, std::string>> ZipEntries(
    const std::vector<uint8_t>& zip_bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &error);
  REQUIRE(source != nullptr);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
  REQUIRE(archive != nullptr);
  std::vector<std::pair<std::string, std::string>> entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    REQUIRE(zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat) == 0);
    std::string contents(static_cast<size_t>(stat.size), '\0');
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    REQUIRE(file != nullptr);
    REQUIRE(zip_fread(file, contents.data(), stat.size) == static_cast<zip_int64_t>(stat.size));
    zip_fclose(file);
    entries.emplace_back(stat.name, contents);
  }
  zip_discard(archive);
  zip_error_fini(&error);
  return entries;
}

// Builds pickle byte streams opcode by opcode.
class PickleWriter {
 public:
  explicit PickleWriter(int protocol = 2) { Op(0x80).Byte(static_cast<uint8_t>(protocol)); }

  PickleWriter& Op(uint8_t op) { return Byte(op); }
  PickleWriter& Byte(uint8_t b) {
    bytes_.push_back(static_cast<char>(b));
    return *this;
  }
  PickleWriter& Raw(const std::string& s) {
    bytes_ += s;
    return *this;
  }
  PickleWriter& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) Byte(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  PickleWriter& Int(int32_t v) {  // BININT
    return Op('J').U32(static_cast<uint32_t>(v));
  }
  PickleWriter& Long(int64_t v) {  // LONG1, 8 bytes
    Op(0x8a).Byte(8);
    for (int i = 0; i < 8; ++i) Byte(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
    return *this;
  }
  PickleWriter& Str(const std::string& s) {  // BINUNICODE
    return Op('X').U32(static_cast<uint32_t>(s.size())).Raw(s);
  }
  PickleWriter& Global(const std::string& module, const std::string& name) {
    return Op('c').Raw(module + "\n" + name + "\n");
  }
  PickleWriter& Mark() { return Op('('); }
  PickleWriter& Stop() { return Op('.'); }
  PickleWriter& IntTuple(const std::vector<int64_t>& values) {
    Mark();
    for (int64_t v : values) Long(v);
    return Op('t');
  }
  // _rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, {})
  PickleWriter& Tensor(const std::string& key, int32_t storage_numel, int64_t offset,
                       const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                       const std::string& storage_type = "FloatStorage") {
    Global("torch._utils", "_rebuild_tensor_v2").Mark();
    Mark()
        .Str("storage")
        .Global("torch", storage_type)
        .Str(key)
        .Str("cpu")
        .Int(storage_numel)
        .Op('t');
    Op('Q').Long(offset).IntTuple(size).IntTuple(stride).Op(0x89).Op('}').Op('t');
    return Op('R');
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

inline std::string FloatBytes(const std::vector<float>& values) {
  std::string s(values.size() * 4, '\0');
  std::memcpy(s.data(), values.data(), s.size());
  return s;
}

inline Checkpoint ReadBytes(const std::vector<uint8_t>& bytes,
                            const std::string& name = "test.pth") {
  return ReadCheckpointBytes(bytes.data(), bytes.size(), name);
}

// A torch zip holding `pickle` as archive/data.pkl plus the given storages.
inline std::vector<uint8_t> TorchZip(
    const std::string& pickle,
    const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pickle}};
  for (const auto& [key, bytes] : storages) entries.emplace_back("archive/data/" + key, bytes);
  entries.emplace_back("archive/version", "3\n");
  return MakeZip(entries);
}

}  // namespace rvgg::convert::test

#endif  // RVGG_TESTS_CONVERTER_CHECKPOINT_TEST_SUPPORT_H_
