// Mixture-of-Experts routing and token dispatch.
//
// Router: scores s = gating(logits), logits = x · W_gateᵀ : [N, E]
//   softmax gating (DeepSeek-V2, Mixtral) or sigmoid gating (DeepSeek-V3).
// Selection: top-k over (s + sel_bias) — sel_bias is V3's aux-loss-free balancing bias
//   (e_score_correction_bias / exp_probs_b); it changes WHICH experts are chosen, never the
//   weights. Group-limited: experts split into n_group groups; a group's score is the sum of
//   its top-2 biased scores (V3) — or its max (V2 when gating is softmax) — only the
//   best topk_group groups are eligible.
// Weights: w = s[selected] (unbiased), normalised to sum 1 over the selected experts if
//   norm_topk, then times route_scale.
// Dispatch: token slots are bucketed by expert (counting sort, stable: deterministic), the
//   rows are gathered into one contiguous matrix per expert, each expert runs one GEMM, and
//   results are scattered back weighted — never a per-token loop over experts.
#pragma once
#include <cstdint>
#include <vector>

namespace r1 {

enum class GatingFunc { softmax = 1, sigmoid = 2 };  // values = GGUF expert_gating_func

struct RouterConfig {
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;   // k
    int64_t n_group = 1;         // expert groups (1 = no group limit)
    int64_t topk_group = 1;      // groups kept
    GatingFunc gating = GatingFunc::softmax;
    bool norm_topk = false;      // renormalise selected weights to sum 1
    float route_scale = 1.0f;    // routed_scaling_factor / expert_weights_scale
};

// logits: [N, E]; sel_bias: [E] or null.
// Ties (equal biased scores, equal group scores) go to the LOWER expert / group index.
// Out: ids [N, k] (expert index per slot, in descending biased-score order),
//      weights [N, k], scores [N, E] (gating output, saved for backward).
void moe_route_forward(int32_t* ids, float* weights, float* scores, const float* logits,
                       const float* sel_bias, int64_t N, const RouterConfig& cfg);
// dlogits [N, E] OVERWRITTEN from dweights [N, k] (selection is piecewise constant: no
// gradient flows through the choice, as in every MoE implementation).
void moe_route_backward(float* dlogits, const float* dweights, const float* scores,
                        const int32_t* ids, const float* weights, int64_t N,
                        const RouterConfig& cfg);

// Token slots grouped by expert. Slot j of expert e is  offsets[e] + j; it came from token
// rows[slot] and top-k position kpos[slot]  (weight = weights[rows*k + kpos]).
struct ExpertBuckets {
    std::vector<int64_t> offsets;  // [E + 1]
    std::vector<int32_t> rows;     // [N * k]
    std::vector<int32_t> kpos;     // [N * k]
    std::vector<int32_t> slot;     // [N * k] inverse map: slot[t*k + j] = slot of token t, position j
    int64_t count(int64_t e) const { return offsets[e + 1] - offsets[e]; }
};
void moe_bucket(ExpertBuckets& b, const int32_t* ids, int64_t N, int64_t k, int64_t n_expert);

// xs[slot] = x[rows[slot]]          x: [N, C] -> xs: [N*k, C]
void moe_gather(float* xs, const float* x, const ExpertBuckets& b, int64_t C);
// y[rows[slot]] += w(slot) * ys[slot]   (deterministic: each output row summed in k order)
void moe_scatter_add(float* y, const float* ys, const float* weights, int64_t k,
                     const ExpertBuckets& b, int64_t C);
// backward of scatter_add (dys may alias ys): dys[slot] = w(slot) * dy[row];  dweights[row, kpos] = <dy[row], ys[slot]>
void moe_scatter_add_backward(float* dys, float* dweights, const float* dy, const float* ys,
                              const float* weights, int64_t k, const ExpertBuckets& b,
                              int64_t C);
// backward of gather: dx[row] += dxs[slot] (dx ACCUMULATED; deterministic)
void moe_gather_backward(float* dx, const float* dxs, const ExpertBuckets& b, int64_t N,
                         int64_t k, int64_t C);

// dlogits [N, E] += (d scores / d logits)ᵀ · dscores [N, E]: the gating Jacobian alone, for
// gradients taken w.r.t. the scores themselves (the aux loss below).
void moe_gating_backward_add(float* dlogits, const float* dscores, const float* scores,
                             int64_t N, const RouterConfig& cfg);

// Sequence-wise auxiliary balance loss (DeepSeek-V3 eq. 17-20), per sequence of T tokens:
//   f_e = E/(k T) · #{t : e ∈ topk(t)},  P_e = 1/T Σ_t s'_{t,e}  (s' = scores normalised per
//   token),  L = alpha · Σ_e f_e P_e, averaged over the B sequences.
// Returns L; if dscores is non-null ACCUMULATES dL/dscores [N, E] into it.
float moe_seq_aux_loss(float* dscores, const float* scores, const int32_t* ids, int64_t B,
                       int64_t T, const RouterConfig& cfg, float alpha);

namespace ref {
void moe_route_forward(int32_t* ids, float* weights, float* scores, const float* logits,
                       const float* sel_bias, int64_t N, const RouterConfig& cfg);
void moe_route_backward(float* dlogits, const float* dweights, const float* scores,
                        const int32_t* ids, const float* weights, int64_t N,
                        const RouterConfig& cfg);
}  // namespace ref

}  // namespace r1
