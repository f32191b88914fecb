// Multi-head Latent Attention (DeepSeek-V2/V3), training form (no latent caching tricks —
// those belong to the inference path):
//   q      = x·Wqᵀ  or  RMSNorm(x·Wq_aᵀ)·Wq_bᵀ                 [N, H·(nope+rope)]
//   kv_a   = x·Wkv_aᵀ = latent | k_pe                        [N, kv_lora + rope]
//   kv     = RMSNorm(latent)·Wkv_bᵀ = per head k_nope | v      [N, H·(nope+v)]
//   RoPE (cfg.rope_layout; DeepSeek uses interleaved) on q's rope part and on k_pe, which is
//   one head shared by all H heads;  K = [k_nope | k_pe] per head,  V = v per head
//   att    = causal softmax(Q Kᵀ · scale) V,  scale = 1/sqrt(nope+rope) · mscale² (YaRN)
//   y      = att · Woᵀ
// Forward and backward are both implemented; the backward broadcasts in reverse (dk_pe is
// the sum over heads) and chains RMSNorm/linear backwards of both LoRA paths.
#include <cmath>
#include <cstring>

#include "core/threads.h"
#include "model/blocks.h"
#include "ops/attention.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/rope.h"

namespace r1 {

float mla_softmax_scale(const ModelConfig& cfg) {
    float scale = 1.0f / std::sqrt((float)(cfg.qk_nope_head_dim + cfg.qk_rope_head_dim));
    if (cfg.yarn.factor > 1.0f && cfg.yarn.mscale_all_dim != 0.0f) {
        // HF yarn_get_mscale(scaling_factor, mscale_all_dim)
        const float m = 0.1f * cfg.yarn.mscale_all_dim * std::log(cfg.yarn.factor) + 1.0f;
        scale *= m * m;
    }
    return scale;
}

namespace {

struct MlaDims {
    int64_t N, C, H, nope, rope, dqk, dv, kvl, ql;
};

MlaDims dims(const AttnCtx& c) {
    const ModelConfig& g = *c.cfg;
    return {c.B * c.T, g.n_embd, g.n_head, g.qk_nope_head_dim, g.qk_rope_head_dim,
            g.qk_nope_head_dim + g.qk_rope_head_dim, g.v_head_dim, g.kv_lora_rank,
            g.q_lora_rank};
}

AttnShape mla_shape(const MlaDims& d, const AttnCtx& c) {
    AttnShape s;
    s.B = c.B;
    s.T = c.T;
    s.n_head = d.H;
    s.n_head_kv = d.H;
    s.hd_qk = d.dqk;
    s.hd_v = d.dv;
    s.q_stride = d.H * d.dqk;
    s.k_stride = d.H * d.dqk;
    s.v_stride = d.H * d.dv;
    s.out_stride = d.H * d.dv;
    s.scale = mla_softmax_scale(*c.cfg);
    return s;
}

}  // namespace

void mla_forward(float* y, const float* x, const float* P, const AttnParams& p, AttnActs& a,
                 const AttnCtx& c) {
    const ModelConfig& cfg = *c.cfg;
    const MlaDims d = dims(c);
    const int64_t N = d.N, H = d.H;
    const int64_t kvw = d.kvl + d.rope;
    ensure(a.q, (size_t)(N * H * d.dqk));
    ensure(a.kv_a, (size_t)(N * kvw));
    ensure(a.lat, (size_t)(N * d.kvl));
    ensure(a.lat_n, (size_t)(N * d.kvl));
    ensure(a.lat_rstd, (size_t)N);
    ensure(a.kv, (size_t)(N * H * (d.nope + d.dv)));
    ensure(a.k, (size_t)(N * H * d.dqk));
    ensure(a.v, (size_t)(N * H * d.dv));
    ensure(a.att, (size_t)(N * H * d.dv));
    ensure(a.lse, (size_t)(N * H));

    // queries
    if (d.ql == 0) {
        linear_forward(a.q.data(), x, P + p.q_w, nullptr, N, d.C, H * d.dqk);  // [N, H·dqk]
    } else {
        ensure(a.qa, (size_t)(N * d.ql));
        ensure(a.qa_n, (size_t)(N * d.ql));
        ensure(a.qa_rstd, (size_t)N);
        linear_forward(a.qa.data(), x, P + p.q_a_w, nullptr, N, d.C, d.ql);     // [N, ql]
        rmsnorm_forward(a.qa_n.data(), a.qa_rstd.data(), a.qa.data(), P + p.q_a_norm, N, d.ql,
                        cfg.norm_eps);
        linear_forward(a.q.data(), a.qa_n.data(), P + p.q_b_w, nullptr, N, d.ql, H * d.dqk);
    }
    // keys/values: compressed latent and the shared rope key
    linear_forward(a.kv_a.data(), x, P + p.kv_a_w, nullptr, N, d.C, kvw);  // [N, kvl + rope]
    float* kv_a = a.kv_a.data();
    float* lat = a.lat.data();
    parallel_for(N, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; n++)
            std::memcpy(lat + n * d.kvl, kv_a + n * kvw, sizeof(float) * d.kvl);
    }, 64);
    rmsnorm_forward(a.lat_n.data(), a.lat_rstd.data(), lat, P + p.kv_a_norm, N, d.kvl,
                    cfg.norm_eps);
    linear_forward(a.kv.data(), a.lat_n.data(), P + p.kv_b_w, nullptr, N, d.kvl,
                   H * (d.nope + d.dv));  // [N, H·(nope+v)]

    // RoPE: q's rope part of every head, and the single k_pe head
    rope_forward(a.q.data() + d.nope, a.q.data() + d.nope, c.pos, N, H, H * d.dqk, d.dqk,
                 *c.rope, cfg.rope_layout);
    rope_forward(kv_a + d.kvl, kv_a + d.kvl, c.pos, N, 1, kvw, d.rope, *c.rope, cfg.rope_layout);

    // K = [k_nope | k_pe] per head, V = v per head
    float* K = a.k.data();
    float* Vv = a.v.data();
    const float* kv = a.kv.data();
    parallel_for(N, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; n++)
            for (int64_t h = 0; h < H; h++) {
                const float* src = kv + (n * H + h) * (d.nope + d.dv);
                float* kd = K + (n * H + h) * d.dqk;
                std::memcpy(kd, src, sizeof(float) * d.nope);
                std::memcpy(kd + d.nope, kv_a + n * kvw + d.kvl, sizeof(float) * d.rope);
                std::memcpy(Vv + (n * H + h) * d.dv, src + d.nope, sizeof(float) * d.dv);
            }
    }, 16);

    const AttnShape s = mla_shape(d, c);
    attention_forward(a.att.data(), a.lse.data(), a.q.data(), K, Vv, s);        // [N, H·v]
    linear_forward(y, a.att.data(), P + p.out_w, nullptr, N, H * d.dv, d.C);    // [N, C]
}

