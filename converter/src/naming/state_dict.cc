#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "converter/src/checkpoint/tensor_data.h"
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

const Tensor* StateDict::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const Tensor& StateDict::Get(const std::string& name, const std::vector<int64_t>& shape,
                             const std::string& why) const {
  const Tensor& t = Get(name);
  if (t.shape != shape) {
    throw ConvertError("tensor '" + name + "' has shape " + ShapeString(t.shape) + ", expected " +
                       ShapeString(shape) + (why.empty() ? "" : " (" + why + ")"));
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

std::string Quoted(const std::vector<std::string>& names, size_t max = 8) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) {
    s += (i ? ", '" : "'") + ckpt::Printable(names[i], 80) + "'";
  }
  if (names.size() > max) s += ", ...";
  return s;
}

// A whole nn.Module pickled by torch.save(model): an object whose attribute
// state holds _parameters, _buffers and _modules.
const Value* Attribute(const Value& object, const char* name) {
  for (const auto& [k, v] : object.entries) {
    if (k->kind == Value::Kind::kString && k->string_value == name) return v.get();
  }
  return nullptr;
}

bool IsModule(const Value& v) {
  return v.kind == Value::Kind::kObject && Attribute(v, "_parameters") != nullptr &&
         Attribute(v, "_modules") != nullptr;
}

// What model.state_dict() would hold: parameters, then persistent buffers,
// then each child's, under dotted names.
void CollectModule(const Value& module, const std::string& prefix, int depth, Value* dict) {
  if (depth > 64) throw ConvertError("the pickled model nests modules more than 64 deep");
  const Value* skip = Attribute(module, "_non_persistent_buffers_set");
  auto persistent = [&](const std::string& name) {
    if (skip == nullptr) return true;
    for (const ValuePtr& item : skip->items) {
      if (item->kind == Value::Kind::kString && item->string_value == name) return false;
    }
    return true;
  };
  for (const char* group : {"_parameters", "_buffers"}) {
    const Value* tensors = Attribute(module, group);
    if (tensors == nullptr || tensors->kind != Value::Kind::kDict) continue;
    for (const auto& [k, v] : tensors->entries) {
      if (k->kind != Value::Kind::kString || v->kind != Value::Kind::kTensor) continue;
      if (std::string(group) == "_buffers" && !persistent(k->string_value)) continue;
      auto key = std::make_shared<Value>();
      key->kind = Value::Kind::kString;
      key->string_value = prefix + k->string_value;
      dict->entries.emplace_back(std::move(key), v);
    }
  }
  const Value* children = Attribute(module, "_modules");
  if (children == nullptr || children->kind != Value::Kind::kDict) return;
  for (const auto& [k, child] : children->entries) {
    if (k->kind == Value::Kind::kString && IsModule(*child)) {
      CollectModule(*child, prefix + k->string_value + ".", depth + 1, dict);
    }
  }
}

// A TorchScript module (torch.jit.save): its classes are "__torch__.*" and
// parameters, buffers and submodules are plain attributes.
constexpr char kScriptPrefix[] = "__torch__.";

bool IsScriptModule(const Value& v) {
  return v.kind == Value::Kind::kObject && v.string_value.rfind(kScriptPrefix, 0) == 0;
}

void CollectScriptModule(const Value& module, const std::string& prefix, int depth, Value* dict) {
  if (depth > 64) throw ConvertError("the TorchScript model nests modules more than 64 deep");
  for (const auto& [k, v] : module.entries) {
    if (k->kind != Value::Kind::kString) continue;
    if (v->kind == Value::Kind::kTensor) {
      auto key = std::make_shared<Value>();
      key->kind = Value::Kind::kString;
      key->string_value = prefix + k->string_value;
      dict->entries.emplace_back(std::move(key), v);
    } else if (IsScriptModule(*v)) {
      CollectScriptModule(*v, prefix + k->string_value + ".", depth + 1, dict);
    }
  }
}

// `v` with every pickled module (at the top or under dicts) replaced by its
// state dict; `modules` records each replacement's class.
ValuePtr ReplaceModules(const ValuePtr& v, int depth,
                        std::map<const Value*, std::string>* modules) {
  if (IsModule(*v) || IsScriptModule(*v)) {
    auto dict = std::make_shared<Value>();
    dict->kind = Value::Kind::kDict;
    if (IsModule(*v)) {
      CollectModule(*v, "", 0, dict.get());
    } else {
      CollectScriptModule(*v, "", 0, dict.get());
    }
    (*modules)[dict.get()] = v->string_value;
    return dict;
  }
  if (v->kind != Value::Kind::kDict || depth > 4) return v;
  std::shared_ptr<Value> copy;
  for (size_t i = 0; i < v->entries.size(); ++i) {
    ValuePtr replaced = ReplaceModules(v->entries[i].second, depth + 1, modules);
    if (replaced == v->entries[i].second) continue;
    if (copy == nullptr) copy = std::make_shared<Value>(*v);
    copy->entries[i].second = std::move(replaced);
  }
  return copy != nullptr ? copy : v;
}

