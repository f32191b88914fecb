// Portable versions of the attention tile kernels (see attention_kernels.h): plain loops in
// i-k-j order so the compiler vectorises the inner j loop at the base ISA. Used when the
// CPU (or R1_ISA / force_isa) rules out AVX-512.
#include "backend/cpu/attention_kernels.h"

#include <cmath>
#include <cstring>

namespace r1::cpu {

void tile_gemm_portable(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs,
                        int64_t a_cs, const float* B, int64_t ldb, float* C, int64_t ldc,
                        bool accumulate) {
    for (int64_t i = 0; i < M; i++) {
        float* __restrict c = C + i * ldc;
        if (!accumulate) std::memset(c, 0, sizeof(float) * N);
        for (int64_t k = 0; k < K; k++) {
            const float a = A[i * a_rs + k * a_cs];
            const float* __restrict b = B + k * ldb;
            for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}

// Blocks of 32 keys, written row by row: the source block sits in L1 and the stores are
// contiguous (storing down a column at a 1 KB stride instead costs ~8 cycles/element).
void transpose_portable(float* dst, int64_t ld, const float* src, int64_t stride, int64_t n,
                        int64_t hd) {
    for (int64_t j0 = 0; j0 < n; j0 += 32) {
        const int64_t j1 = n < j0 + 32 ? n : j0 + 32;
        for (int64_t d = 0; d < hd; d++) {
            float* o = dst + d * ld;
            for (int64_t j = j0; j < j1; j++) o[j] = src[j * stride + d];
        }
    }
}

float exp_row_portable(float* x, int64_t n, float scale, float sub) {
    float s = 0;
    for (int64_t j = 0; j < n; j++) {
        x[j] = std::exp(x[j] * scale - sub);
        s += x[j];
    }
    return s;
}

float max_row_portable(const float* x, int64_t n) {
    float m = x[0];
    for (int64_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

float exp_row_mom_portable(float* x, int64_t n, float sub, float* sum_ex) {
    float s = 0, se = 0;
    for (int64_t j = 0; j < n; j++) {
        const float d = x[j] - sub, e = std::exp(d);
        x[j] = e;
        s += e;
        se += e * d;
    }
    *sum_ex = se;
    return s;
}

}  // namespace r1::cpu
