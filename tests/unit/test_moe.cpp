// Tests for MoE routing/dispatch (ops/moe_routing), the dense MLP blocks (model/mlp) and the
// whole MoE layer (model/moe_layer): hand-computed routing cases, fast-vs-ref, dispatch round
// trips with shuffled expert ids, and finite-difference gradients of everything trainable.
// Routing is piecewise constant in its inputs, so gradient checks pick inputs whose top-k
// choice has a clear margin (checked, not assumed) and use a small eps.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/mlp.h"
#include "model/moe_layer.h"
#include "ops/moe_routing.h"
#include "testing.h"

using namespace r1;
using r1::testing::allclose;
using r1::testing::check_grad;
using r1::testing::randn;

namespace {

RouterConfig rcfg(int64_t E, int64_t k, GatingFunc g, bool norm = false, float scale = 1.0f,
                  int64_t n_group = 1, int64_t topk_group = 1) {
    RouterConfig c;
    c.n_expert = E;
    c.n_expert_used = k;
    c.gating = g;
    c.norm_topk = norm;
    c.route_scale = scale;
    c.n_group = n_group;
    c.topk_group = topk_group;
    return c;
}

float sigm(float x) {
    return 1.0f / (1.0f + std::exp(-x));
}
float logit(float p) {
    return std::log(p / (1.0f - p));
}

struct Routed {
    std::vector<int32_t> ids;
    std::vector<float> w, s;
};
Routed route(const std::vector<float>& logits, const float* bias, int64_t N, const RouterConfig& c,
             bool use_ref = false) {
    Routed r;
    r.ids.resize(N * c.n_expert_used);
    r.w.resize(N * c.n_expert_used);
    r.s.resize(N * c.n_expert);
    if (use_ref)
        ref::moe_route_forward(r.ids.data(), r.w.data(), r.s.data(), logits.data(), bias, N, c);
    else
        moe_route_forward(r.ids.data(), r.w.data(), r.s.data(), logits.data(), bias, N, c);
    return r;
}

// Smallest gap, over tokens, between the k-th selected and the best unselected biased score
// (ignores group masking; callers without groups use it to keep FD away from switches).
float selection_margin(const Routed& r, const float* bias, int64_t N, int64_t E, int64_t k) {
    float m = INFINITY;
    for (int64_t t = 0; t < N; t++) {
        std::vector<float> b(E);
        for (int64_t e = 0; e < E; e++) b[e] = r.s[t * E + e] + (bias ? bias[e] : 0.0f);
        std::sort(b.begin(), b.end(), std::greater<float>());
        m = std::min(m, b[k - 1] - b[k]);
    }
    return m;
}

}  // namespace

// ------------------------------------------------------------------------- routing values

TEST(MoeRouting, SoftmaxTop2HandComputed) {
    const std::vector<float> l = {1.0f, 3.0f, 2.0f, 0.0f};
    double Z = 0;
    for (float v : l) Z += std::exp(v);
    const float s1 = (float)(std::exp(3.0) / Z), s2 = (float)(std::exp(2.0) / Z);
    {
        Routed r = route(l, nullptr, 1, rcfg(4, 2, GatingFunc::softmax));
        EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
        EXPECT_NEAR(r.w[0], s1, 1e-6);
        EXPECT_NEAR(r.w[1], s2, 1e-6);
        for (int e = 0; e < 4; e++) EXPECT_NEAR(r.s[e], std::exp(l[e]) / Z, 1e-6);
    }
    {  // norm_topk then route_scale
        Routed r = route(l, nullptr, 1, rcfg(4, 2, GatingFunc::softmax, true, 2.5f));
        EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
        EXPECT_NEAR(r.w[0], 2.5f * s1 / (s1 + s2), 1e-5);
        EXPECT_NEAR(r.w[1], 2.5f * s2 / (s1 + s2), 1e-5);
        EXPECT_NEAR(r.w[0] + r.w[1], 2.5f, 1e-5);
    }
    {  // route_scale without norm
        Routed r = route(l, nullptr, 1, rcfg(4, 2, GatingFunc::softmax, false, 16.0f));
        EXPECT_NEAR(r.w[0], 16.0f * s1, 1e-5);
        EXPECT_NEAR(r.w[1], 16.0f * s2, 1e-5);
    }
}

TEST(MoeRouting, SigmoidBiasChangesSelectionNotWeights) {
    const std::vector<float> l = {2.0f, 1.0f, 0.0f, -1.0f};
    const RouterConfig c = rcfg(4, 2, GatingFunc::sigmoid);
    Routed plain = route(l, nullptr, 1, c);
    EXPECT_EQ(plain.ids, (std::vector<int32_t>{0, 1}));
    EXPECT_NEAR(plain.w[0], sigm(2.0f), 1e-6);
    EXPECT_NEAR(plain.w[1], sigm(1.0f), 1e-6);
    const std::vector<float> bias = {0.0f, 0.0f, 5.0f, 0.0f};
    Routed biased = route(l, bias.data(), 1, c);
    EXPECT_EQ(biased.ids, (std::vector<int32_t>{2, 0}));  // expert 2 pulled in by the bias
    EXPECT_NEAR(biased.w[0], sigm(0.0f), 1e-6);           // ...but weighted by its raw score
    EXPECT_NEAR(biased.w[1], sigm(2.0f), 1e-6);
    for (int e = 0; e < 4; e++) EXPECT_NEAR(biased.s[e], sigm(l[e]), 1e-6);
}

