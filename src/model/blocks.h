// Internal to src/model: the attention blocks of the transformer (GQA and MLA) as explicit
// forward/backward pairs over activation buffers that the Model owns (llm.c style), plus the
// shared backward scratch. Shape legend: see model/model.h.
//
// Buffers are grown with ensure() to the largest N = B·T seen and then reused: a training
// step allocates nothing once the first step has run.
#pragma once
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "model/config.h"
#include "ops/attention.h"
#include "ops/rope.h"

namespace r1 {

// Grows b to at least n elements (contents are lost when it grows).
template <typename T>
inline void ensure(Buffer<T>& b, size_t n) {
    if (b.size() < n) b.resize(n);
}

// Offsets (in floats) of one layer's attention tensors in the ParamSet data/grad buffers;
// -1 = absent. GQA: qkv = attn_q (or attn_qkv) with k, v rows adjacent.
struct AttnParams {
    int64_t qkv_w = -1, qkv_b = -1, out_w = -1;
    // MLA
    int64_t q_w = -1, q_a_w = -1, q_a_norm = -1, q_b_w = -1;
    int64_t kv_a_w = -1, kv_a_norm = -1, kv_b_w = -1;
};

// Everything the backward of one attention block reads, for one layer.
struct AttnActs {
    // GQA
    Buffer<float> qkv;     // [N, (H + 2Hkv)·D] q|k|v, q and k after RoPE
    // MLA
    Buffer<float> q;       // [N, H·(nope+rope)] after RoPE on the rope part
    Buffer<float> qa, qa_n, qa_rstd;          // [N, q_lora] ×2, [N]  (q LoRA only)
    Buffer<float> kv_a;    // [N, kv_lora + rope] latent | k_pe (k_pe after RoPE)
    Buffer<float> lat, lat_n, lat_rstd;       // [N, kv_lora] ×2, [N]
    Buffer<float> kv;      // [N, H·(nope+v)] per head k_nope | v
    Buffer<float> k, v;    // [N, H·(nope+rope)], [N, H·v]  attention inputs
    // both
    Buffer<float> att;     // [N, H·Dv] attention output (input of attn_output)
    Buffer<float> lse;     // [B, H, T]
};

// Shared scratch for backward (one set for all layers).
struct AttnScratch {
    Buffer<float> d_att;   // [N, H·Dv]
    Buffer<float> d_qkv;   // [N, (H+2Hkv)·D]  (MLA: dq [N, H·dqk])
    Buffer<float> d_k, d_v, d_kv, d_lat_n, d_lat, d_kv_a, d_qa_n, d_qa;  // MLA
};

// Everything an attention block needs besides its buffers.
struct AttnCtx {
    const ModelConfig* cfg = nullptr;
    int64_t B = 0, T = 0;
    const int32_t* pos = nullptr;  // [N] position of each token
    const RopeTable* rope = nullptr;
};

// y [N, C] = attention block applied to x [N, C] (the normed residual), OVERWRITTEN.
void gqa_forward(float* y, const float* x, const float* P, const AttnParams& p, AttnActs& a,
                 const AttnCtx& c);
// dx [N, C] OVERWRITTEN from dy [N, C]; parameter gradients ACCUMULATED into G.
void gqa_backward(float* dx, const float* dy, const float* x, const float* P, float* G,
                  const AttnParams& p, AttnActs& a, AttnScratch& s, const AttnCtx& c);

void mla_forward(float* y, const float* x, const float* P, const AttnParams& p, AttnActs& a,
                 const AttnCtx& c);
void mla_backward(float* dx, const float* dy, const float* x, const float* P, float* G,
                  const AttnParams& p, AttnActs& a, AttnScratch& s, const AttnCtx& c);

// Softmax scale of an MLA model: 1/sqrt(nope + rope), times mscale² under YaRN with
// mscale_all_dim set (HF DeepseekV2Attention).
float mla_softmax_scale(const ModelConfig& cfg);

}  // namespace r1
