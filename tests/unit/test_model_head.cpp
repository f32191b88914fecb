// Model::forward_backward_head / forward_head — the custom-loss entry point GRPO and logit KD
// use: plain CE through the hook must equal forward_backward exactly (same calls, same
// order), a nonlinear per-row loss must match central finite differences through the whole
// model (tied and untied LM head, dense and MoE with aux loss), and forward_head's hidden
// states must be the training forward's, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/config.h"
#include "model/model.h"
#include "ops/lm_head.h"

namespace {

// Finite differences run hundreds of tiny forwards: one thread avoids OpenMP barrier costs
// on a busy machine (results are compared within one thread count).
struct OneThread {
    int saved = r1::num_threads();
    OneThread() { r1::set_num_threads(1); }
    ~OneThread() { r1::set_num_threads(saved); }
};

using r1::ModelConfig;

ModelConfig head_tiny_dense() {  // tied embeddings (Llama-style preset)
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2, c.n_head_kv = 1;
    c.head_dim = 8, c.n_ff = 24;
    c.validate();
    return c;
}

ModelConfig head_tiny_moe() {  // untied; k == E keeps the loss smooth for finite differences
    ModelConfig c = ModelConfig::preset("tiny-moe");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 24;
    c.n_expert = 4, c.n_expert_used = 4, c.n_ff_exp = 8, c.n_expert_shared = 1;
    c.aux_loss_alpha = 0.05f;
    c.validate();
    return c;
}

void perturb(r1::Model& m, uint64_t seed) {
    m.init_weights(seed);
    r1::Rng r(seed + 7);
    for (const auto& p : m.params().infos()) {
        float* w = m.params().data().data() + p.offset;
        for (int64_t i = 0; i < p.numel; i++)
            w[i] += (p.shape.size() == 1 ? 0.1f : 0.05f) * r.normal();
    }
}

struct HBatch {
    std::vector<int32_t> tokens, targets;
    std::vector<float> w;  // per-row weights of the test loss
    int64_t B = 2, T = 6;
};

HBatch make_hbatch(const ModelConfig& c, uint64_t seed) {
    r1::Rng r(seed);
    HBatch b;
    for (int64_t i = 0; i < b.B * b.T; i++) {
        b.tokens.push_back((int32_t)r.below(c.n_vocab));
        b.targets.push_back(i % 5 == 2 ? -1 : (int32_t)r.below(c.n_vocab));
        b.w.push_back(r.normal());
    }
    return b;
}

// L = Σ_r w_r · logp_r² / 2  (nonlinear in logp, signed weights — like a PG loss whose
// coefficient depends on the current ratio). dL/d(−logp_r) = −w_r · logp_r.
r1::HeadLossFn quad_loss(const HBatch& b) {
    return [&b](const float* h, const float* W, float* dh, float* dW, int64_t N, int64_t C,
                int64_t V) {
        std::vector<float> logp(N);
        r1::RowCoefFn coef = [&b](int64_t r, float lp) { return -b.w[r] * lp; };
        r1::lm_head_xent(dh, dW, logp.data(), nullptr, h, W, b.targets.data(), N, C, V, 1.0f,
                         dh ? &coef : nullptr);
        double L = 0;
        for (int64_t r = 0; r < N; r++)
            if (b.targets[r] >= 0) L += 0.5 * b.w[r] * (double)logp[r] * logp[r];
        return L;
    };
}

void ce_equivalence(const ModelConfig& cfg) {
    OneThread one;
    r1::Model a(cfg), m(cfg);
    perturb(a, 11);
    perturb(m, 11);
    HBatch b = make_hbatch(cfg, 12);
    const float gs = 0.5f;
    a.params().zero_grad();
    r1::StepStats sa = a.forward_backward(b.tokens.data(), b.targets.data(), b.B, b.T, gs);
    m.params().zero_grad();
    r1::HeadLossFn ce = [&](const float* h, const float* W, float* dh, float* dW, int64_t N,
                            int64_t C, int64_t V) {
        int64_t nv = 0;
        for (int64_t r = 0; r < N; r++) nv += b.targets[r] >= 0;
        r1::LmHeadResult hr = r1::lm_head_xent(dh, dW, nullptr, nullptr, h, W, b.targets.data(),
                                               N, C, V, gs / (float)nv);
        return hr.loss_sum / (double)nv;
    };
    r1::StepStats sm = m.forward_backward_head(b.tokens.data(), b.B, b.T, ce, gs);
    EXPECT_EQ(sa.loss, sm.loss);
    EXPECT_EQ(sa.aux_loss, sm.aux_loss);
    ASSERT_EQ(a.params().grad().size(), m.params().grad().size());
    EXPECT_EQ(0, std::memcmp(a.params().grad().data(), m.params().grad().data(),
                             sizeof(float) * a.params().grad().size()));
}

void head_fd(const ModelConfig& cfg, uint64_t seed, int n_extra) {
    OneThread one;
    r1::Model m(cfg);
    perturb(m, seed);
    HBatch b = make_hbatch(cfg, seed + 1);
    const float aux_scale = 0.7f;
    const r1::HeadLossFn fn = quad_loss(b);
    m.params().zero_grad();
    m.forward_backward_head(b.tokens.data(), b.B, b.T, fn, aux_scale);
    std::vector<float> grad(m.params().grad().begin(), m.params().grad().end());
    // forward-only value of the same objective (aux loss from the last forward)
    auto f = [&] {
        const double L = m.forward_head(b.tokens.data(), b.B, b.T, fn);
        r1::StepStats s = m.loss(b.tokens.data(), b.targets.data(), b.B, b.T);
        return L + aux_scale * s.aux_loss;
    };
    const float eps = 1e-2f;
    int checked = 0;
    for (const auto& p : m.params().infos()) {
        if (!p.trainable) continue;
        float* w = m.params().data().data() + p.offset;
        const float* g = grad.data() + p.offset;
        int64_t best = 0;
        for (int64_t i = 1; i < p.numel; i++)
            if (std::fabs(g[i]) > std::fabs(g[best])) best = i;
        std::vector<int64_t> idx{best};
        for (int64_t i = 0; i < n_extra; i++) idx.push_back((i * 7919 + 13) % p.numel);
        for (int64_t i : idx) {
            const float old = w[i];
            w[i] = old + eps;
            const double fp = f();
            w[i] = old - eps;
            const double fm = f();
            w[i] = old;
            const double fd = (fp - fm) / (2.0 * eps);
            EXPECT_NEAR(g[i], fd, 5e-4 + 3e-2 * std::fabs(fd)) << p.name << "[" << i << "]";
            checked++;
        }
    }
    EXPECT_GT(checked, 15);
}

}  // namespace