TEST(MoeRouting, TiesGoToLowerExpertIndex) {
    const std::vector<float> l(6, 0.25f);
    for (GatingFunc g : {GatingFunc::softmax, GatingFunc::sigmoid}) {
        Routed r = route(l, nullptr, 1, rcfg(6, 3, g));
        EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 1, 2}));
        Routed rr = route(l, nullptr, 1, rcfg(6, 3, g), true);
        EXPECT_EQ(rr.ids, r.ids);
    }
}

TEST(MoeRouting, GroupLimitedSigmoidUsesTop2Sum) {
    // 4 groups of 2. The single best expert (0) sits in a group whose top-2 sum is low.
    const std::vector<float> p = {0.95f, 0.01f, 0.60f, 0.58f, 0.57f, 0.56f, 0.10f, 0.12f};
    std::vector<float> l;
    for (float v : p) l.push_back(logit(v));
    // group sums: .96, 1.18, 1.13, .22 -> keep groups 1, 2 -> top-2 = experts 2, 3
    Routed g = route(l, nullptr, 1, rcfg(8, 2, GatingFunc::sigmoid, false, 1.0f, 4, 2));
    EXPECT_EQ(g.ids, (std::vector<int32_t>{2, 3}));
    EXPECT_NEAR(g.w[0], 0.60f, 1e-5);
    EXPECT_NEAR(g.w[1], 0.58f, 1e-5);
    Routed nog = route(l, nullptr, 1, rcfg(8, 2, GatingFunc::sigmoid));
    EXPECT_EQ(nog.ids, (std::vector<int32_t>{0, 2}));
    // a bias on expert 1 lifts group 0 (sum .95 + .41 = 1.36) back into the kept groups
    std::vector<float> bias(8, 0.0f);
    bias[1] = 0.4f;
    Routed gb = route(l, bias.data(), 1, rcfg(8, 2, GatingFunc::sigmoid, false, 1.0f, 4, 2));
    EXPECT_EQ(gb.ids, (std::vector<int32_t>{0, 2}));
    EXPECT_NEAR(gb.w[0], 0.95f, 1e-5);
}

TEST(MoeRouting, GroupLimitedSoftmaxUsesGroupMax) {
    // 2 groups of 4, keep 1. Group 1 has the max expert (7) but group 0 has the larger sum.
    const std::vector<float> l = {2.0f, 2.1f, 2.2f, 0.0f, -3.0f, -3.0f, -3.0f, 2.5f};
    Routed g = route(l, nullptr, 1, rcfg(8, 2, GatingFunc::softmax, false, 1.0f, 2, 1));
    EXPECT_EQ(g.ids, (std::vector<int32_t>{7, 4}));  // only group 1 eligible; tie 4,5,6 -> 4
    Routed nog = route(l, nullptr, 1, rcfg(8, 2, GatingFunc::softmax));
    EXPECT_EQ(nog.ids, (std::vector<int32_t>{7, 2}));
}

TEST(MoeRouting, MatchesRef) {
    const int64_t N = 97, E = 16;
    const std::vector<float> l = randn(N * E, 11, 1.5f);
    const std::vector<float> bias = randn(E, 12, 0.3f);
    struct Case {
        RouterConfig c;
        bool bias;
    };
    std::vector<Case> cases = {
        {rcfg(E, 2, GatingFunc::softmax), false},
        {rcfg(E, 4, GatingFunc::softmax, true, 2.0f), false},
        {rcfg(E, 3, GatingFunc::softmax, false, 1.0f, 4, 2), false},
        {rcfg(E, 2, GatingFunc::sigmoid, true, 2.5f), true},
        {rcfg(E, 4, GatingFunc::sigmoid, true, 1.0f, 8, 3), true},
        {rcfg(E, 1, GatingFunc::sigmoid, false, 1.0f, 16, 4), false},
    };
    for (const Case& cs : cases) {
        const float* b = cs.bias ? bias.data() : nullptr;
        Routed f = route(l, b, N, cs.c), r = route(l, b, N, cs.c, true);
        EXPECT_EQ(f.ids, r.ids);
        EXPECT_TRUE(allclose(f.w, r.w, 1e-6f, 1e-5f));
        EXPECT_TRUE(allclose(f.s, r.s, 1e-7f, 1e-5f));
        for (int64_t t = 0; t < N; t++) {  // ids distinct, descending biased score
            for (int64_t j = 1; j < cs.c.n_expert_used; j++) {
                const int32_t a = f.ids[t * cs.c.n_expert_used + j - 1];
                const int32_t c = f.ids[t * cs.c.n_expert_used + j];
                EXPECT_NE(a, c);
                EXPECT_GE(f.s[t * E + a] + (b ? b[a] : 0), f.s[t * E + c] + (b ? b[c] : 0));
            }
        }
    }
}

