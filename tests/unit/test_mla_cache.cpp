// MLA latent KV cache (KvLayout::mla_latent, the absorbed form of generate/forward.cpp)
// against the plain expanded-K/V cache on the same model: prefill logits and every decode
// step agree (f32 to float rounding; Q8_0 within the activation-quantisation error, since
// the two forms quantise different activations: q_nope/o_lat vs the normed latent), with
// and without q LoRA, and in a batch of different lengths. The split attn_k_b / attn_v_b
// tensors of newer llama.cpp conversions (no attn_kv_b) give the same logits as attn_kv_b,
// and a plain cache on such a model is a clear error. Cache row sizes are checked too.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "model/config.h"
#include "model/model.h"
#include "testing.h"

namespace {

using r1::KvLayout;
using r1::ModelConfig;

// DeepSeek-V2-style MLA + MoE, sizes that are multiples of 32 where Q8_0 needs them
// (every product's K: C, q LoRA, kvl, nope, H·v, F, Fe).
ModelConfig mla_cfg(bool q_lora) {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 24, c.n_head = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = q_lora ? 32 : 0, c.kv_lora_rank = 32, c.qk_nope_head_dim = 32;
    c.qk_rope_head_dim = 8, c.v_head_dim = 8;
    c.rope_layout = r1::RopeLayout::interleaved;
    if (q_lora) c.yarn.factor = 2.0f, c.yarn.original_max_pos = 12, c.yarn.mscale_all_dim = 0.707f;
    c.n_ff = 64;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 32;
    c.n_layer_dense_lead = 1;
    c.validate();
    return c;
}

// Random weights with the q / kv projections scaled up so attention is peaky (a wrong
// absorption or scale then changes the logits visibly).
r1::Model make_model(const ModelConfig& c, uint64_t seed) {
    r1::Model m(c);
    m.init_weights(seed);
    for (const auto& p : m.params().infos())
        for (const char* qk : {"attn_q.weight", "attn_q_b.weight", "attn_kv_a_mqa.weight",
                               "attn_kv_b.weight"})
            if (p.name.size() > std::strlen(qk) &&
                p.name.compare(p.name.size() - std::strlen(qk), std::string::npos, qk) == 0) {
                float* w = m.params().ptr(p.name);
                for (int64_t i = 0; i < p.numel; i++) w[i] *= 12.0f;
            }
    return m;
}

std::vector<int32_t> rand_tokens(int64_t n, int64_t V, uint64_t seed) {
    r1::Rng r(seed);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) x = (int32_t)r.below((uint64_t)V);
    return t;
}

// Prefill `k` tokens (all logits) then decode the rest one by one: [T, V] logits.
std::vector<float> run_layout(const r1::InferenceModel& im, KvLayout layout,
                              const std::vector<int32_t>& toks, int64_t k) {
    const ModelConfig& c = im.config();
    const int64_t V = c.n_vocab, T = (int64_t)toks.size();
    r1::KvCache cache(c, 2, c.n_ctx, layout);
    r1::BatchForward fwd(im);
    cache.acquire();
    const int32_t slot = cache.acquire();
    std::vector<float> out((size_t)(T * V));
    const float* lg = fwd.run(cache, {{slot, toks.data(), k}}, true);
    std::memcpy(out.data(), lg, sizeof(float) * (size_t)(k * V));
    for (int64_t t = k; t < T; t++) {
        lg = fwd.run(cache, {{slot, toks.data() + t, 1}});
        std::memcpy(out.data() + t * V, lg, sizeof(float) * (size_t)V);
    }
    return out;
}

