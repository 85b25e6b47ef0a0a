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

#define RVGG_RETURN_IF_ERROR(expr)              \
  do {                                          \
    const rvgg_status _rvgg_status = (expr);    \
    if (_rvgg_status != RVGG_STATUS_OK) {       \
      return _rvgg_status;                      \
    }                                           \
  } while (0)

}  // namespace rvgg

#endif  // RVGG_RUNTIME_SRC_STATUS_H_
