#!/usr/bin/env bash
# GEMM library measurement: oneDNN (dnnl_sgemm, what r1::gemm uses) vs OpenBLAS
# (cblas_sgemm) on the training benchmark's GEMM shapes and n=2048, fp32, 2 threads.
#
#   scripts/bench_gemm.sh [--threads N] [--reps N]          # run on a quiet machine
#   BUILD_DIR=build scripts/bench_gemm.sh > bench/gemm.txt   # table + last line JSON
#
# Builds bench/gemm_bench.cpp with g++ directly (it is not part of the CMake build) into
# $BUILD_DIR (default: build). OPENBLAS_CORETYPE is left exactly as the environment sets it
# (this workplace forces Haswell; the table header shows the core OpenBLAS picked).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BUILD_DIR:-$here/build}"
mkdir -p "$out"
blas_inc=/usr/include/x86_64-linux-gnu/openblas-pthread
[ -d "$blas_inc" ] || blas_inc=/usr/include/openblas
g++ -O2 -std=c++17 -fopenmp -I"$blas_inc" "$here/bench/gemm_bench.cpp" -o "$out/gemm_bench" \
    -ldnnl -lopenblas
exec "$out/gemm_bench" --threads 2 "$@"
