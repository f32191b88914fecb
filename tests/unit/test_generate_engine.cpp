// Generation engine tests: the KV-cache batched forward (generate/forward.h) against the
// training forward Model::logits on tiny gpt2-style, llama-style (GQA 4/2, qkv bias, tied
// embeddings), DeepSeekMoE and MLA (with and without q LoRA, YaRN) configs with random weights — whole-prompt prefill, prefill +
// token-by-token decode, and several sequences of different lengths in one batch — then the
// continuous-batching Generator: more requests than slots complete with the same greedy
// tokens as alone (and as naive recomputation), slots are reused, log-probs match the
// training forward, and sampling is deterministic in the seed. Plus error paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/engine.h"
#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "model/config.h"
#include "model/model.h"
#include "testing.h"

namespace {

using r1::ModelConfig;

ModelConfig gpt2_cfg() {
    ModelConfig c = ModelConfig::preset("bench-dense");
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 24, c.n_head = 4, c.n_head_kv = 4;
    c.head_dim = 8, c.n_ff = 64, c.qkv_bias = true;
    c.validate();
    return c;
}

ModelConfig llama_cfg() {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.arch = r1::Arch::qwen2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 24, c.n_head = 4, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 48, c.qkv_bias = true, c.tie_embeddings = true;
    c.validate();
    return c;
}

ModelConfig moe_cfg() {
    ModelConfig c = ModelConfig::preset("tiny-moe");
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 3, c.n_ctx = 24, c.n_head = 4, c.n_head_kv = 4;
    c.head_dim = 8, c.n_ff = 48;
    c.n_expert = 6, c.n_expert_used = 2, c.n_ff_exp = 16, c.n_expert_shared = 1;
    c.n_layer_dense_lead = 1;
    c.validate();
    return c;
}

// DeepSeek-V2-style: MLA with q LoRA and YaRN (interleaved RoPE), MoE with sigmoid gating
ModelConfig mla_cfg() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 24, c.n_head = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 16, c.kv_lora_rank = 16, c.qk_nope_head_dim = 8, c.qk_rope_head_dim = 4;
    c.v_head_dim = 8;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.yarn.factor = 2.0f, c.yarn.original_max_pos = 12, c.yarn.mscale_all_dim = 0.707f;
    c.n_ff = 48;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_sel_bias = true;
    c.validate();
    return c;
}

ModelConfig mla_noqlora_cfg() {
    ModelConfig c = mla_cfg();
    c.q_lora_rank = 0;
    c.yarn = {};
    c.validate();
    return c;
}

struct Case {
    const char* name;
    std::function<ModelConfig()> cfg;
};
const Case kCases[] = {{"gpt2", gpt2_cfg},
                       {"llama", llama_cfg},
                       {"moe", moe_cfg},
                       {"mla", mla_cfg},
                       {"mla-no-q-lora", mla_noqlora_cfg}};

// A model with random weights; for MoE also a random selection bias (exercises it). The
// q/k projections are scaled up so attention scores are O(1): with the N(0, 0.02) init alone
// softmax is nearly uniform and a wrong mask or scale would go unnoticed.
r1::Model make_model(const ModelConfig& c, uint64_t seed) {
    r1::Model m(c);
    m.init_weights(seed);
    for (const auto& p : m.params().infos()) {
        for (const char* qk : {"attn_q.weight", "attn_k.weight", "attn_qkv.weight", "attn_q_b.weight",
                               "attn_kv_a_mqa.weight", "attn_kv_b.weight"})
            if (p.name.size() > std::strlen(qk) &&
                p.name.compare(p.name.size() - std::strlen(qk), std::string::npos, qk) == 0) {
                float* w = m.params().ptr(p.name);
                for (int64_t i = 0; i < p.numel; i++) w[i] *= 12.0f;
            }
        if (p.name.find("exp_probs_b") != std::string::npos) {
            r1::Rng r(seed + 99);
            float* b = m.params().ptr(p.name);
            for (int64_t i = 0; i < p.numel; i++) b[i] = 0.05f * r.normal();
        }
    }
    return m;
}

