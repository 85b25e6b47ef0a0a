// converter/src/checkpoint/torch_zip.cc (and the unpickler behind it) against
// real torch.save output written by make_fixtures.py with PyTorch 1.13.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "tests/converter/checkpoint/test_support.h"

namespace rvgg::convert {
namespace {

using test::CheckAgainstTorch;
using test::Contains;
using test::ErrorOf;
using test::Expected;
using test::Fixture;

std::vector<std::string> ExpectedKeys(const std::string& file) {
  return Expected().at(file).at("keys").get<std::vector<std::string>>();
}

TEST_CASE("torch zip: a plain OrderedDict state dict matches torch value for value, in key order") {
  const Checkpoint c = ReadCheckpoint(Fixture("plain_state_dict.pth"));
  CHECK(c.container == "torch-zip");
  REQUIRE(c.root->kind == Value::Kind::kDict);
  CHECK(test::Keys(*c.root) == ExpectedKeys("plain_state_dict.pth"));
  CHECK(CheckAgainstTorch(c, "plain_state_dict.pth") == 8);
  const Value* counter = c.root->Get("bn.num_batches_tracked");
  REQUIRE(counter != nullptr);
  CHECK(counter->tensor->source_dtype == DType::kInt64);
  CHECK(counter->tensor->shape.empty());
  CHECK(counter->tensor->data == std::vector<float>{12345.0f});
}

TEST_CASE(
    "torch zip: pickle protocols 4 and 5 (FRAME, MEMOIZE, STACK_GLOBAL) read like protocol 2") {
  for (const char* file : {"protocol4.pth", "protocol5.pth"}) {
    CAPTURE(file);
    const Checkpoint c = ReadCheckpoint(Fixture(file));
    CHECK(test::Keys(*c.root) == ExpectedKeys(file));
    CHECK(CheckAgainstTorch(c, file) == 8);
  }
}

TEST_CASE(
    "torch zip: float16, bfloat16, float64 and integer tensors upcast exactly as torch does") {
  const Checkpoint c = ReadCheckpoint(Fixture("dtypes.pth"));
  CHECK(CheckAgainstTorch(c, "dtypes.pth") == 11);
  CHECK(c.root->Get("f16")->tensor->source_dtype == DType::kFloat16);
  CHECK(c.root->Get("bf16")->tensor->source_dtype == DType::kBFloat16);
  CHECK(c.root->Get("f64")->tensor->source_dtype == DType::kFloat64);
  CHECK(c.root->Get("bool")->tensor->source_dtype == DType::kBool);
  CHECK(c.root->Get("num_batches_tracked")->tensor->data == std::vector<float>{987654.0f});
  CHECK(c.root->Get("u8")->tensor->data == std::vector<float>{0.0f, 255.0f, 128.0f});
}

TEST_CASE(
    "torch zip: transposed, sliced, shared-storage, 0-d, zero-size and expanded views match "
    "torch") {
  const Checkpoint c = ReadCheckpoint(Fixture("views.pth"));
  CHECK(CheckAgainstTorch(c, "views.pth") == 11);
  CHECK(c.root->Get("transposed")->tensor->ShapeString() == "[4, 3]");
  CHECK(c.root->Get("strided_slice")->tensor->data ==
        std::vector<float>{12, 15, 18, 32, 35, 38, 52, 55, 58});
  CHECK(c.root->Get("shared_b")->tensor->data.front() == 2.5f);
  CHECK(c.root->Get("scalar")->tensor->shape.empty());
  CHECK(c.root->Get("scalar")->tensor->data == std::vector<float>{3.25f});
  CHECK(c.root->Get("empty")->tensor->numel() == 0);
  CHECK(c.root->Get("empty_slice")->tensor->data.empty());
  CHECK(c.root->Get("expanded")->tensor->data ==
        std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
}

TEST_CASE("torch zip: nn.Parameters come back as plain tensors") {
  const Checkpoint c = ReadCheckpoint(Fixture("parameters.pth"));
  CHECK(test::Keys(*c.root) == std::vector<std::string>{"weight", "bias"});
  CHECK(CheckAgainstTorch(c, "parameters.pth") == 2);
}

TEST_CASE(
    "torch zip: a training checkpoint keeps its state_dict, optimizer tensors and script values") {
  const Checkpoint c = ReadCheckpoint(Fixture("training.pth"));
  CHECK(test::Keys(*c.root) == ExpectedKeys("training.pth"));
  CHECK(CheckAgainstTorch(c, "training.pth") == 5);  // 2 weights, best_acc1, 2 momentum buffers
  const Value& root = *c.root;
  CHECK(root.Get("epoch")->int_value == 7);
  CHECK(root.Get("state_dict")->Get("module.weight") != nullptr);

  const Value* groups = root.Get("optimizer")->Get("param_groups");
  REQUIRE(groups != nullptr);
  REQUIRE(groups->kind == Value::Kind::kList);
  CHECK(groups->items[0]->Get("lr")->float_value == 0.1);
  CHECK(groups->items[0]->Get("momentum")->float_value == 0.9);
  CHECK(groups->items[0]->Get("nesterov")->kind == Value::Kind::kBool);
  CHECK(groups->items[0]->Get("foreach")->kind == Value::Kind::kNone);

  // Classes the reader does not know are inert records, not failures.
  const Value* args = root.Get("args");
  REQUIRE(args->kind == Value::Kind::kObject);
  CHECK(args->string_value == "argparse.Namespace");
  CHECK(args->Get("lr") == nullptr);  // objects are not dicts
  REQUIRE(args->entries.size() == 3);
  CHECK(args->entries[0].first->string_value == "lr");
  CHECK(args->entries[0].second->float_value == 0.1);
  CHECK(args->entries[1].second->string_value == "RepVGG-A0");
  CHECK(root.Get("numpy_scalar")->kind == Value::Kind::kObject);
  CHECK(root.Get("numpy_scalar")->string_value == "numpy.core.multiarray.scalar");
  CHECK(root.Get("numpy_array")->string_value == "numpy.core.multiarray._reconstruct");
  const Value* device = root.Get("device");
  CHECK(device->string_value == "torch.device");
  REQUIRE(device->items.size() == 1);
  CHECK(device->items[0]->string_value == "cpu");

  const Value* size = root.Get("size");
  REQUIRE(size->kind == Value::Kind::kTuple);
  REQUIRE(size->items.size() == 4);
  CHECK(size->items[3]->int_value == 224);
  REQUIRE(root.Get("tags")->kind == Value::Kind::kList);
  CHECK(root.Get("tags")->items.at(0)->string_value == "fused");
  CHECK(root.Get("frozen")->kind == Value::Kind::kList);
  CHECK(root.Get("frozen")->items.empty());
  CHECK(root.Get("nothing")->kind == Value::Kind::kNone);
  CHECK(root.Get("flag")->bool_value);
  CHECK(root.Get("raw")->kind == Value::Kind::kBytes);
  CHECK(root.Get("raw")->string_value == std::string("\x00\x01\x02\xff", 4));
  CHECK(root.Get("empty_raw")->kind == Value::Kind::kBytes);
  CHECK(root.Get("empty_raw")->string_value.empty());
  CHECK(root.Get("buffer")->kind == Value::Kind::kBytes);
  CHECK(root.Get("buffer")->string_value == "\x05\xe9");
  CHECK(root.Get("big")->int_value == (int64_t{1} << 40));
  CHECK(root.Get("negative")->int_value == -5);
  CHECK(root.Get("very_negative")->int_value == -(int64_t{1} << 62));
  CHECK(root.Get("ratio")->float_value == 0.25);
  REQUIRE(root.Get("pair")->kind == Value::Kind::kTuple);
  CHECK(root.Get("pair")->items[1]->string_value == "two");
}

TEST_CASE("torch zip: the format comes from the bytes, whatever the file and folder are called") {
  // torch.save to a BytesIO names the folder "archive"; the file says .safetensors.
  const Checkpoint c = ReadCheckpoint(Fixture("torch_zip_named.safetensors"));
  CHECK(c.container == "torch-zip");
  CHECK(CheckAgainstTorch(c, "torch_zip_named.safetensors") == 8);
}

TEST_CASE("torch zip: deflate-compressed entries read the same as stored ones") {
  CHECK(CheckAgainstTorch(ReadCheckpoint(Fixture("deflated.pth")), "deflated.pth") == 8);
}

TEST_CASE("torch zip: ReadCheckpoint and ReadCheckpointBytes give the same tree") {
  const std::vector<uint8_t> bytes = test::ReadFile(Fixture("small.pth"));
  const Checkpoint from_bytes = test::ReadBytes(bytes, "small.pth");
  CHECK(CheckAgainstTorch(from_bytes, "small.pth") == 3);
  CHECK(CheckAgainstTorch(ReadCheckpoint(Fixture("small.pth")), "small.pth") == 3);
}

TEST_CASE("torch zip: byteorder 'little' is accepted and 'big' refused with a clear message") {
  CHECK(CheckAgainstTorch(ReadCheckpoint(Fixture("little_endian.pth")), "little_endian.pth") == 8);
  const std::string path = Fixture("big_endian.pth");
  const std::string message = ErrorOf([&] { ReadCheckpoint(path); });
  CHECK(message.rfind(path + ": ", 0) == 0);
  CHECK(Contains(message, "big-endian"));
  CHECK(Contains(message, "plain_state_dict/byteorder"));
}

TEST_CASE("torch zip: a global that would run code becomes an inert object and nothing runs") {
  const Checkpoint c = ReadCheckpoint(Fixture("malicious.pth"));
  const Value* evil = c.root->Get("evil");
  REQUIRE(evil != nullptr);
  CHECK(evil->kind == Value::Kind::kObject);
  CHECK(evil->string_value == "posix.system");
  REQUIRE(evil->items.size() == 1);
  CHECK(Contains(evil->items[0]->string_value, "touch "));
  CHECK(c.root->Get("w")->tensor->data == std::vector<float>{1.0f, 1.0f});
  CHECK_FALSE(std::filesystem::exists(Fixture("EXECUTED")));
}

TEST_CASE("torch zip: a list that contains itself is refused, not looped over") {
  const std::string message = ErrorOf([] { ReadCheckpoint(Fixture("recursive.pth")); });
  CHECK(Contains(message, "recursive.pth: recursive/data.pkl byte "));
  CHECK(Contains(message, "recursive structure"));
}

TEST_CASE("torch zip: an archive without data.pkl is not taken for a checkpoint") {
  const std::string path = Fixture("no_data_pkl.pth");
  CHECK(ErrorOf([&] { ReadCheckpoint(path); }) ==
        path + ": zip archive has no data.pkl (is this a PyTorch checkpoint?)");
}

TEST_CASE("torch zip: entries that overlap each other (the overlapping zip bomb) are refused") {
  const std::string path = Fixture("overlapping.pth");
  CHECK(ErrorOf([&] { ReadCheckpoint(path); }) ==
        path + ": zip entries claim more compressed bytes than the file holds (" +
            std::to_string(test::ReadFile(path).size()) + "): overlapping or corrupt entries");
}

TEST_CASE("torch zip: a missing storage entry names the tensor and the entry") {
  const std::string path = Fixture("missing_storage.pth");
  CHECK(ErrorOf([&] { ReadCheckpoint(path); }) ==
        path +
            ": tensor 'conv.weight' needs storage 'plain_state_dict/data/0', which the zip "
            "archive does not have");
}

TEST_CASE("torch zip: a storage entry of the wrong size is refused") {
  const std::string message = ErrorOf([] { ReadCheckpoint(Fixture("short_storage.pth")); });
  CHECK(Contains(
      message,
      "tensor 'conv.weight' uses storage 'plain_state_dict/data/0', which holds 12 bytes"));
  CHECK(Contains(message, "108 float32 elements (432 bytes)"));
}

TEST_CASE("torch zip: an unsupported pickle opcode is named with its offset") {
  const std::string message = ErrorOf([] { ReadCheckpoint(Fixture("unsupported_opcode.pth")); });
  CHECK(
      Contains(message, "plain_state_dict/data.pkl byte 2: unsupported pickle opcode 0x49 (INT)"));
}

TEST_CASE("torch zip: the legacy pre-1.6 format is refused with how to re-save it") {
  const std::string path = Fixture("legacy.pth");
  const std::string message = ErrorOf([&] { ReadCheckpoint(path); });
  CHECK(message.rfind(path + ": legacy torch.save format", 0) == 0);
  CHECK(Contains(message, "torch.save(torch.load(f), f2)"));
  CHECK(Contains(message, "PyTorch >= 1.6"));
}

TEST_CASE("torch zip: a truncated archive fails cleanly at any cut") {
  const std::vector<uint8_t> bytes = test::ReadFile(Fixture("plain_state_dict.pth"));
  for (size_t cut : {size_t{4}, size_t{30}, size_t{100}, bytes.size() / 2, bytes.size() - 100,
                     bytes.size() - 22, bytes.size() - 1}) {
    CAPTURE(cut);
    const std::vector<uint8_t> truncated(bytes.begin(),
                                         bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    const std::string message = ErrorOf([&] { test::ReadBytes(truncated, "cut.pth"); });
    CHECK(message.rfind("cut.pth: not a readable zip archive (truncated or corrupt?): ", 0) == 0);
  }
}

}  // namespace
}  // namespace rvgg::convert
