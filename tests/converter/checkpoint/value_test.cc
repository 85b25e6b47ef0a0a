// converter/src/checkpoint/value.cc: names, shapes and dict lookup.
#include "converter/src/checkpoint/value.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

namespace rvgg::convert {
namespace {

ValuePtr MakeString(const std::string& s) {
  auto v = std::make_shared<Value>();
  v->kind = Value::Kind::kString;
  v->string_value = s;
  return v;
}

ValuePtr MakeInt(int64_t i) {
  auto v = std::make_shared<Value>();
  v->kind = Value::Kind::kInt;
  v->int_value = i;
  return v;
}

TEST_CASE("value: DTypeName gives torch's name for every dtype") {
  CHECK(std::string(DTypeName(DType::kFloat32)) == "float32");
  CHECK(std::string(DTypeName(DType::kFloat16)) == "float16");
  CHECK(std::string(DTypeName(DType::kBFloat16)) == "bfloat16");
  CHECK(std::string(DTypeName(DType::kFloat64)) == "float64");
  CHECK(std::string(DTypeName(DType::kInt64)) == "int64");
  CHECK(std::string(DTypeName(DType::kInt32)) == "int32");
  CHECK(std::string(DTypeName(DType::kInt16)) == "int16");
  CHECK(std::string(DTypeName(DType::kInt8)) == "int8");
  CHECK(std::string(DTypeName(DType::kUInt8)) == "uint8");
  CHECK(std::string(DTypeName(DType::kBool)) == "bool");
}

TEST_CASE("value: ValueKindName names each kind") {
  CHECK(std::string(ValueKindName(Value::Kind::kNone)) == "none");
  CHECK(std::string(ValueKindName(Value::Kind::kTensor)) == "tensor");
  CHECK(std::string(ValueKindName(Value::Kind::kDict)) == "dict");
  CHECK(std::string(ValueKindName(Value::Kind::kObject)) == "object");
}

TEST_CASE("value: numel and ShapeString for 4-d, 0-d and zero-size tensors") {
  Tensor t;
  t.shape = {64, 3, 3, 3};
  CHECK(t.numel() == 1728);
  CHECK(t.ShapeString() == "[64, 3, 3, 3]");
  Tensor scalar;
  CHECK(scalar.numel() == 1);
  CHECK(scalar.ShapeString() == "[]");
  Tensor empty;
  empty.shape = {0, 5};
  CHECK(empty.numel() == 0);
  CHECK(empty.ShapeString() == "[0, 5]");
}

TEST_CASE("value: Get finds string keys in dicts only") {
  auto dict = std::make_shared<Value>();
  dict->kind = Value::Kind::kDict;
  dict->entries.emplace_back(MakeString("epoch"), MakeInt(7));
  dict->entries.emplace_back(MakeInt(0), MakeInt(1));  // optimizer-style int key
  dict->entries.emplace_back(MakeString("arch"), MakeString("A0"));
  REQUIRE(dict->Get("epoch") != nullptr);
  CHECK(dict->Get("epoch")->int_value == 7);
  CHECK(dict->Get("arch")->string_value == "A0");
  CHECK(dict->Get("0") == nullptr);  // an int key is not the string "0"
  CHECK(dict->Get("missing") == nullptr);

  Value list;
  list.kind = Value::Kind::kList;
  list.items.push_back(MakeString("epoch"));
  CHECK(list.Get("epoch") == nullptr);
}

}  // namespace
}  // namespace rvgg::convert