TEST(MoeRouting, RejectsBadConfig) {
    std::vector<float> l(8, 0.0f);
    EXPECT_THROW(route(l, nullptr, 1, rcfg(8, 9, GatingFunc::softmax)), r1::Error);
    EXPECT_THROW(route(l, nullptr, 1, rcfg(8, 2, GatingFunc::softmax, false, 1, 3, 1)), r1::Error);
    EXPECT_THROW(route(l, nullptr, 1, rcfg(8, 3, GatingFunc::sigmoid, false, 1, 4, 1)), r1::Error);
}

// ------------------------------------------------------------------------- routing grads

TEST(MoeRouting, BackwardFiniteDifference) {
    const int64_t N = 5, E = 6, k = 2;
    const std::vector<float> dw = randn(N * k, 21);
    const std::vector<float> bias = {0.0f, 0.1f, -0.05f, 0.0f, 0.2f, 0.0f};
    for (GatingFunc g : {GatingFunc::softmax, GatingFunc::sigmoid}) {
        for (bool norm : {false, true}) {
            SCOPED_TRACE(::testing::Message() << "gating=" << (int)g << " norm=" << norm);
            const RouterConfig c = rcfg(E, k, g, norm, 1.7f);
            const float* b = g == GatingFunc::sigmoid ? bias.data() : nullptr;
            // pick logits with a clear selection margin (deterministic seed search)
            std::vector<float> l;
            for (uint64_t seed = 100;; seed++) {
                l = randn(N * E, seed, 1.5f);
                if (selection_margin(route(l, b, N, c), b, N, E, k) > 0.02f) break;
            }
            Routed r = route(l, b, N, c);
            std::vector<float> dl(N * E), dl_ref(N * E);
            moe_route_backward(dl.data(), dw.data(), r.s.data(), r.ids.data(), r.w.data(), N, c);
            ref::moe_route_backward(dl_ref.data(), dw.data(), r.s.data(), r.ids.data(), r.w.data(),
                                    N, c);
            EXPECT_TRUE(allclose(dl, dl_ref, 1e-6f, 1e-4f));
            auto f = [&]() {
                Routed q = route(l, b, N, c);
                EXPECT_EQ(q.ids, r.ids);  // eps too small to switch experts
                double s = 0;
                for (int64_t i = 0; i < N * k; i++) s += (double)dw[i] * q.w[i];
                return s;
            };
            EXPECT_TRUE(check_grad(f, l, dl, 1e-3f, 1e-3f, 1e-2f));
        }
    }
}

TEST(MoeRouting, GatingBackwardAddFiniteDifference) {
    const int64_t N = 3, E = 5;
    const std::vector<float> ds = randn(N * E, 31);
    for (GatingFunc g : {GatingFunc::softmax, GatingFunc::sigmoid}) {
        const RouterConfig c = rcfg(E, 2, g);
        std::vector<float> l = randn(N * E, 32);
        Routed r = route(l, nullptr, N, c);
        std::vector<float> dl(N * E, 0.5f);  // accumulates onto existing values
        moe_gating_backward_add(dl.data(), ds.data(), r.s.data(), N, c);
        for (auto& v : dl) v -= 0.5f;
        auto f = [&]() {
            Routed q = route(l, nullptr, N, c);
            double s = 0;
            for (int64_t i = 0; i < N * E; i++) s += (double)ds[i] * q.s[i];
            return s;
        };
        EXPECT_TRUE(check_grad(f, l, dl, 1e-3f, 1e-3f, 1e-2f));
    }
}

// ------------------------------------------------------------------------- dispatch

namespace {
// Random distinct expert ids per token (a shuffled permutation's first k).
std::vector<int32_t> shuffled_ids(int64_t N, int64_t k, int64_t E, uint64_t seed) {
    r1::Rng rng(seed);
    std::vector<int32_t> ids(N * k), perm(E);
    for (int64_t t = 0; t < N; t++) {
        std::iota(perm.begin(), perm.end(), 0);
        for (int64_t i = E - 1; i > 0; i--) {
            const int64_t j = (int64_t)rng.below(i + 1);
            std::swap(perm[i], perm[j]);
        }
        for (int64_t j = 0; j < k; j++) ids[t * k + j] = perm[j];
    }
    return ids;
}
}  // namespace

TEST(MoeDispatch, BucketIsStableCountingSort) {
    const int64_t N = 37, k = 3, E = 5;
    const std::vector<int32_t> ids = shuffled_ids(N, k, E, 7);
    ExpertBuckets b;
    moe_bucket(b, ids.data(), N, k, E);
    ASSERT_EQ((int64_t)b.offsets.size(), E + 1);
    EXPECT_EQ(b.offsets[0], 0);
    EXPECT_EQ(b.offsets[E], N * k);
    for (int64_t e = 0; e < E; e++) {
        const int64_t expect = std::count(ids.begin(), ids.end(), (int32_t)e);
        EXPECT_EQ(b.count(e), expect);
        for (int64_t s = b.offsets[e]; s < b.offsets[e + 1]; s++) {
            EXPECT_EQ(ids[b.rows[s] * k + b.kpos[s]], e);
            EXPECT_EQ(b.slot[b.rows[s] * k + b.kpos[s]], s);
            if (s > b.offsets[e])  // stable: slot order within an expert follows t*k + j
                EXPECT_LT(b.rows[s - 1] * k + b.kpos[s - 1], b.rows[s] * k + b.kpos[s]);
        }
    }
    std::vector<int32_t> bad = ids;
    bad[4] = (int32_t)E;
    EXPECT_THROW(moe_bucket(b, bad.data(), N, k, E), r1::Error);
}

