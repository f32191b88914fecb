// The maths behind data-parallel GRPO (src/rl/grpo.h): a mini-batch split over ranks, each
// rank packing ITS sequences with the mini-batch's GLOBAL normalisers (AggNorm), gives
// gradients and losses whose sum over ranks equals the single-process ones — for GRPO's
// per-sequence mean, DAPO's token-level mean and Dr. GRPO's constant, with β > 0 and an
// off-policy ratio, with masked (overlong-filtered) sequences and an uneven split. A control
// shows that packing with each rank's LOCAL normalisers would not (the test can fail).
// rank_slice: contiguous, ordered, balanced partitions. The multi-process runs themselves
// are tests/cli/mpi_grpo.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "model/config.h"
#include "model/model.h"
#include "rl/grpo.h"
#include "testing.h"

namespace {

using namespace r1::rl;

r1::ModelConfig small_config() {
    r1::ModelConfig c = r1::ModelConfig::preset("tiny-dense");
    c.n_embd = 32, c.n_layer = 1, c.n_head = 2, c.n_head_kv = 1, c.head_dim = 16, c.n_ff = 64;
    c.n_ctx = 32;
    c.validate();
    return c;
}

struct Seq {
    std::vector<int32_t> prompt, completion;
    double adv = 0;
    bool masked = false;
};

std::vector<Seq> make_seqs() {
    std::vector<Seq> s;
    uint64_t x = 12345;
    auto next = [&](int m) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return (int32_t)((x >> 33) % (uint64_t)m);
    };
    const int lens[7] = {3, 9, 1, 6, 12, 4, 7};
    for (int i = 0; i < 7; i++) {
        Seq q;
        for (int t = 0; t < 2 + i % 3; t++) q.prompt.push_back(1 + next(200));
        for (int t = 0; t < lens[i]; t++) q.completion.push_back(1 + next(200));
        q.adv = (double)(next(2001) - 1000) / 700.0;
        q.masked = i == 4;  // an overlong-filtered sequence: no loss, not counted
        s.push_back(q);
    }
    return s;
}

std::vector<PackSeq> refs(const std::vector<Seq>& s, size_t lo, size_t hi) {
    std::vector<PackSeq> v;
    for (size_t i = lo; i < hi; i++) v.push_back({&s[i].prompt, &s[i].completion, s[i].adv, s[i].masked});
    return v;
}

// Off-policy / reference log-probs as a fixed function of (sequence, token): the same
// whichever batch the sequence is packed into.
void fill_logps(PolicyBatch& b, const std::vector<Seq>& s, size_t lo, bool with_ref) {
    const int64_t N = b.B * b.T;
    b.old_logp.assign((size_t)N, 0.0f);
    if (with_ref) b.ref_logp.assign((size_t)N, 0.0f);
    for (int64_t i = 0; i < b.B; i++) {
        const Seq& q = s[lo + (size_t)i];
        const int64_t P = (int64_t)q.prompt.size();
        for (int64_t t = 0; t < (int64_t)q.completion.size(); t++) {
            const size_t r = (size_t)(i * b.T + P - 1 + t);
            b.old_logp[r] = -5.0f + 0.3f * (float)((lo + (size_t)i + 3 * (size_t)t) % 7);
            if (with_ref) b.ref_logp[r] = -5.2f + 0.25f * (float)((2 * (lo + (size_t)i) + (size_t)t) % 5);
        }
    }
}

struct Grad {
    std::vector<float> g;
    double loss = 0;
};

Grad gradient(r1::Model& m, const std::vector<Seq>& s, size_t lo, size_t hi, const AggNorm& norm,
              LossAgg agg, const PolicyLossConfig& cfg) {
    PolicyBatch b = pack_policy_batch(refs(s, lo, hi), norm, agg, /*max_tokens=*/16);
    fill_logps(b, s, lo, cfg.beta > 0);
    const PolicyStats st = compute_gradients(m, b, cfg);
    Grad out;
    out.g.assign(m.params().grad().data(), m.params().grad().data() + m.params().size());
    out.loss = st.loss;
    return out;
}

double max_abs(const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, (double)std::fabs(x));
    return m;
}

