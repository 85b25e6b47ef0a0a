#!/bin/sh
# tools/run-tests.sh [PRESET...]
#
# Installs what the build needs (Debian packages, only those missing) and runs
# the CMake workflow presets given, by default host, aarch64 and armv7: each
# configures build/<preset>, builds it and runs its tests (the ARM ones under
# qemu-user, with the sysroot made from Debian's arm64/armhf packages on the
# first run). Other presets: host-asan, host-reference.
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

presets=${*:-host aarch64 armv7}

# Debian packages by purpose; the cross ones only when a cross preset runs.
packages_build="cmake ninja-build g++ python3 flatbuffers-compiler libflatbuffers-dev doctest-dev \
libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libstb-dev"
# The converter's checkpoint readers and the PyTorch goldens (adjust to what
# converter/src/checkpoint links when it lands).
packages_host="nlohmann-json3-dev libzip-dev python3-numpy python3-torch"
packages_cross="g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user binutils dpkg apt"

wanted=$packages_build
case " $presets " in *" host "* | *" host-asan "* | *" host-reference "*) wanted="$wanted $packages_host" ;; esac
case " $presets " in *" aarch64 "* | *" armv7 "*) wanted="$wanted $packages_cross" ;; esac

if [ "${RVGG_SKIP_APT:-0}" != 1 ]; then
  missing=""
  for p in $wanted; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "run-tests: installing:$missing"
    if [ "$(id -u)" != 0 ]; then
      echo "run-tests: error: root is needed to install them (or install them and set RVGG_SKIP_APT=1)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get update -q && apt-get install -y -q --no-install-recommends $missing || {
      echo "run-tests: error: apt-get could not install:$missing" >&2
      exit 1
    }
  fi
fi

passed=0
failed=0
summary=""
for preset in $presets; do
  start=$(date +%s)
  echo "run-tests: === cmake --workflow --preset $preset"
  if cmake --workflow --preset "$preset"; then
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
