#include "converter/src/checkpoint/torch_zip.h"

#include <zip.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "converter/src/checkpoint/tensor_data.h"
#include "converter/src/checkpoint/torch_pickle.h"
#include "converter/src/error.h"

namespace rvgg::convert::ckpt {
namespace {

// Deflate cannot expand more than about 1032:1; an entry claiming more is
// corrupt (or a zip bomb), and refusing it bounds what one file can make us
// allocate.
constexpr uint64_t kMaxExpansion = 1032;
constexpr uint64_t kExpansionSlack = uint64_t{1} << 20;

// Float budget for all tensors: views may overlap and stride-0 (expanded)
// tensors repeat elements, so allow several times what the storages hold
// plus a fixed allowance, but not the unbounded amount a crafted view could
// ask for.
constexpr uint64_t kFloatsPerStorageByte = 4;
constexpr uint64_t kFloatAllowance = uint64_t{1} << 24;

struct ZipDeleter {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileDeleter {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDeleter>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileDeleter>;

class TorchZip : public StorageProvider {
 public:
  TorchZip(const uint8_t* data, size_t size, const std::string& name) : size_(size), name_(name) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(data, size, 0, &error);
    if (source == nullptr) Fail("cannot read the zip archive: " + ErrorText(&error));
    zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
    if (archive == nullptr) {
      zip_source_free(source);
      const std::string text = ErrorText(&error);
      Fail("not a readable zip archive (truncated or corrupt?): " + text);
    }
    zip_error_fini(&error);
    archive_.reset(archive);
  }

  ValuePtr Read() {
    FindPrefix();
    CheckByteOrder();

    // Entries of a sound archive occupy disjoint parts of the file, so their
    // compressed sizes add up to less than the file. Entries that share
    // bytes (the overlapping-entry zip bomb) would multiply what one file
    // can make us read.
    uint64_t compressed_bytes = 0;
    uint64_t storage_bytes = 0;
    const std::string data_dir = prefix_ + "/data/";
    const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < count; ++i) {
      const char* entry = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0);
      if (entry == nullptr) Fail("zip entry " + std::to_string(i) + " has no readable name");
      uint64_t entry_size = 0;
      uint64_t entry_compressed = 0;
      const std::string problem =
          EntrySize(static_cast<zip_uint64_t>(i), entry, &entry_size, &entry_compressed);
      if (!problem.empty()) Fail(problem);
      compressed_bytes += entry_compressed;  // each is at most the file size
      if (compressed_bytes > size_) {
        Fail("zip entries claim more compressed bytes than the file holds (" +
             std::to_string(size_) + "): overlapping or corrupt entries");
      }
      if (std::string(entry).rfind(data_dir, 0) == 0) storage_bytes += entry_size;
    }

    const std::string pickle_name = prefix_ + "/data.pkl";
    const std::vector<uint8_t> pickle = ReadEntry(pickle_name);
    UnpickleOptions options;
    options.file_name = name_;
    options.pickle_name = pickle_name;
    if (__builtin_mul_overflow(storage_bytes, kFloatsPerStorageByte, &options.max_tensor_floats) ||
        __builtin_add_overflow(options.max_tensor_floats, kFloatAllowance,
                               &options.max_tensor_floats)) {
      options.max_tensor_floats = UINT64_MAX;
    }
    return UnpickleTorch(pickle.data(), pickle.size(), options, this);
  }

  StorageBytes Load(const std::string& key, DType dtype, int64_t numel) override {
    const std::string entry = prefix_ + "/data/" + key;
    auto cached = storages_.find(key);
    if (cached == storages_.end()) {
      // A NUL would make the C string name a different entry.
      if (key.find('\0') != std::string::npos ||
          zip_name_locate(archive_.get(), entry.c_str(), 0) < 0) {
        throw ConvertError("needs storage '" + Printable(entry, 80) +
                           "', which the zip archive does not have");
      }
      int64_t expected = 0;
      if (!CheckedMul(numel, static_cast<int64_t>(DTypeSize(dtype)), &expected)) {
        throw ConvertError("has a storage too large to address");
      }
      std::vector<uint8_t> bytes;
      const std::string problem = TryReadEntry(entry, &bytes);
      if (!problem.empty()) throw ConvertError("cannot be read: " + problem);
      if (static_cast<uint64_t>(expected) != bytes.size()) {
        throw ConvertError("uses storage '" + Printable(entry, 80) + "', which holds " +
                           std::to_string(bytes.size()) + " bytes, but the checkpoint says " +
                           std::to_string(numel) + " " + DTypeName(dtype) + " elements (" +
                           std::to_string(expected) + " bytes)");
      }
      cached = storages_.emplace(key, std::move(bytes)).first;
    }
    StorageBytes storage;
    storage.dtype = dtype;
    storage.bytes = cached->second.data();
    storage.numel = numel;
    return storage;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const { throw ConvertError(name_ + ": " + what); }

  static std::string ErrorText(zip_error_t* error) {
    std::string text = zip_error_strerror(error);
    zip_error_fini(error);
    return text;
  }

  // torch writes every entry under one top-level folder of any name.
  void FindPrefix() {
    std::vector<std::string> found;
    const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < count; ++i) {
      const char* entry = zip_get_name(archive_.get(), static_cast<zip_uint64_t>(i), 0);
      if (entry == nullptr) continue;
      const std::string s = entry;
      const size_t slash = s.find('/');
      if (slash != std::string::npos && slash > 0 &&
          s.compare(slash, std::string::npos, "/data.pkl") == 0) {
        found.push_back(s);
      }
    }
    if (found.empty()) Fail("zip archive has no data.pkl (is this a PyTorch checkpoint?)");
    if (found.size() > 1) {
      Fail("zip archive holds more than one data.pkl ('" + Printable(found[0], 80) + "', '" +
           Printable(found[1], 80) + "')");
    }
    prefix_ = found[0].substr(0, found[0].size() - std::string("/data.pkl").size());
  }