std::vector<int32_t> rand_tokens(int64_t n, int64_t V, uint64_t seed) {
    r1::Rng r(seed);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) x = (int32_t)r.below((uint64_t)V);
    return t;
}

// Model::logits of one sequence: [T, V].
std::vector<float> ref_logits(r1::Model& m, const std::vector<int32_t>& toks) {
    const int64_t V = m.config().n_vocab, T = (int64_t)toks.size();
    std::vector<float> out((size_t)(T * V));
    m.logits(out.data(), toks.data(), 1, T);
    return out;
}

constexpr float kAtol = 1e-4f, kRtol = 1e-3f;

TEST(GenerateEngine, PrefillMatchesTrainingForward) {
    for (const Case& cs : kCases) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        r1::Model m = make_model(c, 11);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const auto toks = rand_tokens(c.n_ctx, c.n_vocab, 5);
        const auto ref = ref_logits(m, toks);

        r1::KvCache cache(c, 1, c.n_ctx);
        r1::BatchForward fwd(im);
        const int32_t slot = cache.acquire();
        const float* lg = fwd.run(cache, {{slot, toks.data(), (int64_t)toks.size()}}, true);
        EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), ref.size(), kAtol, kRtol));
        EXPECT_EQ(cache.length(slot), c.n_ctx);

        // last-token-only output is the last row
        cache.truncate(slot, 0);
        lg = fwd.run(cache, {{slot, toks.data(), (int64_t)toks.size()}});
        EXPECT_TRUE(r1::testing::allclose(lg, ref.data() + (c.n_ctx - 1) * c.n_vocab,
                                          (size_t)c.n_vocab, kAtol, kRtol));
    }
}

TEST(GenerateEngine, PrefillThenDecodeMatchesEveryPosition) {
    for (const Case& cs : kCases) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        r1::Model m = make_model(c, 12);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const int64_t T = 20, V = c.n_vocab, k = 7;
        const auto toks = rand_tokens(T, V, 6);
        const auto ref = ref_logits(m, toks);

        r1::KvCache cache(c, 2, c.n_ctx);
        r1::BatchForward fwd(im);
        cache.acquire();
        const int32_t slot = cache.acquire();  // slot 1: not the first one
        const float* lg = fwd.run(cache, {{slot, toks.data(), k}}, true);
        EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), (size_t)(k * V), kAtol, kRtol));
        for (int64_t t = k; t < T; t++) {
            lg = fwd.run(cache, {{slot, toks.data() + t, 1}});
            EXPECT_TRUE(r1::testing::allclose(lg, ref.data() + t * V, (size_t)V, kAtol, kRtol))
                << "position " << t;
        }
        EXPECT_EQ(cache.length(slot), T);
    }
}

