// The clipped policy-gradient head loss (math and coefficient derivation in policy_loss.h).
#include "rl/policy_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/lm_head.h"

namespace r1::rl {

LossAgg parse_loss_agg(const std::string& s) {
    if (s == "seq") return LossAgg::seq;
    if (s == "token") return LossAgg::token;
    if (s == "const" || s == "constant") return LossAgg::constant;
    fail("[grpo] --loss-agg: unknown aggregation '", s, "' (known: seq, token, const)");
}

const char* loss_agg_name(LossAgg a) {
    switch (a) {
        case LossAgg::seq: return "seq";
        case LossAgg::token: return "token";
        case LossAgg::constant: return "const";
    }
    return "?";
}

void PolicyLossConfig::validate() const {
    R1_CHECK(std::isfinite(eps_low) && eps_low >= 0 && eps_low < 1,
             "[grpo] --eps-low must be in [0, 1), got ", eps_low);
    R1_CHECK(std::isfinite(eps_high) && eps_high >= 0, "[grpo] --eps-high must be >= 0, got ",
             eps_high);
    R1_CHECK(std::isfinite(beta) && beta >= 0, "[grpo] --beta must be >= 0, got ", beta);
}

TokenTerms token_terms(float logp, float old_logp, float ref_logp, float adv, float weight,
                       const PolicyLossConfig& cfg) {
    TokenTerms t;
    const double ratio = std::exp((double)logp - (double)old_logp);
    const double lo = 1.0 - cfg.eps_low, hi = 1.0 + cfg.eps_high;
    const double clipped_ratio = std::clamp(ratio, lo, hi);
    const double A = adv;
    const double s_unclipped = ratio * A, s_clipped = clipped_ratio * A;
    // the unclipped term is the min unless clipping makes the objective smaller
    if (A >= 0) t.clipped_high = ratio > hi;
    else t.clipped_low = ratio < lo;
    t.clipped = t.clipped_high || t.clipped_low;
    const double s = std::min(s_unclipped, s_clipped);
    double ds = t.clipped ? 0.0 : ratio * A;  // ds/dlogp
    double dk = 0;
    t.loss = -s;
    if (cfg.beta > 0) {
        const double d = (double)ref_logp - (double)logp;
        const double e = std::exp(d);
        t.kl = e - d - 1.0;
        t.loss += cfg.beta * t.kl;
        dk = 1.0 - e;  // dk3/dlogp
    }
    // c = dL/d(−logp) = −w·dℓ/dlogp = w·(ds − β·dk3)
    t.coef = (float)((double)weight * (ds - (double)cfg.beta * dk));
    return t;
}

float agg_weight(LossAgg agg, int64_t len, int64_t n_seqs, int64_t total_tokens,
                 int64_t max_tokens) {
    if (len <= 0) return 0.0f;
    switch (agg) {
        case LossAgg::seq: return (float)(1.0 / ((double)n_seqs * (double)len));
        case LossAgg::token: return (float)(1.0 / (double)std::max<int64_t>(total_tokens, 1));
        case LossAgg::constant:
            return (float)(1.0 / ((double)n_seqs * (double)std::max<int64_t>(max_tokens, 1)));
    }
    return 0.0f;
}

HeadLossFn policy_head_loss(const PolicyBatch& batch, const PolicyLossConfig& cfg,
                            PolicyStats* stats, float* logp_out) {
    return [&batch, cfg, stats, logp_out](const float* h, const float* W, float* dh, float* dW,
                                          int64_t N, int64_t C, int64_t V) {
        const bool on_policy = batch.old_logp.empty();
        R1_CHECK(N == (int64_t)batch.targets.size() && N == (int64_t)batch.adv.size() &&
                     N == (int64_t)batch.weight.size() &&
                     (on_policy || N == (int64_t)batch.old_logp.size()),
                 "[policy_loss] batch arrays do not match the model's ", N, " rows");
        R1_CHECK(cfg.beta == 0 || N == (int64_t)batch.ref_logp.size(),
                 "[policy_loss] beta > 0 needs reference log-probs for every row");
        std::vector<float> logp((size_t)N), ent((size_t)N);
        PolicyStats st;
        auto account = [&](int64_t r, float lp) {
            const float ref = cfg.beta > 0 ? batch.ref_logp[r] : 0.0f;
            const float old = on_policy ? lp : batch.old_logp[r];
            const TokenTerms t = token_terms(lp, old, ref, batch.adv[r], batch.weight[r], cfg);
            st.loss += (double)batch.weight[r] * t.loss;
            st.kl_sum += t.kl;
            st.n_clipped += t.clipped, st.n_clipped_low += t.clipped_low,
                st.n_clipped_high += t.clipped_high;
            st.ratio_max = std::max(st.ratio_max, std::exp((double)lp - old));
            st.logp_sum += lp;
            st.n_tokens++;
            return t.coef;
        };
        const RowCoefFn coef = [&](int64_t r, float lp) { return account(r, lp); };
        lm_head_xent(dh, dW, logp.data(), ent.data(), h, W, batch.targets.data(), N, C, V, 0.0f,
                     dh ? &coef : nullptr);
        if (!dh)  // forward only: the head did not call back; account in row order
            for (int64_t r = 0; r < N; r++)
                if (batch.targets[r] >= 0) account(r, logp[r]);
        for (int64_t r = 0; r < N; r++)
            if (batch.targets[r] >= 0) st.entropy_sum += ent[r];
        if (logp_out) std::copy(logp.begin(), logp.end(), logp_out);
        if (stats) *stats = st;
        return st.loss;
    };
}

HeadLossFn logprob_head(const std::vector<int32_t>& targets, float* logp_out,
                        float* entropy_out) {
    return [&targets, logp_out, entropy_out](const float* h, const float* W, float* dh,
                                             float* dW, int64_t N, int64_t C, int64_t V) {
        R1_CHECK(N == (int64_t)targets.size(), "[policy_loss] logprob_head: ", targets.size(),
                 " targets for ", N, " rows");
        R1_CHECK(dh == nullptr && dW == nullptr, "[policy_loss] logprob_head is forward-only");
        LmHeadResult r = lm_head_xent(nullptr, nullptr, logp_out, entropy_out, h, W,
                                      targets.data(), N, C, V, 0.0f);
        return -r.loss_sum;
    };
}

namespace ref {

double policy_loss(const PolicyBatch& b, const std::vector<float>& logp,
                   const PolicyLossConfig& cfg) {
    double L = 0;
    for (size_t r = 0; r < b.targets.size(); r++) {
        if (b.targets[r] < 0) continue;
        const double ratio = std::exp((double)logp[r] - b.old_logp[r]);
        const double cr = std::min(std::max(ratio, 1.0 - cfg.eps_low), 1.0 + cfg.eps_high);
        const double A = b.adv[r];
        double l = -std::min(ratio * A, cr * A);
        if (cfg.beta > 0) {
            const double d = (double)b.ref_logp[r] - logp[r];
            l += cfg.beta * (std::exp(d) - d - 1.0);
        }
        L += (double)b.weight[r] * l;
    }
    return L;
}

}  // namespace ref
}  // namespace r1::rl
