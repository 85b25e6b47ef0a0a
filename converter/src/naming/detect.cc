#include <sstream>

#include "converter/src/error.h"
#include "converter/src/naming/scheme.h"

namespace rvgg::convert {

size_t RepVGGNet::num_fused_blocks() const {
  size_t n = 0;
  for (const auto& b : blocks) n += b.fused.has_value() ? 1 : 0;
  return n;
}

RepVGGNet ParseRepVGG(const StateDict& state, std::string* description) {
  const Scheme* best = nullptr;
  size_t best_count = 0;
  for (const Scheme* s : {&kOfficialScheme, &kTimmScheme, &kMmpretrainScheme}) {
    const size_t n = CountBlockKeys(state, *s);
    if (n > best_count) {
      best = s;
      best_count = n;
    }
  }
  if (best == nullptr) {
    std::ostringstream msg;
    msg << "not a RepVGG checkpoint: no 'stage0.*' (official), 'stem.*' (timm) or "
           "'backbone.stem.*' (MMPretrain) tensors";
    if (state.size() > 0) {
      msg << "; found e.g. '" << state.names()[0] << "'";
      if (state.size() > 1) msg << ", '" << state.names()[1] << "'";
    }
    throw ConvertError(msg.str());
  }
  RepVGGNet net = ParseWithScheme(state, *best);
  if (description != nullptr) {
    const size_t fused = net.num_fused_blocks();
    *description = std::string(best->name) + (fused == 0                    ? " train-time"
                                              : fused == net.blocks.size() ? " deploy"
                                                                           : " mixed train/deploy");
  }
  return net;
}

}  // namespace rvgg::convert
