// Causal attention: tiled (flash-style) forward/backward vs the explicit-T×T ref for every
// ISA level, over a case matrix (MHA, GQA, MQA, MLA-style hd_qk != hd_v, odd T not a
// multiple of the 64-wide tile, strided fused-QKV buffers); lse equality; finite-difference
// gradients of q, k, v; untouched non-head columns; thread-count determinism.
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "ops/attention.h"
#include "testing.h"

namespace r1 {
namespace {

using testing::allclose;
using testing::randn;

struct AttnCase {
    const char* name;
    int64_t B, T, H, Hkv, hd_qk, hd_v;
    bool fused;  // q, k, v are column blocks of one [B*T, row] buffer (plus 3 pad columns)
    float tol;
};

// Buffers for one case; q/k/v (and dq/dk/dv) point into `qkv` / `dqkv`.
struct AttnData {
    AttnShape s;
    std::vector<float> qkv, dqkv, out, dout;
    int64_t q_off = 0, k_off = 0, v_off = 0, rows = 0;

    AttnData(const AttnCase& c, uint64_t seed) {
        s.B = c.B, s.T = c.T, s.n_head = c.H, s.n_head_kv = c.Hkv;
        s.hd_qk = c.hd_qk, s.hd_v = c.hd_v;
        s.scale = 1.0f / std::sqrt((float)c.hd_qk);
        rows = c.B * c.T;
        const int64_t qw = c.H * c.hd_qk, kw = c.Hkv * c.hd_qk, vw = c.Hkv * c.hd_v;
        if (c.fused) {
            const int64_t row = qw + kw + vw + 3;
            s.q_stride = s.k_stride = s.v_stride = row;
            q_off = 0, k_off = rows ? qw : 0, v_off = qw + kw;
            qkv = randn(rows * row, seed);
        } else {  // separate buffers laid end to end, tight strides
            s.q_stride = qw, s.k_stride = kw, s.v_stride = vw;
            q_off = 0, k_off = rows * qw, v_off = rows * (qw + kw);
            qkv = randn(rows * (qw + kw + vw), seed);
        }
        s.out_stride = c.H * c.hd_v + (c.fused ? 5 : 0);
        out.assign(rows * s.out_stride, 0.0f);
        dout = randn(rows * s.out_stride, seed + 7);
        dqkv.assign(qkv.size(), 0.0f);
    }
    const float* q() const { return qkv.data() + q_off; }
    const float* k() const { return qkv.data() + k_off; }
    const float* v() const { return qkv.data() + v_off; }
    float* dq() { return dqkv.data() + q_off; }
    float* dk() { return dqkv.data() + k_off; }
    float* dv() { return dqkv.data() + v_off; }
};

const AttnCase kCases[] = {
    {"tiny_T1", 1, 1, 1, 1, 8, 8, false, 1e-4f},
    {"mha_odd_T", 2, 7, 2, 2, 16, 16, false, 1e-4f},
    {"mha_T130_hd64", 1, 130, 4, 4, 64, 64, false, 2e-4f},
    {"gqa_4_2_fused", 2, 70, 4, 2, 32, 32, true, 2e-4f},
    {"mqa_3_1", 1, 65, 3, 1, 24, 24, false, 2e-4f},
    {"mla_96_32", 1, 67, 2, 2, 96, 32, true, 2e-4f},
    {"mla_192_128", 1, 66, 2, 1, 192, 128, false, 3e-4f},
    {"hd16_T128", 2, 128, 2, 2, 16, 16, false, 2e-4f},
};

TEST(OpsAttention, FastMatchesRefForwardBackward) {
    uint64_t seed = 1;
    for (const auto& c : kCases) {
        SCOPED_TRACE(c.name);
        AttnData d(c, seed++);
        const auto& s = d.s;
        std::vector<float> out_ref(d.out.size()), lse_ref(c.B * c.H * c.T);
        ref::attention_forward(out_ref.data(), lse_ref.data(), d.q(), d.k(), d.v(), s);
        AttnData dr = d;
        ref::attention_backward(dr.dq(), dr.dk(), dr.dv(), d.dout.data(), out_ref.data(),
                                lse_ref.data(), d.q(), d.k(), d.v(), s);
        testing::for_each_isa([&](Isa) {
            std::vector<float> out(d.out.size()), lse(lse_ref.size());
            attention_forward(out.data(), lse.data(), d.q(), d.k(), d.v(), s);
            EXPECT_TRUE(allclose(out, out_ref, c.tol, 1e-3f)) << "out";
            EXPECT_TRUE(allclose(lse, lse_ref, 1e-5f, 1e-5f)) << "lse";
            AttnData df = d;
            attention_backward(df.dq(), df.dk(), df.dv(), d.dout.data(), out.data(), lse.data(),
                               d.q(), d.k(), d.v(), s);
            EXPECT_TRUE(allclose(df.dqkv, dr.dqkv, c.tol, 1e-3f)) << "dq/dk/dv";
        });
    }
}

TEST(OpsAttention, ForwardWithoutLse) {
    AttnData d(kCases[3], 5);
    std::vector<float> a(d.out.size()), b(d.out.size()), lse(d.s.B * d.s.n_head * d.s.T);
    attention_forward(a.data(), nullptr, d.q(), d.k(), d.v(), d.s);
    attention_forward(b.data(), lse.data(), d.q(), d.k(), d.v(), d.s);
    EXPECT_EQ(a, b);
}

// Only head columns of a fused buffer are written: pad columns keep their sentinel.
TEST(OpsAttention, LeavesNonHeadColumnsAlone) {
    const AttnCase c = {"fused", 1, 19, 2, 1, 16, 8, true, 0};
    AttnData d(c, 9);
    std::vector<float> lse(c.B * c.H * c.T);
    std::fill(d.out.begin(), d.out.end(), 42.0f);
    attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), d.s);
    std::fill(d.dqkv.begin(), d.dqkv.end(), 42.0f);
    attention_backward(d.dq(), d.dk(), d.dv(), d.dout.data(), d.out.data(), lse.data(), d.q(),
                       d.k(), d.v(), d.s);
    const int64_t used = c.H * c.hd_qk + c.Hkv * c.hd_qk + c.Hkv * c.hd_v;
    for (int64_t r = 0; r < d.rows; r++) {
        for (int64_t j = used; j < d.s.q_stride; j++)
            ASSERT_EQ(d.dqkv[r * d.s.q_stride + j], 42.0f) << "row " << r << " col " << j;
        for (int64_t j = c.H * c.hd_v; j < d.s.out_stride; j++)
            ASSERT_EQ(d.out[r * d.s.out_stride + j], 42.0f);
    }
}

