// Products with stored (possibly quantised) weights, for inference: y = x · Wᵀ where W[N, K]
// is f32, f16, bf16, Q8_0 or Q4_0 rows (GGUF layout: row n is K elements of its type).
// Quantised paths follow ggml: activations are quantised to Q8_0 blocks once per call and
// dotted with weight blocks in int8 (AVX-512 VNNI / AVX2 / scalar), scales applied per block.
// Weights are used in place (memory-mapped); nothing dequantises a whole matrix.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace r1 {

// A weight matrix view: N rows (outputs) of K elements (inputs) of type `type`.
struct WeightView {
    DType type = DType::f32;
    const void* data = nullptr;
    int64_t N = 0, K = 0;
};

// y[M, N] = x[M, K] · Wᵀ  (M = 1 is the decode matvec; M > 1 prefill / batched decode).
void qlinear_forward(float* y, const float* x, const WeightView& w, int64_t M);

namespace ref {
// Dequantise-then-dot with double accumulation (the oracle).
void qlinear_forward(float* y, const float* x, const WeightView& w, int64_t M);
}  // namespace ref

}  // namespace r1
