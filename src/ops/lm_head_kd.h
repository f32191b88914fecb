// The language-model head fused with a knowledge-distillation loss (Hinton et al. 2015;
// MiniLLM's reverse KL): the student's logits z = h · Wᵀ are produced a chunk of rows at a
// time (never the full [N, V] student logits, as in ops/lm_head.h), compared with the
// teacher's logits of the same rows over the FULL vocabulary, turned into the loss and its
// gradient, and dropped.
//
// Per row r with targets[r] >= 0 (rows with −1 — prompt tokens, padding — contribute
// nothing, KD included: distillation is "on the same tokens" as the SFT loss):
//   CE_r  = −log softmax(z_r)[targets[r]]                          (temperature 1)
//   p     = softmax(t_r / τ)  (teacher),   q = softmax(z_r / τ)   (student)
//   KL_r  = Σ_v p (log p − log q)   forward: mode-covering, the classic KD
//         = Σ_v q (log q − log p)   reverse: mode-seeking (MiniLLM, GKD)
//   L     = grad_scale · Σ_r [ (1 − alpha) · CE_r + alpha · τ² · KL_r ]
// The τ² factor (Hinton) keeps the KD gradient's size independent of τ:
//   ∂(τ²·KL)/∂z = τ · (q − p)                                (forward)
//               = τ · q ⊙ (log q − log p − KL)                (reverse)
// The teacher's logits are an input (no gradient flows to them); callers bound memory by
// calling this on row ranges (the op is row-separable: dh rows are independent and dW
// accumulates).
#pragma once
#include <cstdint>

namespace r1 {

enum class KdMode { none, forward, reverse };

// "none" | "forward" | "reverse"; throws r1::Error naming `what` (e.g. "--kd") otherwise.
KdMode parse_kd_mode(const char* s, const char* what);
const char* kd_mode_name(KdMode m);

struct KdOptions {
    KdMode mode = KdMode::forward;  // none: plain CE (alpha ignored, the teacher not read)
    float alpha = 0.5f;             // weight of the KD term, in [0, 1]
    float tau = 1.0f;               // temperature of both distributions, > 0
};

struct LmHeadKdResult {
    double ce_sum = 0;     // Σ_r CE_r over rows with a target
    double kl_sum = 0;     // Σ_r KL_r (without τ²) over rows with a target
    double loss_sum = 0;   // Σ_r [(1 − alpha)·CE_r + alpha·τ²·KL_r]
    int64_t n_valid = 0;   // rows with targets[r] >= 0
};

// h: [N, C]; W: [V, C]; teacher_logits: [N, V] (temperature 1, raw); targets: [N].
// dh [N, C]: OVERWRITTEN with dL/dh (rows without target get 0); null = forward only.
// dW [V, C]: ACCUMULATED; null = not wanted (a dW without dh is an error).
// Throws r1::Error for bad sizes, targets outside [−1, V), alpha outside [0, 1], tau <= 0.
LmHeadKdResult lm_head_kd(float* dh, float* dW, const float* h, const float* W,
                          const float* teacher_logits, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, const KdOptions& opt, float grad_scale);

namespace ref {
// Plain loops in double over the materialised [N, V] logits.
LmHeadKdResult lm_head_kd(float* dh, float* dW, const float* h, const float* W,
                          const float* teacher_logits, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, const KdOptions& opt, float grad_scale);
}  // namespace ref

}  // namespace r1