TEST(GenerateEngine, BatchOfDifferentLengthsEqualsAlone) {
    for (const Case& cs : kCases) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        r1::Model m = make_model(c, 13);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const int64_t V = c.n_vocab;
        const int64_t len[4] = {9, 17, 4, 13}, prompt[4] = {3, 8, 1, 5};
        std::vector<std::vector<int32_t>> seqs;
        for (int i = 0; i < 4; i++) seqs.push_back(rand_tokens(len[i], V, 40 + i));

        // alone: each sequence through its own cache, token by token after its prompt
        std::vector<std::vector<float>> alone(4);
        for (int i = 0; i < 4; i++) {
            r1::KvCache cache(c, 1, c.n_ctx);
            r1::BatchForward fwd(im);
            const int32_t s = cache.acquire();
            const float* lg = fwd.run(cache, {{s, seqs[i].data(), prompt[i]}});
            alone[i].insert(alone[i].end(), lg, lg + V);
            for (int64_t t = prompt[i]; t < len[i]; t++) {
                lg = fwd.run(cache, {{s, seqs[i].data() + t, 1}});
                alone[i].insert(alone[i].end(), lg, lg + V);
            }
        }
        // together: all prompts in one step, then decode steps over whoever has tokens left
        r1::KvCache cache(c, 4, c.n_ctx);
        r1::BatchForward fwd(im);
        int32_t slot[4];
        for (int i = 0; i < 4; i++) slot[i] = cache.acquire();
        std::vector<std::vector<float>> batched(4);
        std::vector<r1::SeqInput> b;
        for (int i = 0; i < 4; i++) b.push_back({slot[i], seqs[i].data(), prompt[i]});
        int64_t fed[4];
        for (int i = 0; i < 4; i++) fed[i] = prompt[i];
        std::vector<int> who = {0, 1, 2, 3};
        while (!b.empty()) {
            const float* lg = fwd.run(cache, b);
            for (size_t j = 0; j < who.size(); j++)
                batched[who[j]].insert(batched[who[j]].end(), lg + j * V, lg + (j + 1) * V);
            b.clear(), who.clear();
            for (int i = 0; i < 4; i++)
                if (fed[i] < len[i]) {
                    b.push_back({slot[i], seqs[i].data() + fed[i], 1});
                    who.push_back(i);
                    fed[i]++;
                }
        }
        for (int i = 0; i < 4; i++) {
            SCOPED_TRACE(i);
            ASSERT_EQ(batched[i].size(), alone[i].size());
            EXPECT_TRUE(r1::testing::allclose(batched[i], alone[i], 1e-5f, 1e-4f));
            // and both agree with the training forward at every decoded position
            const auto ref = ref_logits(m, seqs[i]);
            for (int64_t t = prompt[i] - 1, r = 0; t < len[i]; t++, r++)
                EXPECT_TRUE(r1::testing::allclose(batched[i].data() + r * V,
                                                  ref.data() + t * V, (size_t)V, kAtol, kRtol))
                    << "position " << t;
        }
    }
}

// Naive greedy decoding by recomputing Model::logits over the whole sequence.
std::vector<int32_t> naive_greedy(r1::Model& m, std::vector<int32_t> ids, int64_t n,
                                  int32_t stop) {
    const int64_t V = m.config().n_vocab;
    std::vector<int32_t> out;
    for (int64_t i = 0; i < n && (int64_t)ids.size() <= m.config().n_ctx; i++) {
        const auto lg = ref_logits(m, ids);
        const float* last = lg.data() + (ids.size() - 1) * V;
        const int32_t t = (int32_t)(std::max_element(last, last + V) - last);
        out.push_back(t);
        ids.push_back(t);
        if (t == stop) break;
    }
    return out;
}