TEST(MoeDispatch, GatherScatterRoundTrip) {
    const int64_t N = 29, k = 2, E = 6, C = 13;
    const std::vector<int32_t> ids = shuffled_ids(N, k, E, 8);
    ExpertBuckets b;
    moe_bucket(b, ids.data(), N, k, E);
    const std::vector<float> x = randn(N * C, 9);
    std::vector<float> xs(N * k * C);
    moe_gather(xs.data(), x.data(), b, C);
    for (int64_t s = 0; s < N * k; s++)
        for (int64_t c = 0; c < C; c++) ASSERT_EQ(xs[s * C + c], x[b.rows[s] * C + c]);
    // scatter with weights: y = base + Σ_j w_tj · xs[slot(t,j)] = base + (Σ_j w_tj) x[t]
    const std::vector<float> w = randn(N * k, 10);
    std::vector<float> y = randn(N * C, 11), expect = y;
    for (int64_t t = 0; t < N; t++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t j = 0; j < k; j++) expect[t * C + c] += w[t * k + j] * x[t * C + c];
    moe_scatter_add(y.data(), xs.data(), w.data(), k, b, C);
    EXPECT_TRUE(allclose(y, expect, 1e-5f, 1e-5f));
    // gather backward: dx += Σ over a token's slots
    const std::vector<float> dxs = randn(N * k * C, 12);
    std::vector<float> dx(N * C, 1.0f), dx_expect(N * C, 1.0f);
    for (int64_t s = 0; s < N * k; s++)
        for (int64_t c = 0; c < C; c++) dx_expect[b.rows[s] * C + c] += dxs[s * C + c];
    moe_gather_backward(dx.data(), dxs.data(), b, N, k, C);
    EXPECT_TRUE(allclose(dx, dx_expect, 1e-5f, 1e-5f));
}

TEST(MoeDispatch, ScatterAddBackwardFiniteDifference) {
    const int64_t N = 7, k = 2, E = 4, C = 5;
    const std::vector<int32_t> ids = shuffled_ids(N, k, E, 13);
    ExpertBuckets b;
    moe_bucket(b, ids.data(), N, k, E);
    std::vector<float> ys = randn(N * k * C, 14), w = randn(N * k, 15);
    const std::vector<float> dy = randn(N * C, 16);
    auto f = [&]() {
        std::vector<float> y(N * C, 0.0f);
        moe_scatter_add(y.data(), ys.data(), w.data(), k, b, C);
        double s = 0;
        for (int64_t i = 0; i < N * C; i++) s += (double)dy[i] * y[i];
        return s;
    };
    std::vector<float> dys(N * k * C), dw(N * k);
    moe_scatter_add_backward(dys.data(), dw.data(), dy.data(), ys.data(), w.data(), k, b, C);
    EXPECT_TRUE(check_grad(f, ys, dys, 1e-2f, 1e-3f, 1e-3f, 1000));
    EXPECT_TRUE(check_grad(f, w, dw, 1e-2f, 1e-3f, 1e-3f, 1000));
    // in place (dys aliasing ys) gives the same result
    std::vector<float> inplace = ys, dw2(N * k);
    moe_scatter_add_backward(inplace.data(), dw2.data(), dy.data(), inplace.data(), w.data(), k, b,
                             C);
    EXPECT_EQ(inplace, dys);
    EXPECT_EQ(dw2, dw);
}

// ------------------------------------------------------------------------- aux loss

TEST(MoeAuxLoss, HandComputedValue) {
    // one sequence of T=2 tokens, E=2, k=1, softmax scores already normalised
    const RouterConfig c = rcfg(2, 1, GatingFunc::softmax);
    const std::vector<float> s = {0.75f, 0.25f, 0.4f, 0.6f};
    const std::vector<int32_t> ids = {0, 0};
    // f = E/(kT)·count = [2, 0]; P = [(0.75+0.4)/2, ...] = [0.575, 0.425]; L = a·2·0.575
    const float L = moe_seq_aux_loss(nullptr, s.data(), ids.data(), 1, 2, c, 0.1f);
    EXPECT_NEAR(L, 0.1f * 2.0f * 0.575f, 1e-6);
    // averaged over sequences: a second, balanced sequence has L = a·(1·.5 + 1·.5)
    const std::vector<float> s2 = {0.75f, 0.25f, 0.4f, 0.6f, 0.5f, 0.5f, 0.5f, 0.5f};
    const std::vector<int32_t> ids2 = {0, 0, 0, 1};
    const float L2 = moe_seq_aux_loss(nullptr, s2.data(), ids2.data(), 2, 2, c, 0.1f);
    EXPECT_NEAR(L2, 0.5f * (0.1f * 2.0f * 0.575f + 0.1f * 1.0f), 1e-6);
}

