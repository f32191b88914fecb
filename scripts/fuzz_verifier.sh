#!/usr/bin/env bash
# Builds the verifier fuzz target (tests/fuzz/fuzz_verifier.cpp) with clang's libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer and runs it for a bounded time.
#
# usage: scripts/fuzz_verifier.sh [SECONDS=60] [WORK_DIR=build-fuzz-verifier]
#   WORK_DIR keeps objects (rebuilt when a source is newer), the corpus and crash artifacts
#   (WORK_DIR/crashes/). Seeds: tests/fuzz/verifier_seeds/ (hand-written hostile outputs).
# Needs clang++ with the libFuzzer runtime (Debian: clang-14 libclang-rt-14-dev).
# Exit status: 0 = no finding, 2 = clang missing, anything else = build failure or finding.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/fuzz_target.sh"
NAME=fuzz_verifier
SECS="${1:-60}"
WORK="${2:-$ROOT/build-fuzz-verifier}"
UNIT=""
# Everything the verifiers run is instrumented; none of it needs the ISA-specific kernels.
UNDER_TEST=("$ROOT"/src/rl/verify.cpp "$ROOT"/src/rl/countdown.cpp "$ROOT"/src/rl/rational.cpp
            "$ROOT"/src/rl/tasks.cpp "$ROOT"/src/train/synthetic.cpp
            "$ROOT"/src/tokenizer/byte_tokenizer.cpp)
HEADERS=("$ROOT"/src/rl/{task,tasks,verify,countdown,rational}.h "$ROOT"/src/train/synthetic.h
         "$ROOT"/src/tokenizer/byte_tokenizer.h "$ROOT"/src/core/error.h)
DEPS=()
SEEDS="$ROOT/tests/fuzz/verifier_seeds"
SEED_TEST=""
FUZZ_FLAGS=(-max_len=4096 -timeout=5 -rss_limit_mb=2048 -dict="$ROOT/tests/fuzz/verifier.dict")
fuzz_main
