// BatchForward: the KV-cache inference forward over a step of several sequences (see
// forward.h). Per layer (pre-norm, as model/model.cpp):
//   h = norm(x);  x += attn(h);  h = norm(x);  x += (MLP | MoE)(h)
// Linear layers: one qlinear_forward over all N new tokens of the step. Attention (GQA, or
// MLA in its plain form with per-head K/V expanded from the latent): new K/V (after RoPE)
// are appended to each sequence's cache slot, then every (token, head) pair
// attends to its own slot's positions [0, pos] — a plain two-pass softmax per row (scores
// kept in a small per-chunk buffer), independent of which other sequences share the step,
// so a sequence gets the same attention result batched or alone. The cache rows are f32 or
// f16 (KvType): new rows are converted when stored, the attention (generate/kv_attention.h)
// converts f16 tiles back to f32 on the fly and computes in f32.
// MLA with the latent cache (KvLayout::mla_latent, the default): absorbed form, see
// project_mla_latent; the plain form stays as the reference.
// MoE: router in f32 → top-k (ops/moe_routing.h) → tokens bucketed by expert → per expert
// one product on its row slice of the stacked [E, Fe, C] tensors → weighted scatter.
#include "generate/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "generate/kv_attention.h"
#include "model/blocks.h"
#include "ops/activation.h"
#include "ops/norm.h"
#include "ops/rope.h"

