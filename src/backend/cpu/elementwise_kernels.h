// Internal: per-ISA kernels behind the element-wise op families (norm, activation, softmax,
// rope). The public functions in src/ops/*.cpp split work across threads and call one of
// these per chunk; the scalar ISA runs the ref:: loops instead. Row ranges are [r0, r1).
// Each kernel is written once in backend/cpu/*_impl.h over the vector helpers of simd.h and
// compiled twice: *_avx2.cpp (8 lanes) and *_avx512.cpp (16 lanes).
#pragma once
#include <cstdint>

#include "ops/activation.h"
#include "ops/rope.h"

namespace r1::cpu {
#define R1_ELEMENTWISE_KERNELS                                                                  \
    /* norm: x, y, dx, dy [N, C]; w, b [C]; mean, rstd [N] */                                   \
    void layernorm_fwd_rows(float* y, float* mean, float* rstd, const float* x, const float* w, \
                            const float* b, int64_t r0, int64_t r1, int64_t C, float eps);      \
    /* backward rows [r0, r1): dx overwritten; the rows' dw/db contributions are ADDED to   */ \
    /* the partial sums dwp/dbp [C] (dbp may be null), rows in order.                       */ \
    void layernorm_bwd_rows(float* dx, float* dwp, float* dbp, const float* dy, const float* x, \
                            const float* w, const float* mean, const float* rstd, int64_t r0,   \
                            int64_t r1, int64_t C);                                             \
    void rmsnorm_fwd_rows(float* y, float* rstd, const float* x, const float* w, int64_t r0,    \
                          int64_t r1, int64_t C, float eps);                                    \
    void rmsnorm_bwd_rows(float* dx, float* dwp, const float* dy, const float* x, const float* w, \
                          const float* rstd, int64_t r0, int64_t r1, int64_t C);                \
    /* activations over n contiguous floats */                                                  \
    void gelu_fwd(float* y, const float* x, int64_t n, GeluKind kind);                          \
    void gelu_bwd(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind);        \
    void silu_fwd(float* y, const float* x, int64_t n);                                         \
    void silu_bwd(float* dx, const float* dy, const float* x, int64_t n);                       \
    void swiglu_fwd_rows(float* y, const float* g, const float* u, int64_t r0, int64_t r1,      \
                         int64_t F, int64_t g_stride, int64_t u_stride);                        \
    void swiglu_bwd_rows(float* dg, float* du, const float* dy, const float* g, const float* u, \
                         int64_t r0, int64_t r1, int64_t F, int64_t g_stride, int64_t u_stride);\
    void add_inplace(float* y, const float* x, int64_t n);                                      \
    /* softmax rows [r0, r1) of [rows, cols] */                                                 \
    void softmax_fwd_rows(float* y, const float* x, int64_t r0, int64_t r1, int64_t cols);      \
    void softmax_bwd_rows(float* dx, const float* dy, const float* y, int64_t r0, int64_t r1,   \
                          int64_t cols);                                                        \
    /* rope on tokens [n0, n1): sign = +1 forward rotation, -1 inverse (backward) */            \
    void rope_rows(float* y, const float* x, const int32_t* pos, int64_t n0, int64_t n1,        \
                   int64_t n_head, int64_t token_stride, int64_t head_stride,                   \
                   const RopeTable& t, RopeLayout layout, float sign);
namespace avx2 {
R1_ELEMENTWISE_KERNELS
}
namespace avx512 {
R1_ELEMENTWISE_KERNELS
}
#undef R1_ELEMENTWISE_KERNELS
}  // namespace r1::cpu