TEST(MoeAuxLoss, GradientFiniteDifference) {
    const int64_t B = 2, T = 4, E = 6, k = 2;
    const RouterConfig c = rcfg(E, k, GatingFunc::sigmoid);
    std::vector<float> s(B * T * E);
    {
        const std::vector<float> l = randn(B * T * E, 41);
        for (size_t i = 0; i < s.size(); i++) s[i] = sigm(l[i]);
    }
    const std::vector<int32_t> ids = shuffled_ids(B * T, k, E, 42);
    std::vector<float> ds(B * T * E, 0.0f);
    const float L = moe_seq_aux_loss(ds.data(), s.data(), ids.data(), B, T, c, 0.3f);
    EXPECT_GT(L, 0.0f);
    auto f = [&]() {
        return (double)moe_seq_aux_loss(nullptr, s.data(), ids.data(), B, T, c, 0.3f);
    };
    EXPECT_TRUE(check_grad(f, s, ds, 1e-3f, 1e-4f, 1e-2f, 1000));
}

// ------------------------------------------------------------------------- dense MLP

namespace {
double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
    return s;
}
}  // namespace

TEST(MoeMlp, SwigluFiniteDifferenceFusedAndSplit) {
    const int64_t N = 5, C = 6, F = 7;
    const std::vector<float> r = randn(N * C, 51);
    r1::testing::for_each_isa([&](r1::Isa) {
        for (bool fused : {true, false}) {
            SCOPED_TRACE(fused ? "fused gate|up" : "separate gate, up");
            std::vector<float> x = randn(N * C, 52);
            std::vector<float> gu = randn(2 * F * C, 53, 0.4f);  // [gate; up] adjacent
            std::vector<float> wg(gu.begin(), gu.begin() + F * C), wu(gu.begin() + F * C, gu.end());
            std::vector<float> wd = randn(C * F, 54, 0.4f);
            MlpCache cache;
            auto fwd = [&]() {
                std::vector<float> y(N * C);
                if (fused)
                    swiglu_mlp_forward(y.data(), x.data(), gu.data(), gu.data() + F * C, wd.data(),
                                       N, C, F, cache);
                else
                    swiglu_mlp_forward(y.data(), x.data(), wg.data(), wu.data(), wd.data(), N, C, F,
                                       cache);
                return y;
            };
            auto f = [&]() { return dot(fwd(), r); };
            fwd();
            std::vector<float> dx(N * C, 0.0f), dgu(2 * F * C, 0.0f), dwd(C * F, 0.0f);
            if (fused)
                swiglu_mlp_backward(dx.data(), dgu.data(), dgu.data() + F * C, dwd.data(), r.data(),
                                    x.data(), gu.data(), gu.data() + F * C, wd.data(), N, C, F,
                                    cache);
            else
                swiglu_mlp_backward(dx.data(), dgu.data(), dgu.data() + F * C, dwd.data(), r.data(),
                                    x.data(), wg.data(), wu.data(), wd.data(), N, C, F, cache);
            EXPECT_TRUE(check_grad(f, x, dx, 1e-2f, 1e-3f, 1e-2f, 1000));
            EXPECT_TRUE(check_grad(f, wd, dwd, 1e-2f, 1e-3f, 1e-2f, 1000));
            if (fused) {
                EXPECT_TRUE(check_grad(f, gu, dgu, 1e-2f, 1e-3f, 1e-2f, 1000));
            } else {
                std::vector<float> dwg(dgu.begin(), dgu.begin() + F * C);
                std::vector<float> dwu(dgu.begin() + F * C, dgu.end());
                EXPECT_TRUE(check_grad(f, wg, dwg, 1e-2f, 1e-3f, 1e-2f, 1000));
                EXPECT_TRUE(check_grad(f, wu, dwu, 1e-2f, 1e-3f, 1e-2f, 1000));
            }
            // parameter grads accumulate, dx is added with accumulate_dx
            fwd();
            std::vector<float> dx2(N * C, 1.0f), dwd2 = dwd;
            swiglu_mlp_backward(dx2.data(), nullptr, nullptr, dwd2.data(), r.data(), x.data(),
                                fused ? gu.data() : wg.data(),
                                fused ? gu.data() + F * C : wu.data(), wd.data(), N, C, F, cache,
                                true);
            for (int64_t i = 0; i < N * C; i++) EXPECT_NEAR(dx2[i], dx[i] + 1.0f, 1e-5);
            for (int64_t i = 0; i < C * F; i++) EXPECT_NEAR(dwd2[i], 2 * dwd[i], 1e-5);
        }
    });
}

