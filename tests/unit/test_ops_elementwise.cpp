// Op test matrix for the element-wise families (norm, activation, softmax, embedding, rope):
// every case is a struct (shape + tolerance); each case runs
//   1. fast vs ref for every ISA this CPU has (for_each_isa; scalar = the ref path itself),
//   2. finite-difference gradient checks of the ref backward AND of the fast backward,
// plus op-specific properties (rope inverse/transpose, layouts, YaRN table golden values,
// accumulate semantics, math accuracy of the vector exp/erf/sigmoid on a dense grid).
//
// Tolerances: fast kernels accumulate in float vectors and use polynomial exp/erfc; the refs
// accumulate in double. Documented per case: norms/softmax 2e-5 relative, activations
// 2e-6 relative (+1e-7 absolute near zero), rope 1e-6 (a single rotation).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "ops/activation.h"
#include "ops/embedding.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "ops/softmax.h"
#include "testing.h"

namespace {

using r1::testing::allclose;
using r1::testing::check_grad;
using r1::testing::for_each_isa;
using r1::testing::randn;
using Vec = std::vector<float>;

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
    return s;
}

// Runs `body(use_ref)` for the ref functions and for the public functions at each ISA, so a
// gradient check covers the ref backward and every fast backward.
template <class Body>
void for_ref_and_each_isa(Body body) {
    {
        SCOPED_TRACE("ref::");
        body(true);
    }
    for_each_isa([&](r1::Isa) { body(false); });
}

// ------------------------------------------------------------------------------ norms

struct NormCase {
    int64_t N, C;
    bool bias;
    float atol, rtol;
};
const NormCase kNormCases[] = {
    {1, 1, true, 2e-5f, 2e-5f},    {3, 7, true, 2e-5f, 2e-5f},   {5, 33, false, 2e-5f, 2e-5f},
    {4, 256, true, 2e-5f, 2e-5f},  {2, 1000, true, 2e-5f, 2e-5f}, {97, 256, true, 2e-5f, 2e-5f},
    {300, 65, false, 2e-5f, 2e-5f},
};

TEST(OpsNorm, LayerNormFastMatchesRef) {
    for (const auto& cs : kNormCases) {
        SCOPED_TRACE(::testing::Message() << "N=" << cs.N << " C=" << cs.C);
        const size_t NC = cs.N * cs.C;
        Vec x = randn(NC, 1, 2.0f), w = randn(cs.C, 2), b = randn(cs.C, 3), dy = randn(NC, 4);
        for (size_t i = 0; i < NC; i++) x[i] += 3.0f;  // non-zero mean
        Vec y0(NC), m0(cs.N), s0(cs.N), dx0(NC), dw0 = randn(cs.C, 5), db0 = randn(cs.C, 6);
        r1::ref::layernorm_forward(y0.data(), m0.data(), s0.data(), x.data(), w.data(),
                                   cs.bias ? b.data() : nullptr, cs.N, cs.C, 1e-5f);
        r1::ref::layernorm_backward(dx0.data(), dw0.data(), cs.bias ? db0.data() : nullptr,
                                    dy.data(), x.data(), w.data(), m0.data(), s0.data(), cs.N,
                                    cs.C);
        for_each_isa([&](r1::Isa) {
            Vec y(NC), m(cs.N), s(cs.N), dx(NC), dw = randn(cs.C, 5), db = randn(cs.C, 6);
            r1::layernorm_forward(y.data(), m.data(), s.data(), x.data(), w.data(),
                                  cs.bias ? b.data() : nullptr, cs.N, cs.C, 1e-5f);
            EXPECT_TRUE(allclose(y, y0, cs.atol, cs.rtol));
            EXPECT_TRUE(allclose(m, m0, cs.atol, cs.rtol));
            EXPECT_TRUE(allclose(s, s0, cs.atol, cs.rtol));
            r1::layernorm_backward(dx.data(), dw.data(), cs.bias ? db.data() : nullptr, dy.data(),
                                   x.data(), w.data(), m0.data(), s0.data(), cs.N, cs.C);
            EXPECT_TRUE(allclose(dx, dx0, cs.atol, cs.rtol));
            EXPECT_TRUE(allclose(dw, dw0, cs.atol, cs.rtol));  // accumulated onto random init
            EXPECT_TRUE(allclose(db, db0, cs.atol, cs.rtol));
            // inference: null mean/rstd give the same y
            Vec y2(NC);
            r1::layernorm_forward(y2.data(), nullptr, nullptr, x.data(), w.data(),
                                  cs.bias ? b.data() : nullptr, cs.N, cs.C, 1e-5f);
            EXPECT_EQ(y2, y);
        });
    }
}