TEST(GenerateEngine, ContinuousBatchingMatchesAloneAndReusesSlots) {
    for (const Case& cs : kCases) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        r1::Model m = make_model(c, 14);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        std::vector<r1::GenRequest> reqs;
        for (int i = 0; i < 6; i++) {
            r1::GenRequest q;
            q.prompt = rand_tokens(1 + (i * 5) % 9, c.n_vocab, 70 + i);
            q.max_tokens = 3 + (i * 7) % 10;
            q.sampler.temperature = 0;  // greedy
            q.stop_ids = {(int32_t)(i % 3)};
            if (i == 5) q.max_tokens = 100;  // runs into the context limit
            reqs.push_back(q);
        }
        r1::GeneratorOptions o;
        o.n_slots = 2;
        r1::Generator gen(im, o);
        for (const auto& q : reqs) gen.add(q);
        EXPECT_EQ(gen.n_queued(), 6);
        std::vector<r1::GenResult> res;
        while (!gen.done()) {
            auto r = gen.step();
            EXPECT_LE(gen.n_active(), 2);
            for (auto& x : r) res.push_back(std::move(x));
        }
        ASSERT_EQ(res.size(), 6u);
        EXPECT_EQ(gen.stats().completed, 6);
        EXPECT_EQ(gen.cache().n_free(), 2);
        std::sort(res.begin(), res.end(), [](auto& a, auto& b) { return a.id < b.id; });
        for (int i = 0; i < 6; i++) {
            SCOPED_TRACE(i);
            r1::GeneratorOptions o1;
            o1.n_slots = 1;
            r1::Generator alone(im, o1);
            alone.add(reqs[i]);
            const auto a = alone.run();
            ASSERT_EQ(a.size(), 1u);
            EXPECT_EQ(res[i].tokens, a[0].tokens);
            EXPECT_EQ(res[i].finish_reason, a[0].finish_reason);
            EXPECT_EQ(res[i].n_prompt, (int64_t)reqs[i].prompt.size());
            const auto naive = naive_greedy(m, reqs[i].prompt, reqs[i].max_tokens,
                                            reqs[i].stop_ids[0]);
            EXPECT_EQ(res[i].tokens, naive);
            // finish reason and log-probs against the training forward
            const bool stopped = res[i].tokens.back() == reqs[i].stop_ids[0];
            EXPECT_EQ(res[i].finish_reason, stopped ? "stop" : "length");
            if (!stopped && (int64_t)res[i].tokens.size() < reqs[i].max_tokens)
                EXPECT_EQ((int64_t)(reqs[i].prompt.size() + res[i].tokens.size()), c.n_ctx + 1);
            std::vector<int32_t> full = reqs[i].prompt;
            full.insert(full.end(), res[i].tokens.begin(), res[i].tokens.end() - 1);
            const auto lg = ref_logits(m, full);
            ASSERT_EQ(res[i].logprobs.size(), res[i].tokens.size());
            for (size_t j = 0; j < res[i].tokens.size(); j++) {
                const int64_t row = (int64_t)reqs[i].prompt.size() - 1 + (int64_t)j;
                const double lp = r1::log_softmax_at(lg.data() + row * c.n_vocab, c.n_vocab,
                                                     res[i].tokens[j]);
                EXPECT_NEAR(res[i].logprobs[j], lp, 1e-4);
                EXPECT_LE(res[i].logprobs[j], 0.0f);
            }
        }
    }
}

TEST(GenerateEngine, SamplingIsDeterministicInSeed) {
    const ModelConfig c = moe_cfg();
    r1::Model m = make_model(c, 15);
    const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
    auto run = [&](uint64_t seed, int64_t slots) {
        r1::GeneratorOptions o;
        o.n_slots = slots;
        r1::Generator gen(im, o);
        for (int i = 0; i < 3; i++) {
            r1::GenRequest q;
            q.prompt = rand_tokens(4, c.n_vocab, 90 + i);
            q.max_tokens = 16;
            q.sampler.temperature = 1.5f;  // random weights: near-uniform logits
            q.sampler.top_k = 30;
            q.sampler.seed = seed + (uint64_t)i;
            q.vocab_limit = 40;
            gen.add(q);
        }
        return gen.run();
    };
    const auto a = run(7, 3), b = run(7, 3), d = run(7, 1), e = run(8, 3);
    ASSERT_EQ(a.size(), 3u);
    bool differs = false;
    for (size_t i = 0; i < 3; i++) {
        EXPECT_EQ(a[i].tokens, b[i].tokens);
        EXPECT_EQ(a[i].logprobs, b[i].logprobs);
        EXPECT_EQ(a[i].tokens, d[i].tokens);  // batched or alone: same draws
        for (int32_t t : a[i].tokens) EXPECT_LT(t, 40);
        differs |= a[i].tokens != e[i].tokens;
    }
    EXPECT_TRUE(differs) << "a different seed gave the same 48 tokens";
}

using r1::testing::error_of;

