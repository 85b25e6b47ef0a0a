#!/bin/sh
# make-sysroot.sh ARCH DEST
#
# Builds the target-library sysroot a cross build links against, from
# Debian's own packages for ARCH (arm64 | armhf; aarch64 and armv7 are
# accepted as aliases): XNNPACK, pthreadpool, cpuinfo, FlatBuffers, doctest
# and stb, extracted (dpkg-deb -x) into DEST. libc, libstdc++ and libgcc come
# from the Debian cross toolchain (/usr/<triplet>), not from here.
#
# Nothing on the machine changes: apt runs with a private state and cache
# under DEST (the system's sources list and keys, ARCH as the only
# architecture), so no `dpkg --add-architecture`, no root and no dpkg lock
# are needed, and a foreign libxnnpack-dev never collides with the host's.
#
# Idempotent: when DEST/.rvgg-sysroot records the same ARCH and package list,
# it returns at once without touching the network. The tree is assembled in
# DEST.partial and moved into place only when complete and checked, so an
# interrupted run leaves no half-built sysroot behind.
set -eu

usage() {
  echo "usage: $0 ARCH DEST   (ARCH: arm64|aarch64 or armhf|armv7)" >&2
  exit 2
}
die() {
  echo "make-sysroot: error: $*" >&2
  exit 1
}

[ $# -eq 2 ] || usage
case "$1" in
  arm64 | aarch64) arch=arm64 triplet=aarch64-linux-gnu ;;
  armhf | armv7 | arm) arch=armhf triplet=arm-linux-gnueabihf ;;
  *) usage ;;
esac
case "$2" in
  /*) dest=$2 ;;
  *) dest=$(pwd)/$2 ;;
esac

# The packages, resolved by hand: Debian's -dev packages do not pull the
# runtime libraries' siblings (libxnnpack-dev needs neither libpthreadpool-dev
# nor libcpuinfo-dev), so every package is named here and the shared-library
# closure is checked below instead of trusted.
#   libxnnpack-dev libxnnpack0          xnnpack.h, libXNNPACK.so
#   libpthreadpool-dev libpthreadpool0  XNNPACK's thread pool (NEEDED by it)
#   libcpuinfo-dev libcpuinfo0          ISA detection (NEEDED by XNNPACK, used by rvgg_kernel_isa)
#   libflatbuffers-dev                  flatbuffers/*.h (the runtime uses them header-only)
#   libflatbuffers2                     what libflatbuffers-dev's .so symlink points to
#   flatbuffers-compiler-dev            FlatBuffersConfig.cmake includes its FlatcTargets.cmake
#   doctest-dev                         the test framework (header + CMake config)
#   libstb-dev libstb0                  image decoding for the classifier example
packages="libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo-dev libcpuinfo0 \
libflatbuffers-dev libflatbuffers2 flatbuffers-compiler-dev doctest-dev libstb-dev libstb0"
# Bump when the layout or the fix-ups below change, to rebuild old sysroots.
format=1
wanted="format=$format arch=$arch packages=$packages"

stamp=$dest/.rvgg-sysroot
if [ -f "$stamp" ] && [ "$(sed -n 1p "$stamp")" = "$wanted" ]; then
  echo "make-sysroot: $dest is up to date ($arch)"
  exit 0
fi

for tool in apt-get dpkg-deb readelf; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (Debian: apt, dpkg, binutils)"
done
toolchain_lib=/usr/$triplet/lib
[ -f "$toolchain_lib/libc.so.6" ] ||
  die "no $triplet C library in $toolchain_lib (install g++-$triplet: apt-get install g++-$triplet)"

echo "make-sysroot: building $dest for $arch"
work=$dest.partial
rm -rf "$work"
mkdir -p "$work/.apt/lists/partial" "$work/.apt/cache/archives/partial" "$work/.apt/debs"
: >"$work/.apt/status"
apt_opts="-q -o Dir::State::Lists=$work/.apt/lists -o Dir::State::status=$work/.apt/status \
-o Dir::Cache=$work/.apt/cache -o APT::Architecture=$arch -o APT::Architectures::=$arch \
-o Debug::NoLocking=1 -o APT::Sandbox::User=$(id -un)"

# A mirror caught mid-sync fails one index now and then: try again before
# going on. If an index stays missing, the download below says which package
# could not be found.
tries=0
# shellcheck disable=SC2086  # apt_opts is a list of words
until apt-get $apt_opts update >"$work/.apt/update.log" 2>&1 && ! grep -q '^[WE]:' "$work/.apt/update.log"; do
  tries=$((tries + 1))
  if [ $tries -ge 3 ]; then
    grep '^[WE]:' "$work/.apt/update.log" >&2 || cat "$work/.apt/update.log" >&2
    echo "make-sysroot: warning: apt-get update for $arch was not clean after $tries tries; going on" >&2
    break
  fi
  sleep 5
done
# Downloads hit the same mirror hiccups (a 404 or a hash mismatch while it
# syncs): three tries, then give up with apt's own messages.
tries=0
# shellcheck disable=SC2086
until (cd "$work/.apt/debs" && apt-get $apt_opts download $packages) >"$work/.apt/download.log" 2>&1; do
  tries=$((tries + 1))
  if [ $tries -ge 3 ]; then
    cat "$work/.apt/download.log" >&2
    die "apt-get download of the $arch packages failed $tries times (see the log above)"
  fi
  echo "make-sysroot: apt-get download for $arch failed; trying again" >&2
  sleep 5
done

versions=""
for deb in "$work"/.apt/debs/*.deb; do
  dpkg-deb -x "$deb" "$work"
  versions="$versions $(dpkg-deb -f "$deb" Package):$(dpkg-deb -f "$deb" Architecture)=$(dpkg-deb -f "$deb" Version)"
done
rm -rf "$work/.apt" "$work/usr/share/doc" "$work/usr/share/lintian"

# Absolute symlinks (none today) would point into the host: make them relative.
find "$work" -type l | while read -r link; do
  target=$(readlink "$link")
  case "$target" in
    /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$work$target")" "$link" ;;
  esac
done

# What the build needs must be there.
libdir=$work/usr/lib/$triplet
for f in usr/include/xnnpack.h usr/include/pthreadpool.h usr/include/cpuinfo.h \
  usr/include/flatbuffers/flatbuffers.h usr/include/doctest/doctest.h usr/include/stb/stb_image.h \
  usr/lib/$triplet/libXNNPACK.so usr/lib/$triplet/libpthreadpool.so usr/lib/$triplet/libcpuinfo.so; do
  [ -e "$work/$f" ] || die "$f is missing after extracting$versions"
done

# Every shared library's NEEDED entries must resolve inside the sysroot or the
# cross toolchain: a missing one would only show up as a loader error under
# qemu (or on the device).
missing=""
for so in "$libdir"/*.so.*; do
  [ -f "$so" ] && [ ! -L "$so" ] || continue
  machine=$(readelf -h "$so" | sed -n 's/^ *Machine: *//p')
  case "$arch:$machine" in
    arm64:AArch64 | armhf:ARM) ;;
    *) die "$(basename "$so") is built for '$machine', not $arch" ;;
  esac
  for needed in $(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -e "$libdir/$needed" ] || [ -e "$toolchain_lib/$needed" ] || missing="$missing $(basename "$so")->$needed"
  done
done
[ -z "$missing" ] || die "unresolved shared libraries:$missing (add their packages to make-sysroot.sh)"

printf '%s\n%s\n' "$wanted" "versions:$versions" >"$work/.rvgg-sysroot"
rm -rf "$dest"
mv "$work" "$dest"
echo "make-sysroot: $dest ready:$versions"
