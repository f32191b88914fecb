#!/usr/bin/env bash
# Bounded fuzzing of the safetensors header parser (20 s) through scripts/fuzz_safetensors.sh: libFuzzer + ASan +
# UBSan over tests/fuzz/fuzz_safetensors.cpp, seeded by the unit test SafetensorsSeeds.WriteFuzzCorpus.
# usage: fuzz_safetensors.sh R1_BINARY SCRATCH_DIR   (the scratch dir keeps objects and corpus)
# Skips (exit 77 = ctest "Skipped", with the reason) when clang++ or its libFuzzer runtime is missing.
set -euo pipefail
R1="$1"
WORK="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CXX="$(command -v clang++ || command -v clang++-14 || true)"
if [ -z "$CXX" ]; then
  echo "SKIP: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$WORK"
probe="$WORK/probe"
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
     | "$CXX" -fsanitize=fuzzer,address,undefined -x c++ - -o "$probe" 2>"$WORK/probe.log"; then
  echo "SKIP: $CXX cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev):"
  head -3 "$WORK/probe.log"
  exit 77
fi
UNIT="$(dirname "$R1")/r1_unit_tests"
[ -x "$UNIT" ] || UNIT=""
exec bash "$ROOT/scripts/fuzz_safetensors.sh" 20 "$WORK" $UNIT
