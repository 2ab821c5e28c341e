#!/usr/bin/env bash
# Every test: install dependencies, build, run the unit and end-to-end tests (CTest), then
# build the libFuzzer targets with ASan/UBSan, replay fuzz/regressions/ and the seed corpus,
# and fuzz each target briefly (FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j"$jobs"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
