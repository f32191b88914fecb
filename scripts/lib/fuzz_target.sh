# Shared steps of the libFuzzer drivers (scripts/fuzz_gguf.sh, fuzz_safetensors.sh,
# fuzz_verifier.sh): find clang, build the code under test with coverage + ASan + UBSan,
# link a target from tests/fuzz/, optionally write seed files with a unit test, run for a
# bounded time and report. Sourced, not run. Each driver sets, before `fuzz_main`:
#   NAME          target name: tests/fuzz/NAME.cpp, the binary WORK/NAME, log prefixes
#   SECS WORK     run time in seconds and the work folder (objects, corpus, crashes/)
#   UNDER_TEST    sources built instrumented by clang
#   HEADERS       headers whose change rebuilds every object
#   DEPS          sources linked uninstrumented (built by the project's compiler), or empty
#   SEEDS         seed folder (a fixed one in the tree, or WORK/seeds filled by SEED_TEST)
#   SEED_TEST     "ENV_VAR gtest_filter" of a unit test writing seeds into $ENV_VAR, or empty
#   UNIT          r1_unit_tests binary for SEED_TEST (empty: the newest build*/bin one)
#   FUZZ_FLAGS    libFuzzer flags of this target (-max_len, -timeout, -dict, limits)
# Exit status of fuzz_main: 0 = no finding, 2 = clang missing, else build failure or finding.

fuzz_main() {
  local CXX DEPCXX
  CXX="$(command -v clang++ || command -v clang++-14 || true)"
  if [ -z "$CXX" ]; then
    echo "$NAME: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
    exit 2
  fi
  mkdir -p "$WORK/obj" "$WORK/corpus" "$WORK/crashes"
  WORK="$(cd "$WORK" && pwd)"
  # Dependencies (core: errors, dtype sizes, cpu, threads, and the f16/bf16 row kernels
  # dtype.cpp dispatches to) are built uninstrumented by the project's own compiler (g++;
  # clang-14 rejects __builtin_cpu_supports("avxvnni") in core/cpu.cpp), falling back to
  # clang++ where g++ is absent. ASan works across the mix; only the code under test is checked.
  DEPCXX="$(command -v g++ || echo "$CXX")"
  local SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
  local BASE=(-std=c++20 -g -O1 -fno-omit-frame-pointer -I"$ROOT/src")
  local OBJS=() src extra
  for src in "${UNDER_TEST[@]}"; do
    fuzz_compile "$CXX" "$WORK/obj/$(basename "$src" .cpp).fuzz.o" "$src" "${SAN[@]}" -fsanitize=fuzzer-no-link
  done
  for src in "${DEPS[@]}"; do
    extra=()
    case "$src" in
      *_avx512.cpp) extra=(-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16) ;;
      *_avx2.cpp) extra=(-mavx2 -mfma -mf16c) ;;
    esac
    fuzz_compile "$DEPCXX" "$WORK/obj/$(echo "${src#$ROOT/src/}" | tr / _ | sed 's/\.cpp$//').o" "$src" \
      -O2 -fopenmp "${extra[@]}"
  done
  echo "$NAME: linking $WORK/$NAME"
  "$CXX" "${BASE[@]}" "${SAN[@]}" -fsanitize=fuzzer "$ROOT/tests/fuzz/$NAME.cpp" "${OBJS[@]}" \
    -lgomp -lpthread -o "$WORK/$NAME"

  if [ -n "$SEED_TEST" ]; then
    local var filter
    read -r var filter <<< "$SEED_TEST"
    mkdir -p "$SEEDS"
    [ -n "$UNIT" ] || UNIT="$(ls -t "$ROOT"/build*/bin/r1_unit_tests 2>/dev/null | head -1 || true)"
    if [ -n "$UNIT" ] && [ -x "$UNIT" ]; then
      env "$var=$SEEDS" R1_TEST_TMP="$WORK/tmp" "$UNIT" --gtest_filter="$filter" >/dev/null \
        || { echo "$NAME: seed writer $UNIT failed"; exit 1; }
    else
      echo "$NAME: no r1_unit_tests binary found"
    fi
    [ -n "$(ls "$SEEDS")" ] || echo "$NAME: no seed files; starting from the dictionary alone"
  fi
  echo "$NAME: fuzzing for ${SECS}s ($(ls "$SEEDS" | wc -l) seeds, $(ls "$WORK/corpus" | wc -l) corpus files)"
  local status=0
  "$WORK/$NAME" "$WORK/corpus" "$SEEDS" -max_total_time="$SECS" "${FUZZ_FLAGS[@]}" \
    -artifact_prefix="$WORK/crashes/" -print_final_stats=1 > "$WORK/fuzz.log" 2>&1 || status=$?
  grep -v "# Uses: " "$WORK/fuzz.log" | tail -n 40 || true
  if [ "$status" -ne 0 ]; then
    echo "$NAME: FINDING (exit $status); reproduce with: $WORK/$NAME $WORK/crashes/<file>"
    exit "$status"
  fi
  echo "$NAME: no findings in ${SECS}s"
}

# fuzz_compile COMPILER OBJ SRC FLAGS...: (re)builds OBJ when it is older than SRC or any of
# HEADERS, and adds it to the caller's OBJS.
fuzz_compile() {
  local cc="$1" obj="$2" src="$3" h stale=0
  shift 3
  OBJS+=("$obj")
  [ -f "$obj" ] && [ ! "$src" -nt "$obj" ] || stale=1
  for h in "${HEADERS[@]}"; do [ "$h" -nt "$obj" ] && stale=1; done
  if [ "$stale" = 1 ]; then
    echo "$NAME: compiling ${src#$ROOT/}"
    "$cc" "${BASE[@]}" "$@" -c "$src" -o "$obj"
  fi
}
