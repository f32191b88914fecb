// Internal: per-ISA kernels behind ops/qmatmul.h (qmatmul.cpp validates and dispatches).
//
// Quantised weights (Q8_0, Q4_0) take two steps per call:
//   1. q_prepare: each activation row x[K] is quantised to Q8_0 blocks with the ISA's
//      quantize_q8_0 (bit-identical to ref::quantize_q8_0) and laid out as the kernel
//      wants it, in `qx_bytes(K)` bytes per row (64-byte aligned rows).
//   2. q_rows: y[r*ldy + n] for rows r in [0, M) and outputs n in [n0, n1); per block the
//      integer dot Σ q_w·q_x is exact, scaled by d_w·d_x (exact in f32) and summed in f32.
// Float weights (f32, f16, bf16): f_rows, converted to f32 in registers and FMA'd.
// Every output is computed by one fixed sequence of operations that does not depend on
// M, on [n0, n1) or on the thread count: results are deterministic and batch-invariant.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace r1::cpu {
#define R1_QMATMUL_KERNELS                                                                  \
    size_t qx_bytes(int64_t K);                                                             \
    void q_prepare(void* xp, const float* x, int64_t K, DType wtype);                       \
    void q_rows(float* y, int64_t ldy, const void* xp, int64_t M, DType wtype,              \
                const void* w, int64_t K, int64_t n0, int64_t n1);                          \
    void f_rows(float* y, int64_t ldy, const float* x, int64_t M, DType wtype, const void* w, \
                int64_t K, int64_t n0, int64_t n1);
namespace avx2 {
R1_QMATMUL_KERNELS
}
namespace avx512 {
R1_QMATMUL_KERNELS
// Q8_0 weights (qmatmul_q8gemm_avx512.cpp): the register-blocked VNNI GEMM used for every M;
// q_prepare / q_rows above forward to these for DType::q8_0. Prepared row stride: xb bytes.
void q_prepare_q8(void* xp, const float* x, int64_t K);
void q8_rows(float* y, int64_t ldy, const void* xp, size_t xb, int64_t M, const BlockQ8_0* w,
             int64_t K, int64_t n0, int64_t n1);
}
namespace scalar {
R1_QMATMUL_KERNELS
}
#undef R1_QMATMUL_KERNELS

// Rows of x processed per pass over a weight row (weights are loaded once per tile) by the
// Q4_0 and float kernels; the AVX-512 Q8_0 GEMM has its own tiles (6 rows × 32 outputs).
constexpr int64_t kQRowTile = 4;
}  // namespace r1::cpu
