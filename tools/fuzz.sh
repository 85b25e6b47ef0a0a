#!/usr/bin/env bash
# Builds every libFuzzer target (clang, AddressSanitizer + UndefinedBehavior-
# Sanitizer, coverage on the runtime and the checkpoint readers), writes
# seed corpora from real models and checkpoints, and runs each target for its
# share of a time budget. Exits non-zero if any target finds a crash, a
# sanitizer report, a leak or a broken API promise; the input that did it is
# left in BUILD/findings/TARGET/ (replay: BUILD/bin/fuzz_TARGET FILE).
#
#   tools/fuzz.sh [SECONDS]      total fuzzing time, split evenly (default 120)
#
# Environment: RVGG_FUZZ_BUILD_DIR (default build/fuzz), RVGG_FUZZ_TARGETS
# (default "model_load model_spec checkpoint torch_pickle"), RVGG_FUZZ_JOBS (build
# parallelism, default 2), RVGG_TEST_PYTHON (python3 with torch, default
# /usr/bin/python3; without it the checkpoint seeds are skipped).
# Corpora grow in BUILD/corpus/TARGET/ and are reused by later runs.
set -euo pipefail

total=${1:-120}
if ! [[ "$total" =~ ^[0-9]+$ ]] || [ "$total" -lt 1 ]; then
  echo "usage: tools/fuzz.sh [SECONDS]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RVGG_FUZZ_BUILD_DIR:-$root/build/fuzz}
targets=(${RVGG_FUZZ_TARGETS:-model_load model_spec checkpoint torch_pickle})
jobs=${RVGG_FUZZ_JOBS:-2}
python=${RVGG_TEST_PYTHON:-/usr/bin/python3}

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
done

echo "fuzz.sh: building in $build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DRVGG_BUILD_FUZZERS=ON \
  -DRVGG_BUILD_TESTS=OFF -DRVGG_BUILD_EXAMPLES=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; exit 1; }
build_targets=(rvgg-fuzz-model-seeds rvgg-convert)
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j "$jobs" --target "${build_targets[@]}" >"$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log" >&2; exit 1; }

# ---- seeds (regenerated every run; small, nothing committed) ----
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/model_load" "$seeds/model_spec" "$seeds/checkpoint" "$seeds/torch_pickle" "$seeds/work"
printf '\x08\x08\x03\x02\x01\x01\x01\x01\x00\x02' >"$seeds/model_spec/small"
"$build/bin/rvgg-fuzz-model-seeds" "$seeds/model_load"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}  # for the seed tools only
if "$python" -c "import torch" 2>/dev/null; then
  "$python" "$root/tests/converter/checkpoint/make_fixtures.py" "$seeds/work/fixtures" >/dev/null
  "$python" "$root/tests/fuzz/make_seeds.py" "$seeds/work" "$seeds/work/fixtures" >/dev/null
  cp "$seeds/work/fixtures/"*.pth "$seeds/work/fixtures/"*.safetensors "$seeds/checkpoint/"
  cp "$seeds/work/checkpoint/"* "$seeds/checkpoint/"
  cp "$seeds/work/pickle/"* "$seeds/torch_pickle/"
  # A real converted model (tiny custom RepVGG at 8x8), in every load mode.
  "$build/bin/rvgg-convert" "$seeds/work/tiny_repvgg.pth" -o "$seeds/work/tiny.rvgg" \
    --input-size 8 >/dev/null
  for mode in 0 1 2 3 4 5; do
    { printf "\\x0$mode"; cat "$seeds/work/tiny.rvgg"; } >"$seeds/model_load/converted-mode$mode.bin"
  done
else
  echo "fuzz.sh: $python has no torch: checkpoint seeds skipped (targets start from scratch)" >&2
fi
unset ASAN_OPTIONS

# ---- fuzzing ----
share=$(( total / ${#targets[@]} ))
[ "$share" -ge 1 ] || share=1
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  findings=$build/findings/$t
  mkdir -p "$corpus" "$findings"
  echo "fuzz.sh: fuzz_$t for ${share}s ($(ls "$seeds/$t" | wc -l) seeds, $(ls "$corpus" | wc -l) corpus inputs)"
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/bin/fuzz_$t" -max_total_time="$share" -timeout=30 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$corpus" "$seeds/$t" >"$build/fuzz_$t.log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz_$t.log" | grep -o '[0-9]*$' || true)
  if [ "$rc" -ne 0 ]; then
    status=1
    summary+=("fuzz_$t: FOUND A PROBLEM (exit $rc); log $build/fuzz_$t.log, input in $findings/")
    grep -E "ERROR|SUMMARY|broken promise|runtime error" "$build/fuzz_$t.log" | head -5 >&2 || true
  else
    summary+=("fuzz_$t: ${runs:-?} inputs, no findings")
  fi
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
exit $status
