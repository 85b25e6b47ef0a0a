// Naming schemes: from a checkpoint's value tree to the canonical RepVGGNet.
// They know key names and shapes, nothing about files.
#ifndef RVGG_CONVERTER_SRC_NAMING_NAMING_H_
#define RVGG_CONVERTER_SRC_NAMING_NAMING_H_

#include <map>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "converter/src/repvgg.h"

namespace rvgg::convert {

// A flat state dict: name -> tensor, in checkpoint order.
class StateDict {
 public:
  void Add(const std::string& name, const Tensor* tensor);

  bool Has(const std::string& name) const { return index_.count(name) != 0; }
  // The tensor named `name`; throws ConvertError naming the missing key.
  const Tensor& Get(const std::string& name) const;
  // Like Get, and checks the shape; throws naming the tensor, the shape found
  // and the shape expected, then `why` in parentheses when given ("the output
  // channels of 'stage1.0.rbr_dense.conv.weight' [64, 48, 3, 3]"). Also
  // rejects NaN and Inf values, naming the first one's flat index.
  const Tensor& Get(const std::string& name, const std::vector<int64_t>& shape,
                    const std::string& why = "") const;
  // The tensor named `name` or nullptr, without marking it read.
  const Tensor* Find(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  // Names starting with `prefix`.
  std::vector<std::string> WithPrefix(const std::string& prefix) const;

  // Keys read through Get(); the schemes check that every tensor under their
  // prefixes was consumed.
  bool WasRead(const std::string& name) const { return read_.count(name) != 0; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, const Tensor*> index_;
  mutable std::map<std::string, bool> read_;
};

// Where ExtractStateDict found the weights.
struct WeightsSource {
  std::string key;  // path of dict keys joined by '.' ("model_ema", "state_dict"); "" = top level
  bool chosen = false;                    // named with --weights rather than found
  std::vector<std::string> alternatives;  // other entries that also hold a state dict
  std::vector<std::string> stripped;      // prefixes removed from every key ("module.")
  // A whole pickled nn.Module or TorchScript module ("__torch__.*") read as
  // its state dict: its class.
  std::string module_class;

  // "'model_ema' (the file also holds 'model'; pick one with --weights), module. prefix stripped"
  std::string Describe() const;
  // "model_ema, module. prefix"; "" for a plain state dict. Recorded in models.
  std::string Compact() const;
};

// The wrapper keys searched, best first: EMA weights win because training
// scripts keep them beside the raw weights as the ones to deploy.
const std::vector<std::string>& WrapperKeys();

// Finds the model's state dict inside a checkpoint and strips training
// prefixes (DDP's "module.", some trainers' "model.") while every key has one.
// A whole model pickled by torch.save(model) (at the top or under a wrapper
// key) counts as the state dict model.state_dict() would give: parameters and
// persistent buffers under dotted names; its class is never imported. So does
// a TorchScript model (torch.jit.save): its tensor attributes, recursively.
// With an empty `weights_key`: the top-level dict when it holds tensors,
// else the first of WrapperKeys() that holds one (also nested, as in
// {"state_dict": {"model": ...}}). With a `weights_key` ("model",
// "state_dict.model"): exactly that entry, which must hold tensors.
// Throws ConvertError naming the problem: no dict, no tensors anywhere (with
// the top-level keys), tensors only under unusual keys (naming them and how to
// pick one with --weights), an unknown --weights key (with the keys there are).
StateDict ExtractStateDict(const Checkpoint& checkpoint, const std::string& weights_key,
                           WeightsSource* source);
// The same, searching the usual keys; `wrapper` receives WeightsSource::Compact().
StateDict ExtractStateDict(const Checkpoint& checkpoint, std::string* wrapper);

// The storage dtypes of the floating tensors, most common first:
// "float16", "float32 (3 tensors), float16 (310 tensors)".
std::string DescribeDtypes(const StateDict& state);

// Recognizes the naming scheme (official, timm, MMPretrain) from the keys
// and parses the network.
// `description` receives e.g. "official train". Throws ConvertError naming the
// first problem (missing key, wrong shape, NaN, unknown layout).
RepVGGNet ParseRepVGG(const StateDict& state, std::string* description);

// Helpers shared by the schemes.
std::string ShapeString(const std::vector<int64_t>& shape);
// The four tensors of a BatchNorm under `prefix` (num_batches_tracked, when
// present, is marked read); `why` explains the channel count in shape errors.
BatchNorm ReadBatchNorm(const StateDict& state, const std::string& prefix, int64_t channels,
                        const std::string& why = "");

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_NAMING_NAMING_H_
