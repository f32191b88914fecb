#!/usr/bin/env bash
# Bounded fuzzing of the safetensors header parser (20 s) through scripts/fuzz_safetensors.sh: libFuzzer + ASan +
# UBSan over tests/fuzz/fuzz_safetensors.cpp, seeded by the unit test SafetensorsSeeds.WriteFuzzCorpus.
# usage: fuzz_safetensors.sh R1_BINARY SCRATCH_DIR   (the scratch dir keeps objects and corpus)
# Skips (exit 77 = ctest "Skipped", with the reason) when clang++ or its libFuzzer runtime is missing.
set -euo pipefail
R1="$1"
WORK="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/tests/cli/lib/fuzz_prelude.sh"
UNIT="$(dirname "$R1")/r1_unit_tests"
[ -x "$UNIT" ] || UNIT=""
exec bash "$ROOT/scripts/fuzz_safetensors.sh" 20 "$WORK" $UNIT
