#!/usr/bin/env bash
# Builds every fuzz/<name>_fuzz.cc with clang, libFuzzer, ASan and UBSan into build-fuzz/,
# replays fuzz/regressions/<name>/ and fuzz/corpus/<name>/ (any crash fails), then fuzzes each
# target for SECONDS (argument 1, default 20; 0 skips fuzzing and only replays).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
jobs=$(nproc 2>/dev/null || echo 2)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBW_BUILD_FUZZ=ON -DBW_BUILD_TESTS=OFF -DBW_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for src in fuzz/*_fuzz.cc; do
  name=$(basename "$src" .cc)
  bin=build-fuzz/fuzz/$name
  short=${name%_fuzz}
  inputs=()
  for d in fuzz/regressions/$short fuzz/corpus/$short; do
    [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && inputs+=("$d")
  done
  if ((${#inputs[@]})); then
    echo "fuzz: replaying ${inputs[*]} through $name"
    "$bin" -runs=0 "${inputs[@]}" >/tmp/bw-fuzz-$name.log 2>&1 || { cat /tmp/bw-fuzz-$name.log; status=1; }
  fi
  if [ "$seconds" -gt 0 ]; then
    work=$(mktemp -d)
    echo "fuzz: $name for ${seconds}s"
    "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -artifact_prefix="$work/" \
      "$work" "${inputs[@]}" >/tmp/bw-fuzz-$name.log 2>&1 || {
        tail -40 /tmp/bw-fuzz-$name.log; echo "fuzz: $name found a crash: $(ls "$work"/crash-* 2>/dev/null)"; status=1; }
    rm -rf "$work"
  fi
done
[ $status -eq 0 ] && echo "fuzz: all targets clean"
exit $status
