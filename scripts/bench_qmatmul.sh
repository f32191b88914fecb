#!/usr/bin/env bash
# Products with stored weights, two benchmarks (the machine is shared: indicative numbers):
#   default    decode (M = 1, or --m) speed of qlinear_forward as GB/s of weight bytes
#              streamed, next to a read-bandwidth probe: Q8_0 on Qwen2.5-0.5B's MLP shapes
#              (4864×896 and 896×4864), plus Q4_0, F16, BF16, F32 (bench/qmatmul_bench.cpp).
#   --prefill  prefill shapes of qwen2-0.5b (M = 128 rows by default) in CPU time, one
#              thread by default, so the figure survives a loaded machine
#              (bench/qmatmul_prefill_bench.cpp).
#
#   scripts/bench_qmatmul.sh [--threads N] [--iters N] [--m M] [--rotate-mb MB]
#   scripts/bench_qmatmul.sh --prefill [--m 128] [--threads 1] [--iters 9] [--type q8_0]
#   BUILD_DIR=build-foo scripts/bench_qmatmul.sh        # default BUILD_DIR: build
#
# Builds the bench with g++ directly (not part of the CMake build), linked against
# $BUILD_DIR/libr1core.a (build the project first: cmake --build $BUILD_DIR).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BUILD_DIR:-$here/build}"
lib="$out/libr1core.a"
[ -f "$lib" ] || { echo "bench_qmatmul: $lib not found; build the project first" >&2; exit 1; }
bench=qmatmul_bench
default_threads=(--threads 2)
if [ "${1:-}" = "--prefill" ]; then
    shift
    bench=qmatmul_prefill_bench
    default_threads=(--threads 1)
fi
g++ -O2 -march=native -std=c++20 -fopenmp -I"$here/src" "$here/bench/$bench.cpp" -o "$out/$bench" \
    "$lib" -ldnnl -lpcre2-8 -lpthread
exec "$out/$bench" "${default_threads[@]}" "$@"