TEST(ModelHead, CrossEntropyViaHookEqualsForwardBackwardTied) {
    ce_equivalence(head_tiny_dense());
}
TEST(ModelHead, CrossEntropyViaHookEqualsForwardBackwardMoe) { ce_equivalence(head_tiny_moe()); }
TEST(ModelHead, FiniteDifferencesTiedDense) { head_fd(head_tiny_dense(), 21, 3); }
TEST(ModelHead, FiniteDifferencesMoeWithAux) { head_fd(head_tiny_moe(), 22, 1); }

TEST(ModelHead, ForwardHeadSeesTrainingHiddenStates) {
    const ModelConfig cfg = head_tiny_moe();
    r1::Model m(cfg);
    perturb(m, 31);
    HBatch b = make_hbatch(cfg, 32);
    const int64_t NC = b.B * b.T * cfg.n_embd;
    std::vector<float> h_fwd, h_train;
    const float* W_fwd = nullptr;
    m.forward_head(b.tokens.data(), b.B, b.T,
                   [&](const float* h, const float* W, float* dh, float* dW, int64_t N, int64_t C,
                       int64_t V) {
                       EXPECT_EQ(dh, nullptr);
                       EXPECT_EQ(dW, nullptr);
                       EXPECT_EQ(N * C, NC);
                       EXPECT_EQ(V, cfg.n_vocab);
                       h_fwd.assign(h, h + NC);
                       W_fwd = W;
                       return 0.0;
                   });
    m.params().zero_grad();
    m.forward_backward_head(b.tokens.data(), b.B, b.T,
                            [&](const float* h, const float* W, float* dh, float* dW, int64_t N,
                                int64_t C, int64_t) {
                                EXPECT_EQ(W, W_fwd);
                                EXPECT_NE(dW, nullptr);
                                h_train.assign(h, h + NC);
                                std::memset(dh, 0, sizeof(float) * N * C);
                                return 0.0;
                            });
    ASSERT_EQ(h_fwd.size(), h_train.size());
    EXPECT_EQ(0, std::memcmp(h_fwd.data(), h_train.data(), sizeof(float) * NC));
    // the head weight is the tied embedding for tied models
    r1::Model t(head_tiny_dense());
    t.init_weights(1);
    const r1::ParamInfo* emb = t.params().find("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    std::vector<int32_t> tok(4, 1);
    t.forward_head(tok.data(), 1, 4,
                   [&](const float*, const float* W, float*, float*, int64_t, int64_t, int64_t) {
                       EXPECT_EQ(W, t.params().data().data() + emb->offset);
                       return 0.0;
                   });
    EXPECT_THROW(t.forward_head(tok.data(), 1, 4, r1::HeadLossFn{}), r1::Error);
}
