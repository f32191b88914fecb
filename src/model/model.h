// The transformer: embeddings → n_layer × [norm → attention → residual → norm → MLP|MoE →
// residual] → final norm → LM head, with a hand-written backward (llm.c style: every layer
// has forward() and backward(); activations needed by backward live in an arena sized
// for the largest B×T seen).
//
// Legend for shape comments in model code:
//   B batch, T time (sequence), N = B*T tokens, C n_embd, H n_head, Hkv n_head_kv,
//   D head_dim, F n_ff, E n_expert, k n_expert_used, V n_vocab
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/params.h"

namespace r1 {

// Per-layer expert usage, for load-balance statistics and the aux-loss-free bias update.
struct ExpertLoad {
    // tokens routed to each expert in the last forward: [n_layer][n_expert] (dense layers empty)
    std::vector<std::vector<int64_t>> counts;
    // max/mean load over experts, averaged over MoE layers (1.0 = perfectly balanced)
    double imbalance() const;
};

struct StepStats {
    double loss = 0;        // mean cross-entropy over targets >= 0
    double aux_loss = 0;    // sequence-wise balance loss (0 if off)
    int64_t n_tokens = 0;   // targets >= 0
};

// Custom loss on the final hidden states h [N, C] (after the final norm) and the LM-head
// weight W [V, C] (token_embd.weight when embeddings are tied). In a backward call fn writes
// dL/dh into dh [N, C] (OVERWRITE, every row) and ACCUMULATES dL/dW into dW [V, C]; in a
// forward-only call dh and dW are null. Returns the loss value (reported, not differentiated).
// Policy-gradient and logit-KD losses plug in here without materialising [N, V] logits
// (use ops/lm_head.h's chunked lm_head_xent with a RowCoefFn inside fn).
using HeadLossFn = std::function<double(const float* h, const float* W, float* dh, float* dW,
                                        int64_t N, int64_t C, int64_t V)>;

// Gradient-ready hook (data-parallel overlap of the gradient all-reduce with the backward,
// PyTorch DDP's reducer hooks): called during every backward with a flat parameter range
// [offset, offset + count) whose gradients are final for this backward. Order: the tail
// (output_norm, and output.weight when untied) right after the final norm's backward, then
// layer L-1, ..., layer 0 as each layer's backward ends, then [0, blk.0) (token/position
// embeddings — with tied embeddings also the LM head's gradient, hence last). The ranges are
// adjacent, descending, and cover [0, params().size()) exactly once per backward. Called on
// the caller's thread between layers (never from a worker). "Final" means this backward adds
// nothing more; with gradient accumulation the caller decides which backward is the last.
using GradsReadyFn = std::function<void(int64_t offset, int64_t count)>;

class Model {
public:
    explicit Model(const ModelConfig& cfg);
    ~Model();
    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;

    const ModelConfig& config() const;
    ParamSet& params();
    const ParamSet& params() const;

    // GPT-2/nanoGPT init: N(0, 0.02), residual output projections scaled by 1/sqrt(2·n_layer),
    // norms 1, biases 0, MoE selection bias 0. Deterministic in seed.
    void init_weights(uint64_t seed);

    // Forward + backward on one micro-batch. tokens, targets: [B, T]; target −1 is ignored.
    // Gradients of (mean CE + aux loss) * grad_scale are ADDED to params().grad()
    // (the caller zeroes between optimiser steps; grad_scale = 1/accum_steps).
    StepStats forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B,
                               int64_t T, float grad_scale = 1.0f);

    // Forward + backward of a custom head loss (see HeadLossFn) on tokens [B, T]. Gradients of
    // fn's loss + aux_scale · aux loss are ADDED to params().grad(); fn's own scaling is its
    // business (dh/dW it writes are taken as-is). StepStats.loss = fn's return value,
    // n_tokens = 0 (fn knows what it counted). With fn = lm_head_xent at coef grad_scale/n_valid
    // and aux_scale = grad_scale this is exactly forward_backward (same calls, same order).
    StepStats forward_backward_head(const int32_t* tokens, int64_t B, int64_t T,
                                    const HeadLossFn& fn, float aux_scale = 1.0f);
    // Forward only through the trunk, then fn(h, W, nullptr, nullptr, ...): log-probs of old /
    // reference policies, teacher logits for KD. Uses the same kernels and batch layout as the
    // training forward, so for equal (tokens, B, T) h is bit-identical to forward_backward_head's.
    double forward_head(const int32_t* tokens, int64_t B, int64_t T, const HeadLossFn& fn);

    // Forward only: mean CE (and count) of targets >= 0.
    StepStats loss(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T);

    // Forward only: full logits [B*T, V] (tests, small models; generation has its own path).
    void logits(float* out, const int32_t* tokens, int64_t B, int64_t T);

    // Installs (or, with an empty fn, removes) the gradient-ready hook described above. It
    // applies to forward_backward and forward_backward_head until changed.
    void set_grads_ready_hook(GradsReadyFn fn);

    // Expert load of the last forward (MoE models).
    const ExpertLoad& expert_load() const;
    // Aux-loss-free balancing (DeepSeek-V3 §2.1.2): after each optimiser step,
    // bias_e += γ·sign(mean_load − load_e) on each MoE layer's selection bias.
    void update_selection_bias();
    // The same update from a given load (data-parallel training: the load summed over ranks,
    // i.e. what one process would count on the global batch).
    void update_selection_bias(const ExpertLoad& load);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace r1