TEST(GenerateEngine, ErrorsNameTheProblem) {
    const ModelConfig c = llama_cfg();
    r1::Model m = make_model(c, 16);
    const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
    r1::KvCache cache(c, 2, 8);
    r1::BatchForward fwd(im);
    const int32_t s = cache.acquire();
    const auto toks = rand_tokens(9, c.n_vocab, 1);
    EXPECT_NE(error_of([&] { fwd.run(cache, {{s, toks.data(), 9}}); }).find("cache holds 8"),
              std::string::npos);
    EXPECT_EQ(cache.length(s), 0);  // nothing written on error
    const int32_t bad = 48;
    EXPECT_NE(error_of([&] { fwd.run(cache, {{s, &bad, 1}}); }).find("token id 48"),
              std::string::npos);
    EXPECT_NE(error_of([&] { fwd.run(cache, {{1, toks.data(), 1}}); }).find("not an acquired"),
              std::string::npos);
    EXPECT_NE(error_of([&] { fwd.run(cache, {{s, toks.data(), 1}, {s, toks.data(), 1}}); })
                  .find("twice"),
              std::string::npos);
    cache.release(s);
    EXPECT_EQ(cache.acquire(), 0);  // released slots are reused
    EXPECT_NE(error_of([] { r1::KvCache(llama_cfg(), 1, 25); }).find("n_ctx"), std::string::npos);

    r1::Generator gen(im);
    EXPECT_NE(error_of([&] { gen.add({}); }).find("empty prompt"), std::string::npos);
    r1::GenRequest q;
    q.prompt = {1, 2};
    q.max_tokens = 0;
    EXPECT_NE(error_of([&] { gen.add(q); }).find("max_tokens"), std::string::npos);

    // a tensor of the wrong shape, a missing tensor
    std::unordered_map<std::string, r1::WeightView> t;
    for (const auto& p : m.params().infos()) {
        r1::WeightView w;
        w.data = m.params().ptr(p.name);
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        t[p.name] = w;
    }
    auto t2 = t;
    t2["blk.1.attn_k.weight"].N = 8;
    EXPECT_NE(error_of([&] { r1::InferenceModel(c, t2); }).find("blk.1.attn_k.weight"),
              std::string::npos);
    t2 = t;
    t2.erase("blk.0.ffn_up.weight");
    EXPECT_NE(error_of([&] { r1::InferenceModel(c, t2); }).find("missing tensor 'blk.0.ffn_up"),
              std::string::npos);
}

// Unfused q/k/v (a loader whose tensors are not adjacent) gives the same logits as fused.
TEST(GenerateEngine, UnfusedProjectionsMatchFused) {
    const ModelConfig c = llama_cfg();
    r1::Model m = make_model(c, 17);
    // copies of attn_k / ffn_up so adjacency is broken
    std::vector<std::vector<float>> copies;
    copies.reserve(16);  // pointers into the copies must stay valid
    std::unordered_map<std::string, r1::WeightView> t;
    for (const auto& p : m.params().infos()) {
        r1::WeightView w;
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        if (p.name.find("attn_k.weight") != std::string::npos ||
            p.name.find("ffn_up.weight") != std::string::npos) {
            const float* src = m.params().ptr(p.name);
            copies.emplace_back(src, src + p.numel);
            w.data = copies.back().data();
        } else {
            w.data = m.params().ptr(p.name);
        }
        t[p.name] = w;
    }
    const r1::InferenceModel im(c, t);
    EXPECT_EQ(im.layer(0).wqkv.data, nullptr);
    EXPECT_EQ(im.layer(0).gate_up.data, nullptr);
    const auto toks = rand_tokens(12, c.n_vocab, 3);
    const auto ref = ref_logits(m, toks);
    r1::KvCache cache(c, 1, c.n_ctx);
    r1::BatchForward fwd(im);
    const float* lg = fwd.run(cache, {{cache.acquire(), toks.data(), 12}}, true);
    EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), ref.size(), kAtol, kRtol));
}

}  // namespace

