// Logits of the quantised inference path vs the f32 reference (the same model with its
// original f32 weights, Model::logits): the whole quantisation error, weights AND
// activations, end to end through a dense (qwen2-style GQA) and an MLA + MoE model.
// Documented tolerance (docs/performance.md), as max |Δ| / rms(ref logits) over 16 positions
// of random-weight models: f16 < 0.005, Q8_0 < 0.08, Q4_0 < 0.8 (measured here: about
// 0.001, 0.03 and 0.42 — the max over 1,024 logits; the typical error is several times
// smaller).
// (GenerateEngine.StoredF16Bf16Q8Q4Weights checks the kernels against the dequantised
// weights instead, i.e. the activation quantisation alone.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/rng.h"
#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "model/config.h"
#include "model/model.h"

namespace {

using r1::ModelConfig;

ModelConfig dense_cfg() {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.arch = r1::Arch::qwen2;
    c.n_vocab = 64, c.n_embd = 64, c.n_layer = 2, c.n_ctx = 32, c.n_head = 4, c.n_head_kv = 2;
    c.head_dim = 16, c.n_ff = 128, c.qkv_bias = true, c.tie_embeddings = false;
    c.validate();
    return c;
}

ModelConfig mla_cfg() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 64, c.n_embd = 64, c.n_layer = 2, c.n_ctx = 32, c.n_head = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 0, c.kv_lora_rank = 32, c.qk_nope_head_dim = 32, c.qk_rope_head_dim = 8;
    c.v_head_dim = 16;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.n_ff = 128;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 32;
    c.n_layer_dense_lead = 1;
    c.validate();
    return c;
}

// max |got - ref| / rms(ref) over prefill (8 tokens, all logits) + 8 decode steps.
double rel_error(const ModelConfig& c, r1::DType t, uint64_t seed) {
    r1::Model m(c);
    m.init_weights(seed);
    std::vector<std::vector<uint8_t>> store;
    store.reserve(m.params().infos().size());
    std::unordered_map<std::string, r1::WeightView> views;
    for (const auto& p : m.params().infos()) {
        r1::WeightView w;
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        const float* src = m.params().ptr(p.name);
        if (p.shape.size() == 1) {
            w.data = src;
        } else {  // the model keeps its f32 weights: the reference is unquantised
            w.type = t;
            store.emplace_back((size_t)(w.N * r1::dtype_row_bytes(t, w.K)));
            r1::from_f32(store.back().data(), src, t, p.numel);
            w.data = store.back().data();
        }
        views[p.name] = w;
    }
    const r1::InferenceModel im(c, views);
    const int64_t T = 16, P = 8, V = c.n_vocab;
    std::vector<int32_t> toks((size_t)T);
    r1::Rng r(seed + 1);
    for (auto& x : toks) x = (int32_t)r.below((uint64_t)V);
    std::vector<float> ref((size_t)(T * V)), got((size_t)(T * V));
    m.logits(ref.data(), toks.data(), 1, T);
    r1::KvCache cache(c, 1, c.n_ctx);
    r1::BatchForward fwd(im);
    const int32_t s = cache.acquire();
    const float* lg = fwd.run(cache, {{s, toks.data(), P}}, true);
    std::memcpy(got.data(), lg, sizeof(float) * (size_t)(P * V));
    for (int64_t i = P; i < T; i++) {
        lg = fwd.run(cache, {{s, toks.data() + i, 1}});
        std::memcpy(got.data() + i * V, lg, sizeof(float) * (size_t)V);
    }
    double ss = 0, mx = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        ss += (double)ref[i] * ref[i];
        mx = std::max(mx, (double)std::fabs(got[i] - ref[i]));
    }
    return mx / std::sqrt(ss / (double)ref.size());
}

TEST(QuantLogits, WithinDocumentedToleranceOfF32) {
    struct Case {
        const char* name;
        ModelConfig (*cfg)();
    };
    for (const Case& cs : {Case{"qwen2", dense_cfg}, Case{"mla-moe", mla_cfg}}) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        const double e16 = rel_error(c, r1::DType::f16, 3);
        const double e8 = rel_error(c, r1::DType::q8_0, 3);
        const double e4 = rel_error(c, r1::DType::q4_0, 3);
        std::printf("[quant logits] %s: max|d|/rms f16 %.5f q8_0 %.4f q4_0 %.4f\n", cs.name, e16,
                    e8, e4);
        EXPECT_LT(e16, 0.005);
        EXPECT_LT(e8, 0.08);
        EXPECT_LT(e4, 0.8);
        // and the errors are ordered as the formats' precision (the test can tell them apart)
        EXPECT_LT(e16, e8);
        EXPECT_LT(e8, e4);
    }
}

}  // namespace
