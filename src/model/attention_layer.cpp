// GQA attention block (GPT-2, Llama, Qwen2, DeepSeek-V2-Lite-style GQA variants):
//   qkv = x · [Wq|Wk|Wv]ᵀ (+ b)       one GEMM over the adjacent q/k/v rows
//   RoPE on q and k in place          (learned positions: none here, added at embedding)
//   att = causal softmax(q kᵀ·scale) v (online softmax, saves log-sum-exp)
//   y   = att · Woᵀ
// Backward mirrors it; rope_backward is the inverse rotation applied in place on dq, dk.
#include <cmath>

#include "model/blocks.h"
#include "ops/attention.h"
#include "ops/matmul.h"
#include "ops/rope.h"

namespace r1 {

namespace {

AttnShape gqa_shape(const ModelConfig& cfg, int64_t B, int64_t T) {
    const int64_t D = cfg.head_dim, H = cfg.n_head, Hkv = cfg.n_head_kv;
    const int64_t W = (H + 2 * Hkv) * D;
    AttnShape s;
    s.B = B;
    s.T = T;
    s.n_head = H;
    s.n_head_kv = Hkv;
    s.hd_qk = D;
    s.hd_v = D;
    s.q_stride = W;
    s.k_stride = W;
    s.v_stride = W;
    s.out_stride = H * D;
    s.scale = 1.0f / std::sqrt((float)D);
    return s;
}

}  // namespace

void gqa_forward(float* y, const float* x, const float* P, const AttnParams& p, AttnActs& a,
                 const AttnCtx& c) {
    const ModelConfig& cfg = *c.cfg;
    const int64_t N = c.B * c.T, C = cfg.n_embd, D = cfg.head_dim, H = cfg.n_head,
                  Hkv = cfg.n_head_kv;
    const int64_t W = (H + 2 * Hkv) * D;
    ensure(a.qkv, (size_t)(N * W));
    ensure(a.att, (size_t)(N * H * D));
    ensure(a.lse, (size_t)(N * H));

    // [N, W] = [N, C] · [W, C]ᵀ
    linear_forward(a.qkv.data(), x, P + p.qkv_w, p.qkv_b >= 0 ? P + p.qkv_b : nullptr, N, C, W);
    if (cfg.pos == PosKind::rope) {
        float* q = a.qkv.data();
        float* k = q + H * D;
        rope_forward(q, q, c.pos, N, H, W, D, *c.rope, cfg.rope_layout);
        rope_forward(k, k, c.pos, N, Hkv, W, D, *c.rope, cfg.rope_layout);
    }
    const AttnShape s = gqa_shape(cfg, c.B, c.T);
    const float* q = a.qkv.data();
    attention_forward(a.att.data(), a.lse.data(), q, q + H * D, q + (H + Hkv) * D, s);  // [N, H·D]
    linear_forward(y, a.att.data(), P + p.out_w, nullptr, N, H * D, C);                // [N, C]
}

void gqa_backward(float* dx, const float* dy, const float* x, const float* P, float* G,
                  const AttnParams& p, AttnActs& a, AttnScratch& s, const AttnCtx& c) {
    const ModelConfig& cfg = *c.cfg;
    const int64_t N = c.B * c.T, C = cfg.n_embd, D = cfg.head_dim, H = cfg.n_head,
                  Hkv = cfg.n_head_kv;
    const int64_t W = (H + 2 * Hkv) * D;
    ensure(s.d_att, (size_t)(N * H * D));
    ensure(s.d_qkv, (size_t)(N * W));

    // output projection: d_att [N, H·D], dWo += dyᵀ · att
    linear_backward(s.d_att.data(), G + p.out_w, nullptr, dy, a.att.data(), P + p.out_w, N,
                    H * D, C);
    const AttnShape sh = gqa_shape(cfg, c.B, c.T);
    const float* q = a.qkv.data();
    float* dq = s.d_qkv.data();
    attention_backward(dq, dq + H * D, dq + (H + Hkv) * D, s.d_att.data(), a.att.data(),
                       a.lse.data(), q, q + H * D, q + (H + Hkv) * D, sh);
    if (cfg.pos == PosKind::rope) {
        rope_backward(dq, dq, c.pos, N, H, W, D, *c.rope, cfg.rope_layout);
        rope_backward(dq + H * D, dq + H * D, c.pos, N, Hkv, W, D, *c.rope, cfg.rope_layout);
    }
    // qkv projection: dx [N, C], dW += d_qkvᵀ · x, db += Σ d_qkv
    linear_backward(dx, G + p.qkv_w, p.qkv_b >= 0 ? G + p.qkv_b : nullptr, dq, x, P + p.qkv_w,
                    N, C, W);
}

}  // namespace r1
