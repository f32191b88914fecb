// Model tests: config JSON round trip and validation errors, the parameter layout (GGUF
// names, adjacency the fused GEMMs rely on, decay flags), bench preset sizes against the
// PyTorch peer script, finite-difference gradients of Model::forward_backward on tiny dense
// and MoE models, determinism, grad_scale, and the aux-loss-free bias update.
// (Numerical agreement with PyTorch is tests/golden/test_golden.cpp.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/model.h"
#include "model/params.h"
#include "testing.h"

namespace {

using r1::ModelConfig;

using r1::testing::error_of;

ModelConfig mla_config() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 40, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 16, c.n_head = 2;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 8, c.kv_lora_rank = 8, c.qk_nope_head_dim = 4, c.qk_rope_head_dim = 4;
    c.v_head_dim = 4;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.yarn.factor = 2.0f, c.yarn.original_max_pos = 8, c.yarn.mscale_all_dim = 0.707f;
    c.n_ff = 32;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 8;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_sel_bias = true;
    c.validate();
    return c;
}

ModelConfig tiny_dense() {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2, c.n_head_kv = 1;
    c.head_dim = 8, c.n_ff = 24, c.qkv_bias = true;
    c.validate();
    return c;
}

ModelConfig tiny_gpt2() {
    ModelConfig c = ModelConfig::preset("bench-dense");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 32;
    c.validate();
    return c;
}

// k == E keeps every expert selected, so the loss is smooth in every weight (finite
// differences would otherwise straddle routing flips); selection itself is golden-tested.
ModelConfig tiny_moe() {
    ModelConfig c = ModelConfig::preset("tiny-moe");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 24;
    c.n_expert = 4, c.n_expert_used = 4, c.n_ff_exp = 8, c.n_expert_shared = 1;
    c.expert_weights_scale = 1.5f;
    c.aux_loss_alpha = 0.05f;
    c.validate();
    return c;
}

}  // namespace

TEST(ModelConfig, JsonRoundTripEveryField) {
    for (const ModelConfig& c :
         {ModelConfig::preset("bench-dense"), ModelConfig::preset("bench-moe"),
          ModelConfig::preset("tiny-moe"), ModelConfig::preset("tiny-dense"), mla_config()}) {
        nlohmann::json j;
        to_json(j, c);
        ModelConfig d;
        from_json(j, d);
        nlohmann::json j2;
        to_json(j2, d);
        EXPECT_EQ(j.dump(), j2.dump());
        EXPECT_EQ(d.n_params(), c.n_params());
    }
    nlohmann::json j;
    to_json(j, mla_config());
    EXPECT_EQ(j["attn"], "mla");
    EXPECT_EQ(j["gating"], "sigmoid");
    EXPECT_EQ(j["rope_layout"], "interleaved");
    EXPECT_EQ(j["arch"], "deepseek2");
    EXPECT_FLOAT_EQ(j["yarn"]["factor"].get<float>(), 2.0f);
}

TEST(ModelConfig, FromJsonRejectsBadInput) {
    nlohmann::json good;
    to_json(good, ModelConfig::preset("tiny-moe"));
    auto err = [&](const std::function<void(nlohmann::json&)>& edit) {
        nlohmann::json j = good;
        edit(j);
        return error_of([&] {
            ModelConfig c;
            from_json(j, c);
        });
    };
    EXPECT_NE(err([](auto& j) { j["n_embd"] = "big"; }).find("n_embd"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["n_embd"] = 1.5; }).find("n_embd"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["arch"] = "gpt3"; }).find("arch"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["gating"] = 2; }).find("gating"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["qkv_bias"] = 1; }).find("qkv_bias"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["n_experts"] = 8; }).find("n_experts"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["yarn"]["factor"] = "x"; }).find("yarn.factor"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["n_head_kv"] = 3; }).find("n_head_kv"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j["n_expert_used"] = 9; }).find("n_expert_used"), std::string::npos);
    EXPECT_NE(err([](auto& j) { j = nlohmann::json::array(); }).find("object"), std::string::npos);
    EXPECT_EQ(err([](auto&) {}), "");
}

