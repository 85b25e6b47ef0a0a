// converter/src/checkpoint/torch_pickle.cc: hand-built pickles for the cases
// torch.save never writes but a corrupt or crafted file can hold.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "converter/src/checkpoint/value.h"
#include "tests/converter/checkpoint/test_support.h"

namespace rvgg::convert {
namespace {

using test::Contains;
using test::ErrorOf;
using test::FloatBytes;
using test::PickleWriter;
using test::TorchZip;

Checkpoint ReadPickle(const PickleWriter& pickle,
                      const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  return test::ReadBytes(TorchZip(pickle.bytes(), storages), "crafted.pth");
}

std::string PickleError(const PickleWriter& pickle,
                        const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  return ErrorOf([&] { ReadPickle(pickle, storages); });
}

// {'w': <tensor>} around whatever Tensor() call the test makes.
PickleWriter DictWithTensor(const std::string& key, int32_t storage_numel, int64_t offset,
                            const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                            const std::string& type = "FloatStorage") {
  PickleWriter p;
  p.Op('}').Str("w").Tensor(key, storage_numel, offset, size, stride, type).Op('s').Stop();
  return p;
}

const std::vector<std::pair<std::string, std::string>> kSixFloats = {
    {"0", FloatBytes({0, 1, 2, 3, 4, 5})}};

TEST_CASE("pickle: a hand-built strided view reads the elements torch would") {
  // A 2x2 view at storage offset 1 with row stride 3 over [0, 1, 2, 3, 4, 5].
  const Checkpoint c = ReadPickle(DictWithTensor("0", 6, 1, {2, 2}, {3, 1}), kSixFloats);
  CHECK(c.root->Get("w")->tensor->data == std::vector<float>{1, 2, 4, 5});
  CHECK(c.root->Get("w")->tensor->ShapeString() == "[2, 2]");
}

TEST_CASE("pickle: a view reaching past its storage is refused, naming the tensor") {
  CHECK(PickleError(DictWithTensor("0", 6, 2, {2, 3}, {3, 1}), kSixFloats) ==
        "crafted.pth: tensor 'w' (float32, size [2, 3], stride [3, 1], storage offset 2, storage "
        "'0') reaches element 7 of a storage holding 6 elements");
}

TEST_CASE("pickle: size-1 dimensions may carry any stride, as torch allows") {
  const int64_t huge = int64_t{1} << 62;
  const Checkpoint c =
      ReadPickle(DictWithTensor("0", 6, 0, {1, 3, 2, 1}, {huge, 1, 3, huge}), kSixFloats);
  CHECK(c.root->Get("w")->tensor->data == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(c.root->Get("w")->tensor->ShapeString() == "[1, 3, 2, 1]");
}

TEST_CASE(
    "pickle: a view ending on the storage's last element reads; one element further is refused") {
  const Checkpoint c = ReadPickle(DictWithTensor("0", 6, 3, {3}, {1}), kSixFloats);
  CHECK(c.root->Get("w")->tensor->data == std::vector<float>{3, 4, 5});
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 4, {3}, {1}), kSixFloats),
                 "reaches element 6 of a storage holding 6 elements"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {2, 2}, {5, 1}), kSixFloats),
                 "reaches element 6 of a storage holding 6 elements"));
}

TEST_CASE("pickle: negative, mismatched and overflowing shapes are refused") {
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {2, 3}, {-1, 1}), kSixFloats),
                 "negative stride"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {2, -3}, {3, 1}), kSixFloats),
                 "negative size"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, -1, {2}, {1}), kSixFloats),
                 "negative storage offset"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {2, 3}, {1}), kSixFloats),
                 "2 sizes but 1 strides"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {int64_t{1} << 62, 4}, {0, 0}), kSixFloats),
                 "more elements than int64 can count"));
  CHECK(Contains(PickleError(DictWithTensor("0", 6, 0, {3, 2}, {int64_t{1} << 62, 1}), kSixFloats),
                 "beyond int64 range"));
}

