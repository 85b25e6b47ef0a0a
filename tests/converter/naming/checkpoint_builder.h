// Builds RepVGG checkpoints in memory (the value tree a reader produces) with
// each code base's key names, written out here from /work/shared/REFERENCE.md
// rather than taken from the converter's own scheme table.
#ifndef RVGG_TESTS_CONVERTER_NAMING_CHECKPOINT_BUILDER_H_
#define RVGG_TESTS_CONVERTER_NAMING_CHECKPOINT_BUILDER_H_

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "converter/src/naming/naming.h"

namespace rvgg::convert::test {

struct KeyNames {
  std::string stem;
  std::string stage_prefix;  // + S + "." + I, S counted from `first_stage`
  uint32_t first_stage;
  std::string dense_conv, dense_bn, one_conv, one_bn, identity, fused, se_down, se_up, classifier;

  std::string Block(uint32_t stage, uint32_t index) const {
    if (stage == 0) return stem;
    return stage_prefix + std::to_string(stage - 1 + first_stage) + "." + std::to_string(index);
  }
};

inline const KeyNames& OfficialNames() {
  static const KeyNames n{"stage0",         "stage",        1,
                          "rbr_dense.conv", "rbr_dense.bn", "rbr_1x1.conv",
                          "rbr_1x1.bn",     "rbr_identity", "rbr_reparam",
                          "se.down",        "se.up",        "linear"};
  return n;
}
inline const KeyNames& TimmNames() {
  static const KeyNames n{"stem",          "stages.",     0,
                          "conv_kxk.conv", "conv_kxk.bn", "conv_1x1.conv",
                          "conv_1x1.bn",   "identity",    "reparam_conv",
                          "attn.fc1",      "attn.fc2",    "head.fc"};
  return n;
}
inline const KeyNames& MmpretrainNames() {
  static const KeyNames n{"backbone.stem",       "backbone.stage_",     1,
                          "branch_3x3.conv",     "branch_3x3.norm",     "branch_1x1.conv",
                          "branch_1x1.norm",     "branch_norm",         "branch_reparam",
                          "se_layer.conv1.conv", "se_layer.conv2.conv", "head.fc"};
  return n;
}

struct NetSpec {
  std::vector<uint32_t> blocks = {1, 1, 2, 2, 1};  // per stage, stage0 first
  std::vector<uint32_t> widths = {8, 8, 16, 16, 32};
  std::map<uint32_t, uint32_t> groups;  // global block index -> groups
  std::set<uint32_t> fused;             // global block indices stored re-parameterized
  bool se = false;
  uint32_t se_divisor = 4;
  uint32_t in_channels = 3;
  uint32_t classes = 10;
};

// An ordered dict of named tensors, editable, that becomes a Checkpoint.
class CheckpointBuilder {
 public:
  void Add(const std::string& name, std::vector<int64_t> shape, float offset = 0.0f,
           DType dtype = DType::kFloat32) {
    auto t = std::make_shared<Tensor>();
    t->shape = std::move(shape);
    t->source_dtype = dtype;
    t->data.resize(static_cast<size_t>(t->numel()));
    // Distinct, deterministic values; positive where variances need it.
    for (size_t i = 0; i < t->data.size(); ++i) {
      t->data[i] = offset + 0.5f + 0.25f * static_cast<float>((counter_ * 7 + i * 13) % 17) / 17.0f;
    }
    ++counter_;
    Remove(name);
    tensors_.emplace_back(name, std::move(t));
  }
  void AddBn(const std::string& prefix, int64_t c) {
    for (const char* part : {".weight", ".bias", ".running_mean", ".running_var"})
      Add(prefix + part, {c});
    Add(prefix + ".num_batches_tracked", {}, 0.0f, DType::kInt64);
  }
  void Remove(const std::string& name) {
    tensors_.erase(std::remove_if(tensors_.begin(), tensors_.end(),
                                  [&](const auto& e) { return e.first == name; }),
                   tensors_.end());
  }
  void RemovePrefix(const std::string& prefix) {
    tensors_.erase(std::remove_if(tensors_.begin(), tensors_.end(),
                                  [&](const auto& e) { return e.first.rfind(prefix, 0) == 0; }),
                   tensors_.end());
  }
  Tensor& At(const std::string& name) {
    for (auto& e : tensors_) {
      if (e.first == name) return *e.second;
    }
    throw std::out_of_range(name);
  }
  bool Has(const std::string& name) const {
    for (const auto& e : tensors_) {
      if (e.first == name) return true;
    }
    return false;
  }
  void Rename(const std::string& from_prefix, const std::string& to_prefix) {
    for (auto& e : tensors_) {
      if (e.first.rfind(from_prefix, 0) == 0)
        e.first = to_prefix + e.first.substr(from_prefix.size());
    }
  }