TEST(ModelConfig, ValidateNamesField) {
    auto v = [](const std::function<void(ModelConfig&)>& edit) {
        ModelConfig c = ModelConfig::preset("tiny-moe");
        edit(c);
        return error_of([&] { c.validate(); });
    };
    EXPECT_NE(v([](auto& c) { c.n_vocab = 0; }).find("n_vocab"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.head_dim = 7; }).find("head_dim"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.n_expert_groups = 3; }).find("n_expert_groups"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.n_group_used = 0; }).find("n_group_used"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.n_layer_dense_lead = 9; }).find("n_layer_dense_lead"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.n_ff_exp = 0; }).find("n_ff_exp"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.norm_eps = 0; }).find("norm_eps"), std::string::npos);
    EXPECT_NE(v([](auto& c) { c.n_expert = 0; }).find("expert_sel_bias"), std::string::npos);
    EXPECT_NE(error_of([] { ModelConfig::preset("nope"); }).find("nope"), std::string::npos);
}

// Sizes printed by ../shared/peers/torch_train.py (sum of p.numel() over its parameters):
// dense 3,478,016; moe 8,466,944 (its docstring's "≈8.20M" is off; the code is the truth).
TEST(ModelConfig, BenchPresetsMatchTorchPeer) {
    EXPECT_EQ(ModelConfig::preset("bench-dense").n_params(), 3478016);
    EXPECT_EQ(ModelConfig::preset("bench-moe").n_params(), 8466944);
    EXPECT_EQ(ModelConfig::preset("bench-dense").n_params_active(), 3478016);
    // 6 of 8 experts idle per token: 4 layers × 6 × 3·256·256
    EXPECT_EQ(ModelConfig::preset("bench-moe").n_params_active(), 8466944 - 4 * 6 * 3 * 65536);
}

TEST(ModelParams, LayoutNamesAdjacencyAndFlags) {
    ModelConfig c = ModelConfig::preset("tiny-moe");
    c.qkv_bias = true;
    r1::ParamSet ps(c);
    auto off = [&](const std::string& n) { return ps.info(n).offset; };
    auto end = [&](const std::string& n) { return ps.info(n).offset + ps.info(n).numel; };
    EXPECT_EQ(end("blk.0.attn_q.weight"), off("blk.0.attn_k.weight"));
    EXPECT_EQ(end("blk.0.attn_k.weight"), off("blk.0.attn_v.weight"));
    EXPECT_EQ(end("blk.0.attn_q.bias"), off("blk.0.attn_k.bias"));
    EXPECT_EQ(end("blk.0.attn_k.bias"), off("blk.0.attn_v.bias"));
    EXPECT_EQ(end("blk.0.ffn_gate.weight"), off("blk.0.ffn_up.weight"));
    EXPECT_EQ(end("blk.1.ffn_gate_shexp.weight"), off("blk.1.ffn_up_shexp.weight"));
    EXPECT_EQ(end("blk.1.ffn_gate_exps.weight"), off("blk.1.ffn_up_exps.weight"));
    EXPECT_EQ(ps.info("blk.1.ffn_gate_exps.weight").shape, (std::vector<int64_t>{8, 64, 128}));
    EXPECT_EQ(ps.info("blk.1.ffn_down_exps.weight").shape, (std::vector<int64_t>{8, 128, 64}));
    EXPECT_EQ(ps.info("blk.1.ffn_down_shexp.weight").shape, (std::vector<int64_t>{128, 64}));
    EXPECT_FALSE(ps.info("blk.1.exp_probs_b.bias").trainable);
    EXPECT_FALSE(ps.info("blk.1.exp_probs_b.bias").decay);
    EXPECT_TRUE(ps.info("blk.1.ffn_gate_inp.weight").decay);
    EXPECT_FALSE(ps.info("blk.0.attn_norm.weight").decay);
    EXPECT_FALSE(ps.info("blk.0.attn_q.bias").decay);
    EXPECT_EQ(ps.find("blk.0.ffn_gate_inp.weight"), nullptr);  // first layer dense
    EXPECT_NE(ps.find("output.weight"), nullptr);  // tiny-moe: untied head
    EXPECT_NE(error_of([&] { ps.info("blk.9.attn_q.weight"); }).find("blk.9.attn_q.weight"),
              std::string::npos);
    int64_t total = 0;
    for (const auto& p : ps.infos()) total += p.numel;
    EXPECT_EQ(total, ps.size());
    EXPECT_EQ(total, c.n_params());

    r1::ParamSet g(ModelConfig::preset("bench-dense"));
    EXPECT_EQ(g.info("blk.0.attn_qkv.weight").shape, (std::vector<int64_t>{768, 256}));
    EXPECT_EQ(g.info("position_embd.weight").shape, (std::vector<int64_t>{256, 256}));
    EXPECT_NE(g.find("blk.0.attn_norm.bias"), nullptr);
    EXPECT_NE(g.find("output.weight"), nullptr);

    r1::ParamSet m(mla_config());
    EXPECT_EQ(m.info("blk.0.attn_q_b.weight").shape, (std::vector<int64_t>{2 * 8, 8}));
    EXPECT_EQ(m.info("blk.0.attn_kv_a_mqa.weight").shape, (std::vector<int64_t>{8 + 4, 16}));
    EXPECT_EQ(m.info("blk.0.attn_kv_b.weight").shape, (std::vector<int64_t>{2 * (4 + 4), 8}));
    EXPECT_EQ(m.info("blk.0.attn_output.weight").shape, (std::vector<int64_t>{16, 2 * 4}));
}

