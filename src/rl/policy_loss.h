// The clipped policy-gradient loss of GRPO / DAPO / Dr. GRPO on completion tokens, evaluated
// inside the model's fused LM head (Model::forward_backward_head + lm_head_xent's RowCoefFn),
// so [N, V] logits never exist.
//
// Per completion token t of sequence i (logp = log π_θ(o_t | ·), old = log π_old, ref = log
// π_ref, A = the sequence's advantage):
//   ρ      = exp(logp − old)
//   s      = min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A)            PPO-clip (DAPO clip-higher)
//   k3     = exp(ref − logp) − (ref − logp) − 1                    KL estimator (Schulman), ≥ 0
//   ℓ_t    = −s + β·k3
//   L      = Σ_t w_t · ℓ_t  with the aggregation weights
//            seq    w_t = 1 / (n_seqs · |o_i|)     GRPO: mean over tokens, then over sequences
//            token  w_t = 1 / Σ_i |o_i|            DAPO: every token of the batch weighs the same
//            const  w_t = 1 / (n_seqs · max_tokens)  Dr. GRPO: a constant normaliser
// (n_seqs and Σ|o_i| count the whole rollout batch, so mini-batches add up to it.)
//
// The per-row coefficient the head needs is c_t = dL/d(−logp_t):
//   ds/dlogp = ρ·A where the unclipped term is the min (A ≥ 0: ρ ≤ 1 + ε_high; A < 0:
//              ρ ≥ 1 − ε_low), else 0 (the clipped term is constant in θ)
//   dk3/dlogp = 1 − exp(ref − logp)
//   c_t = w_t · (ds/dlogp − β·(1 − exp(ref − logp)))
// lm_head_xent then backpropagates c_t·(softmax − onehot) = dL/dlogits for that row.
// β = 0: the reference is never read (and the trainer skips its forward).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace r1::rl {

enum class LossAgg { seq, token, constant };

LossAgg parse_loss_agg(const std::string& s);  // "seq" | "token" | "const"
const char* loss_agg_name(LossAgg a);

struct PolicyLossConfig {
    float eps_low = 0.2f;
    float eps_high = 0.28f;  // DAPO clip-higher; = eps_low for symmetric PPO clipping
    float beta = 0.0f;       // k3 KL weight; 0 = no reference
    void validate() const;   // throws r1::Error naming the option
};

// Terms of one token, in float as the head sees them.
struct TokenTerms {
    double loss = 0;        // ℓ_t (unweighted)
    float coef = 0;         // w · dℓ/d(−logp)
    double kl = 0;          // k3 (0 when β = 0)
    bool clipped = false;   // the clipped term is active (gradient 0 from the surrogate)
    bool clipped_low = false, clipped_high = false;
};
TokenTerms token_terms(float logp, float old_logp, float ref_logp, float adv, float weight,
                       const PolicyLossConfig& cfg);

// Aggregation weight w of every token of a sequence of `len` completion tokens, for a rollout
// batch of n_seqs sequences with total_tokens completion tokens (see the header comment).
float agg_weight(LossAgg agg, int64_t len, int64_t n_seqs, int64_t total_tokens,
                 int64_t max_tokens);

// A packed batch of sequences as the model sees it: rows r ∈ [0, N = B·T).
// targets[r] = the next token where row r predicts a completion token, else −1; the other
// arrays are read only where targets[r] >= 0.
struct PolicyBatch {
    std::vector<int32_t> tokens;    // [N]
    std::vector<int32_t> targets;   // [N]
    std::vector<float> adv;         // [N] advantage of the row's sequence
    std::vector<float> weight;      // [N] aggregation weight w
    std::vector<float> old_logp;    // [N]; EMPTY = on-policy: old = the current log-probs,
                                    // detached (ratio exactly 1 — the first update after a
                                    // rollout, without a separate forward)
    std::vector<float> ref_logp;    // [N] (only when β > 0)
    int64_t B = 0, T = 0;
};

struct PolicyStats {
    double loss = 0;         // Σ w·ℓ over this batch
    double kl_sum = 0;       // Σ k3 over tokens (β > 0)
    double entropy_sum = 0;  // Σ entropy of the full softmax over tokens
    double logp_sum = 0;     // Σ logp
    int64_t n_tokens = 0;
    int64_t n_clipped = 0, n_clipped_low = 0, n_clipped_high = 0;
    double ratio_max = 0;
};

// The head loss for Model::forward_backward_head: fills `stats` (overwritten per call) and,
// if logp_out [N] is given, the current log-probs (0 where target −1). In a forward-only
// call (dh == null) it computes the loss/stats without gradients.
HeadLossFn policy_head_loss(const PolicyBatch& batch, const PolicyLossConfig& cfg,
                            PolicyStats* stats, float* logp_out = nullptr);

// Log-probs of the targets (and optionally entropies) under the current weights: a
// forward-only head that writes logp [N] (0 where target −1).
HeadLossFn logprob_head(const std::vector<int32_t>& targets, float* logp_out,
                        float* entropy_out = nullptr);

namespace ref {
// Plain double-precision evaluation of L from per-row log-probs (tests).
double policy_loss(const PolicyBatch& batch, const std::vector<float>& logp,
                   const PolicyLossConfig& cfg);
}  // namespace ref

}  // namespace r1::rl