TEST_CASE("pickle: a stride-0 view of a tiny storage cannot make the reader allocate gigabytes") {
  const std::string message =
      PickleError(DictWithTensor("0", 6, 0, {int64_t{1} << 20, 1 << 12}, {0, 0}),
                  {{"0", std::string(24, '\0')}});
  CHECK(Contains(message, "tensor 'w' would bring the checkpoint's tensors to more than"));
}

TEST_CASE("pickle: a tensor stored as an unsupported storage type is refused by name") {
  CHECK(
      Contains(PickleError(DictWithTensor("0", 6, 0, {6}, {1}, "ComplexFloatStorage"), kSixFloats),
               "stored as torch.ComplexFloatStorage, which is not supported"));
}

TEST_CASE("pickle: malformed persistent ids are refused") {
  PickleWriter wrong_kind;
  wrong_kind.Mark().Str("module").Str("x").Op('t').Op('Q').Stop();
  CHECK(Contains(PickleError(wrong_kind), "persistent id of kind 'module' is not supported"));

  PickleWriter four_fields;
  four_fields.Mark()
      .Str("storage")
      .Global("torch", "FloatStorage")
      .Str("0")
      .Str("cpu")
      .Op('t')
      .Op('Q')
      .Stop();
  CHECK(Contains(PickleError(four_fields), "has 4 fields, not 5"));

  PickleWriter twice;  // the same key as 6 floats, then as 6 longs
  twice.Mark()
      .Mark()
      .Str("storage")
      .Global("torch", "FloatStorage")
      .Str("0")
      .Str("cpu")
      .Int(6)
      .Op('t')
      .Op('Q')
      .Mark()
      .Str("storage")
      .Global("torch", "LongStorage")
      .Str("0")
      .Str("cpu")
      .Int(6)
      .Op('t')
      .Op('Q')
      .Op('l')
      .Stop();
  CHECK(Contains(PickleError(twice), "storage '0' is described twice differently"));
}

TEST_CASE("pickle: unknown globals absorb REDUCE, NEWOBJ, NEWOBJ_EX and BUILD as inert objects") {
  PickleWriter p;
  p.Op('}');
  p.Str("call").Global("os", "system").Str("rm -rf /").Op(0x85).Op('R').Op('s');
  p.Str("new").Global("argparse", "Namespace").Op(')').Op(0x81);
  p.Op('}')
      .Str("lr")
      .Op('G')
      .Raw(std::string("\x3f\xb9\x99\x99\x99\x99\x99\x9a", 8))
      .Op('s')
      .Op('b')
      .Op('s');
  p.Str("new_ex").Global("mod", "Cls").Int(1).Op(0x85).Op('}').Op(0x92).Op('s');
  p.Str("class").Global("torch", "float16").Op('s');
  p.Stop();
  const Checkpoint c = ReadPickle(p);
  const Value& root = *c.root;
  CHECK(root.Get("call")->string_value == "os.system");
  CHECK(root.Get("call")->items.at(0)->string_value == "rm -rf /");
  CHECK(root.Get("new")->string_value == "argparse.Namespace");
  REQUIRE(root.Get("new")->entries.size() == 1);
  CHECK(root.Get("new")->entries[0].second->float_value == 0.1);
  CHECK(root.Get("new_ex")->items.at(0)->int_value == 1);
  CHECK(root.Get("class")->kind == Value::Kind::kObject);
  CHECK(root.Get("class")->string_value == "torch.float16");
}

TEST_CASE("pickle: a repeated dict key replaces the earlier value in place, as in Python") {
  PickleWriter p;
  p.Mark().Str("a").Int(1).Str("b").Int(2).Str("a").Int(3).Op('d').Stop();
  const Checkpoint c = ReadPickle(p);
  REQUIRE(c.root->entries.size() == 2);
  CHECK(c.root->entries[0].first->string_value == "a");
  CHECK(c.root->entries[0].second->int_value == 3);
  CHECK(c.root->Get("b")->int_value == 2);
}