TEST(OpsNorm, RmsNormFastMatchesRef) {
    for (const auto& cs : kNormCases) {
        SCOPED_TRACE(::testing::Message() << "N=" << cs.N << " C=" << cs.C);
        const size_t NC = cs.N * cs.C;
        Vec x = randn(NC, 11, 2.0f), w = randn(cs.C, 12), dy = randn(NC, 13);
        Vec y0(NC), s0(cs.N), dx0(NC), dw0 = randn(cs.C, 14);
        r1::ref::rmsnorm_forward(y0.data(), s0.data(), x.data(), w.data(), cs.N, cs.C, 1e-6f);
        r1::ref::rmsnorm_backward(dx0.data(), dw0.data(), dy.data(), x.data(), w.data(),
                                  s0.data(), cs.N, cs.C);
        for_each_isa([&](r1::Isa) {
            Vec y(NC), s(cs.N), dx(NC), dw = randn(cs.C, 14);
            r1::rmsnorm_forward(y.data(), s.data(), x.data(), w.data(), cs.N, cs.C, 1e-6f);
            EXPECT_TRUE(allclose(y, y0, cs.atol, cs.rtol));
            EXPECT_TRUE(allclose(s, s0, cs.atol, cs.rtol));
            r1::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), s0.data(),
                                 cs.N, cs.C);
            EXPECT_TRUE(allclose(dx, dx0, cs.atol, cs.rtol));
            EXPECT_TRUE(allclose(dw, dw0, cs.atol, cs.rtol));
        });
    }
}