TEST(RlGrpoDist, SplitGradientsWithGlobalNormalisersSumToTheWhole) {
    const int saved = r1::num_threads();
    r1::set_num_threads(1);
    r1::Model m(small_config());
    m.init_weights(11);
    const std::vector<Seq> s = make_seqs();
    const AggNorm whole = agg_norm(refs(s, 0, s.size()));
    EXPECT_EQ(whole.n_seqs, 6);            // the masked one is not counted
    EXPECT_EQ(whole.n_tokens, 3 + 9 + 1 + 6 + 4 + 7);
    // three "ranks": [0, 2), [2, 3), [3, 7) — uneven, as rank_slice allows
    const size_t cut[4] = {0, 2, 3, 7};
    for (LossAgg agg : {LossAgg::seq, LossAgg::token, LossAgg::constant})
        for (float beta : {0.0f, 0.1f}) {
            SCOPED_TRACE(std::string(loss_agg_name(agg)) + " beta " + std::to_string(beta));
            PolicyLossConfig cfg;
            cfg.beta = beta;
            const Grad ref = gradient(m, s, 0, s.size(), whole, agg, cfg);
            ASSERT_GT(max_abs(ref.g), 1e-6);
            std::vector<float> sum(ref.g.size(), 0.0f), sum_local(ref.g.size(), 0.0f);
            double loss = 0;
            for (int r = 0; r < 3; r++) {
                const Grad part = gradient(m, s, cut[r], cut[r + 1], whole, agg, cfg);
                for (size_t i = 0; i < sum.size(); i++) sum[i] += part.g[i];
                loss += part.loss;
                // the control: each rank normalising by its own part only
                const Grad wrong = gradient(m, s, cut[r], cut[r + 1],
                                            agg_norm(refs(s, cut[r], cut[r + 1])), agg, cfg);
                for (size_t i = 0; i < sum.size(); i++) sum_local[i] += wrong.g[i];
            }
            const double scale = max_abs(ref.g);
            double worst = 0, worst_local = 0;
            for (size_t i = 0; i < sum.size(); i++) {
                worst = std::max(worst, (double)std::fabs(sum[i] - ref.g[i]) / scale);
                worst_local = std::max(worst_local, (double)std::fabs(sum_local[i] - ref.g[i]) / scale);
            }
            EXPECT_LT(worst, 2e-5);
            EXPECT_NEAR(loss, ref.loss, 1e-5 * std::max(1.0, std::fabs(ref.loss)));
            // Dr. GRPO's constant normaliser still counts sequences: local counts are wrong too
            EXPECT_GT(worst_local, 1e-2) << "local normalisers should not reproduce the whole";
        }
    r1::set_num_threads(saved);
}

TEST(RlGrpoDist, PackMatchesTheSingleBatchRowsAndHandlesEmpty) {
    const std::vector<Seq> s = make_seqs();
    const AggNorm whole = agg_norm(refs(s, 0, s.size()));
    const PolicyBatch all = pack_policy_batch(refs(s, 0, s.size()), whole, LossAgg::token, 16);
    const PolicyBatch part = pack_policy_batch(refs(s, 3, 7), whole, LossAgg::token, 16);
    ASSERT_EQ(part.B, 4);
    // row i of the part = row 3 + i of the whole (up to the padding width)
    for (int64_t i = 0; i < part.B; i++)
        for (int64_t t = 0; t < part.T; t++) {
            const size_t a = (size_t)((3 + i) * all.T + t), b = (size_t)(i * part.T + t);
            EXPECT_EQ(all.tokens[a], part.tokens[b]);
            EXPECT_EQ(all.targets[a], part.targets[b]);
            EXPECT_EQ(all.weight[a], part.weight[b]);
        }
    // the masked sequence (index 4 → row 1 of the part) has no targets
    for (int64_t t = 0; t < part.T; t++) EXPECT_EQ(part.targets[(size_t)(part.T + t)], -1);
    const PolicyBatch none = pack_policy_batch({}, whole, LossAgg::seq, 16);
    EXPECT_EQ(none.B, 0);
    EXPECT_TRUE(none.tokens.empty());
}

TEST(RlGrpoDist, RankSliceIsAContiguousBalancedPartition) {
    for (int64_t n = 0; n <= 23; n++)
        for (int R = 1; R <= 5; R++) {
            int64_t expect_lo = 0;
            for (int r = 0; r < R; r++) {
                const auto [lo, hi] = rank_slice(n, r, R);
                EXPECT_EQ(lo, expect_lo) << n << " " << r << "/" << R;
                EXPECT_LE(hi - lo, n / R + 1);
                EXPECT_GE(hi - lo, n / R);
                expect_lo = hi;
            }
            EXPECT_EQ(expect_lo, n);
        }
    EXPECT_THROW(rank_slice(4, 2, 2), r1::Error);
}

}  // namespace
