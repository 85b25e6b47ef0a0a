#include <cmath>
#include <sstream>

#include "converter/src/error.h"
#include "converter/src/naming/naming.h"

namespace rvgg::convert {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

void StateDict::Add(const std::string& name, const Tensor* tensor) {
  if (index_.emplace(name, tensor).second) names_.push_back(name);
}

const Tensor& StateDict::Get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw ConvertError("missing key '" + name + "'");
  read_[name] = true;
  return *it->second;
}

const Tensor& StateDict::Get(const std::string& name, const std::vector<int64_t>& shape) const {
  const Tensor& t = Get(name);
  if (t.shape != shape) {
    throw ConvertError("tensor '" + name + "' has shape " + ShapeString(t.shape) + ", expected " +
                       ShapeString(shape));
  }
  for (size_t i = 0; i < t.data.size(); ++i) {
    if (!std::isfinite(t.data[i])) {
      throw ConvertError("tensor '" + name + "' contains " +
                         (std::isnan(t.data[i]) ? "NaN" : "Inf") + " at flat index " +
                         std::to_string(i));
    }
  }
  return t;
}

std::vector<std::string> StateDict::WithPrefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& n : names_) {
    if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
  }
  return out;
}

namespace {

// Number of tensor values with string keys directly inside `v`.
size_t CountTensors(const Value& v) {
  if (v.kind != Value::Kind::kDict) return 0;
  size_t n = 0;
  for (const auto& [key, value] : v.entries) {
    if (key->kind == Value::Kind::kString && value->kind == Value::Kind::kTensor) ++n;
  }
  return n;
}

// The dict of tensors: `v` itself, or one found under the usual wrapper keys.
const Value* FindStateDict(const Value& v, int depth, std::string* path) {
  if (v.kind != Value::Kind::kDict || depth > 4) return nullptr;
  // EMA weights first: training scripts keep them beside the raw weights
  // because they evaluate better, and they are what gets deployed.
  for (const char* key : {"model_ema", "state_dict_ema", "ema", "state_dict", "model", "module",
                          "net"}) {
    const Value* inner = v.Get(key);
    if (inner == nullptr) continue;
    std::string inner_path;
    if (const Value* found = FindStateDict(*inner, depth + 1, &inner_path)) {
      *path = std::string(key) + (inner_path.empty() ? "" : "." + inner_path);
      return found;
    }
  }
  if (CountTensors(v) > 0) return &v;
  return nullptr;
}

}  // namespace

StateDict ExtractStateDict(const Checkpoint& checkpoint, std::string* wrapper) {
  if (checkpoint.root == nullptr || checkpoint.root->kind != Value::Kind::kDict) {
    throw ConvertError("checkpoint does not hold a dict of tensors (a state dict)");
  }
  std::string path;
  const Value* dict = FindStateDict(*checkpoint.root, 0, &path);
  if (dict == nullptr) {
    throw ConvertError(
        "checkpoint holds no tensors: expected a state dict, or one under 'state_dict', "
        "'model' or 'model_ema'");
  }
  std::vector<std::pair<std::string, const Tensor*>> entries;
  for (const auto& [key, value] : dict->entries) {
    if (key->kind == Value::Kind::kString && value->kind == Value::Kind::kTensor) {
      entries.emplace_back(key->string_value, value->tensor.get());
    }
  }
  // Training wrappers add a prefix to every key: DDP's "module.", and
  // "model." from some trainers. Strip them while every key has one.
  std::string stripped;
  for (const char* prefix : {"module.", "model.", "module."}) {
    const std::string p(prefix);
    bool all = !entries.empty();
    for (const auto& e : entries) all = all && e.first.compare(0, p.size(), p) == 0;
    if (!all) continue;
    for (auto& e : entries) e.first = e.first.substr(p.size());
    stripped += (stripped.empty() ? "" : ", ") + p + " prefix";
  }
  StateDict state;
  for (const auto& e : entries) state.Add(e.first, e.second);
  if (wrapper != nullptr) {
    *wrapper = path;
    if (!stripped.empty()) *wrapper += (wrapper->empty() ? "" : ", ") + stripped;
  }
  return state;
}

BatchNorm ReadBatchNorm(const StateDict& state, const std::string& prefix, int64_t channels) {
  BatchNorm bn;
  bn.gamma = state.Get(prefix + ".weight", {channels}).data;
  bn.beta = state.Get(prefix + ".bias", {channels}).data;
  bn.mean = state.Get(prefix + ".running_mean", {channels}).data;
  bn.var = state.Get(prefix + ".running_var", {channels}).data;
  for (size_t i = 0; i < bn.var.size(); ++i) {
    if (bn.var[i] < 0.0f) {
      throw ConvertError("tensor '" + prefix + ".running_var' has a negative variance (" +
                         std::to_string(bn.var[i]) + ") at index " + std::to_string(i));
    }
  }
  if (state.Has(prefix + ".num_batches_tracked")) state.Get(prefix + ".num_batches_tracked");
  return bn;
}

}  // namespace rvgg::convert
