#!/usr/bin/env bash
# Bounded fuzzing of the rule-based verifiers (20 s) through scripts/fuzz_verifier.sh:
# libFuzzer + ASan + UBSan over tests/fuzz/fuzz_verifier.cpp.
# usage: fuzz_verifier.sh R1_BINARY SCRATCH_DIR   (the scratch dir keeps objects and corpus)
# Skips (exit 77 = ctest "Skipped", with the reason) when clang++ or its libFuzzer runtime is missing.
set -euo pipefail
WORK="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/tests/cli/lib/fuzz_prelude.sh"
exec bash "$ROOT/scripts/fuzz_verifier.sh" 20 "$WORK"