// Number of tensor values with string keys directly inside `v`.
size_t CountTensors(const Value& v) {
  if (v.kind != Value::Kind::kDict) return 0;
  size_t n = 0;
  for (const auto& [key, value] : v.entries) {
    if (key->kind == Value::Kind::kString && value->kind == Value::Kind::kTensor) ++n;
  }
  return n;
}

std::vector<std::string> StringKeys(const Value& v) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : v.entries) {
    if (key->kind == Value::Kind::kString) keys.push_back(key->string_value);
  }
  return keys;
}

// The dict of tensors: `v` itself, or one found under the usual wrapper keys.
const Value* FindStateDict(const Value& v, int depth, std::string* path) {
  if (v.kind != Value::Kind::kDict || depth > 4) return nullptr;
  for (const std::string& key : WrapperKeys()) {
    const Value* inner = v.Get(key);
    if (inner == nullptr) continue;
    std::string inner_path;
    if (const Value* found = FindStateDict(*inner, depth + 1, &inner_path)) {
      *path = key + (inner_path.empty() ? "" : "." + inner_path);
      return found;
    }
  }
  if (CountTensors(v) > 0) return &v;
  return nullptr;
}

// Every dict below `v` (at most 3 levels down) that holds tensors, for the
// message when none is under a usual key.
void CollectTensorDicts(const Value& v, const std::string& path, int depth,
                        std::vector<std::pair<std::string, size_t>>* out) {
  if (v.kind != Value::Kind::kDict || depth > 3) return;
  if (const size_t n = CountTensors(v); n > 0 && !path.empty()) out->emplace_back(path, n);
  for (const auto& [key, value] : v.entries) {
    if (key->kind != Value::Kind::kString) continue;
    CollectTensorDicts(*value, path.empty() ? key->string_value : path + "." + key->string_value,
                       depth + 1, out);
  }
}

// The entry `path` names below `v`: the whole path as one key first, then
// split at each '.' from the left (keys may contain dots themselves).
const Value* Resolve(const Value& v, const std::string& path, int depth = 0) {
  if (v.kind != Value::Kind::kDict || depth > 8) return nullptr;
  if (const Value* whole = v.Get(path)) return whole;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
    if (const Value* head = v.Get(path.substr(0, dot))) {
      if (const Value* found = Resolve(*head, path.substr(dot + 1), depth + 1)) return found;
    }
  }
  return nullptr;
}

std::string DescribeKinds(const Value& v) {
  if (v.kind == Value::Kind::kObject) {
    return "a '" + ckpt::Printable(v.string_value, 80) + "' object";
  }
  if (v.kind != Value::Kind::kDict) {
    const std::string kind = ValueKindName(v.kind);
    return (kind.find_first_of("aeiou") == 0 ? "an " : "a ") + kind;
  }
  const std::vector<std::string> keys = StringKeys(v);
  return "a dict" +
         (keys.empty() ? std::string(" without string keys") : " with keys " + Quoted(keys));
}

const Value& ChooseWeights(const Value& root, const std::string& weights_key,
                           WeightsSource* source) {
  const std::string known = Quoted(WrapperKeys());
  if (!weights_key.empty()) {
    const Value* v = Resolve(root, weights_key);
    if (v == nullptr) {
      throw ConvertError("--weights '" + ckpt::Printable(weights_key, 80) +
                         "': the checkpoint has no such entry; its top level is " +
                         DescribeKinds(root));
    }
    if (CountTensors(*v) == 0) {
      throw ConvertError("--weights '" + ckpt::Printable(weights_key, 80) +
                         "' holds no tensors under string keys: it is " + DescribeKinds(*v));
    }
    source->key = weights_key;
    source->chosen = true;
    return *v;
  }
  std::string path;
  const Value* dict = FindStateDict(root, 0, &path);
  if (dict == nullptr) {
    std::vector<std::pair<std::string, size_t>> found;
    CollectTensorDicts(root, "", 0, &found);
    if (!found.empty()) {
      std::string list;
      for (size_t i = 0; i < found.size() && i < 4; ++i) {
        list += (i ? ", '" : "'") + ckpt::Printable(found[i].first, 80) + "' (" +
                std::to_string(found[i].second) + " tensors)";
      }
      throw ConvertError("checkpoint holds no state dict under the usual keys (" + known +
                         "); tensors are under " + list + ": pick one with --weights " +
                         ckpt::Printable(found[0].first, 80));
    }
    throw ConvertError("checkpoint holds no tensors: expected a state dict, or one under " + known +
                       "; its top level is " + DescribeKinds(root));
  }
  source->key = path;
  // The other usual keys that hold weights too (the raw weights beside EMA).
  for (const std::string& key : WrapperKeys()) {
    const Value* inner = root.Get(key);
    std::string inner_path;
    if (inner == nullptr || path == key || path.compare(0, key.size() + 1, key + ".") == 0) {
      continue;
    }
    if (FindStateDict(*inner, 1, &inner_path) != nullptr) source->alternatives.push_back(key);
  }
  return *dict;
}

}  // namespace

