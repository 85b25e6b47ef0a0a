// Fuzz target: bytes -> the torch unpickler alone (the data.pkl of a
// torch.save archive), with storages served from memory. Going through a zip
// would let almost every mutation die at the CRC check.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/checkpoint/torch_pickle.h"
#include "converter/src/error.h"

namespace {

// Any key names a storage of the size asked for, up to a bound (a real
// archive would hold it; a missing one is the zip reader's business).
class FakeStorages : public rvgg::convert::ckpt::StorageProvider {
 public:
  rvgg::convert::ckpt::StorageBytes Load(const std::string& key, rvgg::convert::DType dtype,
                                         int64_t numel) override {
    if (numel < 0 || numel > (int64_t{1} << 20)) {
      throw rvgg::convert::ConvertError("storage '" + key + "' is too large for the fuzzer");
    }
    auto& bytes = storages_[key];
    bytes.assign(static_cast<size_t>(numel) * rvgg::convert::ckpt::DTypeSize(dtype), 0x3c);
    rvgg::convert::ckpt::StorageBytes storage;
    storage.dtype = dtype;
    storage.bytes = bytes.data();
    storage.numel = numel;
    return storage;
  }

 private:
  std::map<std::string, std::vector<uint8_t>> storages_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rvgg::convert::ckpt::UnpickleOptions options;
  options.file_name = "fuzz.pth";
  options.pickle_name = "archive/data.pkl";
  options.max_tensor_floats = uint64_t{1} << 22;
  FakeStorages storages;
  try {
    const rvgg::convert::ValuePtr root =
        rvgg::convert::ckpt::UnpickleTorch(data, size, options, &storages);
    if (root == nullptr) std::abort();
  } catch (const rvgg::convert::ConvertError& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) {
      std::fprintf(stderr, "fuzz_torch_pickle: message spans lines: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
