#include "runtime/src/status.h"

#include <cstdarg>
#include <cstdio>

namespace rvgg {

rvgg_status Fail(rvgg_message* message, rvgg_status status, const char* format, ...) {
  if (message != nullptr) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(message->text, sizeof(message->text), format, args);
    va_end(args);
  }
  return status;
}

void ClearMessage(rvgg_message* message) {
  if (message != nullptr) {
    message->text[0] = '\0';
  }
}

}  // namespace rvgg

extern "C" const char* rvgg_status_string(rvgg_status status) {
  switch (rvgg::RawEnumValue(status)) {
    case RVGG_STATUS_OK:
      return "ok";
    case RVGG_STATUS_INVALID_ARGUMENT:
      return "invalid argument";
    case RVGG_STATUS_INVALID_MODEL:
      return "invalid model";
    case RVGG_STATUS_UNSUPPORTED:
      return "unsupported";
    case RVGG_STATUS_ARENA_TOO_SMALL:
      return "arena too small";
    case RVGG_STATUS_OUT_OF_MEMORY:
      return "out of memory";
    case RVGG_STATUS_BACKEND_ERROR:
      return "backend error";
  }
  return "unknown status";
}