TEST(OpsNorm, LayerNormGradients) {
    for (int64_t C : {1, 7, 33}) {
        SCOPED_TRACE(::testing::Message() << "C=" << C);
        const int64_t N = 3;
        Vec x = randn(N * C, 21), w = randn(C, 22), b = randn(C, 23), dyf = randn(N * C, 24);
        for_ref_and_each_isa([&](bool use_ref) {
            auto fwd = use_ref ? r1::ref::layernorm_forward : r1::layernorm_forward;
            auto bwd = use_ref ? r1::ref::layernorm_backward : r1::layernorm_backward;
            auto loss = [&]() {
                Vec y(N * C);
                fwd(y.data(), nullptr, nullptr, x.data(), w.data(), b.data(), N, C, 1e-5f);
                return dot(y, dyf);
            };
            Vec y(N * C), m(N), s(N), dx(N * C), dw(C, 0.0f), db(C, 0.0f);
            fwd(y.data(), m.data(), s.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
            bwd(dx.data(), dw.data(), db.data(), dyf.data(), x.data(), w.data(), m.data(),
                s.data(), N, C);
            // C == 1: y = b, so dx = 0 up to rounding (rstd = 1/sqrt(eps) amplifies FMA's
            // unrounded dy*w - mean(dy*w) residue to ~1e-5)
            if (C > 1) EXPECT_TRUE(check_grad(loss, x, dx));
            else for (float v : dx) EXPECT_NEAR(v, 0.0f, 1e-4f);
            EXPECT_TRUE(check_grad(loss, w, dw));
            EXPECT_TRUE(check_grad(loss, b, db));
        });
    }
}

TEST(OpsNorm, RmsNormGradients) {
    for (int64_t C : {1, 7, 33}) {
        SCOPED_TRACE(::testing::Message() << "C=" << C);
        const int64_t N = 3;
        Vec x = randn(N * C, 31), w = randn(C, 32), dyf = randn(N * C, 34);
        for_ref_and_each_isa([&](bool use_ref) {
            auto fwd = use_ref ? r1::ref::rmsnorm_forward : r1::rmsnorm_forward;
            auto bwd = use_ref ? r1::ref::rmsnorm_backward : r1::rmsnorm_backward;
            auto loss = [&]() {
                Vec y(N * C);
                fwd(y.data(), nullptr, x.data(), w.data(), N, C, 1e-6f);
                return dot(y, dyf);
            };
            Vec y(N * C), s(N), dx(N * C), dw(C, 0.0f);
            fwd(y.data(), s.data(), x.data(), w.data(), N, C, 1e-6f);
            bwd(dx.data(), dw.data(), dyf.data(), x.data(), w.data(), s.data(), N, C);
            EXPECT_TRUE(check_grad(loss, x, dx, 1e-3f));
            EXPECT_TRUE(check_grad(loss, w, dw, 1e-3f));
        });
    }
}

// Parameter gradients are reduced in fixed row chunks: identical bits for 1 and 2 threads.
TEST(OpsNorm, BackwardDeterministicAcrossThreadCounts) {
    const int64_t N = 1000, C = 96;
    Vec x = randn(N * C, 41), w = randn(C, 42), b = randn(C, 43), dy = randn(N * C, 44);
    Vec y(N * C), m(N), s(N);
    r1::layernorm_forward(y.data(), m.data(), s.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    const int saved = r1::num_threads();
    Vec dw[2], db[2], dx[2], rw[2];
    for (int t = 0; t < 2; t++) {
        r1::set_num_threads(t + 1);
        dw[t].assign(C, 0.5f), db[t].assign(C, 0.5f), dx[t].resize(N * C), rw[t].assign(C, 0.f);
        r1::layernorm_backward(dx[t].data(), dw[t].data(), db[t].data(), dy.data(), x.data(),
                               w.data(), m.data(), s.data(), N, C);
        r1::rmsnorm_backward(dx[t].data(), rw[t].data(), dy.data(), x.data(), w.data(), s.data(),
                             N, C);
    }
    r1::set_num_threads(saved);
    EXPECT_EQ(dw[0], dw[1]);
    EXPECT_EQ(db[0], db[1]);
    EXPECT_EQ(rw[0], rw[1]);
    EXPECT_EQ(dx[0], dx[1]);
}

TEST(OpsNorm, BadShapeThrows) {
    float v = 0;
    EXPECT_THROW(r1::rmsnorm_forward(&v, &v, &v, &v, 1, 0, 1e-6f), r1::Error);
    EXPECT_THROW(r1::layernorm_backward(&v, &v, &v, &v, &v, &v, nullptr, nullptr, 1, 1),
                 r1::Error);
}

// ------------------------------------------------------------------------------ activations

// Inputs: normal*3 plus the edges (0, ±tiny, large |x| where exp saturates).
Vec activation_inputs(int64_t n, uint64_t seed) {
    Vec x = randn(n, seed, 3.0f);
    const float edges[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-4f, -1e-4f, 5.0f,   -5.0f,
                           9.0f, -9.0f, 15.0f,  -15.0f,  40.0f, -40.0f, 95.0f, -95.0f};
    for (size_t i = 0; i < std::size(edges) && (int64_t)i < n; i++) x[(i * 7919) % n] = edges[i];
    return x;
}

struct ActCase {
    int64_t n;
    float atol, rtol;
};
const ActCase kActCases[] = {{1, 1e-7f, 2e-6f},   {7, 1e-7f, 2e-6f},     {33, 1e-7f, 2e-6f},
                             {256, 1e-7f, 2e-6f}, {1000, 1e-7f, 2e-6f}, {40000, 1e-7f, 2e-6f}};

TEST(OpsActivation, GeluSiluFastMatchRef) {
    for (const auto& cs : kActCases) {
        SCOPED_TRACE(::testing::Message() << "n=" << cs.n);
        Vec x = activation_inputs(cs.n, 41), dy = randn(cs.n, 42);
        for (int kind = 0; kind < 3; kind++) {  // gelu erf, gelu tanh, silu
            SCOPED_TRACE(kind == 0 ? "gelu erf" : kind == 1 ? "gelu tanh" : "silu");
            const auto gk = kind == 0 ? r1::GeluKind::erf : r1::GeluKind::tanh;
            Vec y0(cs.n), dx0(cs.n);
            if (kind < 2) {
                r1::ref::gelu_forward(y0.data(), x.data(), cs.n, gk);
                r1::ref::gelu_backward(dx0.data(), dy.data(), x.data(), cs.n, gk);
            } else {
                r1::ref::silu_forward(y0.data(), x.data(), cs.n);
                r1::ref::silu_backward(dx0.data(), dy.data(), x.data(), cs.n);
            }
            for_each_isa([&](r1::Isa) {
                Vec y(cs.n), dx(cs.n), yin = x;
                if (kind < 2) {
                    r1::gelu_forward(y.data(), x.data(), cs.n, gk);
                    r1::gelu_forward(yin.data(), yin.data(), cs.n, gk);  // in place
                    r1::gelu_backward(dx.data(), dy.data(), x.data(), cs.n, gk);
                } else {
                    r1::silu_forward(y.data(), x.data(), cs.n);
                    r1::silu_forward(yin.data(), yin.data(), cs.n);
                    r1::silu_backward(dx.data(), dy.data(), x.data(), cs.n);
                }
                EXPECT_TRUE(allclose(y, y0, cs.atol, cs.rtol));
                EXPECT_EQ(yin, y);
                // gradients cross zero (GELU' near x = -0.75) as a difference of O(1) terms:
                // absolute error of those terms
                EXPECT_TRUE(allclose(dx, dx0, 1e-6f, cs.rtol));
            });
        }
    }
}

// Dense grid over [-12, 12]: the vector erfc/exp/sigmoid stay within the documented
// relative tolerance wherever the function value is not negligibly small.
TEST(OpsActivation, VectorMathAccuracyOnGrid) {
    const int64_t n = 24001;
    Vec x(n), dy(n, 1.0f);
    for (int64_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    for_each_isa([&](r1::Isa isa) {
        if (isa == r1::Isa::scalar) return;
        for (int kind = 0; kind < 3; kind++) {
            SCOPED_TRACE(kind);
            Vec y(n), y0(n), g(n), g0(n);
            if (kind < 2) {
                const auto gk = kind == 0 ? r1::GeluKind::erf : r1::GeluKind::tanh;
                r1::gelu_forward(y.data(), x.data(), n, gk);
                r1::ref::gelu_forward(y0.data(), x.data(), n, gk);
                r1::gelu_backward(g.data(), dy.data(), x.data(), n, gk);
                r1::ref::gelu_backward(g0.data(), dy.data(), x.data(), n, gk);
            } else {
                r1::silu_forward(y.data(), x.data(), n);
                r1::ref::silu_forward(y0.data(), x.data(), n);
                r1::silu_backward(g.data(), dy.data(), x.data(), n);
                r1::ref::silu_backward(g0.data(), dy.data(), x.data(), n);
            }
            EXPECT_TRUE(allclose(y, y0, 1e-12f, 2e-6f));  // relative, down to 1e-12 values
            EXPECT_TRUE(allclose(g, g0, 1e-6f, 3e-6f));
        }
    });
}

TEST(OpsActivation, NanPropagates) {
    Vec x = {std::numeric_limits<float>::quiet_NaN(), 1.0f}, y(2), dy = {1.0f, 1.0f}, dx(2);
    for_each_isa([&](r1::Isa) {
        for (auto gk : {r1::GeluKind::erf, r1::GeluKind::tanh}) {
            r1::gelu_forward(y.data(), x.data(), 2, gk);
            EXPECT_TRUE(std::isnan(y[0]));
            r1::gelu_backward(dx.data(), dy.data(), x.data(), 2, gk);
            EXPECT_TRUE(std::isnan(dx[0]));
        }
        r1::silu_forward(y.data(), x.data(), 2);
        EXPECT_TRUE(std::isnan(y[0]));
    });
}

TEST(OpsActivation, GeluSiluGradients) {
    const int64_t n = 40;
    Vec x = randn(n, 51, 2.0f), dyf = randn(n, 52);
    for (int kind = 0; kind < 3; kind++) {
        SCOPED_TRACE(kind == 0 ? "gelu erf" : kind == 1 ? "gelu tanh" : "silu");
        const auto gk = kind == 0 ? r1::GeluKind::erf : r1::GeluKind::tanh;
        for_ref_and_each_isa([&](bool use_ref) {
            auto fwd = [&](float* y, const float* xx) {
                if (kind == 2) (use_ref ? r1::ref::silu_forward : r1::silu_forward)(y, xx, n);
                else (use_ref ? r1::ref::gelu_forward : r1::gelu_forward)(y, xx, n, gk);
            };
            auto loss = [&]() {
                Vec y(n);
                fwd(y.data(), x.data());
                return dot(y, dyf);
            };
            Vec dx(n);
            if (kind == 2)
                (use_ref ? r1::ref::silu_backward : r1::silu_backward)(dx.data(), dyf.data(),
                                                                       x.data(), n);
            else
                (use_ref ? r1::ref::gelu_backward : r1::gelu_backward)(dx.data(), dyf.data(),
                                                                       x.data(), n, gk);
            EXPECT_TRUE(check_grad(loss, x, dx, 1e-3f));
        });
    }
}

struct SwigluCase {
    int64_t N, F, g_stride, u_stride;
};
// Strided g/u: halves of one fused [N, 2F] buffer, and ragged strides.
const SwigluCase kSwigluCases[] = {{1, 1, 1, 1},     {3, 7, 14, 14},   {2, 33, 40, 35},
                                   {4, 256, 512, 512}, {2, 1000, 1000, 1003}, {40, 300, 600, 600}};

TEST(OpsActivation, SwigluFastMatchesRef) {
    for (const auto& cs : kSwigluCases) {
        SCOPED_TRACE(::testing::Message() << "N=" << cs.N << " F=" << cs.F);
        const int64_t gn = cs.N * cs.g_stride, un = cs.N * cs.u_stride, yn = cs.N * cs.F;
        Vec g = activation_inputs(gn, 61), u = randn(un, 62), dy = randn(yn, 63);
        Vec y0(yn), dg0(gn, 7.0f), du0(un, 7.0f);  // 7 = untouched padding marker
        r1::ref::swiglu_forward(y0.data(), g.data(), u.data(), cs.N, cs.F, cs.g_stride,
                                cs.u_stride);
        r1::ref::swiglu_backward(dg0.data(), du0.data(), dy.data(), g.data(), u.data(), cs.N,
                                 cs.F, cs.g_stride, cs.u_stride);
        for_each_isa([&](r1::Isa) {
            Vec y(yn), dg(gn, 7.0f), du(un, 7.0f);
            r1::swiglu_forward(y.data(), g.data(), u.data(), cs.N, cs.F, cs.g_stride, cs.u_stride);
            EXPECT_TRUE(allclose(y, y0, 1e-7f, 2e-6f));
            r1::swiglu_backward(dg.data(), du.data(), dy.data(), g.data(), u.data(), cs.N, cs.F,
                                cs.g_stride, cs.u_stride);
            EXPECT_TRUE(allclose(dg, dg0, 1e-7f, 2e-6f));
            EXPECT_TRUE(allclose(du, du0, 1e-7f, 2e-6f));
        });
    }
}

TEST(OpsActivation, SwigluGradientsStrided) {
    const int64_t N = 3, F = 9, S = 2 * F + 1;  // g = cols [0, F), u = cols [F, 2F) of [N, S]
    Vec gu = randn(N * S, 71, 1.5f), dyf = randn(N * F, 72);
    for_ref_and_each_isa([&](bool use_ref) {
        auto loss = [&]() {
            Vec y(N * F);
            (use_ref ? r1::ref::swiglu_forward : r1::swiglu_forward)(y.data(), gu.data(),
                                                                     gu.data() + F, N, F, S, S);
            return dot(y, dyf);
        };
        Vec dgu(N * S, 0.0f);
        (use_ref ? r1::ref::swiglu_backward : r1::swiglu_backward)(
            dgu.data(), dgu.data() + F, dyf.data(), gu.data(), gu.data() + F, N, F, S, S);
        EXPECT_TRUE(check_grad(loss, gu, dgu, 1e-3f));  // includes the unused column: grad 0
    });
}

TEST(OpsActivation, AddInplace) {
    for (int64_t n : {1, 7, 33, 1000, 100003}) {
        Vec y = randn(n, 81), x = randn(n, 82), want(n);
        for (int64_t i = 0; i < n; i++) want[i] = y[i] + x[i];
        for_each_isa([&](r1::Isa) {
            Vec yy = y;
            r1::add_inplace(yy.data(), x.data(), n);
            EXPECT_EQ(yy, want);
        });
    }
}

// ------------------------------------------------------------------------------ softmax

struct SoftmaxCase {
    int64_t rows, cols;
    float scale;  // logits scale (large = peaked rows)
};
const SoftmaxCase kSoftmaxCases[] = {{3, 1, 1.0f},   {4, 7, 1.0f},     {5, 33, 4.0f},
                                     {2, 256, 30.0f}, {3, 1000, 1.0f}, {50, 257, 2.0f}};

TEST(OpsSoftmax, FastMatchesRef) {
    for (const auto& cs : kSoftmaxCases) {
        SCOPED_TRACE(::testing::Message() << "rows=" << cs.rows << " cols=" << cs.cols);
        const int64_t n = cs.rows * cs.cols;
        Vec x = randn(n, 91, cs.scale), dy = randn(n, 92);
        if (cs.cols > 3)  // masked entries (attention-style -inf)
            for (int64_t r = 0; r < cs.rows; r++) x[r * cs.cols + 1] = -INFINITY;
        Vec y0(n), dx0(n);
        r1::ref::softmax_forward(y0.data(), x.data(), cs.rows, cs.cols);
        r1::ref::softmax_backward(dx0.data(), dy.data(), y0.data(), cs.rows, cs.cols);
        for_each_isa([&](r1::Isa) {
            Vec y(n), dx(n), yin = x;
            r1::softmax_forward(y.data(), x.data(), cs.rows, cs.cols);
            r1::softmax_forward(yin.data(), yin.data(), cs.rows, cs.cols);
            EXPECT_TRUE(allclose(y, y0, 1e-7f, 2e-5f));
            EXPECT_EQ(yin, y);
            for (int64_t r = 0; r < cs.rows; r++) {
                double s = 0;
                for (int64_t c = 0; c < cs.cols; c++) s += y[r * cs.cols + c];
                EXPECT_NEAR(s, 1.0, 1e-5);
                if (cs.cols > 3) EXPECT_EQ(y[r * cs.cols + 1], 0.0f);
            }
            r1::softmax_backward(dx.data(), dy.data(), y0.data(), cs.rows, cs.cols);
            EXPECT_TRUE(allclose(dx, dx0, 1e-6f, 2e-5f));
        });
    }
}

// Documented edge behaviour: a fully masked row is NaN (as PyTorch), +large logits do not
// overflow (max subtraction).
TEST(OpsSoftmax, EdgeRows) {
    const int64_t cols = 19;
    Vec x(3 * cols, -INFINITY);
    for (int64_t c = 0; c < cols; c++) x[cols + c] = 1000.0f + c, x[2 * cols + c] = -1000.0f;
    for_each_isa([&](r1::Isa) {
        Vec y(3 * cols);
        r1::softmax_forward(y.data(), x.data(), 3, cols);
        for (int64_t c = 0; c < cols; c++) {
            EXPECT_TRUE(std::isnan(y[c]));
            EXPECT_NEAR(y[cols + c], std::exp((double)c - (cols - 1)) * (1 - std::exp(-1.0)), 1e-6);
            EXPECT_NEAR(y[2 * cols + c], 1.0 / cols, 1e-7);
        }
    });
}

TEST(OpsSoftmax, Gradients) {
    for (int64_t cols : {1, 7, 33}) {
        SCOPED_TRACE(::testing::Message() << "cols=" << cols);
        const int64_t rows = 3, n = rows * cols;
        Vec x = randn(n, 101, 2.0f), dyf = randn(n, 102);
        for_ref_and_each_isa([&](bool use_ref) {
            auto fwd = use_ref ? r1::ref::softmax_forward : r1::softmax_forward;
            auto loss = [&]() {
                Vec y(n);
                fwd(y.data(), x.data(), rows, cols);
                return dot(y, dyf);
            };
            Vec y(n), dx(n);
            fwd(y.data(), x.data(), rows, cols);
            (use_ref ? r1::ref::softmax_backward : r1::softmax_backward)(dx.data(), dyf.data(),
                                                                         y.data(), rows, cols);
            EXPECT_TRUE(check_grad(loss, x, dx, 1e-3f));
        });
    }
}

// ------------------------------------------------------------------------------ embedding

TEST(OpsEmbedding, FastMatchesRefAndAccumulates) {
    for (int64_t C : {1, 7, 33, 256, 1000}) {
        SCOPED_TRACE(::testing::Message() << "C=" << C);
        const int64_t V = 11, N = 37;
        Vec table = randn(V * C, 111), dy = randn(N * C, 112);
        std::vector<int32_t> ids(N);
        for (int64_t n = 0; n < N; n++) ids[n] = (int32_t)((n * 5) % V);  // repeats
        Vec y0 = randn(N * C, 113), dt0 = randn(V * C, 114), y0acc = y0;
        r1::ref::embedding_forward(y0.data(), ids.data(), table.data(), N, C);
        r1::ref::embedding_forward(y0acc.data(), ids.data(), table.data(), N, C, true);
        r1::ref::embedding_backward(dt0.data(), dy.data(), ids.data(), N, C);
        for (int64_t c = 0; c < C; c++) EXPECT_EQ(y0[3 * C + c], table[ids[3] * C + c]);
        for_each_isa([&](r1::Isa) {
            Vec y = randn(N * C, 113), yacc = y, dt = randn(V * C, 114);
            r1::embedding_forward(y.data(), ids.data(), table.data(), N, C);
            r1::embedding_forward(yacc.data(), ids.data(), table.data(), N, C, true);
            r1::embedding_backward(dt.data(), dy.data(), ids.data(), N, C);
            EXPECT_EQ(y, y0);
            EXPECT_EQ(yacc, y0acc);
            EXPECT_EQ(dt, dt0);  // same per-row order of additions: bit-identical
        });
    }
}

TEST(OpsEmbedding, DeterministicAcrossThreadCounts) {
    const int64_t V = 5, N = 2000, C = 96;
    Vec dy = randn(N * C, 121);
    std::vector<int32_t> ids(N);
    for (int64_t n = 0; n < N; n++) ids[n] = (int32_t)(n % V);
    const int saved = r1::num_threads();
    Vec a(V * C, 0.0f), b(V * C, 0.0f);
    r1::set_num_threads(1);
    r1::embedding_backward(a.data(), dy.data(), ids.data(), N, C);
    r1::set_num_threads(2);
    r1::embedding_backward(b.data(), dy.data(), ids.data(), N, C);
    r1::set_num_threads(saved);
    EXPECT_EQ(a, b);
}

TEST(OpsEmbedding, GradientAndBadIds) {
    const int64_t V = 4, N = 6, C = 5;
    Vec table = randn(V * C, 131), dyf = randn(N * C, 132);
    std::vector<int32_t> ids = {3, 0, 3, 1, 3, 0};
    for_ref_and_each_isa([&](bool use_ref) {
        auto loss = [&]() {
            Vec y(N * C);
            (use_ref ? r1::ref::embedding_forward : r1::embedding_forward)(
                y.data(), ids.data(), table.data(), N, C, false);
            return dot(y, dyf);
        };
        Vec dt(V * C, 0.0f);
        (use_ref ? r1::ref::embedding_backward : r1::embedding_backward)(dt.data(), dyf.data(),
                                                                         ids.data(), N, C);
        EXPECT_TRUE(check_grad(loss, table, dt));
    });
    std::vector<int32_t> bad = {0, -1};
    Vec y(2 * C);
    EXPECT_THROW(r1::embedding_forward(y.data(), bad.data(), table.data(), 2, C), r1::Error);
}

// ------------------------------------------------------------------------------ rope

struct RopeCase {
    int64_t head_dim, rot_dim, n_head, head_stride, token_stride;
    const char* what;
};
const RopeCase kRopeCases[] = {
    {2, 2, 1, 2, 2, "one pair"},
    {14, 14, 2, 14, 28, "7 pairs, dense"},
    {66, 66, 3, 70, 215, "33 pairs, strided heads"},
    {64, 32, 2, 64, 131, "partial rot_dim"},
    {128, 128, 4, 128, 512, "llama-like"},
    {192, 64, 2, 192, 384, "MLA-like rope part"},
};

// Table with and without YaRN; and in place / out of place; both layouts.
TEST(OpsRope, FastMatchesRef) {
    for (const auto& cs : kRopeCases) {
        SCOPED_TRACE(cs.what);
        const int64_t N = 13, n = N * cs.token_stride, max_pos = 50;
        std::vector<int32_t> pos(N);
        for (int64_t i = 0; i < N; i++) pos[i] = (int32_t)((i * 17) % max_pos);
        r1::YarnParams yarn;
        yarn.factor = 8.0f;
        yarn.original_max_pos = 16;
        yarn.mscale = 0.707f;
        yarn.mscale_all_dim = 1.0f;
        for (bool use_yarn : {false, true}) {
            const auto t = r1::rope_table(cs.rot_dim, max_pos, 10000.0f, use_yarn ? yarn : r1::YarnParams{});
            for (auto layout : {r1::RopeLayout::neox, r1::RopeLayout::interleaved}) {
                Vec x = randn(n, 141), dy = randn(n, 142);
                Vec y0 = randn(n, 143), dx0 = randn(n, 144);
                r1::ref::rope_forward(y0.data(), x.data(), pos.data(), N, cs.n_head,
                                      cs.token_stride, cs.head_stride, t, layout);
                r1::ref::rope_backward(dx0.data(), dy.data(), pos.data(), N, cs.n_head,
                                       cs.token_stride, cs.head_stride, t, layout);
                for_each_isa([&](r1::Isa) {
                    Vec y = randn(n, 143), dx = randn(n, 144), yin = x, dxin = dy;
                    r1::rope_forward(y.data(), x.data(), pos.data(), N, cs.n_head,
                                     cs.token_stride, cs.head_stride, t, layout);
                    r1::rope_backward(dx.data(), dy.data(), pos.data(), N, cs.n_head,
                                      cs.token_stride, cs.head_stride, t, layout);
                    // out of place: non-rotated floats of y are left untouched (same init)
                    EXPECT_TRUE(allclose(y, y0, 1e-6f, 1e-6f));
                    EXPECT_TRUE(allclose(dx, dx0, 1e-6f, 1e-6f));
                    r1::rope_forward(yin.data(), yin.data(), pos.data(), N, cs.n_head,
                                     cs.token_stride, cs.head_stride, t, layout);
                    r1::rope_backward(dxin.data(), dxin.data(), pos.data(), N, cs.n_head,
                                      cs.token_stride, cs.head_stride, t, layout);
                    for (int64_t tk = 0; tk < N; tk++)
                        for (int64_t h = 0; h < cs.n_head; h++)
                            for (int64_t d = 0; d < cs.head_dim; d++) {
                                const int64_t i = tk * cs.token_stride + h * cs.head_stride + d;
                                if (d < cs.rot_dim) {
                                    ASSERT_EQ(yin[i], y[i]) << i;
                                    ASSERT_EQ(dxin[i], dx[i]) << i;
                                } else {  // in place: pass-through dims unchanged
                                    ASSERT_EQ(yin[i], x[i]) << i;
                                    ASSERT_EQ(dxin[i], dy[i]) << i;
                                }
                            }
                });
            }
        }
    }
}

// backward(forward(x)) == x without YaRN (a pure rotation); <fwd(x), y> == <x, bwd(y)> always.
TEST(OpsRope, BackwardIsInverseAndTranspose) {
    for (const auto& cs : kRopeCases) {
        SCOPED_TRACE(cs.what);
        const int64_t N = 9, n = N * cs.token_stride;
        std::vector<int32_t> pos(N);
        for (int64_t i = 0; i < N; i++) pos[i] = (int32_t)(i * 37 % 200);
        r1::YarnParams yarn;
        yarn.factor = 4.0f;
        yarn.original_max_pos = 32;
        yarn.mscale = 1.0f;
        const auto plain = r1::rope_table(cs.rot_dim, 200, 10000.0f);
        const auto scaled = r1::rope_table(cs.rot_dim, 200, 10000.0f, yarn);
        EXPECT_EQ(plain.attn_factor, 1.0f);
        EXPECT_NEAR(scaled.attn_factor, 0.1 * std::log(4.0) + 1.0, 1e-6);
        for (auto layout : {r1::RopeLayout::neox, r1::RopeLayout::interleaved}) {
            for_each_isa([&](r1::Isa) {
                Vec x = randn(n, 151), y = x;
                r1::rope_forward(y.data(), y.data(), pos.data(), N, cs.n_head, cs.token_stride,
                                 cs.head_stride, plain, layout);
                EXPECT_FALSE(allclose(y, x, 1e-3f, 0.0f));  // it did rotate
                r1::rope_backward(y.data(), y.data(), pos.data(), N, cs.n_head, cs.token_stride,
                                  cs.head_stride, plain, layout);
                EXPECT_TRUE(allclose(y, x, 1e-5f, 1e-5f));
                Vec a = randn(n, 152), b = randn(n, 153), fa = a, bb = b;
                r1::rope_forward(fa.data(), fa.data(), pos.data(), N, cs.n_head, cs.token_stride,
                                 cs.head_stride, scaled, layout);
                r1::rope_backward(bb.data(), bb.data(), pos.data(), N, cs.n_head, cs.token_stride,
                                  cs.head_stride, scaled, layout);
                EXPECT_NEAR(dot(fa, b), dot(a, bb), 1e-4 * (1 + std::fabs(dot(fa, b))));
            });
        }
    }
}

TEST(OpsRope, Gradients) {
    const int64_t N = 3, n_head = 2, head_dim = 10, rot = 6, ts = 23, hs = 11;
    std::vector<int32_t> pos = {0, 5, 17};
    const auto t = r1::rope_table(rot, 20, 100.0f);
    Vec x = randn(N * ts, 161), dyf = randn(N * ts, 162);
    for (int64_t i = 0; i < N * ts; i++)  // weight only the floats that are heads
        if ((i % ts) >= n_head * hs || (i % ts) % hs >= head_dim) dyf[i] = 0.0f;
    for (auto layout : {r1::RopeLayout::neox, r1::RopeLayout::interleaved}) {
        for_ref_and_each_isa([&](bool use_ref) {
            auto loss = [&]() {
                Vec y = x;  // in place: pass-through dims keep their identity gradient
                (use_ref ? r1::ref::rope_forward : r1::rope_forward)(
                    y.data(), y.data(), pos.data(), N, n_head, ts, hs, t, layout);
                return dot(y, dyf);
            };
            Vec dx = dyf;
            (use_ref ? r1::ref::rope_backward : r1::rope_backward)(
                dx.data(), dx.data(), pos.data(), N, n_head, ts, hs, t, layout);
            EXPECT_TRUE(check_grad(loss, x, dx, 1e-2f, 1e-3f, 1e-2f, 200));
        });
    }
}

// The layouts pair different dims, exactly as documented in rope.h.
TEST(OpsRope, NeoxAndInterleavedPairDifferentDims) {
    const int64_t rot = 4;
    const auto t = r1::rope_table(rot, 4, 10000.0f);
    const float th0 = 2.0f, th1 = 2.0f * 0.01f;  // pos 2: theta_i = 10000^(-2i/4)
    EXPECT_NEAR(t.cos[2 * 2 + 0], std::cos(th0), 1e-6);
    EXPECT_NEAR(t.sin[2 * 2 + 1], std::sin(th1), 1e-6);
    const Vec x = {1.0f, 2.0f, 3.0f, 4.0f};
    const int32_t pos = 2;
    for_each_isa([&](r1::Isa) {
        Vec yn(4), yi(4);
        r1::rope_forward(yn.data(), x.data(), &pos, 1, 1, 4, 4, t, r1::RopeLayout::neox);
        r1::rope_forward(yi.data(), x.data(), &pos, 1, 1, 4, 4, t, r1::RopeLayout::interleaved);
        const float c0 = std::cos(th0), s0 = std::sin(th0), c1 = std::cos(th1), s1 = std::sin(th1);
        // neox: pairs (0, 2) and (1, 3)
        EXPECT_NEAR(yn[0], 1 * c0 - 3 * s0, 1e-5);
        EXPECT_NEAR(yn[2], 1 * s0 + 3 * c0, 1e-5);
        EXPECT_NEAR(yn[1], 2 * c1 - 4 * s1, 1e-5);
        EXPECT_NEAR(yn[3], 2 * s1 + 4 * c1, 1e-5);
        // interleaved: pairs (0, 1) and (2, 3)
        EXPECT_NEAR(yi[0], 1 * c0 - 2 * s0, 1e-5);
        EXPECT_NEAR(yi[1], 1 * s0 + 2 * c0, 1e-5);
        EXPECT_NEAR(yi[2], 3 * c1 - 4 * s1, 1e-5);
        EXPECT_NEAR(yi[3], 3 * s1 + 4 * c1, 1e-5);
    });
}

// Golden values from HF transformers' DeepseekV3YarnRotaryEmbedding, transcribed to Python
// with float32 rounding per torch op (dim 16, base 1e4, factor 40, original 64, beta 32/1,
// mscale 0.707, mscale_all_dim 1 -> correction range [0, 3], mscale 0.921042355).
TEST(OpsRope, YarnTableMatchesHfDeepseek) {
    r1::YarnParams y;
    y.factor = 40.0f;
    y.original_max_pos = 64;
    y.beta_fast = 32.0f;
    y.beta_slow = 1.0f;
    y.mscale = 0.707f;
    y.mscale_all_dim = 1.0f;
    const auto t = r1::rope_table(16, 101, 10000.0f, y);
    EXPECT_NEAR(t.attn_factor, 0.921042355f, 1e-6);
    const float cos1[8] = {0.4976413f,  0.90013945f, 0.92047828f, 0.92104208f,
                           0.92104232f, 0.92104238f, 0.92104238f, 0.92104238f};
    const float sin1[8] = {0.77503043f,    0.1951104f,     0.0322299f,     0.00072814792f,
                           0.0002302606f,  7.2814801e-05f, 2.3026059e-05f, 7.2814796e-06f};
    const float cos100[8] = {0.79423225f, -0.73557514f, -0.86251646f, 0.91816562f,
                             0.92075455f, 0.92101359f,  0.92103952f,  0.92104208f};
    const float sin100[8] = {-0.46638423f,  0.55429977f,    -0.32308581f,   0.072738975f,
                             0.023023661f,  0.0072814045f,  0.0023026036f,  0.00072814792f};
    for (int i = 0; i < 8; i++) {
        EXPECT_NEAR(t.cos[1 * 8 + i], cos1[i], 2e-6) << i;
        EXPECT_NEAR(t.sin[1 * 8 + i], sin1[i], 2e-6) << i;
        EXPECT_NEAR(t.cos[100 * 8 + i], cos100[i], 2e-5) << i;
        EXPECT_NEAR(t.sin[100 * 8 + i], sin100[i], 2e-5) << i;
    }
    // factor 1 is plain RoPE, whatever the other fields say
    r1::YarnParams one = y;
    one.factor = 1.0f;
    const auto a = r1::rope_table(16, 30, 10000.0f, one), b = r1::rope_table(16, 30, 10000.0f);
    EXPECT_EQ(a.cos, b.cos);
    EXPECT_EQ(a.sin, b.sin);
    EXPECT_EQ(a.attn_factor, 1.0f);
}

TEST(OpsRope, BadInputThrows) {
    EXPECT_THROW(r1::rope_table(7, 10, 10000.0f), r1::Error);
    r1::YarnParams y;
    y.factor = 4.0f;  // original_max_pos missing
    EXPECT_THROW(r1::rope_table(8, 10, 10000.0f, y), r1::Error);
    const auto t = r1::rope_table(8, 10, 10000.0f);
    Vec x(8);
    const int32_t pos = 10;
    EXPECT_THROW(r1::rope_forward(x.data(), x.data(), &pos, 1, 1, 8, 8, t, r1::RopeLayout::neox),
                 r1::Error);
}

}  // namespace
