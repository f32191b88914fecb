// The DeepSeekMoE feed-forward block:
//   y = Σ_{e ∈ topk(x)} w_e · Expert_e(x)  +  SharedExperts(x)
// Experts are SwiGLU MLPs stored stacked ([E, Fe, C] like GGUF's ffn_*_exps); shared experts
// are one SwiGLU MLP of width Fe * n_shared. Compute is grouped by expert: route → bucket
// → gather → per-expert GEMMs → weighted scatter (see ops/moe_routing.h).
#pragma once
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "model/config.h"
#include "model/mlp.h"

namespace r1 {

struct MoeWeights {
    const float* gate_inp = nullptr;     // [E, C] router
    const float* sel_bias = nullptr;     // [E] aux-loss-free selection bias, or null
    const float* gate_exps = nullptr;    // [E, Fe, C]
    const float* up_exps = nullptr;      // [E, Fe, C]
    const float* down_exps = nullptr;    // [E, C, Fe]
    const float* gate_shexp = nullptr;   // [Fs, C] or null (no shared experts)
    const float* up_shexp = nullptr;     // [Fs, C]
    const float* down_shexp = nullptr;   // [C, Fs]
};

struct MoeGrads {
    float* gate_inp = nullptr;
    float* gate_exps = nullptr;
    float* up_exps = nullptr;
    float* down_exps = nullptr;
    float* gate_shexp = nullptr;
    float* up_shexp = nullptr;
    float* down_shexp = nullptr;
};

class MoeLayer {
public:
    // x: [N = B*T, C] (already normed); y: [N, C] OVERWRITTEN. If train, keeps what backward
    // needs (x must stay valid until backward). B, T matter for the sequence-wise aux loss.
    void forward(float* y, const float* x, int64_t B, int64_t T, const MoeWeights& w,
                 const ModelConfig& cfg, bool train);
    // dx: [N, C] OVERWRITTEN; grads ACCUMULATED. aux_scale multiplies the aux-loss gradient
    // (the same grad_scale the CE loss uses).
    void backward(float* dx, const float* dy, const MoeWeights& w, MoeGrads& g,
                  const ModelConfig& cfg, float aux_scale);

    float aux_loss() const { return aux_loss_; }                      // last forward
    const std::vector<int64_t>& expert_counts() const { return counts_; }  // last forward

private:
    // Everything below grows to the largest N seen and is reused: no per-step allocation.
    const float* x_ = nullptr;                 // [N, C] forward input (train only)
    int64_t N_ = 0, B_ = 0, T_ = 0;
    float aux_loss_ = 0;
    std::vector<int64_t> counts_;              // [E] tokens per expert
    Buffer<float> logits_, scores_, weights_;  // [N,E], [N,E], [N,k]; logits_ → dlogits
    Buffer<int32_t> ids_;                      // [N,k]
    ExpertBuckets buckets_;
    Buffer<float> xs_, ys_;                    // [N*k, C] gathered inputs / expert outputs
                                               // (backward reuses them for dxs / dys)
    Buffer<float> pre_, act_;                  // [N*k, 2Fe] gate|up, [N*k, Fe] (act_ → dact)
    Buffer<float> dpre_, dweights_, dscores_;  // [N*k, 2Fe], [N,k], [N,E]
    MlpCache shared_cache_;
};

}  // namespace r1
