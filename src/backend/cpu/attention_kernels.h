// Small dense kernels for the tiled (flash-style) attention in src/ops/attention.cpp
// (the row-exp ones are shared with the fused LM head, src/ops/lm_head.cpp).
// Each exists as a portable version (attention_kernels.cpp, plain loops the compiler
// vectorises at the base ISA), an AVX2 version (attention_avx2.cpp) and an AVX-512 version
// (attention_avx512.cpp); the op picks
// one through r1::active_isa(). Tiles are small (≤ 64×64 plus a head dim ≤ a few hundred),
// too small for a library GEMM call to pay off.
#pragma once
#include <cstdint>

namespace r1::cpu {

// C[M,N] = (accumulate ? C : 0) + A·B.
//   A element (i, k) at A[i*a_rs + k*a_cs]  (a_cs = 1: row-major; a_rs = 1: transposed)
//   B element (k, j) at B[k*ldb + j]        (row-major, contiguous in j)
//   C element (i, j) at C[i*ldc + j]
using TileGemmFn = void (*)(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs,
                           int64_t a_cs, const float* B, int64_t ldb, float* C, int64_t ldc,
                           bool accumulate);

// Online-softmax step over one score row x[0..n): x[j] = exp(x[j]*scale - sub);
// returns Σ x[j] (float accumulation in a fixed order).
using ExpRowFn = float (*)(float* x, int64_t n, float scale, float sub);
// Softmax-with-entropy helper (also used by the LM head): x[j] = exp(x[j] − sub);
// returns Σ x[j] and sets *sum_ex = Σ x[j]·(x_old[j] − sub).
using ExpRowMomFn = float (*)(float* x, int64_t n, float sub, float* sum_ex);
// max_j x[j] (n >= 1)
using MaxRowFn = float (*)(const float* x, int64_t n);

// dst[d*ld + j] = src[j*stride + d]  for j < n, d < hd   ([n, hd] rows → [hd, ld] columns)
using TransposeFn = void (*)(float* dst, int64_t ld, const float* src, int64_t stride, int64_t n,
                             int64_t hd);

void transpose_portable(float* dst, int64_t ld, const float* src, int64_t stride, int64_t n,
                        int64_t hd);
void transpose_avx512(float* dst, int64_t ld, const float* src, int64_t stride, int64_t n,
                      int64_t hd);

void tile_gemm_portable(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs,
                        int64_t a_cs, const float* B, int64_t ldb, float* C, int64_t ldc,
                        bool accumulate);
float exp_row_portable(float* x, int64_t n, float scale, float sub);
float max_row_portable(const float* x, int64_t n);
float exp_row_mom_portable(float* x, int64_t n, float sub, float* sum_ex);

void tile_gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs,
                    const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);
float exp_row_avx2(float* x, int64_t n, float scale, float sub);
float max_row_avx2(const float* x, int64_t n);
float exp_row_mom_avx2(float* x, int64_t n, float sub, float* sum_ex);

void tile_gemm_avx512(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs,
                      int64_t a_cs, const float* B, int64_t ldb, float* C, int64_t ldc,
                      bool accumulate);
float exp_row_avx512(float* x, int64_t n, float scale, float sub);
float max_row_avx512(const float* x, int64_t n);
float exp_row_mom_avx512(float* x, int64_t n, float sub, float* sum_ex);

}  // namespace r1::cpu
