#!/bin/sh
# tools/run-tests.sh [PRESET...]
#
# Installs what the build needs (Debian packages, only those missing) and runs
# the CMake workflow presets given, by default host, host-asan (AddressSanitizer
# + UBSan), aarch64 (under qemu's cortex-a53: ARMv8.0), aarch64-a76 (the same
# build under qemu's cortex-a76: ARMv8.2 with FP16 arithmetic and the dot
# product) and armv7, then tsan and fuzz: each workflow configures
# build/<preset>, builds it and runs its tests (the ARM ones under qemu-user,
# with the sysroot made from Debian's arm64/armhf packages on the first run).
# "tsan" and "fuzz" are not CMake presets: tsan runs tools/tsan.sh (the
# concurrency tests under ThreadSanitizer), fuzz runs tools/fuzz.sh for
# RVGG_FUZZ_SECONDS (default 120) over the model loader and the checkpoint
# readers. Other presets: host-reference.
#
# Every workflow runs even when an earlier one fails; the exit status is
# non-zero if any failed. After a passing host workflow the cross workflows
# take build/host/bin's rvgg-convert for their golden tests instead of
# building their own host tools (RVGG_HOST_BIN_DIR).
#
# RVGG_SKIP_APT=1 skips the package step (for machines set up by hand).
set -u

cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

presets=${*:-host host-asan aarch64 aarch64-a76 armv7 tsan fuzz}

# Debian packages (only the missing ones; tools/install-deps.sh has the list).
if [ "${RVGG_SKIP_APT:-0}" != 1 ]; then
  mode=host
  case " $presets " in *" aarch64 "* | *" aarch64-a76 "* | *" armv7 "*) mode=all ;; esac
  "$root/tools/install-deps.sh" "$mode" || {
    echo "run-tests: error: could not install the Debian packages the build needs" >&2
    exit 1
  }
fi

passed=0
failed=0
summary=""
for preset in $presets; do
  start=$(date +%s)
  if [ "$preset" = fuzz ]; then
    echo "run-tests: === tools/fuzz.sh ${RVGG_FUZZ_SECONDS:-120}"
    set -- "$root/tools/fuzz.sh" "${RVGG_FUZZ_SECONDS:-120}"
  elif [ "$preset" = tsan ]; then
    echo "run-tests: === tools/tsan.sh"
    set -- "$root/tools/tsan.sh"
  else
    echo "run-tests: === cmake --workflow --preset $preset"
    set -- cmake --workflow --preset "$preset"
  fi
  if "$@"; then
    result=passed
    passed=$((passed + 1))
  else
    result=FAILED
    failed=$((failed + 1))
  fi
  seconds=$(($(date +%s) - start))
  summary="$summary
  $preset: $result in ${seconds}s"
  if [ "$preset" = host ] && [ "$result" = passed ] && [ -x "$root/build/host/bin/rvgg-convert" ]; then
    export RVGG_HOST_BIN_DIR="$root/build/host/bin"
  fi
done

echo "run-tests: summary$summary"
echo "workflows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
