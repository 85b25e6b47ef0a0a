#include "tools/common/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/common/files.h"

namespace rvgg::tools {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr uint64_t kMaxElements = uint64_t{1} << 32;

// Value of 'key': in the header dict, as raw text up to the next top-level comma.
bool FindValue(const std::string& header, const std::string& key, std::string* value) {
  const std::string quoted[2] = {"'" + key + "'", "\"" + key + "\""};
  size_t pos = std::string::npos;
  for (const auto& q : quoted) {
    pos = header.find(q);
    if (pos != std::string::npos) {
      pos += q.size();
      break;
    }
  }
  if (pos == std::string::npos) return false;
  pos = header.find(':', pos);
  if (pos == std::string::npos) return false;
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos < header.size() && header[pos] == '(') {
    const size_t end = header.find(')', pos);
    if (end == std::string::npos) return false;
    *value = header.substr(pos, end - pos + 1);
    return true;
  }
  size_t end = pos;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  *value = header.substr(pos, end - pos);
  while (!value->empty() && value->back() == ' ') value->pop_back();
  return true;
}

bool ParseShape(const std::string& text, std::vector<uint64_t>* shape) {
  // "(2, 3, 224, 224)", "(10,)", "()"
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  std::stringstream in(text.substr(1, text.size() - 2));
  std::string item;
  shape->clear();
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b == std::string::npos) continue;  // trailing comma
    item = item.substr(b, e - b + 1);
    if (item.empty() || item.size() > 12 ||
        item.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    shape->push_back(std::stoull(item));
  }
  return true;
}

}  // namespace

std::string ShapeString(const std::vector<uint64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

bool ReadNpy(const std::string& path, NpyArray* array, std::string* error) {
  std::vector<uint8_t> bytes;
  if (!ReadFile(path, &bytes, error)) return false;
  auto fail = [&](const std::string& why) {
    *error = path + ": " + why;
    return false;
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    return fail("not a .npy file");
  }
  const uint8_t major = bytes[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail("truncated .npy header");
    header_len =
        bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) | (size_t{bytes[11]} << 24);
    offset = 12;
  } else {
    return fail("unsupported .npy version " + std::to_string(major));
  }
  if (header_len > bytes.size() - offset) return fail("truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  std::string descr, fortran, shape_text;
  if (!FindValue(header, "descr", &descr) || !FindValue(header, "fortran_order", &fortran) ||
      !FindValue(header, "shape", &shape_text)) {
    return fail("malformed .npy header");
  }
  if (descr != "'<f4'" && descr != "\"<f4\"") {
    return fail("dtype is " + descr +
                ", expected float32 ('<f4'); convert with x.astype(np.float32)");
  }
  if (fortran != "False") return fail("Fortran-order arrays are not supported");
  std::vector<uint64_t> shape;
  if (!ParseShape(shape_text, &shape)) return fail("malformed shape " + shape_text);
  uint64_t count = 1;
  for (uint64_t d : shape) {
    if (d != 0 && count > kMaxElements / d) return fail("array is too large");
    count *= d;
  }
  if (count > kMaxElements) return fail("array is too large");
  const size_t data_offset = offset + header_len;
  const uint64_t available = bytes.size() - data_offset;
  if (available < count * sizeof(float)) {
    return fail("holds " + std::to_string(available) + " data bytes, shape " + ShapeString(shape) +
                " needs " + std::to_string(count * sizeof(float)));
  }
  array->shape = shape;
  array->data.resize(count);
  std::memcpy(array->data.data(), bytes.data() + data_offset, count * sizeof(float));
  return true;
}

bool WriteNpy(const std::string& path, const std::vector<uint64_t>& shape, const float* data,
              std::string* error) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  uint64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict +=
        std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    count *= shape[i];
  }
  dict += "), }";
  // Pad so that magic + version + length + header is a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::vector<uint8_t> bytes(kMagic, kMagic + 6);
  bytes.push_back(1);
  bytes.push_back(0);
  bytes.push_back(static_cast<uint8_t>(dict.size() & 0xff));
  bytes.push_back(static_cast<uint8_t>(dict.size() >> 8));
  bytes.insert(bytes.end(), dict.begin(), dict.end());
  const auto* raw = reinterpret_cast<const uint8_t*>(data);
  bytes.insert(bytes.end(), raw, raw + count * sizeof(float));
  return WriteFileAtomically(path, bytes, error);
}

}  // namespace rvgg::tools
