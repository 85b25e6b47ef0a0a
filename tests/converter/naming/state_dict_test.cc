// Finding the weights inside a checkpoint (converter/src/naming/state_dict.cc):
// wrappers, EMA preference, --weights, prefix stripping, dtype summary, and
// the messages when the weights are not where they should be.
#include <doctest/doctest.h>

#include <string>

#include "converter/src/error.h"
#include "converter/src/naming/naming.h"
#include "tests/converter/naming/checkpoint_builder.h"

namespace rvgg::convert {
namespace {

using test::CheckpointBuilder;
using B = test::CheckpointBuilder;

CheckpointBuilder TwoTensors(float offset = 0.0f) {
  CheckpointBuilder b;
  b.Add("stage0.rbr_dense.conv.weight", {2, 3, 3, 3}, offset);
  b.Add("linear.bias", {4}, offset);
  return b;
}

std::string ErrorOf(const Checkpoint& ck, const std::string& key = "") {
  try {
    WeightsSource source;
    ExtractStateDict(ck, key, &source);
  } catch (const ConvertError& e) {
    return e.what();
  }
  FAIL("no ConvertError");
  return "";
}

TEST_CASE("state dict: a plain state dict is used as it is") {
  const Checkpoint ck = TwoTensors().AsCheckpoint();
  WeightsSource source;
  const StateDict state = ExtractStateDict(ck, "", &source);
  CHECK(state.names() == std::vector<std::string>{"stage0.rbr_dense.conv.weight", "linear.bias"});
  CHECK(source.key.empty());
  CHECK_FALSE(source.chosen);
  CHECK(source.alternatives.empty());
  CHECK(source.Describe() == "top-level state dict");
  CHECK(source.Compact().empty());
}

TEST_CASE("state dict: training wrappers, EMA first, and the others reported") {
  const CheckpointBuilder ema = TwoTensors(1.0f), raw = TwoTensors(2.0f);
  SUBCASE("model + model_ema (RepVGG's main.py)") {
    const Checkpoint ck{
        "test",
        B::DictOf({{"model", raw.Dict()}, {"model_ema", ema.Dict()}, {"epoch", B::Int(119)}})};
    WeightsSource source;
    const StateDict state = ExtractStateDict(ck, "", &source);
    CHECK(source.key == "model_ema");
    CHECK(source.alternatives == std::vector<std::string>{"model"});
    CHECK(source.Describe() ==
          "'model_ema' (the file also holds 'model'; pick one with --weights)");
    CHECK(state.Get("linear.bias").data[0] == ema.Dict()->entries[1].second->tensor->data[0]);

    const StateDict chosen = ExtractStateDict(ck, "model", &source);
    CHECK(source.key == "model");
    CHECK(source.chosen);
    CHECK(source.Describe() == "'model' (chosen with --weights)");
    CHECK(chosen.Get("linear.bias").data == raw.Dict()->entries[1].second->tensor->data);
    CHECK(chosen.Get("linear.bias").data != state.Get("linear.bias").data);
  }
  SUBCASE("state_dict + state_dict_ema (timm's train.py)") {
    const Checkpoint ck{"test",
                        B::DictOf({{"state_dict", raw.Dict()}, {"state_dict_ema", ema.Dict()}})};
    WeightsSource source;
    ExtractStateDict(ck, "", &source);
    CHECK(source.key == "state_dict_ema");
    CHECK(source.alternatives == std::vector<std::string>{"state_dict"});
  }
  SUBCASE("state_dict with DDP's module. prefix (official train.py)") {
    const Checkpoint ck{"test",
                        B::DictOf({{"state_dict", raw.Dict("module.")}, {"epoch", B::Int(3)}})};
    WeightsSource source;
    const StateDict state = ExtractStateDict(ck, "", &source);
    CHECK(state.names() == std::vector<std::string>{"stage0.rbr_dense.conv.weight", "linear.bias"});
    CHECK(source.Describe() == "'state_dict', module. prefix stripped");
    CHECK(source.Compact() == "state_dict, module. prefix");
    std::string wrapper;
    ExtractStateDict(ck, &wrapper);
    CHECK(wrapper == "state_dict, module. prefix");
  }
  SUBCASE("nested: model.module. and module.model. prefixes, nested wrappers") {
    const Checkpoint ck{
        "test", B::DictOf({{"state_dict", B::DictOf({{"model", raw.Dict("module.model.")}})}})};
    WeightsSource source;
    const StateDict state = ExtractStateDict(ck, "", &source);
    CHECK(source.key == "state_dict.model");
    CHECK(source.stripped == std::vector<std::string>{"module.", "model."});
    CHECK(state.Has("linear.bias"));
    const StateDict chosen = ExtractStateDict(ck, "state_dict.model", &source);
    CHECK(chosen.Has("linear.bias"));
  }
  SUBCASE("a prefix is stripped only when every key has it") {
    CheckpointBuilder b = TwoTensors();
    b.Add("module.extra", {1});
    const Checkpoint ck = b.AsCheckpoint();
    WeightsSource source;
    const StateDict state = ExtractStateDict(ck, "", &source);
    CHECK(state.Has("module.extra"));
    CHECK(source.stripped.empty());
  }
}

TEST_CASE("state dict: --weights errors name what is there") {
  const Checkpoint ck{"test", B::DictOf({{"model", TwoTensors().Dict()},
                                         {"optimizer", B::DictOf({{"lr", B::Int(1)}})},
                                         {"epoch", B::Int(3)}})};
  CHECK(
      ErrorOf(ck, "model_ema") ==
      "--weights 'model_ema': the checkpoint has no such entry; its top level is a dict with keys "
      "'model', 'optimizer', 'epoch'");
  CHECK(ErrorOf(ck, "optimizer") ==
        "--weights 'optimizer' holds no tensors under string keys: it is a dict with keys 'lr'");
  CHECK(ErrorOf(ck, "epoch") ==
        "--weights 'epoch' holds no tensors under string keys: it is an int");
}

TEST_CASE("state dict: no weights where expected") {
  SUBCASE("no tensors at all") {
    const Checkpoint ck{"test",
                        B::DictOf({{"epoch", B::Int(3)}, {"arch", B::String("RepVGG-A0")}})};
    CHECK(ErrorOf(ck) ==
          "checkpoint holds no tensors: expected a state dict, or one under 'model_ema', "
          "'state_dict_ema', "
          "'ema', 'state_dict', 'model', 'module', 'net'; its top level is a dict with keys "
          "'epoch', 'arch'");
  }
  SUBCASE("tensors under an unusual key") {
    const Checkpoint ck{"test",
                        B::DictOf({{"epoch", B::Int(3)}, {"weights", TwoTensors().Dict()}})};
    const std::string e = ErrorOf(ck);
    CHECK(e.find("checkpoint holds no state dict under the usual keys") == 0);
    CHECK(e.find("tensors are under 'weights' (2 tensors): pick one with --weights weights") !=
          std::string::npos);
  }
  SUBCASE("not a dict") {
    auto list = std::make_shared<Value>();
    list->kind = Value::Kind::kList;
    const Checkpoint ck{"test", list};
    CHECK(ErrorOf(ck) == "checkpoint does not hold a dict of tensors (a state dict) but a list");
  }
  SUBCASE("control characters in keys cannot break the line") {
    const Checkpoint ck{"test", B::DictOf({{"bad\nkey", B::Int(3)}})};
    const std::string e = ErrorOf(ck);
    CHECK(e.find('\n') == std::string::npos);
    CHECK(e.find("'bad\\x0akey'") != std::string::npos);
  }
}

// An nn.Module as the pickle reader gives it: an object whose attribute
// state holds _parameters, _buffers, _non_persistent_buffers_set, _modules.
ValuePtr Module(const std::string& cls, const CheckpointBuilder& params,
                const CheckpointBuilder& buffers, std::vector<std::string> non_persistent,
                std::vector<std::pair<std::string, ValuePtr>> children) {
  auto m = std::make_shared<Value>();
  m->kind = Value::Kind::kObject;
  m->string_value = cls;
  auto set = std::make_shared<Value>();
  set->kind = Value::Kind::kList;
  for (const std::string& n : non_persistent) set->items.push_back(B::String(n));
  auto none = std::make_shared<Value>();
  m->entries = {{B::String("training"), none},
                {B::String("_parameters"), params.Dict()},
                {B::String("_buffers"), buffers.Dict()},
                {B::String("_non_persistent_buffers_set"), set},
                {B::String("_modules"), B::DictOf(std::move(children))}};
  return m;
}

TEST_CASE("state dict: a whole pickled model reads as its state_dict()") {
  CheckpointBuilder conv_w, bn_p, bn_b, empty, lin;
  conv_w.Add("weight", {2, 3, 3, 3});
  bn_p.Add("weight", {2});
  bn_p.Add("bias", {2});
  bn_b.Add("running_mean", {2});
  bn_b.Add("running_var", {2});
  bn_b.Add("scratch", {2});  // non-persistent: not in state_dict()
  lin.Add("weight", {4, 2});
  lin.Add("bias", {4});
  auto none = std::make_shared<Value>();
  const ValuePtr dense =
      Module("torch.nn.modules.container.Sequential", empty, empty, {},
             {{"conv", Module("torch.nn.Conv2d", conv_w, empty, {}, {})},
              {"bn", Module("torch.nn.BatchNorm2d", bn_p, bn_b, {"scratch"}, {})}});
  const ValuePtr block = Module("repvgg.RepVGGBlock", empty, empty, {},
                                {{"rbr_identity", none}, {"rbr_dense", dense}});
  const ValuePtr model =
      Module("repvgg.RepVGG", empty, empty, {},
             {{"stage0", block}, {"linear", Module("torch.nn.Linear", lin, empty, {}, {})}});
  SUBCASE("at the top") {
    WeightsSource source;
    const StateDict state = ExtractStateDict(Checkpoint{"test", model}, "", &source);
    CHECK(state.names() == std::vector<std::string>{
                               "stage0.rbr_dense.conv.weight", "stage0.rbr_dense.bn.weight",
                               "stage0.rbr_dense.bn.bias", "stage0.rbr_dense.bn.running_mean",
                               "stage0.rbr_dense.bn.running_var", "linear.weight", "linear.bias"});
    CHECK(state.Find("linear.bias") == lin.Dict()->entries[1].second->tensor.get());
    CHECK(source.module_class == "repvgg.RepVGG");
    CHECK(source.Describe() ==
          "the pickled model (repvgg.RepVGG, saved with torch.save(model)), its state dict");
  }
  SUBCASE("under a wrapper key, and chosen with --weights") {
    const Checkpoint ck{"test", B::DictOf({{"model", model}, {"epoch", B::Int(1)}})};
    WeightsSource source;
    CHECK(ExtractStateDict(ck, "", &source).size() == 7);
    CHECK(source.key == "model");
    CHECK(ExtractStateDict(ck, "model", &source).size() == 7);
    CHECK(source.chosen);
    CHECK(source.module_class == "repvgg.RepVGG");
  }
  SUBCASE("other objects are named in the message") {
    auto ns = std::make_shared<Value>();
    ns->kind = Value::Kind::kObject;
    ns->string_value = "argparse.Namespace";
    CHECK(ErrorOf(Checkpoint{"test", ns}) ==
          "checkpoint does not hold a dict of tensors (a state dict) but a 'argparse.Namespace' "
          "object");
  }
}

TEST_CASE("state dict: storage dtypes are summarized") {
  CheckpointBuilder b;
  b.Add("a", {2}, 0, DType::kFloat16);
  b.Add("b", {2}, 0, DType::kFloat16);
  b.Add("c", {}, 0, DType::kInt64);
  Checkpoint ck = b.AsCheckpoint();
  CHECK(DescribeDtypes(ExtractStateDict(ck, "", nullptr)) == "float16");
  b.Add("d", {2}, 0, DType::kBFloat16);
  ck = b.AsCheckpoint();
  CHECK(DescribeDtypes(ExtractStateDict(ck, "", nullptr)) ==
        "float16 (2 tensors), bfloat16 (1 tensors)");
}

}  // namespace
}  // namespace rvgg::convert
