// Errors inside the converter: one exception type whose message is the one
// line the CLI prints. Library code throws; the tools catch at the top.
#ifndef RVGG_CONVERTER_SRC_ERROR_H_
#define RVGG_CONVERTER_SRC_ERROR_H_

#include <stdexcept>
#include <string>

namespace rvgg::convert {

class ConvertError : public std::runtime_error {
 public:
  explicit ConvertError(const std::string& message)
      : std::runtime_error(message) {}
};

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_ERROR_H_
