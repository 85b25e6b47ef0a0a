// Verification of the model's metadata: preprocessing, labels, provenance,
// and the text rules every string from the file obeys.
#include <cmath>
#include <cstdio>

#include "runtime/src/status.h"
#include "runtime/src/verify.h"

namespace rvgg {

namespace {

rvgg_status CheckFloatVector(const flatbuffers::Vector<float>* v, uint32_t expected,
                             const char* what, bool positive, rvgg_message* message) {
  if (v == nullptr) return RVGG_STATUS_OK;
  if (v->size() != expected) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "preprocessing %s has %u values, the input has %u channels", what, v->size(),
                expected);
  }
  for (uint32_t i = 0; i < v->size(); ++i) {
    const float x = v->Get(i);
    if (!std::isfinite(x) || (positive && !(x > 0.0f))) {
      return Fail(message, RVGG_STATUS_INVALID_MODEL, "preprocessing %s[%u] is %g", what, i,
                  static_cast<double>(x));
    }
  }
  return RVGG_STATUS_OK;
}

}  // namespace

rvgg_status CheckText(const flatbuffers::String* text, const char* what, int64_t index,
                      rvgg_message* message) {
  if (text == nullptr) return RVGG_STATUS_OK;
  for (uint32_t i = 0; i < text->size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(text->Get(i));
    if (c < 0x20 || c == 0x7f) {
      char name[64];
      if (index < 0) {
        std::snprintf(name, sizeof(name), "%s", what);
      } else {
        std::snprintf(name, sizeof(name), "%s %lld", what, static_cast<long long>(index));
      }
      return Fail(message, RVGG_STATUS_INVALID_MODEL,
                  "%s holds control character 0x%02x at byte %u", name, c, i);
    }
  }
  return RVGG_STATUS_OK;
}

rvgg_status VerifyMetadata(const schema::Model& model, uint32_t c, rvgg_message* message) {
  if (const auto* pre = model.preprocessing()) {
    RVGG_RETURN_IF_ERROR(CheckFloatVector(pre->mean(), c, "mean", false, message));
    RVGG_RETURN_IF_ERROR(CheckFloatVector(pre->std(), c, "std", true, message));
    if (const auto* labels = pre->labels()) {
      for (uint32_t i = 0; i < labels->size(); ++i) {
        RVGG_RETURN_IF_ERROR(CheckText(labels->Get(i), "label", i, message));
      }
    }
  }
  if (const schema::Provenance* p = model.provenance()) {
    RVGG_RETURN_IF_ERROR(CheckText(p->source_file(), "provenance source_file", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->source_format(), "provenance source_format", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->architecture(), "provenance architecture", -1, message));
    RVGG_RETURN_IF_ERROR(
        CheckText(p->converter_version(), "provenance converter_version", -1, message));
    RVGG_RETURN_IF_ERROR(CheckText(p->quantization(), "provenance quantization", -1, message));
  }

  return RVGG_STATUS_OK;
}

}  // namespace rvgg