namespace {

struct Batch {
    std::vector<int32_t> tokens, targets;
    int64_t B, T;
};

Batch make_batch(const ModelConfig& c, int64_t B, int64_t T, uint64_t seed) {
    r1::Rng r(seed);
    Batch b{{}, {}, B, T};
    for (int64_t i = 0; i < B * T; i++) {
        b.tokens.push_back((int32_t)r.below(c.n_vocab));
        b.targets.push_back(i % 5 == 2 ? -1 : (int32_t)r.below(c.n_vocab));
    }
    return b;
}

// Central differences of Model::loss (+ aux) against forward_backward's gradient on a few
// entries of every trainable tensor (the largest-gradient entry and a spread of others).
void fd_check(const ModelConfig& cfg, uint64_t seed) {
    r1::Model m(cfg);
    m.init_weights(seed);
    // non-trivial norms/biases so their gradients are exercised too
    r1::Rng r(seed + 7);
    for (const auto& p : m.params().infos()) {
        float* w = m.params().data().data() + p.offset;
        for (int64_t i = 0; i < p.numel; i++)
            w[i] += (p.shape.size() == 1 ? 0.1f : 0.05f) * r.normal();
    }
    Batch b = make_batch(cfg, 2, 6, seed);
    m.params().zero_grad();
    m.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T);
    std::vector<float> grad(m.params().grad().begin(), m.params().grad().end());
    auto f = [&] {
        r1::StepStats s = m.loss(b.tokens.data(), b.targets.data(), b.B, b.T);
        return s.loss + s.aux_loss;
    };
    const float eps = 1e-2f;
    for (const auto& p : m.params().infos()) {
        if (!p.trainable) continue;
        float* w = m.params().data().data() + p.offset;
        const float* g = grad.data() + p.offset;
        std::vector<int64_t> idx;
        int64_t best = 0;
        for (int64_t i = 1; i < p.numel; i++)
            if (std::fabs(g[i]) > std::fabs(g[best])) best = i;
        idx.push_back(best);
        for (int64_t i = 0; i < 4; i++) idx.push_back((i * 7919 + 13) % p.numel);
        for (int64_t i : idx) {
            const float old = w[i];
            w[i] = old + eps;
            const double fp = f();
            w[i] = old - eps;
            const double fm = f();
            w[i] = old;
            const double fd = (fp - fm) / (2.0 * eps);
            EXPECT_NEAR(g[i], fd, 5e-4 + 3e-2 * std::fabs(fd)) << p.name << "[" << i << "]";
        }
    }
}

}  // namespace

TEST(ModelGrad, FiniteDifferencesGpt2) { fd_check(tiny_gpt2(), 3); }
TEST(ModelGrad, FiniteDifferencesLlama) { fd_check(tiny_dense(), 4); }
TEST(ModelGrad, FiniteDifferencesMoe) { fd_check(tiny_moe(), 5); }
TEST(ModelGrad, FiniteDifferencesMla) {
    ModelConfig c = mla_config();
    c.n_expert_used = c.n_expert;  // smooth in every weight (see tiny_moe)
    c.n_vocab = 24, c.n_ctx = 8;
    fd_check(c, 6);
}