namespace r1 {

namespace {

// Row `id` of a [rows, K] view as f32 (dequantised if needed).
void view_row_f32(float* dst, const WeightView& w, int64_t id) {
    const int64_t rb = dtype_row_bytes(w.type, w.K);
    to_f32(dst, static_cast<const char*>(w.data) + id * rb, w.type, w.K);
}

// y[N, 2F] gate|up halves, act[N, F]; y_out[N, C] = down(silu(gate) ⊙ up)
void swiglu_ffn(float* y, const float* x, const WeightView& gate, const WeightView& up,
                const WeightView& gate_up, const WeightView& down, int64_t N, int64_t F,
                float* pre, float* act) {
    if (gate_up.data) {
        qlinear_forward(pre, x, gate_up, N);                   // [N, 2F]
        swiglu_forward(act, pre, pre + F, N, F, 2 * F, 2 * F);  // [N, F]
    } else {
        qlinear_forward(pre, x, gate, N);          // [N, F]
        qlinear_forward(pre + N * F, x, up, N);    // [N, F]
        swiglu_forward(act, pre, pre + N * F, N, F, F, F);
    }
    qlinear_forward(y, act, down, N);  // [N, C]
}

}  // namespace

void BatchForward::norm(float* y, const float* x, const float* w, const float* b, int64_t N) {
    const ModelConfig& cfg = m_.config();
    if (cfg.norm == NormKind::layernorm)
        layernorm_forward(y, nullptr, nullptr, x, w, b, N, cfg.n_embd, cfg.norm_eps);
    else
        rmsnorm_forward(y, nullptr, x, w, N, cfg.n_embd, cfg.norm_eps);
}

const float* BatchForward::run(KvCache& cache, const std::vector<SeqInput>& batch,
                               bool all_logits) {
    const ModelConfig& cfg = m_.config();
    const int64_t C = cfg.n_embd, V = cfg.n_vocab, S = (int64_t)batch.size();
    R1_CHECK(S > 0, "[forward] empty batch");
    const bool mla = cfg.attn == AttnKind::mla;
    const bool latent = cache.layout() == KvLayout::mla_latent;
    const int64_t k_row = latent ? cfg.kv_lora_rank + cfg.qk_rope_head_dim
                          : mla  ? cfg.n_head * (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim)
                                 : cfg.n_head_kv * cfg.head_dim;
    const int64_t v_row = latent ? 0 : mla ? cfg.n_head * cfg.v_head_dim : cfg.n_head_kv * cfg.head_dim;
    R1_CHECK(cache.k_row() == k_row && cache.v_row() == v_row && (mla || !latent),
             "[forward] KV cache was built for another model shape");
    R1_CHECK(!mla || latent || m_.layer(0).wkv_b.data,
             "[forward] this MLA model has only the split attn_k_b / attn_v_b tensors: the plain "
             "KV cache needs attn_kv_b; use KvLayout::mla_latent");

    // validate everything before touching the cache
    start_.assign((size_t)S + 1, 0);
    past_.assign((size_t)S, 0);
    for (int64_t s = 0; s < S; s++) {
        const SeqInput& q = batch[(size_t)s];
        R1_CHECK(cache.in_use(q.slot), "[forward] sequence ", s, ": slot ", q.slot,
                 " is not an acquired cache slot");
        for (int64_t r = 0; r < s; r++)
            R1_CHECK(batch[(size_t)r].slot != q.slot, "[forward] slot ", q.slot,
                     " appears twice in one step");
        R1_CHECK(q.n_tokens >= 1 && q.tokens, "[forward] sequence ", s, " has no new tokens");
        past_[(size_t)s] = cache.length(q.slot);
        R1_CHECK(past_[(size_t)s] + q.n_tokens <= cache.n_ctx(), "[forward] sequence ", s,
                 " would reach ", past_[(size_t)s] + q.n_tokens, " positions; the cache holds ",
                 cache.n_ctx());
        for (int64_t i = 0; i < q.n_tokens; i++)
            R1_CHECK(q.tokens[i] >= 0 && q.tokens[i] < V, "[forward] sequence ", s, ": token id ",
                     q.tokens[i], " outside [0, n_vocab=", V, ")");
        start_[(size_t)s + 1] = start_[(size_t)s] + q.n_tokens;
    }
    const int64_t N = start_[(size_t)S];
    ensure(tok_, (size_t)N), ensure(pos_, (size_t)N);
    for (int64_t s = 0; s < S; s++)
        for (int64_t i = 0; i < batch[(size_t)s].n_tokens; i++) {
            tok_[(size_t)(start_[(size_t)s] + i)] = batch[(size_t)s].tokens[i];
            pos_[(size_t)(start_[(size_t)s] + i)] = (int32_t)(past_[(size_t)s] + i);
        }

    ensure(x_, (size_t)(N * C)), ensure(h_, (size_t)(N * C)), ensure(y_, (size_t)(N * C));
    // embeddings [N, C] (+ learned positions)
    float* x = x_.data();
    for (int64_t n = 0; n < N; n++) view_row_f32(x + n * C, m_.tok_embd(), tok_[(size_t)n]);
    if (cfg.pos == PosKind::learned) {
        for (int64_t n = 0; n < N; n++) {
            view_row_f32(h_.data(), m_.pos_embd(), pos_[(size_t)n]);
            add_inplace(x + n * C, h_.data(), C);
        }
    }

    for (int64_t il = 0; il < cfg.n_layer; il++) {
        const InferLayer& l = m_.layer(il);
        norm(h_.data(), x, l.attn_norm_w, l.attn_norm_b, N);  // [N, C]
        attention(cache, batch, il);                           // y = attn(h) [N, C]
        add_inplace(x, y_.data(), N * C);
        norm(h_.data(), x, l.ffn_norm_w, l.ffn_norm_b, N);
        if (l.moe)
            ffn_moe(y_.data(), h_.data(), l, N);
        else
            ffn_dense(y_.data(), h_.data(), l, N);
        add_inplace(x, y_.data(), N * C);
    }
    for (int64_t s = 0; s < S; s++) cache.advance(batch[(size_t)s].slot, batch[(size_t)s].n_tokens);

    // head: final norm + output product on the rows whose logits are wanted
    const int64_t R = all_logits ? N : S;
    ensure(last_, (size_t)(R * C));
    ensure(logits_, (size_t)(R * V));
    if (all_logits) {
        norm(last_.data(), x, m_.output_norm_w(), m_.output_norm_b(), N);
    } else {
        for (int64_t s = 0; s < S; s++)  // h = last new row of each sequence
            std::memcpy(h_.data() + s * C, x + (start_[(size_t)s + 1] - 1) * C,
                        sizeof(float) * (size_t)C);
        norm(last_.data(), h_.data(), m_.output_norm_w(), m_.output_norm_b(), S);
    }
    qlinear_forward(logits_.data(), last_.data(), m_.output(), R);  // [R, V]
    return logits_.data();
}

const float* BatchForward::project_gqa(KvCache& cache, const std::vector<SeqInput>& batch,
                                       int64_t il, int64_t* q_stride) {
    const ModelConfig& cfg = m_.config();
    const InferLayer& l = m_.layer(il);
    const int64_t S = (int64_t)batch.size(), N = start_[(size_t)S];
    const int64_t H = cfg.n_head, Hkv = cfg.n_head_kv, D = cfg.head_dim;
    const int64_t W = (H + 2 * Hkv) * D, row = Hkv * D;
    ensure(qkv_, (size_t)(N * W));
    float* qkv = qkv_.data();  // [N, W] q | k | v per row
    const float* h = h_.data();

    if (l.wqkv.data) {
        qlinear_forward(qkv, h, l.wqkv, N);  // [N, W]
    } else {  // separate q, k, v products, interleaved into the fused row layout
        ensure(tmp_, (size_t)(N * H * D));
        const WeightView* ws[3] = {&l.wq, &l.wk, &l.wv};
        const int64_t off[3] = {0, H * D, (H + Hkv) * D}, cols[3] = {H * D, row, row};
        for (int j = 0; j < 3; j++) {
            qlinear_forward(tmp_.data(), h, *ws[j], N);  // [N, cols]
            for (int64_t n = 0; n < N; n++)
                std::memcpy(qkv + n * W + off[j], tmp_.data() + n * cols[j],
                            sizeof(float) * (size_t)cols[j]);
        }
    }
    if (l.bq) {
        for (int64_t n = 0; n < N; n++) {
            float* r = qkv + n * W;
            for (int64_t i = 0; i < H * D; i++) r[i] += l.bq[i];
            for (int64_t i = 0; i < row; i++) r[H * D + i] += l.bk[i];
            for (int64_t i = 0; i < row; i++) r[H * D + row + i] += l.bv[i];
        }
    }
    if (cfg.pos == PosKind::rope) {
        rope_forward(qkv, qkv, pos_.data(), N, H, W, D, m_.rope(), cfg.rope_layout);
        rope_forward(qkv + H * D, qkv + H * D, pos_.data(), N, Hkv, W, D, m_.rope(),
                     cfg.rope_layout);
    }
    // append the new K/V rows to each slot (converted to the cache's type)
    for (int64_t s = 0; s < S; s++) {
        const int32_t slot = batch[(size_t)s].slot;
        for (int64_t n = start_[(size_t)s]; n < start_[(size_t)s + 1]; n++) {
            const int64_t p = pos_[(size_t)n];
            cache.store_k(slot, il, p, 0, qkv + n * W + H * D, row);        // [Hkv·D]
            cache.store_v(slot, il, p, 0, qkv + n * W + H * D + row, row);  // [Hkv·D]
        }
    }
    *q_stride = W;
    return qkv;
}

// MLA (model/mla.cpp's maths): q from x (optionally through the q LoRA + RMSNorm); the
// latent | k_pe from x; K/V per head from RMSNorm(latent); RoPE on q's rope part and on the
// single k_pe head shared by all heads; cached rows K = [k_nope | k_pe], V = v per head.
// Shared by both MLA forms: q [N, H·dqk] (RoPE on each head's rope part) into qkv_, the
// latent | k_pe [N, kvl + rope] (RoPE on k_pe) into kva_ and RMSNorm(latent) [N, kvl] into
// lat_n_.
void BatchForward::mla_project_common(int64_t il, int64_t N) {
    const ModelConfig& cfg = m_.config();
    const InferLayer& l = m_.layer(il);
    const int64_t H = cfg.n_head, nope = cfg.qk_nope_head_dim, rope = cfg.qk_rope_head_dim;
    const int64_t dqk = nope + rope, kvl = cfg.kv_lora_rank;
    const int64_t ql = cfg.q_lora_rank, kvw = kvl + rope;
    const float* h = h_.data();
    ensure(qkv_, (size_t)(N * H * dqk));
    float* q = qkv_.data();  // [N, H·dqk]
    if (l.wq.data) {
        qlinear_forward(q, h, l.wq, N);
    } else {
        ensure(qa_, (size_t)(N * ql)), ensure(qa_n_, (size_t)(N * ql));
        qlinear_forward(qa_.data(), h, l.wq_a, N);  // [N, ql]
        rmsnorm_forward(qa_n_.data(), nullptr, qa_.data(), l.q_a_norm, N, ql, cfg.norm_eps);
        qlinear_forward(q, qa_n_.data(), l.wq_b, N);
    }
    ensure(kva_, (size_t)(N * kvw)), ensure(lat_, (size_t)(N * kvl));
    ensure(lat_n_, (size_t)(N * kvl));
    float* kva = kva_.data();
    qlinear_forward(kva, h, l.wkv_a, N);  // [N, kvl + rope]
    for (int64_t n = 0; n < N; n++)
        std::memcpy(lat_.data() + n * kvl, kva + n * kvw, sizeof(float) * (size_t)kvl);
    rmsnorm_forward(lat_n_.data(), nullptr, lat_.data(), l.kv_a_norm, N, kvl, cfg.norm_eps);
    rope_forward(q + nope, q + nope, pos_.data(), N, H, H * dqk, dqk, m_.rope(), cfg.rope_layout);
    rope_forward(kva + kvl, kva + kvl, pos_.data(), N, 1, kvw, rope, m_.rope(), cfg.rope_layout);
}

const float* BatchForward::project_mla(KvCache& cache, const std::vector<SeqInput>& batch,
                                       int64_t il, int64_t* q_stride) {
    const ModelConfig& cfg = m_.config();
    const InferLayer& l = m_.layer(il);
    const int64_t S = (int64_t)batch.size(), N = start_[(size_t)S];
    const int64_t H = cfg.n_head, nope = cfg.qk_nope_head_dim, rope = cfg.qk_rope_head_dim;
    const int64_t dqk = nope + rope, dv = cfg.v_head_dim, kvl = cfg.kv_lora_rank;
    const int64_t kvw = kvl + rope;
    mla_project_common(il, N);
    const float* q = qkv_.data();  // [N, H·dqk]
    const float* kva = kva_.data();
    ensure(kvb_, (size_t)(N * H * (nope + dv)));
    qlinear_forward(kvb_.data(), lat_n_.data(), l.wkv_b, N);  // [N, H·(nope + v)]

    for (int64_t s = 0; s < S; s++) {
        const int32_t slot = batch[(size_t)s].slot;  // K [n_ctx, H·dqk], V [n_ctx, H·dv]
        for (int64_t n = start_[(size_t)s]; n < start_[(size_t)s + 1]; n++) {
            const int64_t p = pos_[(size_t)n];
            for (int64_t hh = 0; hh < H; hh++) {
                const float* src = kvb_.data() + (n * H + hh) * (nope + dv);
                cache.store_k(slot, il, p, hh * dqk, src, nope);
                cache.store_k(slot, il, p, hh * dqk + nope, kva + n * kvw + kvl, rope);
                cache.store_v(slot, il, p, hh * dv, src + nope, dv);
            }
        }
    }
    *q_stride = H * dqk;
    return q;
}

// MLA absorbed form (DeepSeek-V2 §2.1.2; llama.cpp's deepseek2 graph with attn_k_b):
// q_nope_h·k_nope_h[j] = (W_UK_hᵀ·q_nope_h)·c[j], so each head's query moves into latent
// space, q_abs [N, H, kvl | rope] = [q_nope_h·W_UK_h | q_pe_h], and attends over the cached
// rows [c | k_pe] like multi-query attention with one kv head of width kvl + rope whose
// "value" is c itself. The per-head result o_lat [kvl] goes through W_UV_h afterwards
// (attention()). Cache row p of a slot: [RMSNorm(latent) | RoPE(k_pe)].
const float* BatchForward::project_mla_latent(KvCache& cache, const std::vector<SeqInput>& batch,
                                              int64_t il, int64_t* q_stride) {
    const ModelConfig& cfg = m_.config();
    const InferLayer& l = m_.layer(il);
    const int64_t S = (int64_t)batch.size(), N = start_[(size_t)S];
    const int64_t H = cfg.n_head, nope = cfg.qk_nope_head_dim, rope = cfg.qk_rope_head_dim;
    const int64_t dqk = nope + rope, kvl = cfg.kv_lora_rank, kvw = kvl + rope;
    mla_project_common(il, N);
    const float* q = qkv_.data();  // [N, H·dqk]
    const float* kva = kva_.data();
    for (int64_t s = 0; s < S; s++) {
        const int32_t slot = batch[(size_t)s].slot;  // [n_ctx, kvl + rope]
        for (int64_t n = start_[(size_t)s]; n < start_[(size_t)s + 1]; n++) {
            const int64_t p = pos_[(size_t)n];
            cache.store_k(slot, il, p, 0, lat_n_.data() + n * kvl, kvl);
            cache.store_k(slot, il, p, kvl, kva + n * kvw + kvl, rope);
        }
    }
    ensure(qabs_, (size_t)(N * H * kvw));
    ensure(hx_, (size_t)(N * std::max(nope, kvl))), ensure(hy_, (size_t)(N * kvl));
    float* qa = qabs_.data();  // [N, H, kvl + rope]
    for (int64_t hh = 0; hh < H; hh++) {
        for (int64_t n = 0; n < N; n++)  // q_nope of head hh [N, nope]
            std::memcpy(hx_.data() + n * nope, q + n * H * dqk + hh * dqk, sizeof(float) * (size_t)nope);
        qlinear_forward(hy_.data(), hx_.data(), mla_uk_head(l, cfg, hh), N);  // [N, kvl]
        for (int64_t n = 0; n < N; n++) {
            float* dst = qa + (n * H + hh) * kvw;
            std::memcpy(dst, hy_.data() + n * kvl, sizeof(float) * (size_t)kvl);
            std::memcpy(dst + kvl, q + n * H * dqk + hh * dqk + nope, sizeof(float) * (size_t)rope);
        }
    }
    *q_stride = H * kvw;
    return qa;
}

void BatchForward::attention(KvCache& cache, const std::vector<SeqInput>& batch, int64_t il) {
    const ModelConfig& cfg = m_.config();
    const bool mla = cfg.attn == AttnKind::mla;
    const bool latent = cache.layout() == KvLayout::mla_latent;
    const int64_t S = (int64_t)batch.size(), N = start_[(size_t)S], H = cfg.n_head;
    const int64_t kvl = cfg.kv_lora_rank, kvw = kvl + cfg.qk_rope_head_dim;
    // per-head dims: query/key dqk, value dv; kv heads Hkv (MLA plain: one per query head;
    // MLA latent: one shared head, key [c | k_pe], value c = the first kvl floats of the key)
    const int64_t dqk = latent ? kvw : mla ? cfg.qk_nope_head_dim + cfg.qk_rope_head_dim : cfg.head_dim;
    const int64_t dv = latent ? kvl : mla ? cfg.v_head_dim : cfg.head_dim;
    const int64_t Hkv = latent ? 1 : mla ? H : cfg.n_head_kv;
    int64_t qs = 0;
    const float* qbuf = latent ? project_mla_latent(cache, batch, il, &qs)
                        : mla  ? project_mla(cache, batch, il, &qs)
                               : project_gqa(cache, batch, il, &qs);
    const int64_t krow = cache.k_row(), vrow = latent ? krow : cache.v_row();

    const int64_t eb = kv_type_bytes(cache.type());
    std::vector<const char*> kp((size_t)S), vp((size_t)S);
    for (int64_t s = 0; s < S; s++) {
        kp[(size_t)s] = static_cast<const char*>(cache.k_data(batch[(size_t)s].slot, il));
        vp[(size_t)s] = latent ? kp[(size_t)s]
                               : static_cast<const char*>(cache.v_data(batch[(size_t)s].slot, il));
    }

    // att[n, h] = softmax(q·Kᵀ·scale over positions [0, pos_n]) · V   (kv head h / (H/Hkv)).
    // Work item = (block of up to kTokBlock consecutive tokens of one sequence, kv head, chunk
    // of its query heads): an f16 K/V tile is converted once per item (kv_attention.h), so
    // heads are chunked only as far as needed to give every thread an item (MLA latent decode
    // has one kv head). Blocks are visited first, last, second, second-to-last, ... so the
    // static thread chunks get similar causal work. A head's result depends neither on the
    // blocking nor on the other sequences of the step (bit-identical).
    constexpr int64_t kTokBlock = 8;
    struct Blk {
        int64_t s, t0, nt;
    };
    std::vector<Blk> blk;
    for (int64_t s = 0; s < S; s++)
        for (int64_t t0 = start_[(size_t)s]; t0 < start_[(size_t)s + 1]; t0 += kTokBlock)
            blk.push_back({s, t0, std::min(kTokBlock, start_[(size_t)s + 1] - t0)});
    const int64_t NB = (int64_t)blk.size();
    const float scale = mla ? mla_softmax_scale(cfg) : 1.0f / std::sqrt((float)dqk);
    const int64_t group = H / Hkv;
    const int64_t want = (int64_t)num_threads();
    const int64_t n_chunk = std::min(group, std::max<int64_t>(1, (want + NB * Hkv - 1) / (NB * Hkv)));
    const int64_t per_chunk = (group + n_chunk - 1) / n_chunk;
    ensure(att_, (size_t)(N * H * dv));
    float* att = att_.data();
    parallel_for(NB * Hkv * n_chunk, [&](int64_t b, int64_t e) {
        KvAttnScratch scratch;
        for (int64_t it = b; it < e; it++) {
            const int64_t i = it / (Hkv * n_chunk), g = it / n_chunk % Hkv, c = it % n_chunk;
            const Blk& bk = blk[(size_t)(i % 2 == 0 ? i / 2 : NB - 1 - i / 2)];  // zig-zag
            const int64_t h0 = g * group + c * per_chunk;
            const int64_t nq = std::min(per_chunk, group - c * per_chunk);
            if (nq <= 0) continue;
            KvHeadRows kv;
            kv.k = kp[(size_t)bk.s] + g * dqk * eb;
            kv.v = vp[(size_t)bk.s] + g * dv * eb;
            kv.type = cache.type();
            kv.k_stride = krow, kv.v_stride = vrow;
            KvQueryBlock qb;
            qb.q = qbuf + bk.t0 * qs + h0 * dqk, qb.q_head_stride = dqk, qb.q_tok_stride = qs;
            qb.o = att + bk.t0 * H * dv + h0 * dv, qb.o_head_stride = dv, qb.o_tok_stride = H * dv;
            qb.n_q = nq, qb.n_tok = bk.nt, qb.L0 = pos_[(size_t)bk.t0] + 1;
            kv_attend_block(kv, dqk, dv, scale, qb, scratch);
        }
    });
    if (latent) {  // o_h = W_UV_h · o_lat_h: [N, H, kvl] -> [N, H·v]
        const int64_t dvh = cfg.v_head_dim;
        ensure(attv_, (size_t)(N * H * dvh));
        ensure(hx_, (size_t)(N * kvl)), ensure(hy_, (size_t)(N * std::max(kvl, dvh)));
        for (int64_t hh = 0; hh < H; hh++) {
            for (int64_t n = 0; n < N; n++)
                std::memcpy(hx_.data() + n * kvl, att + (n * H + hh) * kvl, sizeof(float) * (size_t)kvl);
            qlinear_forward(hy_.data(), hx_.data(), mla_uv_head(m_.layer(il), cfg, hh), N);  // [N, v]
            for (int64_t n = 0; n < N; n++)
                std::memcpy(attv_.data() + (n * H + hh) * dvh, hy_.data() + n * dvh,
                            sizeof(float) * (size_t)dvh);
        }
        att = attv_.data();
    }
    qlinear_forward(y_.data(), att, m_.layer(il).wo, N);  // [N, C]
}

void BatchForward::ffn_dense(float* y, const float* x, const InferLayer& l, int64_t N) {
    const ModelConfig& cfg = m_.config();
    const int64_t F = cfg.n_ff;
    ensure(pre_, (size_t)(N * 2 * F));
    ensure(act_, (size_t)(N * F));
    if (cfg.mlp == MlpKind::swiglu) {
        swiglu_ffn(y, x, l.gate, l.up, l.gate_up, l.down, N, F, pre_.data(), act_.data());
    } else {
        qlinear_forward(pre_.data(), x, l.up, N);                          // [N, F]
        gelu_forward(act_.data(), pre_.data(), N * F, cfg.gelu);           // [N, F]
        qlinear_forward(y, act_.data(), l.down, N);                        // [N, C]
    }
}

void BatchForward::ffn_moe(float* y, const float* x, const InferLayer& l, int64_t N) {
    const ModelConfig& cfg = m_.config();
    const RouterConfig rc = cfg.router();
    const int64_t C = cfg.n_embd, E = cfg.n_expert, k = cfg.n_expert_used, Fe = cfg.n_ff_exp;
    const int64_t Fs = Fe * cfg.n_expert_shared;
    ensure(rlogits_, (size_t)(N * E)), ensure(scores_, (size_t)(N * E));
    ensure(weights_, (size_t)(N * k)), ensure(ids_, (size_t)(N * k));
    ensure(xs_, (size_t)(N * k * C)), ensure(ys_, (size_t)(N * k * C));
    ensure(pre_, (size_t)(std::max(N * k * 2 * Fe, N * 2 * Fs)));
    ensure(act_, (size_t)(std::max(N * k * Fe, N * Fs)));

    qlinear_forward(rlogits_.data(), x, l.gate_inp, N);  // [N, E] router logits (f32)
    moe_route_forward(ids_.data(), weights_.data(), scores_.data(), rlogits_.data(), l.sel_bias,
                      N, rc);  // [N, k]
    moe_bucket(buckets_, ids_.data(), N, k, E);
    moe_gather(xs_.data(), x, buckets_, C);  // [N·k, C] rows grouped by expert

    // shared experts first (y is overwritten), routed experts into ys
    if (Fs > 0)
        swiglu_ffn(y, x, l.gate_sh, l.up_sh, l.gate_up_sh, l.down_sh, N, Fs, pre_.data(),
                   act_.data());
    else
        std::memset(y, 0, sizeof(float) * (size_t)(N * C));
    for (int64_t e = 0; e < E; e++) {
        const int64_t n = buckets_.count(e), o = buckets_.offsets[(size_t)e];
        if (n == 0) continue;
        const WeightView g = weight_rows(l.gate_exps, e * Fe, Fe);  // [Fe, C]
        const WeightView u = weight_rows(l.up_exps, e * Fe, Fe);    // [Fe, C]
        const WeightView d = weight_rows(l.down_exps, e * C, C);    // [C, Fe]
        swiglu_ffn(ys_.data() + o * C, xs_.data() + o * C, g, u, WeightView{}, d, n, Fe,
                   pre_.data() + o * 2 * Fe, act_.data() + o * Fe);
    }
    moe_scatter_add(y, ys_.data(), weights_.data(), k, buckets_, C);  // y += Σ w · expert
}

}  // namespace r1