namespace {

// Every matrix of m stored as type t (vectors stay f32), and m's weights replaced by the
// dequantised values, so Model::logits is the exact-maths reference for the stored weights.
struct StoredWeights {
    std::vector<std::vector<uint8_t>> bytes;
    std::unordered_map<std::string, r1::WeightView> views;
};
StoredWeights store_as(r1::Model& m, r1::DType t) {
    StoredWeights s;
    s.bytes.reserve(m.params().infos().size());
    for (const auto& p : m.params().infos()) {
        r1::WeightView w;
        w.K = p.shape.back();
        w.N = p.numel / w.K;
        float* src = m.params().ptr(p.name);
        if (p.shape.size() == 1) {
            w.data = src;
        } else {
            w.type = t;
            s.bytes.emplace_back((size_t)(w.N * r1::dtype_row_bytes(t, w.K)));
            r1::from_f32(s.bytes.back().data(), src, t, p.numel);
            r1::to_f32(src, s.bytes.back().data(), t, p.numel);
            w.data = s.bytes.back().data();
        }
        s.views[p.name] = w;
    }
    return s;
}

// K of every product a multiple of 32 (Q8_0 / Q4_0 blocks): C = 32, H·D = 32, F = 64, Fe = 32.
ModelConfig moe_cfg_q() {
    ModelConfig c = moe_cfg();
    c.n_ff = 64, c.n_ff_exp = 32;
    c.validate();
    return c;
}

TEST(GenerateEngine, StoredF16Bf16Q8Q4Weights) {
    struct T {
        r1::DType t;
        float atol;
    };
    // float types widen exactly; Q8_0/Q4_0 add the Q8_0 activation quantisation error only
    // (observed max 2.3e-3 on logits of magnitude ~0.3)
    for (const T& tc : {T{r1::DType::f16, 1e-4f}, T{r1::DType::bf16, 1e-4f},
                        T{r1::DType::q8_0, 6e-3f}, T{r1::DType::q4_0, 6e-3f}}) {
        SCOPED_TRACE(r1::dtype_name(tc.t));
        const ModelConfig c = moe_cfg_q();
        r1::Model m = make_model(c, 18);
        const StoredWeights sw = store_as(m, tc.t);
        const r1::InferenceModel im(c, sw.views);
        const auto toks = rand_tokens(16, c.n_vocab, 4);
        const auto ref = ref_logits(m, toks);
        r1::KvCache cache(c, 1, c.n_ctx);
        r1::BatchForward fwd(im);
        const int32_t s = cache.acquire();
        const float* lg = fwd.run(cache, {{s, toks.data(), 10}}, true);
        EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), (size_t)(10 * c.n_vocab), tc.atol, 0));
        for (int64_t t = 10; t < 16; t++) {
            lg = fwd.run(cache, {{s, toks.data() + t, 1}});
            EXPECT_TRUE(r1::testing::allclose(lg, ref.data() + t * c.n_vocab, (size_t)c.n_vocab,
                                              tc.atol, 0));
        }
    }
}

// Quantised products are batch-invariant (ops/qmatmul.h), and so is the rest of the forward:
// with Q8_0 weights a request's tokens AND log-probs are bit-identical batched or alone.
TEST(GenerateEngine, Q8BatchedGenerationIsBitIdenticalToAlone) {
    const ModelConfig c = moe_cfg_q();
    r1::Model m = make_model(c, 19);
    const StoredWeights sw = store_as(m, r1::DType::q8_0);
    const r1::InferenceModel im(c, sw.views);
    std::vector<r1::GenRequest> reqs;
    for (int i = 0; i < 5; i++) {
        r1::GenRequest q;
        q.prompt = rand_tokens(2 + i * 3, c.n_vocab, 200 + i);
        q.max_tokens = 6 + i;
        q.sampler.temperature = 0.9f;
        q.sampler.seed = 300 + (uint64_t)i;
        reqs.push_back(q);
    }
    r1::GeneratorOptions o;
    o.n_slots = 3;
    r1::Generator gen(im, o);
    for (const auto& q : reqs) gen.add(q);
    const auto res = gen.run();
    ASSERT_EQ(res.size(), reqs.size());
    for (size_t i = 0; i < reqs.size(); i++) {
        r1::GeneratorOptions o1;
        o1.n_slots = 1;
        r1::Generator alone(im, o1);
        alone.add(reqs[i]);
        const auto a = alone.run();
        EXPECT_EQ(res[i].tokens, a[0].tokens) << i;
        EXPECT_EQ(res[i].logprobs, a[0].logprobs) << i;
    }
}

}  // namespace

