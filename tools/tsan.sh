#!/usr/bin/env bash
# Builds the runtime and its concurrency tests with ThreadSanitizer (clang)
# in build/tsan and runs them: several models loaded, run and freed at once
# from different threads, in heap and caller memory, both backends; one
# model and single layers on pools of 2 to 4 threads (the Winograd kernel's
# tile-blocked pass and its three passes, the GEMM direct convolution).
# XNNPACK, pthreadpool and cpuinfo come from Debian uninstrumented, so races
# inside them are out of sight; rvgg, its allocator routing and the tests
# are instrumented.
#
#   tools/tsan.sh           (environment: RVGG_TSAN_BUILD_DIR, RVGG_TSAN_JOBS)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RVGG_TSAN_BUILD_DIR:-$root/build/tsan}
mkdir -p "$(dirname "$build")"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS=-fsanitize=thread -DCMAKE_CXX_FLAGS=-fsanitize=thread \
  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
  -DRVGG_BUILD_CONVERTER=OFF -DRVGG_BUILD_EXAMPLES=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }
tests=(runtime_threads_test runtime_caller_memory_test runtime_api_test runtime_winograd_test
       runtime_gemm_conv_test)
cmake --build "$build" -j "${RVGG_TSAN_JOBS:-2}" --target "${tests[@]}" >"$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log" >&2; exit 1; }
export TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}"
for t in "${tests[@]}"; do
  "$build/bin/$t" >"$build/$t.log" 2>&1 || { tail -60 "$build/$t.log" >&2; echo "tsan.sh: $t FAILED" >&2; exit 1; }
  echo "tsan.sh: $t passed under ThreadSanitizer"
done