  // A dict value of the tensors (keys prefixed with `key_prefix`).
  ValuePtr Dict(const std::string& key_prefix = "") const {
    auto d = std::make_shared<Value>();
    d->kind = Value::Kind::kDict;
    for (const auto& [name, t] : tensors_) {
      auto v = std::make_shared<Value>();
      v->kind = Value::Kind::kTensor;
      v->tensor = t;
      d->entries.emplace_back(String(key_prefix + name), v);
    }
    return d;
  }
  Checkpoint AsCheckpoint() const { return Checkpoint{"test", Dict()}; }

  static ValuePtr String(const std::string& s) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::kString;
    v->string_value = s;
    return v;
  }
  static ValuePtr Int(int64_t i) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::kInt;
    v->int_value = i;
    return v;
  }
  static ValuePtr DictOf(std::vector<std::pair<std::string, ValuePtr>> items) {
    auto d = std::make_shared<Value>();
    d->kind = Value::Kind::kDict;
    for (auto& [k, v] : items) d->entries.emplace_back(String(k), v);
    return d;
  }

  // A whole RepVGG in the naming scheme `n`.
  void AddNet(const KeyNames& n, const NetSpec& s) {
    uint32_t in = s.in_channels, global = 0;
    for (uint32_t stage = 0; stage < s.blocks.size(); ++stage) {
      for (uint32_t i = 0; i < s.blocks[stage]; ++i, ++global) {
        const std::string p = n.Block(stage, i);
        const int64_t out = s.widths[stage];
        const auto g = s.groups.count(global) ? s.groups.at(global) : 1u;
        const int64_t gin = in / g;
        if (s.fused.count(global)) {
          Add(p + "." + n.fused + ".weight", {out, gin, 3, 3});
          Add(p + "." + n.fused + ".bias", {out});
        } else {
          Add(p + "." + n.dense_conv + ".weight", {out, gin, 3, 3}, -0.6f);
          AddBn(p + "." + n.dense_bn, out);
          Add(p + "." + n.one_conv + ".weight", {out, gin, 1, 1}, -0.6f);
          AddBn(p + "." + n.one_bn, out);
          if (in == out && i > 0) AddBn(p + "." + n.identity, out);
        }
        if (s.se) {
          const int64_t r = std::max<int64_t>(1, out / s.se_divisor);
          Add(p + "." + n.se_down + ".weight", {r, out, 1, 1}, -0.6f);
          Add(p + "." + n.se_down + ".bias", {r});
          Add(p + "." + n.se_up + ".weight", {out, r, 1, 1}, -0.6f);
          Add(p + "." + n.se_up + ".bias", {out});
        }
        in = static_cast<uint32_t>(out);
      }
    }
    Add(n.classifier + ".weight", {s.classes, in}, -0.6f);
    Add(n.classifier + ".bias", {s.classes});
  }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> tensors_;
  size_t counter_ = 0;
};

}  // namespace rvgg::convert::test

#endif  // RVGG_TESTS_CONVERTER_NAMING_CHECKPOINT_BUILDER_H_
