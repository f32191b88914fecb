// GRPO math: advantages (GRPO / Dr. GRPO / RLOO) and the clipped policy-gradient loss against
// hand-computed cases, aggregation weights, the head loss vs its plain double reference, and
// finite differences of the whole PG loss (clip, clip-higher, k3 KL) through a tiny model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/config.h"
#include "model/model.h"
#include "rl/advantage.h"
#include "rl/policy_loss.h"

namespace {

// Finite differences run hundreds of tiny forwards: one thread avoids OpenMP barrier costs
// on a busy machine (results are compared within one thread count).
struct OneThread {
    int saved = r1::num_threads();
    OneThread() { r1::set_num_threads(1); }
    ~OneThread() { r1::set_num_threads(saved); }
};

using namespace r1::rl;

TEST(RlAdvantage, HandCases) {
    const std::vector<double> r = {1, 0, 0, 1, 0.1, 0.1, 0.1, 0.1};
    const double sd = std::sqrt(1.0 / 3.0);  // Bessel: Σ(r−0.5)² = 1, /(G−1)
    auto a = compute_advantages(r, 4, AdvantageKind::grpo);
    EXPECT_NEAR(a[0], 0.5 / (sd + 1e-4), 1e-12);
    EXPECT_NEAR(a[1], -0.5 / (sd + 1e-4), 1e-12);
    for (int i = 4; i < 8; i++) EXPECT_EQ(a[i], 0.0);  // zero-variance group
    a = compute_advantages(r, 4, AdvantageKind::dr_grpo);
    EXPECT_DOUBLE_EQ(a[0], 0.5);
    EXPECT_DOUBLE_EQ(a[2], -0.5);
    for (int i = 4; i < 8; i++) EXPECT_EQ(a[i], 0.0);
    a = compute_advantages(r, 4, AdvantageKind::rloo);
    EXPECT_NEAR(a[0], 1.0 - 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(a[1], 0.0 - 2.0 / 3.0, 1e-12);
    // rloo = G/(G−1)·(r − mean)
    const std::vector<double> r2 = {3, 1, 0.5};
    a = compute_advantages(r2, 3, AdvantageKind::rloo);
    EXPECT_NEAR(a[0], 1.5 * (3 - 1.5), 1e-12);
    EXPECT_NEAR(a[2], 1.5 * (0.5 - 1.5), 1e-12);
    EXPECT_TRUE(zero_variance_group(r.data() + 4, 4));
    EXPECT_FALSE(zero_variance_group(r.data(), 4));
    EXPECT_THROW(compute_advantages(r, 3, AdvantageKind::grpo), r1::Error);
    EXPECT_THROW(compute_advantages({1.0}, 1, AdvantageKind::rloo), r1::Error);
    EXPECT_THROW(parse_advantage_kind("ppo"), r1::Error);
    EXPECT_EQ(parse_advantage_kind("dr_grpo"), AdvantageKind::dr_grpo);
}

TEST(RlPolicyLoss, TokenTermsHandCases) {
    PolicyLossConfig c;  // eps 0.2 / 0.28, beta 0
    const float w = 0.5f;
    // ratio 1: loss −A, coef w·A
    TokenTerms t = token_terms(-1.0f, -1.0f, 0, 2.0f, w, c);
    EXPECT_NEAR(t.loss, -2.0, 1e-9);
    EXPECT_NEAR(t.coef, 1.0, 1e-7);
    EXPECT_FALSE(t.clipped);
    // ratio e^0.5 > 1.28, A > 0: clipped high, constant −1.28·A, no gradient
    t = token_terms(-0.5f, -1.0f, 0, 1.0f, w, c);
    EXPECT_NEAR(t.loss, -1.28, 1e-6);
    EXPECT_EQ(t.coef, 0.0f);
    EXPECT_TRUE(t.clipped_high);
    // same ratio, A < 0: the unclipped term is the min → −ρA, gradient w·ρ·A
    const double e5 = std::exp(0.5);
    t = token_terms(-0.5f, -1.0f, 0, -1.0f, w, c);
    EXPECT_NEAR(t.loss, e5, 1e-6);
    EXPECT_NEAR(t.coef, -0.5 * e5, 1e-6);
    EXPECT_FALSE(t.clipped);
    // ratio e^−0.5 < 0.8, A < 0: clipped low
    t = token_terms(-1.5f, -1.0f, 0, -1.0f, w, c);
    EXPECT_NEAR(t.loss, 0.8, 1e-6);
    EXPECT_EQ(t.coef, 0.0f);
    EXPECT_TRUE(t.clipped_low);
    // same ratio, A > 0: unclipped
    t = token_terms(-1.5f, -1.0f, 0, 1.0f, w, c);
    EXPECT_NEAR(t.loss, -std::exp(-0.5), 1e-6);
    EXPECT_NEAR(t.coef, 0.5 * std::exp(-0.5), 1e-6);
    // clip-higher: 1.25 is inside [0.8, 1.28] but outside symmetric 0.2
    t = token_terms(std::log(1.25f), 0, 0, 1.0f, w, c);
    EXPECT_FALSE(t.clipped);
    PolicyLossConfig sym = c;
    sym.eps_high = 0.2f;
    t = token_terms(std::log(1.25f), 0, 0, 1.0f, w, sym);
    EXPECT_TRUE(t.clipped_high);
    EXPECT_NEAR(t.loss, -1.2, 1e-6);
    // k3 KL: logp −1, ref −1.5, β 0.1, A 0
    PolicyLossConfig kl = c;
    kl.beta = 0.1f;
    t = token_terms(-1.0f, -1.0f, -1.5f, 0.0f, w, kl);
    const double k3 = std::exp(-0.5) + 0.5 - 1.0;
    EXPECT_NEAR(t.kl, k3, 1e-7);
    EXPECT_NEAR(t.loss, 0.1 * k3, 1e-7);
    EXPECT_NEAR(t.coef, 0.5 * (-0.1 * (1.0 - std::exp(-0.5))), 1e-7);
    // k3 is 0 at ref == logp
    EXPECT_NEAR(token_terms(-2.0f, -2.0f, -2.0f, 1.0f, w, kl).kl, 0.0, 1e-12);
}

TEST(RlPolicyLoss, AggregationWeights) {
    // two sequences of 2 and 4 completion tokens; max_tokens 8
    EXPECT_FLOAT_EQ(agg_weight(LossAgg::seq, 2, 2, 6, 8), 0.25f);
    EXPECT_FLOAT_EQ(agg_weight(LossAgg::seq, 4, 2, 6, 8), 0.125f);
    EXPECT_FLOAT_EQ(agg_weight(LossAgg::token, 2, 2, 6, 8), 1.0f / 6.0f);
    EXPECT_FLOAT_EQ(agg_weight(LossAgg::token, 4, 2, 6, 8), 1.0f / 6.0f);
    EXPECT_FLOAT_EQ(agg_weight(LossAgg::constant, 4, 2, 6, 8), 1.0f / 16.0f);
    EXPECT_EQ(agg_weight(LossAgg::seq, 0, 2, 6, 8), 0.0f);
    EXPECT_EQ(parse_loss_agg("token"), LossAgg::token);
    EXPECT_THROW(parse_loss_agg("mean"), r1::Error);
    PolicyLossConfig bad;
    bad.eps_low = 1.5f;
    EXPECT_THROW(bad.validate(), r1::Error);
}

// ---- through a tiny model ------------------------------------------------------------------

r1::ModelConfig pg_tiny(bool moe) {
    r1::ModelConfig c = r1::ModelConfig::preset(moe ? "tiny-moe" : "tiny-dense");
    c.n_vocab = 24, c.n_embd = 16, c.n_layer = 2, c.n_ctx = 8, c.n_head = 2;
    c.n_head_kv = moe ? 2 : 1;
    c.head_dim = 8, c.n_ff = 24;
    if (moe) c.n_expert = 4, c.n_expert_used = 4, c.n_ff_exp = 8, c.n_expert_shared = 1;
    c.validate();
    return c;
}

// Two sequences in a [2, 8] batch: completion targets on positions 3..6 and 2..7 of the rows;
// old/ref log-probs are the current ones shifted by offsets well away from the clip edges
// (log 1.28 = 0.247, log 0.8 = −0.223), so some tokens clip and the loss stays smooth.
PolicyBatch make_pg_batch(r1::Model& m, uint64_t seed, float beta, LossAgg agg) {
    const r1::ModelConfig& c = m.config();
    r1::Rng r(seed);
    PolicyBatch b;
    b.B = 2, b.T = 8;
    const int64_t N = b.B * b.T;
    b.tokens.resize(N), b.targets.assign(N, -1), b.adv.assign(N, 0), b.weight.assign(N, 0);
    for (auto& t : b.tokens) t = (int32_t)r.below(c.n_vocab);
    const int64_t start[2] = {3, 2}, end[2] = {7, 8};  // completion positions [start, end)
    const float adv[2] = {1.3f, -0.7f};
    int64_t total = 0;
    for (int s = 0; s < 2; s++) total += end[s] - start[s];
    for (int s = 0; s < 2; s++)
        for (int64_t p = start[s]; p < end[s]; p++) {
            const int64_t row = s * b.T + p - 1;  // row p−1 predicts token p
            b.targets[row] = b.tokens[s * b.T + p];
            b.adv[row] = adv[s];
            b.weight[row] = agg_weight(agg, end[s] - start[s], 2, total, 8);
        }
    std::vector<float> lp(N);
    m.forward_head(b.tokens.data(), b.B, b.T, logprob_head(b.targets, lp.data()));
    const float offs[5] = {-0.6f, -0.1f, 0.0f, 0.1f, 0.6f};
    b.old_logp.resize(N), b.ref_logp.resize(N);
    for (int64_t i = 0; i < N; i++) {
        b.old_logp[i] = lp[i] + offs[r.below(5)];
        b.ref_logp[i] = lp[i] + offs[r.below(5)];
    }
    if (beta == 0) b.ref_logp.clear();
    return b;
}

void pg_fd(bool moe, float beta, LossAgg agg, uint64_t seed) {
    OneThread one;
    r1::Model m(pg_tiny(moe));
    m.init_weights(seed);
    r1::Rng r(seed + 3);
    for (const auto& p : m.params().infos()) {  // sharper distributions than init
        float* w = m.params().data().data() + p.offset;
        for (int64_t i = 0; i < p.numel; i++) w[i] += (p.shape.size() == 1 ? 0.1f : 0.2f) * r.normal();
    }
    PolicyLossConfig cfg;
    cfg.beta = beta;
    const PolicyBatch b = make_pg_batch(m, seed, beta, agg);
    PolicyStats st;
    const r1::HeadLossFn fn = policy_head_loss(b, cfg, &st);
    m.params().zero_grad();
    const r1::StepStats s = m.forward_backward_head(b.tokens.data(), b.B, b.T, fn, 0.0f);
    EXPECT_EQ(st.n_tokens, 10);
    EXPECT_GT(st.n_clipped, 0);  // the offsets do clip some tokens
    EXPECT_LT(st.n_clipped, 10);
    if (beta > 0) {
        EXPECT_GT(st.kl_sum, 0);
    }
    // the head's loss equals the plain double reference on the same log-probs
    std::vector<float> lp(b.targets.size());
    m.forward_head(b.tokens.data(), b.B, b.T, logprob_head(b.targets, lp.data()));
    EXPECT_NEAR(s.loss, ref::policy_loss(b, lp, cfg), 1e-6);
    std::vector<float> grad(m.params().grad().begin(), m.params().grad().end());
    auto f = [&] { return m.forward_head(b.tokens.data(), b.B, b.T, fn); };
    const float eps = 1e-2f;
    int checked = 0;
    for (const auto& p : m.params().infos()) {
        if (!p.trainable) continue;
        float* w = m.params().data().data() + p.offset;
        const float* g = grad.data() + p.offset;
        int64_t best = 0;
        for (int64_t i = 1; i < p.numel; i++)
            if (std::fabs(g[i]) > std::fabs(g[best])) best = i;
        for (int64_t i : {best, (int64_t)13 % p.numel, (int64_t)7919 % p.numel}) {
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
    EXPECT_GT(checked, 20);
}

}  // namespace

TEST(RlPolicyLoss, FiniteDifferencesSeqAggDense) { pg_fd(false, 0.0f, LossAgg::seq, 41); }
TEST(RlPolicyLoss, FiniteDifferencesTokenAggKlMoe) { pg_fd(true, 0.2f, LossAgg::token, 42); }
TEST(RlPolicyLoss, FiniteDifferencesConstAggKlDense) { pg_fd(false, 0.5f, LossAgg::constant, 43); }

TEST(RlPolicyLoss, RatioIsOneAtOldPolicy) {
    // old log-probs from the same forward: every ratio is exactly 1, nothing clips, and the
    // gradient is that of −Σ w·A·logp (the REINFORCE form)
    r1::Model m(pg_tiny(true));
    m.init_weights(5);
    PolicyBatch b = make_pg_batch(m, 6, 0.0f, LossAgg::seq);
    m.forward_head(b.tokens.data(), b.B, b.T, logprob_head(b.targets, b.old_logp.data()));
    PolicyStats st;
    m.params().zero_grad();
    m.forward_backward_head(b.tokens.data(), b.B, b.T, policy_head_loss(b, {}, &st));
    EXPECT_EQ(st.n_clipped, 0);
    EXPECT_EQ(st.ratio_max, 1.0);
    double want = 0;
    for (size_t r = 0; r < b.targets.size(); r++)
        if (b.targets[r] >= 0) want -= (double)b.weight[r] * b.adv[r];
    EXPECT_NEAR(st.loss, want, 1e-6);
    // the on-policy form (old_logp empty: old = current, detached) is the same update, bit
    // for bit, without the extra forward; it also hands back the log-probs it used
    const std::vector<float> g1(m.params().grad().begin(), m.params().grad().end());
    PolicyBatch on = b;
    on.old_logp.clear();
    std::vector<float> captured(b.targets.size());
    PolicyStats st2;
    m.params().zero_grad();
    m.forward_backward_head(on.tokens.data(), on.B, on.T,
                            policy_head_loss(on, {}, &st2, captured.data()));
    EXPECT_EQ(st2.loss, st.loss);
    EXPECT_EQ(0, std::memcmp(g1.data(), m.params().grad().data(), sizeof(float) * g1.size()));
    EXPECT_EQ(0, std::memcmp(captured.data(), b.old_logp.data(), sizeof(float) * captured.size()));
}
