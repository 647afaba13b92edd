#!/usr/bin/env bash
# Installs what is missing, builds the normal and the sanitizer (ASan+UBSan)
# configurations with warnings as errors, and runs every test in both.
#   scripts/test.sh            both builds
#   MDC_TEST_BUILDS=default scripts/test.sh   one build only (default | asan)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

builds=${MDC_TEST_BUILDS:-"default asan"}
jobs=$(nproc)
for preset in $builds; do
  echo "== build: $preset"
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== test: $preset"
  # Sanitizer runtime options for the asan build: abort on the first report.
  ASAN_OPTIONS=${ASAN_OPTIONS:-"detect_leaks=1:abort_on_error=1"} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-"print_stacktrace=1:halt_on_error=1"} \
  LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$PWD/tests/lsan.supp"} \
    ctest --preset "$preset" -j "$jobs"
done
echo "== all tests passed in: $builds"