TEST(MoeMlp, FusedAndSplitSwigluAgree) {
    const int64_t N = 9, C = 8, F = 5;
    const std::vector<float> x = randn(N * C, 61), gu = randn(2 * F * C, 62, 0.4f),
                             wd = randn(C * F, 63, 0.4f), dy = randn(N * C, 64);
    const std::vector<float> wg(gu.begin(), gu.begin() + F * C), wu(gu.begin() + F * C, gu.end());
    MlpCache c1, c2;
    std::vector<float> y1(N * C), y2(N * C);
    swiglu_mlp_forward(y1.data(), x.data(), gu.data(), gu.data() + F * C, wd.data(), N, C, F, c1);
    swiglu_mlp_forward(y2.data(), x.data(), wg.data(), wu.data(), wd.data(), N, C, F, c2);
    EXPECT_TRUE(allclose(y1, y2, 1e-5f, 1e-5f));
    // fused weights with separate (non-adjacent) grad buffers
    std::vector<float> dx1(N * C), dx2(N * C), dg1(2 * F * C), dg(F * C), du(F * C), dd1(C * F),
        dd2(C * F);
    swiglu_mlp_backward(dx1.data(), dg1.data(), dg1.data() + F * C, dd1.data(), dy.data(), x.data(),
                        gu.data(), gu.data() + F * C, wd.data(), N, C, F, c1);
    swiglu_mlp_backward(dx2.data(), dg.data(), du.data(), dd2.data(), dy.data(), x.data(),
                        gu.data(), gu.data() + F * C, wd.data(), N, C, F, c2);
    EXPECT_TRUE(allclose(dx1, dx2, 1e-5f, 1e-5f));
    EXPECT_TRUE(allclose(dd1, dd2, 1e-5f, 1e-5f));
    EXPECT_TRUE(allclose(dg1.data(), dg.data(), F * C, 1e-5f, 1e-5f));
    EXPECT_TRUE(allclose(dg1.data() + F * C, du.data(), F * C, 1e-5f, 1e-5f));
}

TEST(MoeMlp, GeluFiniteDifference) {
    const int64_t N = 4, C = 6, F = 9;
    const std::vector<float> r = randn(N * C, 71);
    r1::testing::for_each_isa([&](r1::Isa) {
        for (GeluKind kind : {GeluKind::erf, GeluKind::tanh}) {
            std::vector<float> x = randn(N * C, 72), wu = randn(F * C, 73, 0.4f),
                               wd = randn(C * F, 74, 0.4f);
            MlpCache cache;
            auto fwd = [&]() {
                std::vector<float> y(N * C);
                gelu_mlp_forward(y.data(), x.data(), wu.data(), wd.data(), N, C, F, kind, cache);
                return y;
            };
            auto f = [&]() { return dot(fwd(), r); };
            fwd();
            std::vector<float> dx(N * C), dwu(F * C, 0.0f), dwd(C * F, 0.0f);
            gelu_mlp_backward(dx.data(), dwu.data(), dwd.data(), r.data(), x.data(), wu.data(),
                              wd.data(), N, C, F, kind, cache);
            EXPECT_TRUE(check_grad(f, x, dx, 1e-2f, 1e-3f, 1e-2f, 1000));
            EXPECT_TRUE(check_grad(f, wu, dwu, 1e-2f, 1e-3f, 1e-2f, 1000));
            EXPECT_TRUE(check_grad(f, wd, dwd, 1e-2f, 1e-3f, 1e-2f, 1000));
        }
    });
}

// ------------------------------------------------------------------------- MoE layer

namespace {

ModelConfig tiny_moe_cfg(GatingFunc g, bool norm, float scale, float aux_alpha,
                         int64_t n_shared = 1) {
    ModelConfig c;
    c.n_embd = 8;
    c.n_expert = 4;
    c.n_expert_used = 2;
    c.n_expert_shared = n_shared;
    c.n_ff_exp = 6;
    c.gating = g;
    c.expert_weights_norm = norm;
    c.expert_weights_scale = scale;
    c.aux_loss_alpha = aux_alpha;
    return c;
}

struct MoeParams {
    std::vector<float> gate_inp, sel_bias, gate_exps, up_exps, down_exps, gate_sh, up_sh, down_sh;
    MoeParams(const ModelConfig& c, uint64_t seed, bool with_bias) {
        const int64_t C = c.n_embd, E = c.n_expert, Fe = c.n_ff_exp,
                      Fs = c.n_ff_exp * c.n_expert_shared;
        gate_inp = randn(E * C, seed + 1, 0.6f);
        if (with_bias) sel_bias = randn(E, seed + 2, 0.05f);
        gate_exps = randn(E * Fe * C, seed + 3, 0.5f);
        up_exps = randn(E * Fe * C, seed + 4, 0.5f);
        down_exps = randn(E * C * Fe, seed + 5, 0.5f);
        gate_sh = randn(Fs * C, seed + 6, 0.5f);
        up_sh = randn(Fs * C, seed + 7, 0.5f);
        down_sh = randn(C * Fs, seed + 8, 0.5f);
    }
    MoeWeights view() const {
        MoeWeights w;
        w.gate_inp = gate_inp.data();
        w.sel_bias = sel_bias.empty() ? nullptr : sel_bias.data();
        w.gate_exps = gate_exps.data();
        w.up_exps = up_exps.data();
        w.down_exps = down_exps.data();
        w.gate_shexp = gate_sh.data();
        w.up_shexp = up_sh.data();
        w.down_shexp = down_sh.data();
        return w;
    }
};

}  // namespace

