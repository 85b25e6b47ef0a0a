// Fuzz target: bytes -> ReadCheckpointBytes (torch.save zip, safetensors, and
// everything the format detection refuses). The reader may refuse an input
// only with ConvertError; any other exception escapes and aborts, which
// libFuzzer reports like a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "converter/src/checkpoint/value.h"
#include "converter/src/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const rvgg::convert::Checkpoint checkpoint =
        rvgg::convert::ReadCheckpointBytes(data, size, "fuzz");
    if (checkpoint.root == nullptr) std::abort();
  } catch (const rvgg::convert::ConvertError& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) {
      std::fprintf(stderr, "fuzz_checkpoint: message spans lines: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
