// Products with stored weights (ops/qmatmul.h): fast vs ref for every weight type × ISA ×
// shape, the activation-quantisation error bound against the unquantised product, bad K,
// hand-built Q8_0/Q4_0 blocks with known dot products, batch invariance and thread-count
// determinism.
//
// Tolerances (per output, relative to s = Σ_k |w_k·x̂_k|, x̂ the activations the product
// uses: Q8_0-quantised for Q8_0/Q4_0 weights, x itself otherwise):
//   fast vs ref:  |y - y_ref| <= 64·ε_f32·s. The integer block dots are exact and the
//                 scales d_w·d_x exact in f32, so only f32 summation order differs
//                 (observed worst ratio ≈ 2.2, recorded as a test property).
//   ref vs x·dequant(W)ᵀ (quantised only): |Δ| <= Σ_b 0.6·d_b·Σ_{k∈b}|w_k| + 64·ε·s, since
//                 |x - x̂| <= d/2 (rounding) + 127·d·2⁻¹¹ (fp16 scale) per element.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "ops/qmatmul.h"
#include "testing.h"

namespace {

using r1::DType;
using r1::WeightView;
using r1::testing::for_each_isa;

constexpr double kEps = 1.1920929e-7;

// Weights of type t built from f32 values, stored at a deliberately unaligned offset (GGUF
// data is only 32-byte aligned, and blocks of 34/18 bytes are never aligned).
struct Weights {
    std::vector<uint8_t> buf;
    WeightView view;
    std::vector<float> deq;  // [N, K] the values the product sees
};

Weights make_weights(DType t, int64_t N, int64_t K, uint64_t seed) {
    Weights w;
    const std::vector<float> src = r1::testing::randn(N * K, seed, 0.1f);
    const int64_t bytes = r1::dtype_row_bytes(t, K) * N;
    const int64_t off = t == DType::f32 ? 4 : 2;
    w.buf.assign(bytes + off, 0);
    r1::from_f32(w.buf.data() + off, src.data(), t, N * K);
    w.view = {t, w.buf.data() + off, N, K};
    w.deq.resize(N * K);
    r1::to_f32(w.deq.data(), w.view.data, t, N * K);
    return w;
}

bool quantised(DType t) { return t == DType::q8_0 || t == DType::q4_0; }

// x̂: the activations as the product uses them.
std::vector<float> effective_x(const std::vector<float>& x, DType t, int64_t M, int64_t K) {
    if (!quantised(t)) return x;
    std::vector<float> out(M * K);
    std::vector<r1::BlockQ8_0> q(K / r1::kQK);
    for (int64_t m = 0; m < M; m++) {
        r1::ref::quantize_q8_0(q.data(), x.data() + m * K, K);
        r1::ref::dequantize_q8_0(out.data() + m * K, q.data(), K);
    }
    return out;
}

// s[m, n] = Σ_k |w[n,k]·a[m,k]|
std::vector<double> abs_scale(const std::vector<float>& a, const std::vector<float>& w,
                              int64_t M, int64_t N, int64_t K) {
    std::vector<double> s(M * N);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++) acc += std::fabs((double)a[m * K + k] * w[n * K + k]);
            s[m * N + n] = acc;
        }
    return s;
}

const DType kTypes[] = {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0};

TEST(QMatmul, FastMatchesRef) {
    double worst = 0;  // largest |y - ref| / (ε·s) seen, for the record
    for (DType t : kTypes) {
        for (int64_t K : {32, 64, 896, 4864}) {
            for (int64_t N : {1, 7, 64, 151}) {
                const Weights w = make_weights(t, N, K, 1000 + K + N);
                for (int64_t M : {1, 2, 5, 16}) {
                    SCOPED_TRACE(::testing::Message() << r1::dtype_name(t) << " K=" << K
                                                      << " N=" << N << " M=" << M);
                    const std::vector<float> x = r1::testing::randn(M * K, 7 * K + M);
                    std::vector<float> ref(M * N);
                    r1::ref::qlinear_forward(ref.data(), x.data(), w.view, M);
                    const std::vector<double> s =
                        abs_scale(effective_x(x, t, M, K), w.deq, M, N, K);
                    for_each_isa([&](r1::Isa) {
                        std::vector<float> y(M * N, NAN);
                        r1::qlinear_forward(y.data(), x.data(), w.view, M);
                        for (int64_t i = 0; i < M * N; i++) {
                            const double err = std::fabs((double)y[i] - ref[i]);
                            worst = std::max(worst, err / (kEps * s[i] + 1e-30));
                            ASSERT_LE(err, 64 * kEps * s[i] + 1e-30)
                                << "output " << i << ": " << y[i] << " vs ref " << ref[i];
                        }
                    });
                }
            }
        }
    }
    RecordProperty("worst_err_over_eps_s", std::to_string(worst));
    EXPECT_LT(worst, 64.0);
}