// L = Σ out ∘ G, out from the ref forward (double accumulation); the analytic gradients
// come from the fast backward. One fused buffer covers q, k and v in one check.
TEST(OpsAttention, GradientsFiniteDifference) {
    const AttnCase cases[] = {{"gqa_mla_fused", 1, 9, 4, 2, 12, 8, true, 0},
                              {"mha_T70", 1, 70, 1, 1, 8, 8, false, 0}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        AttnData d(c, 31);
        auto loss = [&]() {
            std::vector<float> out(d.out.size());
            ref::attention_forward(out.data(), nullptr, d.q(), d.k(), d.v(), d.s);
            double L = 0;
            for (size_t i = 0; i < out.size(); i++) L += (double)out[i] * d.dout[i];
            return L;
        };
        testing::for_each_isa([&](Isa) {
            std::vector<float> lse(c.B * c.H * c.T);
            attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), d.s);
            std::fill(d.dqkv.begin(), d.dqkv.end(), 0.0f);
            attention_backward(d.dq(), d.dk(), d.dv(), d.dout.data(), d.out.data(), lse.data(),
                               d.q(), d.k(), d.v(), d.s);
            EXPECT_TRUE(testing::check_grad(loss, d.qkv, d.dqkv, 1e-2f, 2e-3f, 2e-2f, 200));
        });
    }
}

TEST(OpsAttention, IndependentOfThreadCount) {
    AttnData d(kCases[3], 77);  // GQA, fused
    std::vector<float> lse(d.s.B * d.s.n_head * d.s.T), lse1(lse.size()), out1(d.out.size());
    const int saved = num_threads();
    set_num_threads(1);
    attention_forward(out1.data(), lse1.data(), d.q(), d.k(), d.v(), d.s);
    set_num_threads(2);
    attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), d.s);
    EXPECT_EQ(out1, d.out);
    EXPECT_EQ(lse1, lse);
    AttnData d1 = d, d2 = d;
    set_num_threads(1);
    attention_backward(d1.dq(), d1.dk(), d1.dv(), d.dout.data(), d.out.data(), lse.data(), d.q(),
                       d.k(), d.v(), d.s);
    set_num_threads(2);
    attention_backward(d2.dq(), d2.dk(), d2.dv(), d.dout.data(), d.out.data(), lse.data(), d.q(),
                       d.k(), d.v(), d.s);
    set_num_threads(saved);
    EXPECT_EQ(d1.dqkv, d2.dqkv);
}

TEST(OpsAttention, RejectsBadShapes) {
    AttnData d(kCases[1], 3);
    std::vector<float> lse(d.s.B * d.s.n_head * d.s.T);
    AttnShape s = d.s;
    s.n_head_kv = 3;  // 2 % 3 != 0
    EXPECT_THROW(attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), s), Error);
    s = d.s;
    s.scale = 0;
    EXPECT_THROW(attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), s), Error);
    s = d.s;
    s.q_stride = 1;
    EXPECT_THROW(attention_forward(d.out.data(), lse.data(), d.q(), d.k(), d.v(), s), Error);
}

}  // namespace
}  // namespace r1
