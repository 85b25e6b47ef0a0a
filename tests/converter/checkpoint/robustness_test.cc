// Property tests over all checkpoint readers: any prefix of a valid file and
// any single corrupted byte either reads (into a consistent tree) or throws
// ConvertError. Never another exception, never a crash; run these under
// -fsanitize=address,undefined to make "never a crash" mean something.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/checkpoint/torch_pickle.h"
#include "converter/src/checkpoint/value.h"
#include "tests/converter/checkpoint/test_support.h"

namespace rvgg::convert {
namespace {

struct Outcomes {
  size_t read = 0;
  size_t refused = 0;
};

// Every tensor's data must match its shape, whatever the input was.
void CheckConsistent(const Value& value, std::unordered_set<const Value*>* seen) {
  if (!seen->insert(&value).second) return;
  if (value.kind == Value::Kind::kTensor) {
    REQUIRE(value.tensor != nullptr);
    for (int64_t d : value.tensor->shape) REQUIRE(d >= 0);
    REQUIRE(static_cast<int64_t>(value.tensor->data.size()) == value.tensor->numel());
  }
  for (const ValuePtr& item : value.items) CheckConsistent(*item, seen);
  for (const auto& [k, v] : value.entries) {
    CheckConsistent(*k, seen);
    CheckConsistent(*v, seen);
  }
}

template <typename Read>
void Attempt(const std::vector<uint8_t>& bytes, Outcomes* outcomes, Read&& read) {
  try {
    const ValuePtr root = read(bytes);
    REQUIRE(root != nullptr);
    std::unordered_set<const Value*> seen;
    CheckConsistent(*root, &seen);
    ++outcomes->read;
  } catch (const ConvertError& e) {
    const std::string message = e.what();
    REQUIRE_MESSAGE(message.find('\n') == std::string::npos, message);
    ++outcomes->refused;
  } catch (const std::exception& e) {
    FAIL("not a ConvertError: " << e.what());
  }
}

// Every prefix, then every byte XORed with each mask (or set to each value).
template <typename Read>
Outcomes Mutate(const std::vector<uint8_t>& original, const std::vector<uint8_t>& masks,
                bool replace, Read&& read) {
  Outcomes outcomes;
  for (size_t length = 0; length < original.size(); ++length) {
    Attempt(std::vector<uint8_t>(original.begin(),
                                 original.begin() + static_cast<std::ptrdiff_t>(length)),
            &outcomes, read);
  }
  std::vector<uint8_t> bytes = original;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : masks) {
      bytes[i] = replace ? mask : static_cast<uint8_t>(original[i] ^ mask);
      if (bytes[i] != original[i]) Attempt(bytes, &outcomes, read);
    }
    bytes[i] = original[i];
  }
  return outcomes;
}

ValuePtr ReadWhole(const std::vector<uint8_t>& bytes) {
  return ReadCheckpointBytes(bytes.data(), bytes.size(), "mutant").root;
}

TEST_CASE(
    "robustness: every truncation and byte flip of a torch zip reads or throws ConvertError") {
  const std::vector<uint8_t> original = test::ReadFile(test::Fixture("small.pth"));
  REQUIRE(ReadWhole(original) != nullptr);
  const Outcomes outcomes = Mutate(original, {0x01, 0x80, 0xff}, false, ReadWhole);
  MESSAGE("torch zip mutants: " << outcomes.read << " read, " << outcomes.refused << " refused");
  CHECK(outcomes.refused >= original.size());  // at least every truncation
}

// Serves the storages of a real archive to the unpickler directly, so that
// mutated pickles need no re-zipping.
class MapStorages : public ckpt::StorageProvider {
 public:
  explicit MapStorages(std::map<std::string, std::string> storages)
      : storages_(std::move(storages)) {}
  ckpt::StorageBytes Load(const std::string& key, DType dtype, int64_t numel) override {
    auto found = storages_.find(key);
    if (found == storages_.end()) throw ConvertError("has no storage " + ckpt::Printable(key));
    if (found->second.size() != static_cast<size_t>(numel) * ckpt::DTypeSize(dtype)) {
      throw ConvertError("storage " + ckpt::Printable(key) + " has the wrong size");
    }
    ckpt::StorageBytes bytes;
    bytes.dtype = dtype;
    bytes.bytes = reinterpret_cast<const uint8_t*>(found->second.data());
    bytes.numel = numel;
    return bytes;
  }

 private:
  std::map<std::string, std::string> storages_;
};

TEST_CASE(
    "robustness: every truncation and opcode/boundary-byte substitution of data.pkl reads or "
    "throws") {
  std::string pickle;
  std::map<std::string, std::string> storages;
  for (const auto& [name, contents] :
       test::ZipEntries(test::ReadFile(test::Fixture("small.pth")))) {
    if (name == "small/data.pkl") pickle = contents;
    if (name.rfind("small/data/", 0) == 0) storages[name.substr(11)] = contents;
  }
  REQUIRE(!pickle.empty());
  REQUIRE(storages.size() == 3);
  MapStorages provider(storages);
  ckpt::UnpickleOptions options;
  options.file_name = "mutant";
  options.pickle_name = "data.pkl";
  options.max_tensor_floats = 1 << 16;
  auto unpickle = [&](const std::vector<uint8_t>& bytes) {
    return ckpt::UnpickleTorch(bytes.data(), bytes.size(), options, &provider);
  };
  const std::vector<uint8_t> original(pickle.begin(), pickle.end());
  REQUIRE(unpickle(original)->Get("w") != nullptr);

  // At every position (opcode, length, memo index, int): every pickle
  // opcode byte and the boundary values.
  std::vector<uint8_t> values = {0x00, 0x01, 0x02, 0x05, 0x7f, 0xfe, 0xff};
  for (const char* op = "(.0123FIJKLMNPQRSTUVXabcd}eghijl]opqrst)uGBC"; *op != '\0'; ++op) {
    values.push_back(static_cast<uint8_t>(*op));
  }
  for (int op = 0x80; op <= 0x98; ++op) values.push_back(static_cast<uint8_t>(op));
  const Outcomes outcomes = Mutate(original, values, true, unpickle);
  MESSAGE("pickle mutants: " << outcomes.read << " read, " << outcomes.refused << " refused");
  CHECK(outcomes.read > 0);
  CHECK(outcomes.refused >= original.size());
}

TEST_CASE(
    "robustness: every truncation and JSON/boundary-byte substitution of safetensors reads or "
    "throws") {
  const std::vector<uint8_t> original = test::ReadFile(test::Fixture("small.safetensors"));
  REQUIRE(ReadWhole(original) != nullptr);
  // At every position (length, JSON, data): JSON punctuation, digits,
  // letters of the keywords, and boundary values.
  std::vector<uint8_t> values = {0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff};
  for (const char* c = "{}[]\",:0159-+.eE tfnu\\"; *c != '\0'; ++c)
    values.push_back(static_cast<uint8_t>(*c));
  const Outcomes outcomes = Mutate(original, values, true, ReadWhole);
  MESSAGE("safetensors mutants: " << outcomes.read << " read, " << outcomes.refused << " refused");
  CHECK(outcomes.read > 0);
  CHECK(outcomes.refused >= original.size());
}

}  // namespace
}  // namespace rvgg::convert
