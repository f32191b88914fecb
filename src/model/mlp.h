// Feed-forward blocks shared by dense layers, shared experts and routed experts.
//   SwiGLU: y = down( silu(x · gateᵀ) ⊙ (x · upᵀ) )      gate, up: [F, C]; down: [C, F]
//   GELU:   y = down( gelu(x · upᵀ) )                      up: [F, C];       down: [C, F]
// When up == gate + F*C (adjacent in the flat buffer) the two projections run as one GEMM.
#pragma once
#include <cstdint>

#include "core/buffer.h"
#include "ops/activation.h"

namespace r1 {

// Activations kept for backward (grown as needed, reused across steps).
struct MlpCache {
    Buffer<float> pre;   // [N, 2F] gate|up outputs (SwiGLU) or [N, F] pre-activation (GELU)
    Buffer<float> act;   // [N, F] input of the down projection
};

void swiglu_mlp_forward(float* y, const float* x, const float* w_gate, const float* w_up,
                        const float* w_down, int64_t N, int64_t C, int64_t F, MlpCache& cache);
// dx OVERWRITTEN (or added if accumulate_dx); parameter grads ACCUMULATED (null = skip).
void swiglu_mlp_backward(float* dx, float* dw_gate, float* dw_up, float* dw_down,
                         const float* dy, const float* x, const float* w_gate,
                         const float* w_up, const float* w_down, int64_t N, int64_t C,
                         int64_t F, MlpCache& cache, bool accumulate_dx = false);

void gelu_mlp_forward(float* y, const float* x, const float* w_up, const float* w_down,
                      int64_t N, int64_t C, int64_t F, GeluKind kind, MlpCache& cache);
void gelu_mlp_backward(float* dx, float* dw_up, float* dw_down, const float* dy,
                       const float* x, const float* w_up, const float* w_down, int64_t N,
                       int64_t C, int64_t F, GeluKind kind, MlpCache& cache,
                       bool accumulate_dx = false);

}  // namespace r1
