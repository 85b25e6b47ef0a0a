// Everything check_symbols.py must catch, in one library built with the
// compiler's defaults (exceptions and RTTI on): a throw, a catch, typeid, a
// dynamic_cast, std::cout and a growing std::vector.
#include <cstddef>
#include <iostream>
#include <stdexcept>
#include <typeinfo>
#include <vector>

struct CanaryBase {
  virtual ~CanaryBase() = default;
};
struct CanaryDerived : CanaryBase {};

int CanaryThrow(int v) {
  if (v < 0) throw std::runtime_error("negative");
  return v;
}

int CanaryCatch(int v) {
  try {
    return CanaryThrow(v);
  } catch (const std::exception& e) {
    std::cout << e.what() << '\n';
    return 0;
  }
}

const char* CanaryTypeName(CanaryBase* p) {
  return dynamic_cast<CanaryDerived*>(p) != nullptr ? typeid(*p).name() : "";
}

size_t CanaryVector(size_t n) {
  std::vector<int> v;
  v.reserve(n);
  return v.capacity();
}
