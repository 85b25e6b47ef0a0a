#include <sstream>

#include "converter/src/checkpoint/tensor_data.h"
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
    msg << "not a RepVGG checkpoint: no block convolutions named like "
           "'stage1.0.rbr_dense.conv.weight' "
           "(official), 'stages.0.0.conv_kxk.conv.weight' (timm) or "
           "'backbone.stage_1.0.branch_3x3.conv.weight' (MMPretrain), nor their fused forms";
    if (state.size() > 0) {
      msg << "; found e.g. '" << ckpt::Printable(state.names()[0], 120) << "'";
      if (state.size() > 1) msg << ", '" << ckpt::Printable(state.names()[1], 120) << "'";
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