void mla_backward(float* dx, const float* dy, const float* x, const float* P, float* G,
                  const AttnParams& p, AttnActs& a, AttnScratch& s, const AttnCtx& c) {
    const ModelConfig& cfg = *c.cfg;
    const MlaDims d = dims(c);
    const int64_t N = d.N, H = d.H;
    const int64_t kvw = d.kvl + d.rope, kvbw = d.nope + d.dv;
    ensure(s.d_att, (size_t)(N * H * d.dv));
    ensure(s.d_qkv, (size_t)(N * H * d.dqk));  // dq
    ensure(s.d_k, (size_t)(N * H * d.dqk));
    ensure(s.d_v, (size_t)(N * H * d.dv));
    ensure(s.d_kv, (size_t)(N * H * kvbw));
    ensure(s.d_lat_n, (size_t)(N * d.kvl));
    ensure(s.d_lat, (size_t)(N * d.kvl));
    ensure(s.d_kv_a, (size_t)(N * kvw));

    linear_backward(s.d_att.data(), G + p.out_w, nullptr, dy, a.att.data(), P + p.out_w, N,
                    H * d.dv, d.C);
    const AttnShape sh = mla_shape(d, c);
    float* dq = s.d_qkv.data();
    float* dK = s.d_k.data();
    float* dV = s.d_v.data();
    attention_backward(dq, dK, dV, s.d_att.data(), a.att.data(), a.lse.data(), a.q.data(),
                       a.k.data(), a.v.data(), sh);

    // un-broadcast: d_kv per head = [dk_nope | dv]; dk_pe = Σ_h dK[:, h, nope:]
    float* dkv = s.d_kv.data();
    float* dkv_a = s.d_kv_a.data();
    parallel_for(N, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; n++) {
            float* dpe = dkv_a + n * kvw + d.kvl;
            for (int64_t r = 0; r < d.rope; r++) dpe[r] = 0.0f;
            for (int64_t h = 0; h < H; h++) {
                const float* dk = dK + (n * H + h) * d.dqk;
                float* dst = dkv + (n * H + h) * kvbw;
                std::memcpy(dst, dk, sizeof(float) * d.nope);
                std::memcpy(dst + d.nope, dV + (n * H + h) * d.dv, sizeof(float) * d.dv);
                for (int64_t r = 0; r < d.rope; r++) dpe[r] += dk[d.nope + r];
            }
        }
    }, 16);
    rope_backward(dkv_a + d.kvl, dkv_a + d.kvl, c.pos, N, 1, kvw, d.rope, *c.rope,
                  cfg.rope_layout);

    // kv_b and the latent RMSNorm
    linear_backward(s.d_lat_n.data(), G + p.kv_b_w, nullptr, dkv, a.lat_n.data(), P + p.kv_b_w,
                    N, d.kvl, H * kvbw);
    rmsnorm_backward(s.d_lat.data(), G + p.kv_a_norm, s.d_lat_n.data(), a.lat.data(),
                     P + p.kv_a_norm, a.lat_rstd.data(), N, d.kvl);
    const float* dlat = s.d_lat.data();
    parallel_for(N, [&](int64_t b, int64_t e) {
        for (int64_t n = b; n < e; n++)
            std::memcpy(dkv_a + n * kvw, dlat + n * d.kvl, sizeof(float) * d.kvl);
    }, 64);
    // kv_a: dx = d_kv_a · Wkv_a (overwrites dx)
    linear_backward(dx, G + p.kv_a_w, nullptr, dkv_a, x, P + p.kv_a_w, N, d.C, kvw);

    // queries: inverse rope on the rope part, then the projection(s); dx accumulates
    rope_backward(dq + d.nope, dq + d.nope, c.pos, N, H, H * d.dqk, d.dqk, *c.rope,
                  cfg.rope_layout);
    if (d.ql == 0) {
        linear_backward(dx, G + p.q_w, nullptr, dq, x, P + p.q_w, N, d.C, H * d.dqk, true);
    } else {
        ensure(s.d_qa_n, (size_t)(N * d.ql));
        ensure(s.d_qa, (size_t)(N * d.ql));
        linear_backward(s.d_qa_n.data(), G + p.q_b_w, nullptr, dq, a.qa_n.data(), P + p.q_b_w,
                        N, d.ql, H * d.dqk);
        rmsnorm_backward(s.d_qa.data(), G + p.q_a_norm, s.d_qa_n.data(), a.qa.data(),
                         P + p.q_a_norm, a.qa_rstd.data(), N, d.ql);
        linear_backward(dx, G + p.q_a_w, nullptr, s.d_qa.data(), x, P + p.q_a_w, N, d.C, d.ql,
                        true);
    }
}

}  // namespace r1
