// A naming scheme is a table of key fragments plus a block-prefix matcher;
// one generic parser (blocks.cc) reads every scheme.
#ifndef RVGG_CONVERTER_SRC_NAMING_SCHEME_H_
#define RVGG_CONVERTER_SRC_NAMING_SCHEME_H_

#include <cstdint>
#include <string>

#include "converter/src/naming/naming.h"

namespace rvgg::convert {

struct BlockRef {
  uint32_t stage = 0;
  uint32_t index = 0;
  std::string prefix;  // "stage1.0", "stages.0.0", "backbone.stage_1.0"
};

struct Scheme {
  const char* name;
  // Recognizes the block a key belongs to.
  bool (*match_block)(const std::string& key, BlockRef* ref);
  const char* dense_conv;  // relative to the block prefix; ".weight" appended
  const char* dense_bn;
  const char* one_conv;
  const char* one_bn;
  const char* identity;
  const char* fused;       // re-parameterized conv (weight + bias)
  const char* se_down;     // 1x1 conv with bias
  const char* se_up;
  const char* classifier;  // full key prefix of the linear layer
};

extern const Scheme kOfficialScheme;
extern const Scheme kTimmScheme;
extern const Scheme kMmpretrainScheme;

// Number of keys that belong to a block of `scheme`.
size_t CountBlockKeys(const StateDict& state, const Scheme& scheme);

RepVGGNet ParseWithScheme(const StateDict& state, const Scheme& scheme);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_NAMING_SCHEME_H_
