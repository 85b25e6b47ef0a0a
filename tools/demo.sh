#!/bin/sh
# The rvgg demo: Fashion-MNIST test images classified on this machine by the
# small RepVGG the project trained (examples/fashion_mnist/), through
# rvgg-convert and rvgg-classify.
#
#   tools/demo.sh [COUNT]      COUNT test images, default 10 (one per class)
#
#   1. installs what is missing from Debian 12 (tools/install-deps.sh; uses
#      sudo when not root),
#   2. configures the host preset and builds only rvgg-convert and
#      rvgg-classify,
#   3. converts examples/fashion_mnist/repvgg_fashion_mnist.pth with the mean,
#      std and labels it was trained with,
#   4. writes COUNT test images as PNG files,
#   5. classifies them and prints each next to its true label.
# Everything goes to build/host/ (the demo's files to build/host/demo/); a
# rerun redoes only what changed and takes a few seconds.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
count=${1:-10}
case $count in
  '' | *[!0-9]*) echo "usage: tools/demo.sh [COUNT]" >&2; exit 2 ;;
esac
python=/usr/bin/python3  # Debian's, whatever python3 comes first on PATH
fm=examples/fashion_mnist
bin=build/host/bin
out=build/host/demo
log=build/host/demo.log

step() { printf '==> %s\n' "$*"; }
# True when file $1 is newer than file $2 (POSIX sh has no test -nt).
newer() { [ -n "$(find "$1" -prune -newer "$2")" ]; }
# Runs a command quietly; shows its output only when it fails.
quiet() {
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "tools/demo.sh: failed: $*" >&2
    exit 1
  fi
}

tools/install-deps.sh host

mkdir -p build/host
if [ ! -f build/host/CMakeCache.txt ]; then
  step "configuring the host build (cmake --preset host)"
  quiet cmake --preset host
fi
step "building rvgg-convert and rvgg-classify (build/host/bin)"
quiet cmake --build --preset host --target rvgg-convert rvgg-classify

mkdir -p "$out"
model=$out/fashion_mnist.rvgg
stale=no
for input in "$fm/repvgg_fashion_mnist.pth" "$fm/labels.txt" "$fm/normalization.json" "$bin/rvgg-convert"; do
  if [ ! -f "$model" ] || newer "$input" "$model"; then stale=yes; fi
done
if [ $stale = yes ]; then
  # "0.286" or "0.485,0.456,0.406": what --mean / --std take.
  mean=$($python -c 'import json, sys; print(",".join(map(str, json.load(open(sys.argv[1]))["mean"])))' \
    "$fm/normalization.json")
  std=$($python -c 'import json, sys; print(",".join(map(str, json.load(open(sys.argv[1]))["std"])))' \
    "$fm/normalization.json")
  step "converting $fm/repvgg_fashion_mnist.pth -> $model"
  quiet "$bin/rvgg-convert" "$fm/repvgg_fashion_mnist.pth" -o "$model" --input-size 28 \
    --mean "$mean" --std "$std" --labels "$fm/labels.txt"
fi

images=$out/images
if [ ! -f "$images/truth.tsv" ] || [ "$(wc -l <"$images/truth.tsv")" -ne "$count" ]; then
  step "writing $count Fashion-MNIST test images to $images"
  rm -rf "$images"
  quiet $python "$fm/export_images.py" --out "$images" --count "$count"
fi

files=$(cut -f1 "$images/truth.tsv" | sed "s|^|$images/|")
step "$bin/rvgg-classify $model $images/test_*.png"
status=0
# shellcheck disable=SC2086  # the file names are ours: no spaces
"$bin/rvgg-classify" "$model" $files >"$out/results.tsv" || status=$?
echo
awk -F'\t' -v dir="$images/" '
  NR == FNR { truth[dir $1] = $2; next }
  FNR == 1 { printf "%-16s %-12s %-12s %-11s\n", "image", "true label", "predicted", "probability" }
  {
    n++
    if ($2 ~ /^error: /) { printf "%-16s %-12s %s\n", substr($1, length(dir) + 1), truth[$1], $2; next }
    ok = ($2 == truth[$1]); right += ok
    printf "%-16s %-12s %-12s %-11s %s\n", substr($1, length(dir) + 1), truth[$1], $2, $3, ok ? "✓" : "✗"
  }
  END { printf "\n%d of %d correct\n", right, n }
' "$images/truth.tsv" "$out/results.tsv"
exit $status
