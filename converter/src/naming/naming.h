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
  // and the shape expected. Also rejects NaN and Inf values.
  const Tensor& Get(const std::string& name, const std::vector<int64_t>& shape) const;
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

// Finds the model's state dict inside a checkpoint: the root dict itself, or
// the dict under "model_ema", "state_dict_ema", "state_dict", "model" (in
// that order: EMA weights win; also nested), with a
// DDP "module." prefix stripped. `wrapper` receives a description such as
// "state_dict, module. prefix" ("" when plain). Throws when no dict of
// tensors is found.
StateDict ExtractStateDict(const Checkpoint& checkpoint, std::string* wrapper);

// Recognizes the naming scheme (official, timm, MMPretrain) from the keys
// and parses the network.
// `description` receives e.g. "official train". Throws ConvertError naming the
// first problem (missing key, wrong shape, NaN, unknown layout).
RepVGGNet ParseRepVGG(const StateDict& state, std::string* description);

// Helpers shared by the schemes.
std::string ShapeString(const std::vector<int64_t>& shape);
BatchNorm ReadBatchNorm(const StateDict& state, const std::string& prefix, int64_t channels);

}  // namespace rvgg::convert

#endif  // RVGG_CONVERTER_SRC_NAMING_NAMING_H_