TEST_CASE("pickle: the less common opcodes decode to the right values") {
  PickleWriter p(4);
  p.Op(0x95).Raw(std::string(8, '\0'));  // FRAME of length 0: only a hint
  p.Op(']').Op(0x94).Mark();
  p.Op(0x8d).Raw(std::string("\x02\0\0\0\0\0\0\0", 8)).Raw("u8");  // BINUNICODE8
  p.Op(0x8e).Raw(std::string("\x01\0\0\0\0\0\0\0", 8)).Raw("z");   // BINBYTES8
  p.Op(0x96).Raw(std::string("\x01\0\0\0\0\0\0\0", 8)).Raw("y");   // BYTEARRAY8
  p.Op('C').Byte(2).Raw("ab");                                     // SHORT_BINBYTES
  p.Op('B').U32(1).Raw("c");                                       // BINBYTES
  p.Op(0x8b).U32(2).Byte(0x00).Byte(0x80);                         // LONG4 -32768
  p.Op(0x8a).Byte(0);                                              // LONG1 0
  p.Op(0x8a).Byte(9).Raw(
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9));  // -1, sign-extended
  p.Op('M').Byte(0x34).Byte(0x12);                              // BININT2
  p.Int(-7);                                                    // BININT
  p.Op('G').Raw(std::string("\xc0\x04\0\0\0\0\0\0", 8));        // BINFLOAT -2.5
  p.Op(0x8f).Mark().Int(1).Int(2).Op(0x90);                     // EMPTY_SET ADDITEMS
  p.Mark().Int(9).Op(0x91);                                     // FROZENSET
  p.Op('N').Op('2').Op('0');                                    // DUP, POP
  p.Mark().Int(5).Op('1');                                      // POP_MARK
  p.Op(0x88).Op(0x89);
  p.Op('e').Stop();
  const Checkpoint c = ReadPickle(p);
  const auto& items = c.root->items;
  REQUIRE(items.size() == 16);
  CHECK(items[0]->string_value == "u8");
  CHECK(items[1]->kind == Value::Kind::kBytes);
  CHECK(items[1]->string_value == "z");
  CHECK(items[2]->string_value == "y");
  CHECK(items[3]->string_value == "ab");
  CHECK(items[4]->string_value == "c");
  CHECK(items[5]->int_value == -32768);
  CHECK(items[6]->int_value == 0);
  CHECK(items[7]->int_value == -1);
  CHECK(items[8]->int_value == 0x1234);
  CHECK(items[9]->int_value == -7);
  CHECK(items[10]->float_value == -2.5);
  REQUIRE(items[11]->items.size() == 2);
  CHECK(items[11]->items[1]->int_value == 2);
  CHECK(items[12]->items.at(0)->int_value == 9);
  CHECK(items[13]->kind == Value::Kind::kNone);
  CHECK(items[14]->kind == Value::Kind::kBool);
  CHECK(items[14]->bool_value);
  CHECK_FALSE(items[15]->bool_value);
}

TEST_CASE("pickle: a dict changed after being stored elsewhere is refused (recursion)") {
  PickleWriter p;
  p.Op(']')
      .Op('}')
      .Op('q')
      .Byte(0)
      .Op('a')
      .Op('h')
      .Byte(0)
      .Str("k")
      .Str("v")
      .Op('s')
      .Op('0')
      .Stop();
  CHECK(Contains(PickleError(p), "SETITEM changes a dict after it was stored elsewhere"));
  PickleWriter self;
  self.Op(']').Op('2').Op('a').Stop();
  CHECK(Contains(PickleError(self), "a list that contains itself"));
}

TEST_CASE("pickle: nesting is capped at 1000 levels") {
  PickleWriter ok;  // 1001 lists: the outermost holds 1000 levels
  for (int i = 0; i < 1001; ++i) ok.Op(']');
  for (int i = 0; i < 1000; ++i) ok.Op('a');
  ok.Stop();
  CHECK(ReadPickle(ok).root->kind == Value::Kind::kList);

  PickleWriter deep;
  for (int i = 0; i < 1002; ++i) deep.Op(']');
  for (int i = 0; i < 1001; ++i) deep.Op('a');
  deep.Stop();
  CHECK(Contains(PickleError(deep), "containers nest deeper than 1000 levels"));
}