const std::vector<std::string>& WrapperKeys() {
  static const std::vector<std::string> keys = {"model_ema", "state_dict_ema", "ema", "state_dict",
                                                "model",     "module",         "net"};
  return keys;
}

std::string WeightsSource::Describe() const {
  std::string s = key.empty() ? "top-level state dict" : "'" + key + "'";
  if (module_class.rfind(kScriptPrefix, 0) == 0) {
    s = (key.empty() ? std::string("the TorchScript model") : s + ", a TorchScript model") + " (" +
        ckpt::Printable(module_class.substr(sizeof(kScriptPrefix) - 1), 80) +
        ", saved with torch.jit.save), its parameters and buffers";
  } else if (!module_class.empty()) {
    s = (key.empty() ? std::string("the pickled model") : s + ", a pickled model") + " (" +
        ckpt::Printable(module_class, 80) + ", saved with torch.save(model)), its state dict";
  }
  if (chosen) s += " (chosen with --weights)";
  if (!alternatives.empty()) {
    s += " (the file also holds " + Quoted(alternatives) + "; pick one with --weights)";
  }
  for (const std::string& p : stripped) s += ", " + p + " prefix stripped";
  return s;
}

std::string WeightsSource::Compact() const {
  std::string s = key;
  for (const std::string& p : stripped) s += (s.empty() ? "" : ", ") + p + " prefix";
  return s;
}

StateDict ExtractStateDict(const Checkpoint& checkpoint, const std::string& weights_key,
                           WeightsSource* source) {
  if (checkpoint.root == nullptr) throw ConvertError("checkpoint holds nothing");
  // Whole models (torch.save(model)) count as their state dicts.
  std::map<const Value*, std::string> modules;
  const ValuePtr root = ReplaceModules(checkpoint.root, 0, &modules);
  if (root->kind != Value::Kind::kDict) {
    throw ConvertError("checkpoint does not hold a dict of tensors (a state dict) but " +
                       DescribeKinds(*root));
  }
  WeightsSource local;
  WeightsSource* s = source != nullptr ? source : &local;
  *s = WeightsSource();
  const Value& dict = ChooseWeights(*root, weights_key, s);
  if (auto it = modules.find(&dict); it != modules.end()) s->module_class = it->second;
  std::vector<std::pair<std::string, const Tensor*>> entries;
  for (const auto& [key, value] : dict.entries) {
    if (key->kind == Value::Kind::kString && value->kind == Value::Kind::kTensor) {
      entries.emplace_back(key->string_value, value->tensor.get());
    }
  }
  // Training wrappers add a prefix to every key: DDP's "module.", and
  // "model." from some trainers. Strip them while every key has one.
  for (const char* prefix : {"module.", "model.", "module."}) {
    const std::string p(prefix);
    bool all = !entries.empty();
    for (const auto& e : entries) all = all && e.first.compare(0, p.size(), p) == 0;
    if (!all) continue;
    for (auto& e : entries) e.first = e.first.substr(p.size());
    s->stripped.push_back(p);
  }
  StateDict state;
  for (const auto& e : entries) state.Add(e.first, e.second);
  return state;
}

StateDict ExtractStateDict(const Checkpoint& checkpoint, std::string* wrapper) {
  WeightsSource source;
  StateDict state = ExtractStateDict(checkpoint, "", &source);
  if (wrapper != nullptr) *wrapper = source.Compact();
  return state;
}

std::string DescribeDtypes(const StateDict& state) {
  std::map<std::string, size_t> counts;
  for (const std::string& name : state.names()) {
    const Tensor* t = state.Find(name);
    switch (t->source_dtype) {
      case DType::kFloat32:
      case DType::kFloat16:
      case DType::kBFloat16:
      case DType::kFloat64:
        ++counts[DTypeName(t->source_dtype)];
        break;
      default:
        break;
    }
  }
  std::vector<std::pair<std::string, size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (sorted.empty()) return "no floating-point tensors";
  if (sorted.size() == 1) return sorted[0].first;
  std::string s;
  for (size_t i = 0; i < sorted.size(); ++i) {
    s += (i ? ", " : "") + sorted[i].first + " (" + std::to_string(sorted[i].second) + " tensors)";
  }
  return s;
}

BatchNorm ReadBatchNorm(const StateDict& state, const std::string& prefix, int64_t channels,
                        const std::string& why) {
  BatchNorm bn;
  bn.gamma = state.Get(prefix + ".weight", {channels}, why).data;
  bn.beta = state.Get(prefix + ".bias", {channels}, why).data;
  bn.mean = state.Get(prefix + ".running_mean", {channels}, why).data;
  bn.var = state.Get(prefix + ".running_var", {channels}, why).data;
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