// The quantised products differ from the unquantised x·dequant(W)ᵀ only by the activation
// quantisation, within its analytic bound.
TEST(QMatmul, QuantisedNearUnquantisedProduct) {
    for (DType t : {DType::q8_0, DType::q4_0}) {
        for (int64_t K : {32, 896, 4864}) {
            const int64_t N = 64, M = 5;
            SCOPED_TRACE(::testing::Message() << r1::dtype_name(t) << " K=" << K);
            const Weights w = make_weights(t, N, K, 77 + K);
            const std::vector<float> x = r1::testing::randn(M * K, 99 + K);
            std::vector<float> y(M * N);
            r1::qlinear_forward(y.data(), x.data(), w.view, M);
            const std::vector<double> s = abs_scale(x, w.deq, M, N, K);
            for (int64_t m = 0; m < M; m++) {
                for (int64_t n = 0; n < N; n++) {
                    double exact = 0, bound = 64 * kEps * s[m * N + n];
                    for (int64_t b = 0; b < K / r1::kQK; b++) {
                        float amax = 0, sw = 0;
                        for (int j = 0; j < r1::kQK; j++) {
                            const int64_t k = b * r1::kQK + j;
                            amax = std::max(amax, std::fabs(x[m * K + k]));
                            sw += std::fabs(w.deq[n * K + k]);
                            exact += (double)x[m * K + k] * w.deq[n * K + k];
                        }
                        bound += 0.6 * (amax / 127) * sw;
                    }
                    ASSERT_LE(std::fabs(y[m * N + n] - exact), bound) << "m=" << m << " n=" << n;
                }
            }
        }
    }
}

TEST(QMatmul, RejectsBadInput) {
    std::vector<uint8_t> wbuf(34 * 8);
    std::vector<float> x(48 * 2), y(4);
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const WeightView w{t, wbuf.data(), 2, 48};  // K not a multiple of 32
        EXPECT_THROW(r1::qlinear_forward(y.data(), x.data(), w, 2), r1::Error);
        EXPECT_THROW(r1::ref::qlinear_forward(y.data(), x.data(), w, 2), r1::Error);
    }
    const WeightView wi{DType::i32, wbuf.data(), 2, 32};
    EXPECT_THROW(r1::qlinear_forward(y.data(), x.data(), wi, 1), r1::Error);
    const WeightView wnull{DType::q8_0, nullptr, 2, 32};
    EXPECT_THROW(r1::qlinear_forward(y.data(), x.data(), wnull, 1), r1::Error);
    const WeightView wneg{DType::f32, wbuf.data(), -1, 32};
    EXPECT_THROW(r1::qlinear_forward(y.data(), x.data(), wneg, 1), r1::Error);
}

// x = {127, 1, 1, ..., 1} quantises exactly (amax 127 → d_x = 1, q = x).
std::vector<float> hand_x() {
    std::vector<float> x(r1::kQK, 1.0f);
    x[0] = 127.0f;
    return x;
}

