#!/usr/bin/env bash
# Every test: install dependencies, build, run the unit and end-to-end tests (CTest), then
# build the libFuzzer targets with ASan/UBSan, replay fuzz/regressions/ and the seed corpus,
# and fuzz each target briefly (FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
log=$(mktemp)
ctest --test-dir build --output-on-failure -j"$jobs" | tee "$log"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
# One closing line for people and CI: the CTest totals (fuzzing failed above if it found anything).
summary=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
total=$(echo "$summary" | sed -E 's/.* out of ([0-9]+).*/\1/')
failed=$(echo "$summary" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
rm -f "$log"
echo "tests: $((total - failed)) passed, $failed failed"
