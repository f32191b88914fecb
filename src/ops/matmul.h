// Matrix products. Weights use PyTorch's Linear layout W[out, in] (= GGUF's ne0 = in),
// so  y = x · Wᵀ.  GEMM goes to oneDNN (dnnl_sgemm: near the fp32 peak on this CPU; see
// scripts/bench_gemm.sh for the oneDNN vs OpenBLAS measurement); ref:: is the plain loop.
//
// Gradient convention for every op in src/ops: input gradients are OVERWRITTEN unless the
// function says otherwise; parameter gradients are ACCUMULATED (+=), so gradient
// accumulation and weights used twice (tied embeddings) just work.
#pragma once
#include <cstdint>

namespace r1 {

// Row-major C[M,N] = alpha * op(A) · op(B) + beta * C, op = transpose if ta/tb.
// A is [M,K] (or [K,M] if ta), B is [K,N] (or [N,K] if tb); lda/ldb/ldc are row strides.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// y[M,N] = x[M,K] · W[N,K]ᵀ + b[N]   (b may be null)
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t M,
                    int64_t K, int64_t N);

// Given dy[M,N]:
//   dx[M,K]  = dy · W        (skipped if dx is null; added to dx if accumulate_dx)
//   dW[N,K] += dyᵀ · x       (skipped if dW is null)
//   db[N]   += Σ_rows dy     (skipped if db is null)
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t M, int64_t K, int64_t N, bool accumulate_dx = false);

namespace ref {
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t M,
                    int64_t K, int64_t N);
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t M, int64_t K, int64_t N, bool accumulate_dx = false);
}  // namespace ref

}  // namespace r1
