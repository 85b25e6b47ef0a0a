// Verification of everything before the layers: the buffer itself, its
// FlatBuffers structure, the schema version, the input shape and the layer
// count. Built for size (runtime/CMakeLists.txt): most of it is the
// FlatBuffers verifier, run once per load.
#include "runtime/src/status.h"
#include "runtime/src/verify.h"

namespace rvgg {

rvgg_status VerifyHeader(const void* data, size_t size, const schema::Model** out,
                         rvgg_message* message) {
  *out = nullptr;
  if (data == nullptr) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT, "model buffer is NULL");
  }
  // FlatBuffers checks field alignment relative to the buffer start and then
  // reads scalars in place: the buffer must be aligned for the widest one
  // (Model.arena_bytes, 8 bytes), or reading it is a misaligned load.
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    return Fail(message, RVGG_STATUS_INVALID_ARGUMENT,
                "model buffer must be at least 8-byte aligned (64 recommended)");
  }
  if (size < 8) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "model is %zu bytes, too small to be an rvgg model", size);
  }
  if (size > kMaxModelBytes) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model is %zu bytes, over the 2 GiB limit",
                size);
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (!schema::ModelBufferHasIdentifier(bytes)) {
    char id[5];
    for (int i = 0; i < 4; ++i) {
      const char c = static_cast<char>(bytes[4 + i]);
      id[i] = (c >= 32 && c < 127) ? c : '?';
    }
    id[4] = '\0';
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "not an rvgg model (file identifier '%s', expected 'RVGG')", id);
  }
  flatbuffers::Verifier::Options options;
  options.max_depth = 16;
  options.max_tables = 64 * kMaxLayers;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(bytes, size, options);
  if (!schema::VerifyModelBuffer(verifier)) {
    return Fail(
        message, RVGG_STATUS_INVALID_MODEL,
        "model structure is corrupt (FlatBuffers verification failed; truncated or damaged file?)");
  }
  const schema::Model* model = schema::GetModel(bytes);

  if (model->schema_version() == 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "schema_version is missing");
  }
  if (model->schema_version() > RVGG_SCHEMA_VERSION) {
    return Fail(message, RVGG_STATUS_UNSUPPORTED,
                "model schema version %u is newer than this runtime's %u; update rvgg",
                model->schema_version(), RVGG_SCHEMA_VERSION);
  }
  const uint32_t h = model->input_height(), w = model->input_width(), c = model->input_channels();
  if (h == 0 || w == 0 || c == 0 || h > kMaxSpatial || w > kMaxSpatial || c > kMaxChannels) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "input shape %ux%ux%u is outside the limits (1..%u spatial, 1..%u channels)", h, w,
                c, kMaxSpatial, kMaxChannels);
  }
  if (uint64_t{h} * w * c > kMaxActivationElements) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL,
                "input %ux%ux%u exceeds the activation limit of %llu elements", h, w, c,
                static_cast<unsigned long long>(kMaxActivationElements));
  }
  const auto* layers = model->layers();
  if (layers == nullptr || layers->size() == 0) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has no layers");
  }
  if (layers->size() > kMaxLayers) {
    return Fail(message, RVGG_STATUS_INVALID_MODEL, "model has %u layers, the limit is %u",
                layers->size(), kMaxLayers);
  }
  *out = model;
  return RVGG_STATUS_OK;
}

}  // namespace rvgg