TEST(MlaLatentCache, RowSizesAndLayout) {
    const ModelConfig c = mla_cfg(false);
    r1::KvCache latent(c, 1, 8);
    EXPECT_EQ(latent.layout(), KvLayout::mla_latent);
    EXPECT_EQ(latent.k_row(), c.kv_lora_rank + c.qk_rope_head_dim);
    EXPECT_EQ(latent.v_row(), 0);
    r1::KvCache plain(c, 1, 8, KvLayout::plain);
    EXPECT_EQ(plain.layout(), KvLayout::plain);
    EXPECT_EQ(plain.k_row(), c.n_head * (c.qk_nope_head_dim + c.qk_rope_head_dim));
    EXPECT_EQ(plain.v_row(), c.n_head * c.v_head_dim);
    ModelConfig g = ModelConfig::preset("tiny-dense");
    EXPECT_EQ(r1::KvCache(g, 1, 8).layout(), KvLayout::plain);
    try {
        r1::KvCache bad(g, 1, 8, KvLayout::mla_latent);
        FAIL() << "latent layout accepted for a GQA model";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("MLA"), std::string::npos) << e.what();
    }
}

TEST(MlaLatentCache, MatchesPlainCacheF32) {
    for (bool q_lora : {false, true}) {
        SCOPED_TRACE(q_lora ? "q lora" : "no q lora");
        const ModelConfig c = mla_cfg(q_lora);
        r1::Model m = make_model(c, 21);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const auto toks = rand_tokens(20, c.n_vocab, 7);
        const auto plain = run_layout(im, KvLayout::plain, toks, 9);
        const auto latent = run_layout(im, KvLayout::mla_latent, toks, 9);
        EXPECT_TRUE(r1::testing::allclose(latent.data(), plain.data(), plain.size(), 1e-4f, 1e-3f));
        // and the reference maths (training forward)
        std::vector<float> ref(plain.size());
        m.logits(ref.data(), toks.data(), 1, (int64_t)toks.size());
        EXPECT_TRUE(r1::testing::allclose(latent.data(), ref.data(), ref.size(), 1e-4f, 1e-3f));
    }
}

// Batched: sequences of different lengths in one step, latent == plain per sequence.
TEST(MlaLatentCache, BatchOfDifferentLengths) {
    const ModelConfig c = mla_cfg(true);
    r1::Model m = make_model(c, 22);
    const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
    const int64_t V = c.n_vocab;
    const std::vector<std::vector<int32_t>> seqs = {rand_tokens(5, V, 1), rand_tokens(11, V, 2),
                                                    rand_tokens(1, V, 3)};
    std::vector<std::vector<float>> got[2];
    int li = 0;
    for (KvLayout layout : {KvLayout::plain, KvLayout::mla_latent}) {
        r1::KvCache cache(c, 3, c.n_ctx, layout);
        r1::BatchForward fwd(im);
        std::vector<r1::SeqInput> b;
        for (const auto& s : seqs) b.push_back({cache.acquire(), s.data(), (int64_t)s.size()});
        const float* lg = fwd.run(cache, b, true);
        int64_t off = 0;
        for (const auto& s : seqs) {
            got[li].emplace_back(lg + off * V, lg + (off + (int64_t)s.size()) * V);
            off += (int64_t)s.size();
        }
        // one decode step for all three
        std::vector<int32_t> next = {3, 4, 5};
        for (size_t i = 0; i < b.size(); i++) b[i] = {b[i].slot, &next[i], 1};
        lg = fwd.run(cache, b);
        got[li].emplace_back(lg, lg + 3 * V);
        li++;
    }
    ASSERT_EQ(got[0].size(), got[1].size());
    for (size_t i = 0; i < got[0].size(); i++)
        EXPECT_TRUE(r1::testing::allclose(got[1][i].data(), got[0][i].data(), got[0][i].size(),
                                          1e-4f, 1e-3f)) << i;
}

// Every matrix stored as Q8_0 (vectors f32): the two forms quantise different activations,
// so they agree to the Q8_0 activation error (observed max |diff| ~2e-3 on logits ~0.3).
TEST(MlaLatentCache, MatchesPlainCacheQ8) {
    const ModelConfig c = mla_cfg(true);
    r1::Model m = make_model(c, 23);
    std::vector<std::vector<uint8_t>> store;
    std::unordered_map<std::string, r1::WeightView> views;
    store.reserve(m.params().infos().size());
    for (const auto& p : m.params().infos()) {
        r1::WeightView w;
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        float* src = m.params().ptr(p.name);
        if (p.shape.size() == 1) {
            w.data = src;
        } else {
            w.type = r1::DType::q8_0;
            store.emplace_back((size_t)(w.N * r1::dtype_row_bytes(w.type, w.K)));
            r1::from_f32(store.back().data(), src, w.type, p.numel);
            w.data = store.back().data();
        }
        views[p.name] = w;
    }
    const r1::InferenceModel im(c, views);
    const auto toks = rand_tokens(16, c.n_vocab, 8);
    const auto plain = run_layout(im, KvLayout::plain, toks, 10);
    const auto latent = run_layout(im, KvLayout::mla_latent, toks, 10);
    EXPECT_TRUE(r1::testing::allclose(latent.data(), plain.data(), plain.size(), 1e-2f, 0));
}