namespace {

// A GRPO-style group: G samples of one prompt share its prefilled prefix; each sample still
// gets exactly what it would get alone (Q8_0: bit-identical; f32: same greedy tokens).
TEST(GenerateEngine, SharedPromptGroupMatchesAlone) {
    for (bool quant : {false, true}) {
        SCOPED_TRACE(quant ? "q8_0" : "f32");
        const ModelConfig c = quant ? moe_cfg_q() : llama_cfg();
        r1::Model m = make_model(c, 20);
        StoredWeights sw;
        const r1::InferenceModel im = quant ? r1::InferenceModel(c, (sw = store_as(m, r1::DType::q8_0)).views)
                                            : r1::InferenceModel::from_params(c, m.params());
        const auto prompt = rand_tokens(9, c.n_vocab, 500);
        std::vector<r1::GenRequest> reqs;
        for (int i = 0; i < 5; i++) {
            r1::GenRequest q;
            q.prompt = i == 2 ? rand_tokens(4, c.n_vocab, 501) : prompt;
            q.max_tokens = 5 + i;
            q.sampler.temperature = quant ? 1.0f : 0.0f;
            q.sampler.seed = 600 + (uint64_t)i;
            reqs.push_back(q);
        }
        r1::GeneratorOptions o;
        o.n_slots = 3;
        r1::Generator gen(im, o);
        for (const auto& q : reqs) gen.add(q);
        const auto res = gen.run();
        ASSERT_EQ(res.size(), reqs.size());
        EXPECT_EQ(gen.stats().shared_prompt_tokens, 3 * 8);  // 3 of the 4 copies shared 8
        EXPECT_EQ(gen.stats().prompt_tokens, 9 + 4 + 3 * 1);
        for (size_t i = 0; i < reqs.size(); i++) {
            SCOPED_TRACE(i);
            r1::GeneratorOptions o1;
            o1.n_slots = 1;
            r1::Generator alone(im, o1);
            alone.add(reqs[i]);
            const auto a = alone.run();
            EXPECT_EQ(res[i].tokens, a[0].tokens);
            if (quant) EXPECT_EQ(res[i].logprobs, a[0].logprobs);
            for (size_t j = 0; j < a[0].logprobs.size() && j < res[i].logprobs.size(); j++)
                EXPECT_NEAR(res[i].logprobs[j], a[0].logprobs[j], 1e-4);
        }
    }
}

TEST(GenerateEngine, KvCacheCopyPrefix) {
    const ModelConfig c = llama_cfg();
    r1::KvCache cache(c, 2, 8);
    const int32_t a = cache.acquire(), b = cache.acquire();
    for (int64_t l = 0; l < c.n_layer; l++)
        for (int64_t i = 0; i < 8 * cache.k_row(); i++) {
            cache.k_f32(a, l)[i] = (float)(l * 1000 + i);
            cache.v_f32(a, l)[i] = -(float)(l * 1000 + i);
        }
    cache.advance(a, 6);
    cache.copy_prefix(a, b, 5);
    EXPECT_EQ(cache.length(b), 5);
    for (int64_t l = 0; l < c.n_layer; l++) {
        EXPECT_EQ(cache.k_f32(b, l)[5 * cache.k_row() - 1], (float)(l * 1000 + 5 * cache.k_row() - 1));
        EXPECT_EQ(cache.v_f32(b, l)[3], -(float)(l * 1000 + 3));
        EXPECT_EQ(cache.k_f32(b, l)[5 * cache.k_row()], 0.0f);  // position 5 not copied
    }
    EXPECT_NE(error_of([&] { cache.copy_prefix(a, b, 7); }).find("holds 6"), std::string::npos);
}

}  // namespace