TEST(MoeLayer, GradientsFiniteDifference) {
    const int64_t B = 2, T = 3, N = B * T;
    struct Case {
        GatingFunc g;
        bool norm, bias;
        float scale, aux;
        int64_t n_shared = 1;
    };
    for (const Case& cs : {Case{GatingFunc::softmax, false, false, 1.0f, 0.0f},
                           Case{GatingFunc::sigmoid, true, true, 2.0f, 0.1f},
                           Case{GatingFunc::softmax, true, false, 1.0f, 0.05f},
                           Case{GatingFunc::sigmoid, false, false, 1.0f, 0.0f, 0}}) {
        SCOPED_TRACE(::testing::Message() << "gating=" << (int)cs.g << " norm=" << cs.norm
                                          << " aux=" << cs.aux << " shared=" << cs.n_shared);
        const ModelConfig cfg = tiny_moe_cfg(cs.g, cs.norm, cs.scale, cs.aux, cs.n_shared);
        const int64_t C = cfg.n_embd, E = cfg.n_expert, k = cfg.n_expert_used;
        // deterministic search for inputs whose top-k choice has a clear margin
        std::vector<float> x;
        uint64_t seed = 200;
        for (;; seed++) {
            x = randn(N * C, seed);
            MoeParams p(cfg, seed * 10, cs.bias);
            std::vector<float> logits(N * E, 0.0f);
            for (int64_t t = 0; t < N; t++)
                for (int64_t e = 0; e < E; e++)
                    for (int64_t c = 0; c < C; c++)
                        logits[t * E + e] += x[t * C + c] * p.gate_inp[e * C + c];
            const float* b = cs.bias ? p.sel_bias.data() : nullptr;
            if (selection_margin(route(logits, b, N, cfg.router()), b, N, E, k) > 0.05f) break;
        }
        MoeParams p(cfg, seed * 10, cs.bias);
        const std::vector<float> r = randn(N * C, 300);  // loss = Σ r ⊙ y (+ aux)
        MoeLayer layer;
        std::vector<int64_t> counts0;
        auto f = [&]() {
            MoeLayer l2;
            std::vector<float> y(N * C);
            l2.forward(y.data(), x.data(), B, T, p.view(), cfg, false);
            if (!counts0.empty()) EXPECT_EQ(l2.expert_counts(), counts0);
            return dot(y, r) + (double)l2.aux_loss();
        };
        std::vector<float> y(N * C);
        layer.forward(y.data(), x.data(), B, T, p.view(), cfg, true);
        counts0 = layer.expert_counts();
        EXPECT_EQ(std::accumulate(counts0.begin(), counts0.end(), (int64_t)0), N * k);
        if (cs.aux > 0) EXPECT_GT(layer.aux_loss(), 0.0f);
        MoeParams gr(cfg, 0, false);  // same shapes; zero them (grads accumulate)
        for (auto* v : {&gr.gate_inp, &gr.gate_exps, &gr.up_exps, &gr.down_exps, &gr.gate_sh,
                        &gr.up_sh, &gr.down_sh})
            std::fill(v->begin(), v->end(), 0.0f);
        MoeGrads g;
        g.gate_inp = gr.gate_inp.data();
        g.gate_exps = gr.gate_exps.data();
        g.up_exps = gr.up_exps.data();
        g.down_exps = gr.down_exps.data();
        g.gate_shexp = gr.gate_sh.data();
        g.up_shexp = gr.up_sh.data();
        g.down_shexp = gr.down_sh.data();
        std::vector<float> dx(N * C, 123.0f);  // overwritten
        layer.backward(dx.data(), r.data(), p.view(), g, cfg, 1.0f);
        const float eps = 2e-3f, atol = 2e-3f, rtol = 1e-2f;
        EXPECT_TRUE(check_grad(f, x, dx, eps, atol, rtol, 1000)) << "dx";
        EXPECT_TRUE(check_grad(f, p.gate_inp, gr.gate_inp, eps, atol, rtol, 1000)) << "router";
        EXPECT_TRUE(check_grad(f, p.gate_exps, gr.gate_exps, eps, atol, rtol, 1000)) << "gate_exps";
        EXPECT_TRUE(check_grad(f, p.up_exps, gr.up_exps, eps, atol, rtol, 1000)) << "up_exps";
        EXPECT_TRUE(check_grad(f, p.down_exps, gr.down_exps, eps, atol, rtol, 1000)) << "down_exps";
        EXPECT_TRUE(check_grad(f, p.gate_sh, gr.gate_sh, eps, atol, rtol, 1000)) << "gate_shexp";
        EXPECT_TRUE(check_grad(f, p.up_sh, gr.up_sh, eps, atol, rtol, 1000)) << "up_shexp";
        EXPECT_TRUE(check_grad(f, p.down_sh, gr.down_sh, eps, atol, rtol, 1000)) << "down_shexp";
        // every routed expert received tokens in at least one case, so its grads are non-zero
        double gsum = 0;
        for (float v : gr.gate_inp) gsum += std::fabs(v);
        EXPECT_GT(gsum, 0.0);
    }
}