// llama.cpp's split tensors: attn_k_b {nope, kvl, H} (W_UK transposed per head) and
// attn_v_b {kvl, v, H}, derived here from attn_kv_b exactly as convert_hf_to_gguf.py does.
TEST(MlaLatentCache, SplitKbVbTensors) {
    const ModelConfig c = mla_cfg(false);
    r1::Model m = make_model(c, 24);
    const r1::InferenceModel full = r1::InferenceModel::from_params(c, m.params());
    const int64_t H = c.n_head, nope = c.qk_nope_head_dim, dv = c.v_head_dim, kvl = c.kv_lora_rank;
    std::unordered_map<std::string, r1::WeightView> views;
    std::vector<std::vector<float>> store;
    store.reserve(2 * (size_t)c.n_layer);
    for (const auto& p : m.params().infos()) {
        const float* src = m.params().ptr(p.name);
        const std::string suffix = "attn_kv_b.weight";
        if (p.name.size() > suffix.size() &&
            p.name.compare(p.name.size() - suffix.size(), std::string::npos, suffix) == 0) {
            const std::string b = p.name.substr(0, p.name.size() - suffix.size());
            std::vector<float> kb((size_t)(H * kvl * nope)), vb((size_t)(H * dv * kvl));
            for (int64_t h = 0; h < H; h++) {
                for (int64_t d = 0; d < nope; d++)
                    for (int64_t j = 0; j < kvl; j++)
                        kb[(size_t)((h * kvl + j) * nope + d)] = src[(h * (nope + dv) + d) * kvl + j];
                for (int64_t v = 0; v < dv; v++)
                    for (int64_t j = 0; j < kvl; j++)
                        vb[(size_t)((h * dv + v) * kvl + j)] = src[(h * (nope + dv) + nope + v) * kvl + j];
            }
            store.push_back(std::move(kb));
            views[b + "attn_k_b.weight"] = {r1::DType::f32, store.back().data(), H * kvl, nope};
            store.push_back(std::move(vb));
            views[b + "attn_v_b.weight"] = {r1::DType::f32, store.back().data(), H * dv, kvl};
            continue;  // no attn_kv_b in this "file"
        }
        r1::WeightView w;
        w.data = src;
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        views[p.name] = w;
    }
    const r1::InferenceModel split(c, views);
    EXPECT_EQ(split.layer(0).wkv_b.data, nullptr);
    const auto toks = rand_tokens(14, c.n_vocab, 9);
    const auto a = run_layout(full, KvLayout::mla_latent, toks, 6);
    const auto b = run_layout(split, KvLayout::mla_latent, toks, 6);
    EXPECT_TRUE(r1::testing::allclose(b.data(), a.data(), a.size(), 1e-5f, 1e-4f));
    // the plain (expanded) cache needs attn_kv_b
    r1::KvCache cache(c, 1, c.n_ctx, KvLayout::plain);
    r1::BatchForward fwd(split);
    try {
        fwd.run(cache, {{cache.acquire(), toks.data(), 3}});
        FAIL() << "plain cache accepted without attn_kv_b";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("attn_k_b"), std::string::npos) << e.what();
    }
    // a wrong attn_k_b shape names the tensor
    views["blk.0.attn_k_b.weight"].K = nope / 2;
    try {
        r1::InferenceModel bad(c, views);
        FAIL() << "bad attn_k_b shape accepted";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("attn_k_b"), std::string::npos) << e.what();
    }
}

}  // namespace
