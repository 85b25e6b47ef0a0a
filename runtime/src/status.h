// Status plumbing shared by the runtime: errors are values with one line of
// text that names the layer and the value.
#ifndef RVGG_RUNTIME_SRC_STATUS_H_
#define RVGG_RUNTIME_SRC_STATUS_H_

#include "rvgg/rvgg.h"

namespace rvgg {

// Writes printf-style text into `message` (if not null) and returns `status`.
rvgg_status Fail(rvgg_message* message, rvgg_status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

// Clears `message` (if not null).
void ClearMessage(rvgg_message* message);

// The integer a C caller stored in an enum-typed field or argument. C allows
// any int there; in C++ merely loading a value outside the enumerators' range
// is undefined (UBSan: "load of value 7, which is not a valid value"), so
// public enum inputs are inspected through their bytes.
template <typename Enum>
long long RawEnumValue(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized");
  int raw;
  __builtin_memcpy(&raw, &value, sizeof(raw));
  return raw;
}

#define RVGG_RETURN_IF_ERROR(expr)              \
  do {                                          \
    const rvgg_status _rvgg_status = (expr);    \
    if (_rvgg_status != RVGG_STATUS_OK) {       \
      return _rvgg_status;                      \
    }                                           \
  } while (0)

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_STATUS_H_