TEST(MoeLayer, MatchesDirectPerTokenSum) {
    // y_t = shared(x_t) + Σ_j w_tj · expert_{ids_tj}(x_t), computed token by token with the
    // plain MLP (an independent path through the maths), against the grouped layer.
    // Second case: group-limited routing (2 groups of 2, keep 1) taken from the model config.
    const int64_t B = 3, T = 5, N = B * T;
    ModelConfig grouped = tiny_moe_cfg(GatingFunc::sigmoid, true, 1.5f, 0.0f);
    grouped.n_expert_groups = 2;
    grouped.n_group_used = 1;
    for (const ModelConfig& cfg : {tiny_moe_cfg(GatingFunc::sigmoid, true, 1.5f, 0.0f), grouped}) {
        SCOPED_TRACE(::testing::Message() << "groups=" << cfg.n_expert_groups);
        const int64_t C = cfg.n_embd, E = cfg.n_expert, k = cfg.n_expert_used, Fe = cfg.n_ff_exp;
        MoeParams p(cfg, 77, true);
        const std::vector<float> x = randn(N * C, 78);
        MoeLayer layer;
        std::vector<float> y(N * C);
        layer.forward(y.data(), x.data(), B, T, p.view(), cfg, false);
        std::vector<float> logits(N * E, 0.0f);
        for (int64_t t = 0; t < N; t++)
            for (int64_t e = 0; e < E; e++)
                for (int64_t c = 0; c < C; c++)
                    logits[t * E + e] += x[t * C + c] * p.gate_inp[e * C + c];
        Routed r = route(logits, p.sel_bias.data(), N, cfg.router(), true);
        MlpCache cache;
        std::vector<float> expect(N * C), tmp(C);
        for (int64_t t = 0; t < N; t++) {
            swiglu_mlp_forward(expect.data() + t * C, x.data() + t * C, p.gate_sh.data(),
                               p.up_sh.data(), p.down_sh.data(), 1, C, Fe, cache);
            for (int64_t j = 0; j < k; j++) {
                const int64_t e = r.ids[t * k + j];
                swiglu_mlp_forward(tmp.data(), x.data() + t * C, p.gate_exps.data() + e * Fe * C,
                                   p.up_exps.data() + e * Fe * C, p.down_exps.data() + e * C * Fe,
                                   1, C, Fe, cache);
                for (int64_t c = 0; c < C; c++) expect[t * C + c] += r.w[t * k + j] * tmp[c];
            }
        }
        EXPECT_TRUE(allclose(y, expect, 1e-5f, 1e-4f));
        if (cfg.n_expert_groups == 2)  // every token's experts come from one group
            for (int64_t t = 0; t < N; t++) EXPECT_EQ(r.ids[t * k] / 2, r.ids[t * k + 1] / 2);
    }
}

TEST(MoeLayer, DeterministicAndReusesState) {
    // Same inputs -> bit-identical outputs and gradients on a reused layer (buffers grown by
    // an earlier, larger call must not leak into a smaller one); backward needs a train forward.
    const ModelConfig cfg = tiny_moe_cfg(GatingFunc::sigmoid, true, 1.0f, 0.01f);
    const int64_t C = cfg.n_embd;
    MoeParams p(cfg, 91, true);
    auto run = [&](MoeLayer& layer, int64_t B, int64_t T, std::vector<float>& dx,
                   std::vector<float>& g_router) {
        const int64_t N = B * T;
        const std::vector<float> x = randn(N * C, 92), dy = randn(N * C, 93);
        std::vector<float> y(N * C);
        layer.forward(y.data(), x.data(), B, T, p.view(), cfg, true);
        MoeParams gr(cfg, 0, false);
        for (auto* v : {&gr.gate_inp, &gr.gate_exps, &gr.up_exps, &gr.down_exps, &gr.gate_sh,
                        &gr.up_sh, &gr.down_sh})
            std::fill(v->begin(), v->end(), 0.0f);
        MoeGrads g{gr.gate_inp.data(), gr.gate_exps.data(), gr.up_exps.data(), gr.down_exps.data(),
                   gr.gate_sh.data(),  gr.up_sh.data(),     gr.down_sh.data()};
        dx.assign(N * C, 0.0f);
        layer.backward(dx.data(), dy.data(), p.view(), g, cfg, 1.0f);
        g_router = gr.gate_inp;
        return y;
    };
    MoeLayer fresh, reused;
    std::vector<float> dx1, dx2, gr1, gr2, dxb, grb;
    run(reused, 4, 16, dxb, grb);  // larger call first
    const std::vector<float> y1 = run(fresh, 2, 5, dx1, gr1);
    const std::vector<float> y2 = run(reused, 2, 5, dx2, gr2);
    EXPECT_EQ(y1, y2);
    EXPECT_EQ(dx1, dx2);
    EXPECT_EQ(gr1, gr2);
    // backward consumed the forward state; an inference forward keeps none
    MoeGrads none;
    EXPECT_THROW(reused.backward(dx2.data(), dx2.data(), p.view(), none, cfg, 1.0f), r1::Error);
    std::vector<float> x = randn(10 * C, 94), y(10 * C);
    reused.forward(y.data(), x.data(), 2, 5, p.view(), cfg, false);
    EXPECT_THROW(reused.backward(dx2.data(), dx2.data(), p.view(), none, cfg, 1.0f), r1::Error);
}