namespace {

TEST(GenerateEngine, TokenEventsAndCancel) {
    const ModelConfig c = llama_cfg();
    r1::Model m = make_model(c, 21);
    const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
    r1::GeneratorOptions o;
    o.n_slots = 2;
    r1::Generator gen(im, o);
    std::vector<int64_t> ids;
    for (int i = 0; i < 4; i++) {
        r1::GenRequest q;
        q.prompt = rand_tokens(3 + i, c.n_vocab, 700 + i);
        q.max_tokens = 6;
        q.sampler.temperature = 0;
        ids.push_back(gen.add(q));
    }
    EXPECT_TRUE(gen.cancel(ids[3]));  // still queued
    std::vector<std::vector<int32_t>> streamed(4);
    gen.step();
    for (const auto& e : gen.last_events()) streamed[(size_t)e.id].push_back(e.token);
    EXPECT_EQ(gen.last_events().size(), 2u);
    EXPECT_TRUE(gen.cancel(ids[1]));  // active: its slot frees for request 2
    EXPECT_FALSE(gen.cancel(ids[1]));
    EXPECT_EQ(gen.cache().n_free(), 1);
    std::vector<r1::GenResult> res;
    while (!gen.done()) {
        for (auto& r : gen.step()) res.push_back(std::move(r));
        for (const auto& e : gen.last_events()) {
            streamed[(size_t)e.id].push_back(e.token);
            EXPECT_NE(e.id, ids[1]);
        }
    }
    ASSERT_EQ(res.size(), 2u);  // requests 0 and 2
    for (const auto& r : res) {
        EXPECT_TRUE(r.id == ids[0] || r.id == ids[2]);
        EXPECT_EQ(streamed[(size_t)r.id], r.tokens);
    }
    EXPECT_EQ(gen.cache().n_free(), 2);
    EXPECT_FALSE(gen.cancel(ids[0]));  // finished
}

}  // namespace

namespace {

// Prompts fed in chunks of 4 across steps (while other sequences decode) give the same
// greedy tokens and log-probs as whole-prompt prefill.
TEST(GenerateEngine, ChunkedPrefillMatchesWholePrompt) {
    for (const Case& cs : kCases) {
        SCOPED_TRACE(cs.name);
        const ModelConfig c = cs.cfg();
        r1::Model m = make_model(c, 22);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        auto run = [&](int64_t chunk, int64_t* steps) {
            r1::GeneratorOptions o;
            o.n_slots = 2;
            o.prefill_chunk = chunk;
            r1::Generator gen(im, o);
            for (int i = 0; i < 4; i++) {
                r1::GenRequest q;
                q.prompt = rand_tokens(i % 2 ? 3 : 13 + i, c.n_vocab, 800 + i);
                q.max_tokens = 6;
                q.sampler.temperature = 0;
                gen.add(q);
            }
            auto r = gen.run();
            *steps = gen.stats().steps;
            return r;
        };
        int64_t s_whole = 0, s_chunk = 0;
        const auto whole = run(0, &s_whole), chunked = run(4, &s_chunk);
        EXPECT_GT(s_chunk, s_whole);
        ASSERT_EQ(whole.size(), chunked.size());
        for (size_t i = 0; i < whole.size(); i++) {
            EXPECT_EQ(whole[i].tokens, chunked[i].tokens) << i;
            ASSERT_EQ(whole[i].logprobs.size(), chunked[i].logprobs.size());
            for (size_t j = 0; j < whole[i].logprobs.size(); j++)
                EXPECT_NEAR(whole[i].logprobs[j], chunked[i].logprobs[j], 1e-4);
        }
    }
}

}  // namespace