TEST(QMatmul, HandBuiltQ8_0Block) {
    // Row n: d = 0.5, 1, 2 (fp16 0x3800, 0x3C00, 0x4000), q_j = j - 16.
    // Σ q·x = (0-16)·127 + Σ_{j=1..31} (j-16) = -2032 + 0  →  y = d · -2032.
    const uint16_t ds[3] = {0x3800, 0x3C00, 0x4000};
    std::vector<r1::BlockQ8_0> w(3);
    for (int n = 0; n < 3; n++) {
        w[n].d = ds[n];
        for (int j = 0; j < r1::kQK; j++) w[n].qs[j] = (int8_t)(j - 16);
    }
    const std::vector<float> x = hand_x();
    const WeightView v{DType::q8_0, w.data(), 3, r1::kQK};
    for_each_isa([&](r1::Isa) {
        float y[3];
        r1::qlinear_forward(y, x.data(), v, 1);
        EXPECT_EQ(y[0], -1016.0f);
        EXPECT_EQ(y[1], -2032.0f);
        EXPECT_EQ(y[2], -4064.0f);
    });
    float yr[3];
    r1::ref::qlinear_forward(yr, x.data(), v, 1);
    EXPECT_EQ(yr[0], -1016.0f);
    EXPECT_EQ(yr[2], -4064.0f);
}

TEST(QMatmul, HandBuiltQ4_0Block) {
    // d = 0.25 (fp16 0x3400); byte j = j | (15-j) << 4: weight j = j-8, weight j+16 = 7-j.
    // Σ_all w = -8 + -8 = -16, so Σ w·x = w_0·127 + (Σ_all w - w_0) = -1016 - 8 = -1024
    // → y = -256. A second block (d = 1, all bytes 0x88: every weight 0) adds nothing.
    std::vector<r1::BlockQ4_0> w(2);
    w[0].d = 0x3400;
    for (int j = 0; j < r1::kQK / 2; j++) w[0].qs[j] = (uint8_t)(j | (15 - j) << 4);
    w[1].d = 0x3C00;
    std::memset(w[1].qs, 0x88, sizeof(w[1].qs));
    std::vector<float> x = hand_x();
    for (int j = 0; j < r1::kQK; j++) x.push_back(j % 3 ? 5.0f : -127.0f);
    const WeightView v{DType::q4_0, w.data(), 1, 2 * r1::kQK};
    for_each_isa([&](r1::Isa) {
        float y = NAN;
        r1::qlinear_forward(&y, x.data(), v, 1);
        EXPECT_EQ(y, -256.0f);
    });
    float yr = NAN;
    r1::ref::qlinear_forward(&yr, x.data(), v, 1);
    EXPECT_EQ(yr, -256.0f);
}

// Row m of an M-row call equals the 1-row call on x[m], bit for bit, and results do not
// depend on the thread count (every output has one fixed operation sequence). oneDNN's
// GEMM paths (f32 with M > 1, f16/bf16 with M >= 16) are excluded: M = 7 here.
TEST(QMatmul, BatchInvariantAndThreadDeterministic) {
    const int prev_threads = r1::num_threads();
    for (DType t : {DType::f16, DType::bf16, DType::q8_0, DType::q4_0}) {
        const int64_t K = 896, N = 151, M = 7;
        const Weights w = make_weights(t, N, K, 5 + (int)t);
        const std::vector<float> x = r1::testing::randn(M * K, 55);
        for_each_isa([&](r1::Isa) {
            SCOPED_TRACE(r1::dtype_name(t));
            std::vector<float> y(M * N), y1(N), yt(M * N);
            r1::set_num_threads(2);
            r1::qlinear_forward(y.data(), x.data(), w.view, M);
            for (int64_t m = 0; m < M; m++) {
                r1::qlinear_forward(y1.data(), x.data() + m * K, w.view, 1);
                ASSERT_EQ(0, std::memcmp(y1.data(), y.data() + m * N, sizeof(float) * N)) << "row " << m;
            }
            r1::set_num_threads(1);
            r1::qlinear_forward(yt.data(), x.data(), w.view, M);
            EXPECT_EQ(0, std::memcmp(yt.data(), y.data(), sizeof(float) * M * N));
        });
    }
    r1::set_num_threads(prev_threads);
}

