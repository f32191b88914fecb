#!/usr/bin/env bash
# Builds the verifier fuzz target (tests/fuzz/fuzz_verifier.cpp) with clang's libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer and runs it for a bounded time (the pattern
# of scripts/fuzz_gguf.sh).
#
# usage: scripts/fuzz_verifier.sh [SECONDS=60] [WORK_DIR=build-fuzz-verifier]
#   WORK_DIR keeps objects (rebuilt when a source is newer), the corpus and crash artifacts
#   (WORK_DIR/crashes/). Seeds: tests/fuzz/verifier_seeds/ (hand-written hostile outputs).
# Exit status: 0 = no finding, 2 = clang missing, anything else = build failure or finding.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-60}"
WORK="${2:-$ROOT/build-fuzz-verifier}"

CXX="$(command -v clang++ || command -v clang++-14 || true)"
if [ -z "$CXX" ]; then
  echo "fuzz_verifier: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
  exit 2
fi
mkdir -p "$WORK/obj" "$WORK/corpus" "$WORK/crashes"
WORK="$(cd "$WORK" && pwd)"

# Everything the verifiers run is instrumented (coverage + ASan + UBSan); none of it needs
# the project's ISA-specific kernels, so one compiler builds all of it.
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
BASE=(-std=c++20 -g -O1 -fno-omit-frame-pointer -I"$ROOT/src")
OBJS=()
for src in "$ROOT"/src/rl/verify.cpp "$ROOT"/src/rl/countdown.cpp "$ROOT"/src/rl/rational.cpp \
           "$ROOT"/src/rl/tasks.cpp "$ROOT"/src/train/synthetic.cpp "$ROOT"/src/tokenizer/byte_tokenizer.cpp; do
  obj="$WORK/obj/$(basename "$src" .cpp).fuzz.o"
  OBJS+=("$obj")
  newer=0
  for h in "$ROOT"/src/rl/{task,tasks,verify,countdown,rational}.h "$ROOT"/src/train/synthetic.h \
           "$ROOT"/src/tokenizer/byte_tokenizer.h "$ROOT"/src/core/error.h; do [ "$h" -nt "$obj" ] && newer=1; done
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newer" = 1 ]; then
    echo "fuzz_verifier: compiling ${src#$ROOT/}"
    "$CXX" "${BASE[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
done
echo "fuzz_verifier: linking $WORK/fuzz_verifier"
"$CXX" "${BASE[@]}" "${SAN[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/fuzz_verifier.cpp" "${OBJS[@]}" \
  -o "$WORK/fuzz_verifier"

SEEDS="$ROOT/tests/fuzz/verifier_seeds"
echo "fuzz_verifier: fuzzing for ${SECS}s ($(ls "$SEEDS" | wc -l) seeds, $(ls "$WORK/corpus" | wc -l) corpus files)"
status=0
"$WORK/fuzz_verifier" "$WORK/corpus" "$SEEDS" -max_total_time="$SECS" -max_len=4096 \
  -timeout=5 -rss_limit_mb=2048 -dict="$ROOT/tests/fuzz/verifier.dict" \
  -artifact_prefix="$WORK/crashes/" -print_final_stats=1 > "$WORK/fuzz.log" 2>&1 || status=$?
grep -v "# Uses: " "$WORK/fuzz.log" | tail -n 30 || true
if [ "$status" -ne 0 ]; then
  echo "fuzz_verifier: FINDING (exit $status); reproduce with: $WORK/fuzz_verifier $WORK/crashes/<file>"
  exit "$status"
fi
echo "fuzz_verifier: no findings in ${SECS}s"
