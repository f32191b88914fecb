#!/usr/bin/env bash
# Builds the safetensors header parser fuzz target (tests/fuzz/fuzz_safetensors.cpp) with clang's libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer and runs it for a bounded time.
#
# usage: scripts/fuzz_safetensors.sh [SECONDS=60] [WORK_DIR=build-fuzz-safetensors] [R1_UNIT_TESTS]
#   WORK_DIR keeps objects (rebuilt only when a source is newer), the growing corpus and any
#   crash artifacts (WORK_DIR/crashes/). Seeds: small valid files written by the unit test
#   SafetensorsSeeds.WriteFuzzCorpus, run from R1_UNIT_TESTS (default: the newest
#   build*/bin/r1_unit_tests); without one the fuzzer starts from the dictionary alone.
# Needs clang++ with the libFuzzer runtime (Debian: clang-14 libclang-rt-14-dev) and libomp.
# Exit status: 0 = no finding, 2 = clang missing, anything else = build failure or finding.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-60}"
WORK="${2:-$ROOT/build-fuzz-safetensors}"
UNIT="${3:-}"

CXX="$(command -v clang++ || command -v clang++-14 || true)"
if [ -z "$CXX" ]; then
  echo "fuzz_safetensors: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
  exit 2
fi
mkdir -p "$WORK/obj" "$WORK/corpus" "$WORK/seeds" "$WORK/crashes"
WORK="$(cd "$WORK" && pwd)"

# The code under test (the safetensors reader) is built by clang with coverage (fuzzer-no-link),
# ASan and UBSan. What it links against - core (errors, dtype sizes, cpu, threads) and the
# f16/bf16 row kernels dtype.cpp dispatches to - is built uninstrumented by the project's own
# compiler (g++; clang-14 rejects __builtin_cpu_supports("avxvnni") in core/cpu.cpp), falling
# back to clang++ where g++ is absent. ASan works across the mix; only our code is checked.
DEPCXX="$(command -v g++ || echo "$CXX")"
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
BASE=(-std=c++20 -g -O1 -fno-omit-frame-pointer -I"$ROOT/src")
OBJS=()
build() {  # build COMPILER OBJ SRC FLAGS...
  local cc="$1" obj="$2" src="$3"; shift 3
  OBJS+=("$obj")
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$ROOT/src/io/safetensors.h" -nt "$obj" ] \
     || [ "$ROOT/src/core/dtype.h" -nt "$obj" ]; then
    echo "fuzz_safetensors: compiling ${src#$ROOT/}"
    "$cc" "${BASE[@]}" "$@" -c "$src" -o "$obj"
  fi
}
for src in "$ROOT"/src/io/safetensors.cpp; do
  build "$CXX" "$WORK/obj/$(basename "$src" .cpp).fuzz.o" "$src" "${SAN[@]}" -fsanitize=fuzzer-no-link
done
for src in "$ROOT"/src/core/*.cpp "$ROOT"/src/backend/cpu/convert_*.cpp; do
  extra=()
  case "$src" in
    *_avx512.cpp) extra=(-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16) ;;
    *_avx2.cpp) extra=(-mavx2 -mfma -mf16c) ;;
  esac
  build "$DEPCXX" "$WORK/obj/$(echo "${src#$ROOT/src/}" | tr / _ | sed 's/\.cpp$//').o" "$src" \
    -O2 -fopenmp "${extra[@]}"
done
echo "fuzz_safetensors: linking $WORK/fuzz_safetensors"
"$CXX" "${BASE[@]}" "${SAN[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/fuzz_safetensors.cpp" "${OBJS[@]}" \
  -lgomp -lpthread -o "$WORK/fuzz_safetensors"

if [ -z "$UNIT" ]; then
  UNIT="$(ls -t "$ROOT"/build*/bin/r1_unit_tests 2>/dev/null | head -1 || true)"
fi
if [ -n "$UNIT" ] && [ -x "$UNIT" ]; then
  R1_SAFETENSORS_SEED_DIR="$WORK/seeds" R1_TEST_TMP="$WORK/tmp" "$UNIT" --gtest_filter='SafetensorsSeeds.*' >/dev/null \
    || { echo "fuzz_safetensors: seed writer $UNIT failed"; exit 1; }
else
  echo "fuzz_safetensors: no r1_unit_tests binary found"
fi
[ -n "$(ls "$WORK/seeds")" ] || echo "fuzz_safetensors: no seed files; starting from the dictionary alone"
echo "fuzz_safetensors: fuzzing for ${SECS}s ($(ls "$WORK/seeds" | wc -l) seeds, $(ls "$WORK/corpus" | wc -l) corpus files)"
# malloc_limit: the reader must never ask for far more than the input size.
status=0
"$WORK/fuzz_safetensors" "$WORK/corpus" "$WORK/seeds" -max_total_time="$SECS" -max_len=16384 \
  -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -dict="$ROOT/tests/fuzz/safetensors.dict" \
  -artifact_prefix="$WORK/crashes/" -print_final_stats=1 > "$WORK/fuzz.log" 2>&1 || status=$?
grep -v "# Uses: " "$WORK/fuzz.log" | tail -n 40 || true
if [ "$status" -ne 0 ]; then
  echo "fuzz_safetensors: FINDING (exit $status); reproduce with: $WORK/fuzz_safetensors $WORK/crashes/<file>"
  exit "$status"
fi
echo "fuzz_safetensors: no findings in ${SECS}s"
