#!/bin/sh
# Installs rvgg's build and test dependencies from Debian 12 when missing.
# Usage: tools/install-deps.sh [host|all]   (all: also the ARM cross tools)
set -eu

host_packages="cmake ninja-build g++ pkg-config
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libflatbuffers-dev flatbuffers-compiler
  doctest-dev libstb-dev nlohmann-json3-dev libzip-dev
  python3-torch python3-numpy python3-onnx python3-matplotlib dataset-fashion-mnist
  clang libclang-rt-14-dev"
cross_packages="qemu-user g++-aarch64-linux-gnu g++-arm-linux-gnueabihf binutils"

want="$host_packages"
if [ "${1:-host}" = "all" ]; then
  want="$want $cross_packages"
fi

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  exit 0
fi

echo "install-deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: error: root is needed to install:$missing" >&2
    exit 1
  fi
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