TEST(ModelRun, DeterministicAndGradScale) {
    const ModelConfig cfg = ModelConfig::preset("tiny-moe");
    Batch b = make_batch(cfg, 2, 12, 11);
    r1::Model a(cfg), c(cfg);
    a.init_weights(42);
    c.init_weights(42);
    ASSERT_EQ(0, std::memcmp(a.params().data().data(), c.params().data().data(),
                             sizeof(float) * a.params().size()));
    r1::StepStats sa = a.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T);
    r1::StepStats sc = c.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T);
    EXPECT_EQ(sa.loss, sc.loss);  // bitwise
    EXPECT_EQ(0, std::memcmp(a.params().grad().data(), c.params().grad().data(),
                             sizeof(float) * a.params().size()));
    EXPECT_NEAR(sa.loss, std::log((double)cfg.n_vocab), 0.1);  // init ≈ uniform prediction
    EXPECT_EQ(sa.n_tokens, (int64_t)std::count_if(b.targets.begin(), b.targets.end(),
                                                  [](int32_t t) { return t >= 0; }));
    // a second identical step on the same model gives the same loss (arena reuse is clean)
    r1::StepStats sa2 = a.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T, 0.5f);
    EXPECT_EQ(sa.loss, sa2.loss);
    // gradients accumulate: 1 + 0.5 = 1.5× the first step's
    for (int64_t i = 0; i < a.params().size(); i += 97)
        EXPECT_NEAR(a.params().grad()[i], 1.5f * c.params().grad()[i],
                    1e-6f + 1e-5f * std::fabs(c.params().grad()[i]));
    // a different seed gives different weights
    c.init_weights(43);
    EXPECT_NE(0, std::memcmp(a.params().data().data(), c.params().data().data(),
                             sizeof(float) * a.params().size()));
    // a bigger batch after a small one (arena grows) still agrees with a fresh model
    Batch big = make_batch(cfg, 3, 16, 12);
    r1::Model f(cfg);
    f.init_weights(42);
    r1::StepStats s1 = a.loss(big.tokens.data(), big.targets.data(), big.B, big.T);
    r1::StepStats s2 = f.loss(big.tokens.data(), big.targets.data(), big.B, big.T);
    EXPECT_EQ(s1.loss, s2.loss);
}

TEST(ModelRun, RejectsBadTokens) {
    const ModelConfig cfg = ModelConfig::preset("tiny-dense");
    r1::Model m(cfg);
    m.init_weights(1);
    std::vector<int32_t> tok(4, 1), tgt(4, 1);
    tok[2] = (int32_t)cfg.n_vocab;
    EXPECT_NE(error_of([&] { m.loss(tok.data(), tgt.data(), 1, 4); }).find("token id"), std::string::npos);
    tok[2] = 0;
    tgt[1] = -2;
    EXPECT_NE(error_of([&] { m.loss(tok.data(), tgt.data(), 1, 4); }).find("target id"), std::string::npos);
    std::vector<int32_t> longt(cfg.n_ctx + 1, 0);
    EXPECT_NE(error_of([&] { m.loss(longt.data(), longt.data(), 1, cfg.n_ctx + 1); }).find("n_ctx"),
              std::string::npos);
}

TEST(ModelRun, SelectionBiasUpdateFavoursUnderloadedExperts) {
    ModelConfig cfg = ModelConfig::preset("tiny-moe");
    cfg.bias_update_speed = 0.01f;
    r1::Model m(cfg);
    m.init_weights(5);
    Batch b = make_batch(cfg, 2, 32, 9);
    m.loss(b.tokens.data(), b.targets.data(), b.B, b.T);
    const auto& load = m.expert_load();
    ASSERT_EQ((int64_t)load.counts.size(), cfg.n_layer);
    EXPECT_TRUE(load.counts[0].empty());  // dense lead layer
    int64_t tot = 0;
    for (int64_t v : load.counts[1]) tot += v;
    EXPECT_EQ(tot, b.B * b.T * cfg.n_expert_used);
    EXPECT_GE(load.imbalance(), 1.0);
    const std::vector<int64_t> cnt = load.counts[1];
    m.update_selection_bias();
    const float* bias = m.params().ptr("blk.1.exp_probs_b.bias");
    const double mean = (double)tot / cfg.n_expert;
    for (int64_t e = 0; e < cfg.n_expert; e++) {
        const float want = cnt[e] < mean ? 0.01f : cnt[e] > mean ? -0.01f : 0.0f;
        EXPECT_FLOAT_EQ(bias[e], want) << "expert " << e << " load " << cnt[e];
    }
}

// Every preset builds, initialises and trains one micro-step: loss ≈ ln V at init (the
// N(0, 0.02) init predicts nearly uniformly) and every gradient finite.
TEST(ModelRun, PresetsRunOneStep) {
    for (const char* name : {"bench-dense", "bench-moe", "tiny-moe", "tiny-dense"}) {
        SCOPED_TRACE(name);
        const ModelConfig cfg = ModelConfig::preset(name);
        r1::Model m(cfg);
        m.init_weights(1);
        Batch b = make_batch(cfg, 1, 8, 2);
        r1::StepStats s = m.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T);
        EXPECT_NEAR(s.loss, std::log((double)cfg.n_vocab), 0.5);
        double gsum = 0;
        for (float g : m.params().grad()) {
            ASSERT_TRUE(std::isfinite(g));
            gsum += std::fabs(g);
        }
        EXPECT_GT(gsum, 0.0);
    }
}