// The Q8_0 AVX-512 kernel works in tiles (16/32 weight rows per unit, 6 activation rows per
// micro-tile) with a separate M = 1 matvec; every tail shape must match ref and give every
// row the bits of its 1-row call (the matvec and the tiles compute the same FMA chain).
TEST(QMatmul, Q8TileTailsMatchRefAndAreBatchInvariant) {
    for (int64_t K : {32, 96, 288}) {
        for (int64_t N : {1, 15, 16, 17, 31, 32, 33, 48, 70}) {
            const Weights w = make_weights(DType::q8_0, N, K, 77 + K + N);
            for (int64_t M : {2, 6, 7, 12, 13}) {
                SCOPED_TRACE(::testing::Message() << "K=" << K << " N=" << N << " M=" << M);
                const std::vector<float> x = r1::testing::randn(M * K, 3 * K + M + N);
                std::vector<float> ref(M * N);
                r1::ref::qlinear_forward(ref.data(), x.data(), w.view, M);
                const std::vector<double> s =
                    abs_scale(effective_x(x, DType::q8_0, M, K), w.deq, M, N, K);
                for_each_isa([&](r1::Isa) {
                    std::vector<float> y(M * N, NAN), y1(N, NAN);
                    r1::qlinear_forward(y.data(), x.data(), w.view, M);
                    for (int64_t i = 0; i < M * N; i++)
                        ASSERT_LE(std::fabs((double)y[i] - ref[i]), 64 * kEps * s[i] + 1e-30)
                            << "output " << i << ": " << y[i] << " vs ref " << ref[i];
                    for (int64_t m = 0; m < M; m++) {
                        r1::qlinear_forward(y1.data(), x.data() + m * K, w.view, 1);
                        ASSERT_EQ(0, std::memcmp(y1.data(), y.data() + m * N, sizeof(float) * N))
                            << "row " << m;
                    }
                });
            }
        }
    }
}

// Extreme int8 operands: weights −128 / 127 (legal in a GGUF Q8_0 block even though our
// quantiser never writes −128) against activations ±127 with scales 1, so every product is
// an exact integer; the unsigned/signed vpdpbusd trick must not overflow or lose a sign.
TEST(QMatmul, Q8ExtremeValuesExact) {
    const int64_t K = 64, N = 40, M = 7;
    std::vector<r1::BlockQ8_0> w(N * K / r1::kQK);
    for (size_t b = 0; b < w.size(); b++) {
        w[b].d = 0x3C00;  // 1.0
        for (int j = 0; j < r1::kQK; j++) w[b].qs[j] = (int8_t)(((b + j) % 3 == 0) ? -128 : 127);
    }
    std::vector<float> x(M * K);
    for (int64_t i = 0; i < M * K; i++) x[i] = (i * 7 + i / K) % 5 < 2 ? -127.0f : 127.0f;
    const WeightView v{DType::q8_0, w.data(), N, K};
    std::vector<float> expect(M * N);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (int64_t)w[n * 2 + k / r1::kQK].qs[k % r1::kQK] * (int64_t)x[m * K + k];
            expect[m * N + n] = (float)acc;
        }
    for_each_isa([&](r1::Isa) {
        for (int64_t rows : {int64_t{1}, M}) {
            std::vector<float> y(rows * N, NAN);
            r1::qlinear_forward(y.data(), x.data(), v, rows);
            for (int64_t i = 0; i < rows * N; i++) ASSERT_EQ(y[i], expect[i]) << "rows " << rows << " output " << i;
        }
    });
}

TEST(QMatmul, EmptyShapes) {
    const Weights w = make_weights(DType::q8_0, 3, 32, 1);
    std::vector<float> x(32, 1.0f), y(3, NAN);
    r1::qlinear_forward(y.data(), x.data(), w.view, 0);  // M = 0: nothing written
    EXPECT_TRUE(std::isnan(y[0]));
    const WeightView k0{DType::f16, w.view.data, 3, 0};  // K = 0: y = 0
    r1::qlinear_forward(y.data(), x.data(), k0, 1);
    EXPECT_EQ(y[0], 0.0f);
    EXPECT_EQ(y[2], 0.0f);
}

}  // namespace
