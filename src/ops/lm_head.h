// The language-model head fused with the loss: logits = h · Wᵀ are computed a chunk of rows
// at a time, turned into log-probabilities and gradients, and dropped — the full
// [tokens × vocab] logits buffer never exists (llm.c / Liger-kernel "fused linear CE").
//
// For each row r with targets[r] >= 0:   logp_r = log softmax(h_r · Wᵀ)[targets[r]]
// The loss being differentiated is   L = Σ_r coef_r · (−logp_r)
//   coef_r = grad_scale for plain cross-entropy (e.g. 1/n_tokens), or a per-row value from
//   row_coef (RL: advantages, clipped ratios — any function of that row's own logp).
#pragma once
#include <cstdint>
#include <functional>

namespace r1 {

// coef for row r given its current log-prob of the target.
using RowCoefFn = std::function<float(int64_t row, float logp)>;

struct LmHeadResult {
    double loss_sum = 0;   // Σ_r −logp_r over rows with a target
    int64_t n_valid = 0;   // rows with targets[r] >= 0
};

// h: [N, C]; W: [V, C]; targets: [N] (−1 = ignore).
// dh [N, C]: OVERWRITTEN with dL/dh (rows without target get 0); null = forward only.
// dW [V, C]: ACCUMULATED (may be null when dh is null).
// logp_out [N], entropy_out [N] (entropy of the full softmax row): optional outputs.
LmHeadResult lm_head_xent(float* dh, float* dW, float* logp_out, float* entropy_out,
                          const float* h, const float* W, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, float grad_scale,
                          const RowCoefFn* row_coef = nullptr);

namespace ref {
// Materialises the full [N, V] logits.
LmHeadResult lm_head_xent(float* dh, float* dW, float* logp_out, float* entropy_out,
                          const float* h, const float* W, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, float grad_scale,
                          const RowCoefFn* row_coef = nullptr);
}  // namespace ref

}  // namespace r1
