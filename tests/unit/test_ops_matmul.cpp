// gemm / linear: oneDNN path vs the plain-loop ref over a matrix of shapes (transposes,
// padded leading dimensions, alpha/beta), finite-difference gradients of linear (dx, dW,
// db), the accumulate conventions, and bias-gradient determinism across thread counts.
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "ops/matmul.h"
#include "testing.h"

namespace r1 {
namespace {

using testing::allclose;
using testing::randn;

struct GemmCase {
    int64_t M, N, K;
    bool ta, tb;
    float alpha, beta;
    int64_t pad;  // extra columns in every leading dimension (strided views)
};

TEST(OpsMatmul, GemmMatchesRef) {
    const GemmCase cases[] = {
        {1, 1, 1, false, false, 1, 0, 0},    {7, 5, 3, false, false, 1, 0, 0},
        {33, 17, 65, false, true, 1, 0, 3},  {33, 17, 65, true, false, 0.5f, 1, 2},
        {16, 48, 31, true, true, -1, 0.25f, 1}, {64, 96, 128, false, true, 1, 1, 0},
        {5, 9, 0, false, false, 1, 0.5f, 0},
    };
    uint64_t seed = 1;
    for (const auto& c : cases) {
        SCOPED_TRACE(::testing::Message() << "M=" << c.M << " N=" << c.N << " K=" << c.K
                                          << " ta=" << c.ta << " tb=" << c.tb);
        const int64_t lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad;
        const int64_t ldc = c.N + c.pad;
        auto A = randn((c.ta ? c.K : c.M) * lda, seed++);
        auto B = randn((c.tb ? c.N : c.K) * ldb, seed++);
        auto C0 = randn(c.M * ldc, seed++);
        auto C1 = C0;
        gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C0.data(),
             ldc);
        ref::gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                  C1.data(), ldc);
        EXPECT_TRUE(allclose(C0, C1, 1e-4f, 1e-4f));
    }
}

struct LinearCase {
    int64_t M, K, N;
    bool bias;
};

TEST(OpsMatmul, LinearForwardBackwardMatchRef) {
    const LinearCase cases[] = {{1, 3, 2, true}, {37, 24, 40, true}, {64, 256, 96, false},
                                {130, 33, 7, true}};
    uint64_t seed = 100;
    for (const auto& c : cases) {
        SCOPED_TRACE(::testing::Message() << "M=" << c.M << " K=" << c.K << " N=" << c.N);
        auto x = randn(c.M * c.K, seed++), W = randn(c.N * c.K, seed++, 0.2f);
        auto b = randn(c.N, seed++), dy = randn(c.M * c.N, seed++);
        std::vector<float> y0(c.M * c.N), y1(c.M * c.N);
        linear_forward(y0.data(), x.data(), W.data(), c.bias ? b.data() : nullptr, c.M, c.K, c.N);
        ref::linear_forward(y1.data(), x.data(), W.data(), c.bias ? b.data() : nullptr, c.M, c.K,
                            c.N);
        EXPECT_TRUE(allclose(y0, y1, 1e-4f, 1e-4f));
        for (bool acc : {false, true}) {
            // dx starts from noise: overwritten unless accumulate_dx; dW/db always accumulate.
            auto dx0 = randn(c.M * c.K, seed), dx1 = dx0;
            auto dW0 = randn(c.N * c.K, seed + 1), dW1 = dW0;
            auto db0 = randn(c.N, seed + 2), db1 = db0;
            linear_backward(dx0.data(), dW0.data(), db0.data(), dy.data(), x.data(), W.data(),
                            c.M, c.K, c.N, acc);
            ref::linear_backward(dx1.data(), dW1.data(), db1.data(), dy.data(), x.data(),
                                 W.data(), c.M, c.K, c.N, acc);
            EXPECT_TRUE(allclose(dx0, dx1, 1e-4f, 1e-4f)) << "dx acc=" << acc;
            EXPECT_TRUE(allclose(dW0, dW1, 1e-4f, 1e-4f)) << "dW";
            EXPECT_TRUE(allclose(db0, db1, 1e-4f, 1e-4f)) << "db";
        }
        // Null outputs are skipped.
        std::vector<float> dx(c.M * c.K, 7.0f);
        linear_backward(dx.data(), nullptr, nullptr, dy.data(), x.data(), W.data(), c.M, c.K, c.N);
        std::vector<float> dxr(c.M * c.K);
        ref::linear_backward(dxr.data(), nullptr, nullptr, dy.data(), x.data(), W.data(), c.M,
                             c.K, c.N);
        EXPECT_TRUE(allclose(dx, dxr, 1e-4f, 1e-4f));
    }
}

// L = Σ y ∘ G  ⇒  dy = G; compare analytic dx, dW, db with central differences of L.
TEST(OpsMatmul, LinearGradientsFiniteDifference) {
    const int64_t M = 6, K = 5, N = 4;
    auto x = randn(M * K, 11), W = randn(N * K, 12, 0.5f), b = randn(N, 13), G = randn(M * N, 14);
    auto loss = [&]() {
        std::vector<float> y(M * N);
        ref::linear_forward(y.data(), x.data(), W.data(), b.data(), M, K, N);
        double s = 0;
        for (int64_t i = 0; i < M * N; i++) s += (double)y[i] * G[i];
        return s;
    };
    std::vector<float> dx(M * K), dW(N * K, 0.0f), db(N, 0.0f);
    linear_backward(dx.data(), dW.data(), db.data(), G.data(), x.data(), W.data(), M, K, N);
    EXPECT_TRUE(testing::check_grad(loss, x, dx));
    EXPECT_TRUE(testing::check_grad(loss, W, dW));
    EXPECT_TRUE(testing::check_grad(loss, b, db));
}

TEST(OpsMatmul, BiasGradientIndependentOfThreadCount) {
    const int64_t M = 300, K = 8, N = 130;
    auto x = randn(M * K, 21), W = randn(N * K, 22), dy = randn(M * N, 23);
    const int saved = num_threads();
    std::vector<float> db1(N, 0.0f), db2(N, 0.0f);
    set_num_threads(1);
    linear_backward(nullptr, nullptr, db1.data(), dy.data(), x.data(), W.data(), M, K, N);
    set_num_threads(2);
    linear_backward(nullptr, nullptr, db2.data(), dy.data(), x.data(), W.data(), M, K, N);
    set_num_threads(saved);
    for (int64_t j = 0; j < N; j++) ASSERT_EQ(db1[j], db2[j]) << "column " << j;
}

TEST(OpsMatmul, RejectsNegativeSizes) {
    float a = 0, b = 0, c = 0;
    EXPECT_THROW(gemm(false, false, -1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1), Error);
}

}  // namespace
}  // namespace r1
