#!/usr/bin/env bash
# Decode (M = 1) speed of qlinear_forward as GB/s of weight bytes streamed, next to a read
# bandwidth probe: Q8_0 on Qwen2.5-0.5B's MLP shapes (4864×896 and 896×4864), plus Q4_0,
# F16, BF16, F32 for comparison. The machine is shared: treat the numbers as indicative.
#
#   scripts/bench_qmatmul.sh [--threads N] [--iters N] [--m M] [--rotate-mb MB]
#   BUILD_DIR=build-foo scripts/bench_qmatmul.sh        # default BUILD_DIR: build
#
# Builds bench/qmatmul_bench.cpp with g++ directly (not part of the CMake build), linked
# against $BUILD_DIR/libr1core.a (build the project first: cmake --build $BUILD_DIR).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BUILD_DIR:-$here/build}"
lib="$out/libr1core.a"
[ -f "$lib" ] || { echo "bench_qmatmul: $lib not found; build the project first" >&2; exit 1; }
g++ -O2 -march=native -std=c++20 -fopenmp -I"$here/src" "$here/bench/qmatmul_bench.cpp" -o "$out/qmatmul_bench" \
    "$lib" -ldnnl -lpcre2-8 -lpthread
exec "$out/qmatmul_bench" --threads 2 "$@"
