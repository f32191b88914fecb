// Matrix products: gemm on oneDNN's dnnl_sgemm (row-major, threaded with the OpenMP team
// r1::set_num_threads configures), Linear forward/backward on top of it, and ref:: plain
// loops (double accumulation) as the oracle.
//
// Why oneDNN: it reaches ~360 GFLOP/s on 2 cores here, OpenBLAS ~180 under the workplace's
// forced OPENBLAS_CORETYPE=Haswell (scripts/bench_gemm.sh measures both).
// Determinism: dnnl_sgemm's partition depends only on shapes and thread count, and our own
// reductions (bias gradient) are static-partitioned over columns with a fixed row order.
#include "ops/matmul.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/threads.h"

namespace r1 {

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    R1_CHECK(M >= 0 && N >= 0 && K >= 0, "[gemm] negative size M=", M, " N=", N, " K=", K);
    if (M == 0 || N == 0) return;
    if (K == 0) {
        // C = beta * C (oneDNN would be fine too, but keep beta == 0 exact for NaN garbage)
        for (int64_t i = 0; i < M; i++) {
            float* c = C + i * ldc;
            if (beta == 0.0f)
                std::memset(c, 0, sizeof(float) * N);
            else
                for (int64_t j = 0; j < N; j++) c[j] *= beta;
        }
        return;
    }
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                  beta, C, ldc);
    R1_CHECK(st == dnnl_success, "[gemm] dnnl_sgemm failed (status ", (int)st, ") M=", M,
             " N=", N, " K=", K, " lda=", lda, " ldb=", ldb, " ldc=", ldc);
}

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t M,
                    int64_t K, int64_t N) {
    gemm(false, true, M, N, K, 1.0f, x, K, W, K, 0.0f, y, N);  // [M,N] = [M,K]·[N,K]ᵀ
    if (!b) return;
    parallel_for(
        M,
        [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; r++) {
                float* yr = y + r * N;
                for (int64_t j = 0; j < N; j++) yr[j] += b[j];
            }
        },
        std::max<int64_t>(1, 16384 / std::max<int64_t>(1, N)));
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t M, int64_t K, int64_t N, bool accumulate_dx) {
    // dx[M,K] = dy[M,N] · W[N,K]
    if (dx) gemm(false, false, M, K, N, 1.0f, dy, N, W, K, accumulate_dx ? 1.0f : 0.0f, dx, K);
    // dW[N,K] += dy[M,N]ᵀ · x[M,K]
    if (dW) gemm(true, false, N, K, M, 1.0f, dy, N, x, K, 1.0f, dW, K);
    // db[N] += Σ_rows dy: each thread owns a block of columns and walks rows in order, so the
    // sum is the same for any thread count. Rows are visited in strips to stay in cache.
    if (db) {
        parallel_for(
            N,
            [&](int64_t c0, int64_t c1) {
                std::vector<double> acc(c1 - c0, 0.0);
                for (int64_t r = 0; r < M; r++) {
                    const float* d = dy + r * N;
                    for (int64_t j = c0; j < c1; j++) acc[j - c0] += d[j];
                }
                for (int64_t j = c0; j < c1; j++) db[j] += (float)acc[j - c0];
            },
            64);
    }
}

namespace ref {

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double bb = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * bb;
            }
            float& c = C[i * ldc + j];
            c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c));
        }
}

void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t M,
                    int64_t K, int64_t N) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = b ? b[j] : 0.0;
            for (int64_t k = 0; k < K; k++) s += (double)x[i * K + k] * W[j * K + k];
            y[i * N + j] = (float)s;
        }
}

void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t M, int64_t K, int64_t N, bool accumulate_dx) {
    if (dx)
        for (int64_t i = 0; i < M; i++)
            for (int64_t k = 0; k < K; k++) {
                double s = accumulate_dx ? dx[i * K + k] : 0.0;
                for (int64_t j = 0; j < N; j++) s += (double)dy[i * N + j] * W[j * K + k];
                dx[i * K + k] = (float)s;
            }
    if (dW)
        for (int64_t j = 0; j < N; j++)
            for (int64_t k = 0; k < K; k++) {
                double s = 0;
                for (int64_t i = 0; i < M; i++) s += (double)dy[i * N + j] * x[i * K + k];
                dW[j * K + k] += (float)s;
            }
    if (db)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t i = 0; i < M; i++) s += dy[i * N + j];
            db[j] += (float)s;
        }
}

}  // namespace ref
}  // namespace r1
