#!/usr/bin/env bash
# Builds the GGUF reader fuzz target (tests/fuzz/fuzz_gguf.cpp) with clang's libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer and runs it for a bounded time.
#
# usage: scripts/fuzz_gguf.sh [SECONDS=60] [WORK_DIR=build-fuzz-gguf] [R1_UNIT_TESTS]
#   WORK_DIR keeps objects (rebuilt only when a source is newer), the growing corpus and any
#   crash artifacts (WORK_DIR/crashes/). Seeds: small valid files written by the unit test
#   GgufSeeds.WriteFuzzCorpus, run from R1_UNIT_TESTS (default: the newest
#   build*/bin/r1_unit_tests); without one the fuzzer starts from the dictionary alone.
# Needs clang++ with the libFuzzer runtime (Debian: clang-14 libclang-rt-14-dev) and libomp.
# Exit status: 0 = no finding, 2 = clang missing, anything else = build failure or finding.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib/fuzz_target.sh"
NAME=fuzz_gguf
SECS="${1:-60}"
WORK="${2:-$ROOT/build-fuzz-gguf}"
UNIT="${3:-}"
UNDER_TEST=("$ROOT"/src/io/gguf.cpp "$ROOT"/src/io/gguf_writer.cpp)
HEADERS=("$ROOT"/src/io/gguf.h "$ROOT"/src/core/dtype.h)
DEPS=("$ROOT"/src/core/*.cpp "$ROOT"/src/backend/cpu/convert_*.cpp)
SEEDS="$WORK/seeds"
SEED_TEST="R1_GGUF_SEED_DIR GgufSeeds.*"
# malloc_limit: the reader must never ask for far more than the input size.
FUZZ_FLAGS=(-max_len=16384 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256
            -dict="$ROOT/tests/fuzz/gguf.dict")
fuzz_main