TEST_CASE("pickle: parameters and tensor subclasses unwrap to the tensor") {
  PickleWriter p;
  p.Op('}');
  p.Str("param").Global("torch._utils", "_rebuild_parameter");
  p.Mark().Tensor("0", 6, 0, {6}, {1}).Op(0x88).Op('}').Op('t').Op('R').Op('s');
  p.Str("sub").Global("torch._tensor", "_rebuild_from_type_v2");
  p.Mark().Global("torch._utils", "_rebuild_tensor_v2").Global("torch", "Tensor");
  p.Mark().Mark().Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(6).Op('t');
  p.Op('Q').Int(3).IntTuple({3}).IntTuple({1}).Op(0x89).Op('}').Op('t');
  p.Op('}').Op('t').Op('R').Op('s').Stop();
  const Checkpoint c = ReadPickle(p, kSixFloats);
  CHECK(c.root->Get("param")->tensor->data == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(c.root->Get("sub")->tensor->data == std::vector<float>{3, 4, 5});
}

TEST_CASE("pickle: a tensor that ends up unreachable is never read") {
  PickleWriter p;
  p.Tensor("absent", 6, 0, {6}, {1}).Op('0').Op('}').Stop();
  CHECK(ReadPickle(p).root->entries.empty());
}

TEST_CASE("pickle: truncation, bad references and stack misuse name the opcode and offset") {
  CHECK(PickleError(PickleWriter().Op('X').U32(1000).Raw("abc")) ==
        "crafted.pth: archive/data.pkl byte 2: BINUNICODE needs 1000 bytes but 3 remain "
        "(truncated?)");
  CHECK(Contains(PickleError(PickleWriter().Op('h').Byte(5)),
                 "byte 2: BINGET 5 refers to nothing memoized"));
  CHECK(Contains(PickleError(PickleWriter().Op('a')),
                 "byte 2: APPEND finds too few values on the stack"));
  CHECK(Contains(PickleError(PickleWriter().Mark().Op('a')), "APPEND finds too few values"));
  CHECK(Contains(PickleError(PickleWriter().Op('u')), "SETITEMS without a MARK"));
  CHECK(Contains(PickleError(PickleWriter().Op('N').Op('N').Stop()),
                 "STOP with 2 values on the stack"));
  CHECK(Contains(PickleError(PickleWriter().Op('N')), "ends without a STOP opcode"));
  CHECK(
      Contains(PickleError(PickleWriter(1).Op('N').Stop()), "pickle protocol 1 is not supported"));
  CHECK(Contains(PickleError(PickleWriter().Op(0x8a).Byte(9).Raw(std::string(9, '\x01')).Stop()),
                 "integer does not fit in 64 bits"));
  CHECK(Contains(PickleError(PickleWriter().Op(0xff)),
                 "unsupported pickle opcode 0xff (not a pickle opcode)"));
  CHECK(Contains(PickleError(PickleWriter().Op(0x97)),
                 "unsupported pickle opcode 0x97 (NEXT_BUFFER)"));
  CHECK(Contains(PickleError(PickleWriter().Op('N').Op('N').Op('R')),
                 "REDUCE's arguments are a none"));
  CHECK(Contains(PickleError(PickleWriter().Int(1).Op(')').Op('R')), "REDUCE calls a int"));
  CHECK(Contains(PickleError(PickleWriter().Raw("c" + std::string(2000, 'a'))),
                 "not terminated by a newline"));
  CHECK(Contains(ErrorOf([] { test::ReadBytes(TorchZip("N."), "crafted.pth"); }),
                 "byte 0: does not start with a pickle PROTO opcode"));
}

}  // namespace
}  // namespace rvgg::convert
