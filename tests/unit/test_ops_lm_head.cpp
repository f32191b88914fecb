// Fused LM head + cross-entropy: chunked fast path vs the [N, V]-materialising ref for every
// ISA level (several chunks, ignored targets, row_coef callbacks), finite-difference
// gradients of dh and dW, dW accumulation, forward-only mode, and bad targets.
#include <cmath>
#include <vector>

#include "core/error.h"
#include "ops/lm_head.h"
#include "testing.h"

namespace r1 {
namespace {

using testing::allclose;
using testing::randn;

struct LmCase {
    const char* name;
    int64_t N, C, V;
    int ignore_every;  // every k-th target is −1 (0 = none)
    bool use_row_coef;
};

std::vector<int32_t> make_targets(const LmCase& c) {
    std::vector<int32_t> t(c.N);
    for (int64_t r = 0; r < c.N; r++)
        t[r] = (c.ignore_every && r % c.ignore_every == 1) ? -1 : (int32_t)((r * 7919 + 3) % c.V);
    return t;
}

// An RL-style coefficient: depends on the row and on its logp (clipped-ratio flavour).
float rl_coef(int64_t row, float logp) {
    return (float)((row % 3) - 1) * 0.5f + 0.1f * std::tanh(logp);
}

TEST(OpsLmHead, FastMatchesRef) {
    const LmCase cases[] = {
        {"one_row", 1, 4, 3, 0, false},
        {"small", 37, 16, 50, 4, false},
        {"multi_chunk", 600, 12, 4000, 5, true},    // 524-row chunks: 2 chunks
        {"big_vocab", 150, 8, 20000, 3, false},     // 104-row chunks: 2 chunks
        {"odd_sizes", 65, 33, 1001, 0, true},
    };
    uint64_t seed = 1;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto h = randn(c.N * c.C, seed++), W = randn(c.V * c.C, seed++, 0.3f);
        auto targets = make_targets(c);
        RowCoefFn fn = rl_coef;
        const RowCoefFn* rc = c.use_row_coef ? &fn : nullptr;
        const float gs = 1.0f / (float)c.N;
        std::vector<float> dh_r(c.N * c.C), lp_r(c.N), ent_r(c.N);
        auto dW_r = randn(c.V * c.C, seed);  // dW accumulates onto existing values
        auto res_r = ref::lm_head_xent(dh_r.data(), dW_r.data(), lp_r.data(), ent_r.data(),
                                       h.data(), W.data(), targets.data(), c.N, c.C, c.V, gs, rc);
        testing::for_each_isa([&](Isa) {
            std::vector<float> dh(c.N * c.C, 9.0f), lp(c.N), ent(c.N);
            auto dW = randn(c.V * c.C, seed);
            auto res = lm_head_xent(dh.data(), dW.data(), lp.data(), ent.data(), h.data(),
                                    W.data(), targets.data(), c.N, c.C, c.V, gs, rc);
            EXPECT_EQ(res.n_valid, res_r.n_valid);
            EXPECT_NEAR(res.loss_sum, res_r.loss_sum, 1e-5 * (1 + std::fabs(res_r.loss_sum)));
            EXPECT_TRUE(allclose(lp, lp_r, 1e-5f, 1e-5f)) << "logp";
            EXPECT_TRUE(allclose(ent, ent_r, 1e-5f, 1e-4f)) << "entropy";
            EXPECT_TRUE(allclose(dh, dh_r, 1e-6f, 1e-4f)) << "dh";
            EXPECT_TRUE(allclose(dW, dW_r, 1e-6f, 1e-4f)) << "dW";
            for (int64_t r = 0; r < c.N; r++)
                if (targets[r] < 0)
                    for (int64_t j = 0; j < c.C; j++) ASSERT_EQ(dh[r * c.C + j], 0.0f);
        });
        seed++;
    }
}

// The callback sees each valid row once, in order, with that row's logp.
TEST(OpsLmHead, RowCoefSeesLogp) {
    const LmCase c = {"cb", 70, 8, 30, 3, true};
    auto h = randn(c.N * c.C, 5), W = randn(c.V * c.C, 6);
    auto targets = make_targets(c);
    std::vector<int64_t> rows;
    std::vector<float> seen;
    RowCoefFn fn = [&](int64_t r, float lp) {
        rows.push_back(r);
        seen.push_back(lp);
        return 1.0f;
    };
    std::vector<float> dh(c.N * c.C), lp(c.N);
    auto res = lm_head_xent(dh.data(), nullptr, lp.data(), nullptr, h.data(), W.data(),
                            targets.data(), c.N, c.C, c.V, 0.0f, &fn);
    ASSERT_EQ((int64_t)rows.size(), res.n_valid);
    for (size_t i = 0; i < rows.size(); i++) {
        if (i) EXPECT_LT(rows[i - 1], rows[i]);
        EXPECT_GE(targets[rows[i]], 0);
        EXPECT_EQ(seen[i], lp[rows[i]]);
    }
}

// L = Σ coef_r · (−logp_r) from the ref forward; analytic dh, dW from the fast path.
// The coefficient depends on the row only here (a logp-dependent coef is a stop-gradient
// weight, which finite differences of L would not treat as constant).
TEST(OpsLmHead, GradientsFiniteDifference) {
    const int64_t N = 11, C = 6, V = 13;
    auto h = randn(N * C, 41), W = randn(V * C, 42, 0.5f);
    const LmCase c = {"fd", N, C, V, 4, true};
    auto targets = make_targets(c);
    RowCoefFn fn = [](int64_t r, float) { return (float)(r % 3) - 0.7f; };
    for (bool with_cb : {false, true}) {
        SCOPED_TRACE(with_cb ? "row_coef" : "grad_scale");
        const RowCoefFn* rc = with_cb ? &fn : nullptr;
        const float gs = 0.25f;
        auto loss = [&]() {
            std::vector<float> lp(N);
            ref::lm_head_xent(nullptr, nullptr, lp.data(), nullptr, h.data(), W.data(),
                              targets.data(), N, C, V, gs, nullptr);
            double L = 0;
            for (int64_t r = 0; r < N; r++)
                if (targets[r] >= 0) L -= (with_cb ? fn(r, 0) : gs) * (double)lp[r];
            return L;
        };
        testing::for_each_isa([&](Isa) {
            std::vector<float> dh(N * C), dW(V * C, 0.0f);
            lm_head_xent(dh.data(), dW.data(), nullptr, nullptr, h.data(), W.data(),
                         targets.data(), N, C, V, gs, rc);
            EXPECT_TRUE(testing::check_grad(loss, h, dh, 1e-2f, 1e-3f, 1e-2f, 200)) << "dh";
            EXPECT_TRUE(testing::check_grad(loss, W, dW, 1e-2f, 1e-3f, 1e-2f, 200)) << "dW";
        });
    }
}

TEST(OpsLmHead, ForwardOnlyMatchesLoss) {
    const LmCase c = {"fwd", 40, 8, 64, 0, false};
    auto h = randn(c.N * c.C, 51), W = randn(c.V * c.C, 52);
    auto targets = make_targets(c);
    std::vector<float> lp(c.N);
    auto res = lm_head_xent(nullptr, nullptr, lp.data(), nullptr, h.data(), W.data(),
                            targets.data(), c.N, c.C, c.V, 1.0f);
    double s = 0;
    for (float x : lp) s -= x;
    EXPECT_EQ(res.n_valid, c.N);
    EXPECT_NEAR(res.loss_sum, s, 1e-4);
    // Uniform logits (W = 0): loss per row is log V, entropy log V.
    std::vector<float> W0(c.V * c.C, 0.0f), ent(c.N);
    res = lm_head_xent(nullptr, nullptr, nullptr, ent.data(), h.data(), W0.data(),
                       targets.data(), c.N, c.C, c.V, 1.0f);
    EXPECT_NEAR(res.loss_sum / c.N, std::log((double)c.V), 1e-5);
    EXPECT_NEAR(ent[0], std::log((double)c.V), 1e-5);
}

// Same inputs, same thread count → bit-identical gradients (dW accumulation order is fixed).
TEST(OpsLmHead, Deterministic) {
    const LmCase c = {"det", 700, 16, 3000, 7, false};  // 699-row chunks: 2 chunks
    auto h = randn(c.N * c.C, 61), W = randn(c.V * c.C, 62, 0.3f);
    auto targets = make_targets(c);
    std::vector<float> dh1(c.N * c.C), dh2(c.N * c.C), dW1(c.V * c.C, 0.0f), dW2(c.V * c.C, 0.0f);
    auto r1 = lm_head_xent(dh1.data(), dW1.data(), nullptr, nullptr, h.data(), W.data(),
                           targets.data(), c.N, c.C, c.V, 0.01f);
    auto r2 = lm_head_xent(dh2.data(), dW2.data(), nullptr, nullptr, h.data(), W.data(),
                           targets.data(), c.N, c.C, c.V, 0.01f);
    EXPECT_EQ(r1.loss_sum, r2.loss_sum);
    EXPECT_EQ(dh1, dh2);
    EXPECT_EQ(dW1, dW2);
}

TEST(OpsLmHead, RejectsBadTargets) {
    auto h = randn(2 * 4, 1), W = randn(5 * 4, 2);
    std::vector<int32_t> t = {0, 5};  // 5 == V
    EXPECT_THROW(lm_head_xent(nullptr, nullptr, nullptr, nullptr, h.data(), W.data(), t.data(),
                              2, 4, 5, 1.0f),
                 Error);
    t = {-2, 0};
    EXPECT_THROW(ref::lm_head_xent(nullptr, nullptr, nullptr, nullptr, h.data(), W.data(),
                                   t.data(), 2, 4, 5, 1.0f),
                 Error);
}

}  // namespace
}  // namespace r1
