// The batched inference forward with a KV cache. One call processes a step of several
// sequences, each contributing any number of new tokens (a prompt prefill, or one decode
// token): all new tokens are concatenated into one [N, C] activation matrix, so every linear
// layer is ONE product for the whole batch (qlinear_forward: f32 or quantised weights);
// attention runs per sequence against that sequence's own cache slot (causal within the new
// tokens). The maths is the training forward's (model/model.cpp), so logits agree with
// Model::logits to float rounding.
//
// Contract: before the call, slot s holds positions [0, L_s); the call writes K/V of the new
// positions [L_s, L_s + n_s) of every layer and advances the slot to L_s + n_s.
// Shape legend: model/model.h (N = total new tokens of the step, S = sequences).
#pragma once
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "ops/moe_routing.h"

namespace r1 {

struct SeqInput {
    int32_t slot = -1;               // acquired KvCache slot; distinct within a step
    const int32_t* tokens = nullptr; // [n_tokens] new tokens
    int64_t n_tokens = 0;            // >= 1
};

class BatchForward {
public:
    explicit BatchForward(const InferenceModel& model) : m_(model) {}

    // Returns logits: [S, V] (the last new token of each sequence, in batch order) or, with
    // all_logits, [N, V] (every new token, sequences concatenated in batch order). The
    // pointer is valid until the next call. Throws r1::Error (before touching the cache)
    // for bad slots, token ids or a sequence that would overflow its slot.
    const float* run(KvCache& cache, const std::vector<SeqInput>& batch, bool all_logits = false);

private:
    void attention(KvCache& cache, const std::vector<SeqInput>& batch, int64_t il);
    // Writes q [N, H·dqk] (stride q_stride, returned) and appends K/V rows to the cache.
    const float* project_gqa(KvCache& cache, const std::vector<SeqInput>& batch, int64_t il,
                             int64_t* q_stride);
    const float* project_mla(KvCache& cache, const std::vector<SeqInput>& batch, int64_t il,
                             int64_t* q_stride);
    // MLA latent cache (absorbed form): q_abs [N, H·(kvl + rope)]
    const float* project_mla_latent(KvCache& cache, const std::vector<SeqInput>& batch,
                                    int64_t il, int64_t* q_stride);
    void mla_project_common(int64_t il, int64_t N);
    void ffn_dense(float* y, const float* x, const InferLayer& l, int64_t N);
    void ffn_moe(float* y, const float* x, const InferLayer& l, int64_t N);
    void norm(float* y, const float* x, const float* w, const float* b, int64_t N);

    const InferenceModel& m_;
    // per-step bookkeeping
    std::vector<int64_t> start_;  // [S+1] row offset of each sequence in the step
    std::vector<int64_t> past_;   // [S] cache length before the step
    Buffer<int32_t> tok_, pos_;   // [N]
    // activations (grown to the largest step, reused)
    Buffer<float> x_, h_, y_;       // [N, C] residual, normed, block output
    Buffer<float> qkv_, att_;       // [N, (H+2Hkv)·D], [N, H·D]
    Buffer<float> tmp_;             // [N, H·D] unfused projection scratch
    Buffer<float> qa_, qa_n_, kva_, lat_, lat_n_, kvb_;  // MLA intermediates
    Buffer<float> qabs_, attv_, hx_, hy_;  // MLA absorbed: [N, H·(kvl+rope)], [N, H·v], per-head
    Buffer<float> pre_, act_;       // [N·k, 2F'], [N·k, F'] MLP / expert hidden
    Buffer<float> logits_;          // [N, V]
    Buffer<float> last_;            // [S, C] final-normed rows whose logits are wanted
    // MoE
    Buffer<float> rlogits_, scores_, weights_;  // [N, E], [N, E], [N, k]
    Buffer<int32_t> ids_;                       // [N, k]
    ExpertBuckets buckets_;
    Buffer<float> xs_, ys_;                     // [N·k, C]
};

}  // namespace r1
