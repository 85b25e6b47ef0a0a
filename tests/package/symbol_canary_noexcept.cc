// Built with -fno-exceptions -fno-rtti, yet not free of exceptions: growing a
// std::vector calls std::__throw_length_error / operator new, which throw
// from inside libstdc++. check_symbols.py must flag it (and only that).
#include <cstddef>
#include <vector>

size_t CanaryGrow(size_t n) {
  std::vector<int> v;
  v.reserve(n);
  v.push_back(1);
  return v.capacity();
}