  // Storages are raw bytes in the saving machine's order; PyTorch >= 2.1
  // records it. No file means little-endian (older PyTorch ran nowhere else
  // in practice).
  void CheckByteOrder() {
    const std::string entry = prefix_ + "/byteorder";
    if (zip_name_locate(archive_.get(), entry.c_str(), 0) < 0) return;
    const std::vector<uint8_t> bytes = ReadEntry(entry);
    std::string order(bytes.begin(), bytes.end());
    while (!order.empty() &&
           (order.back() == '\n' || order.back() == '\r' || order.back() == ' ')) {
      order.pop_back();
    }
    if (order == "little") return;
    if (order == "big") {
      Fail("checkpoint was saved on a big-endian machine ('" + entry +
           "' says 'big'); only little-endian checkpoints are supported: re-save it on a "
           "little-endian machine");
    }
    Fail("'" + Printable(entry, 80) + "' says '" + Printable(order, 40) +
         "', expected 'little' or 'big'");
  }

  // The uncompressed size of entry `index` in *size once checked to be
  // plausible; otherwise what is wrong ("zip entry 'x' ...").
  std::string EntrySize(zip_uint64_t index, const std::string& entry, uint64_t* size,
                        uint64_t* compressed_size = nullptr) {
    const std::string what = "zip entry '" + Printable(entry, 80) + "'";
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive_.get(), index, 0, &stat) != 0) {
      return what + " cannot be read: " + zip_strerror(archive_.get());
    }
    if ((stat.valid & ZIP_STAT_SIZE) == 0 || (stat.valid & ZIP_STAT_COMP_SIZE) == 0) {
      return what + " has no recorded size";
    }
    if (stat.comp_size > size_ || stat.size > stat.comp_size * kMaxExpansion + kExpansionSlack) {
      return what + " claims " + std::to_string(stat.size) + " bytes from " +
             std::to_string(stat.comp_size) + " compressed bytes in a file of " +
             std::to_string(size_) + " (corrupt?)";
    }
    *size = stat.size;
    if (compressed_size != nullptr) *compressed_size = stat.comp_size;
    return "";
  }

  // Reads a whole entry into *bytes; returns "" or what is wrong.
  std::string TryReadEntry(const std::string& entry, std::vector<uint8_t>* bytes) {
    const std::string what = "zip entry '" + Printable(entry, 80) + "'";
    const zip_int64_t index = zip_name_locate(archive_.get(), entry.c_str(), 0);
    if (index < 0) return "zip archive has no entry '" + Printable(entry, 80) + "'";
    uint64_t size = 0;
    std::string problem = EntrySize(static_cast<zip_uint64_t>(index), entry, &size);
    if (!problem.empty()) return problem;
    ZipFilePtr file(zip_fopen_index(archive_.get(), static_cast<zip_uint64_t>(index), 0));
    if (file == nullptr) return what + " cannot be opened: " + zip_strerror(archive_.get());
    bytes->assign(static_cast<size_t>(size), 0);
    uint64_t done = 0;
    while (done < size) {
      const zip_int64_t n = zip_fread(file.get(), bytes->data() + done, size - done);
      if (n < 0) return what + " cannot be read: " + zip_file_strerror(file.get());
      if (n == 0) {
        return what + " ends after " + std::to_string(done) + " of " + std::to_string(size) +
               " bytes (truncated?)";
      }
      done += static_cast<uint64_t>(n);
    }
    // Reading to the end makes libzip verify the CRC.
    uint8_t extra;
    const zip_int64_t n = zip_fread(file.get(), &extra, 1);
    if (n < 0) return what + " cannot be read: " + zip_file_strerror(file.get());
    if (n > 0) return what + " is longer than its header says";
    return "";
  }

  std::vector<uint8_t> ReadEntry(const std::string& entry) {
    std::vector<uint8_t> bytes;
    const std::string problem = TryReadEntry(entry, &bytes);
    if (!problem.empty()) Fail(problem);
    return bytes;
  }

  size_t size_;
  std::string name_;
  ZipPtr archive_;
  std::string prefix_;
  std::map<std::string, std::vector<uint8_t>> storages_;
};

}  // namespace

ValuePtr ReadTorchZip(const uint8_t* data, size_t size, const std::string& name) {
  TorchZip zip(data, size, name);
  return zip.Read();
}

}  // namespace rvgg::convert::ckpt
