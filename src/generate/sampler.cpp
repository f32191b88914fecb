// Sampler chain (see sampler.h for the contract). The candidate list starts as the whole
// vocabulary in id order; each stage shrinks cand_[0, n_cand_) and may extend the sorted
// prefix cand_[0, n_sorted_). Keeping "sorted prefix + unordered rest, rest ranks lower" as
// the invariant lets top-p sort only as far as the nucleus reaches instead of the whole vocab.
#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace r1 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

void SamplerParams::validate() const {
    R1_CHECK(!std::isnan(temperature), "[sampler] temperature is NaN");
    R1_CHECK(top_p >= 0.0f && top_p <= 1.0f, "[sampler] top_p must be in [0, 1], got ", top_p);
    R1_CHECK(min_p >= 0.0f && min_p <= 1.0f, "[sampler] min_p must be in [0, 1], got ", min_p);
    R1_CHECK(std::isfinite(repeat_penalty) && repeat_penalty > 0.0f,
             "[sampler] repeat_penalty must be a positive finite number, got ", repeat_penalty);
    R1_CHECK(repeat_last_n >= -1, "[sampler] repeat_last_n must be >= -1, got ", repeat_last_n);
    R1_CHECK(std::isfinite(frequency_penalty),
             "[sampler] frequency_penalty must be finite, got ", frequency_penalty);
    R1_CHECK(std::isfinite(presence_penalty),
             "[sampler] presence_penalty must be finite, got ", presence_penalty);
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {
    params_.validate();
}

// Candidate order: higher logit first, equal logits by lower id (deterministic tie-break).
static inline bool ranks_before(float la, int32_t ia, float lb, int32_t ib) {
    return la > lb || (la == lb && ia < ib);
}

int32_t Sampler::sample(const float* logits, int64_t n_vocab,
                        const std::vector<int32_t>& history) {
    R1_CHECK(n_vocab > 0 && n_vocab <= std::numeric_limits<int32_t>::max(),
             "[sampler] n_vocab out of range: ", n_vocab);
    if ((int64_t)cand_.size() < n_vocab) cand_.resize(n_vocab);
    for (int64_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        cand_[i] = {std::isnan(l) ? kNegInf : l, (int32_t)i};
    }
    n_cand_ = n_vocab;
    n_sorted_ = 0;

    apply_penalties(history, n_vocab);

    // The best candidate: the greedy answer, and the reference for min-p and the softmaxes.
    int64_t best = 0;
    for (int64_t i = 1; i < n_cand_; i++)
        if (cand_[i].logit > cand_[best].logit) best = i;  // strict: keeps the lowest id
    R1_CHECK(std::isfinite(cand_[best].logit),
             "[sampler] logits have no finite maximum (all -inf/NaN, or +inf present)");
    if (params_.temperature <= 0.0f) return cand_[best].id;

    if (params_.top_k > 0 && params_.top_k < n_cand_) top_k(params_.top_k);
    if (params_.top_p < 1.0f) top_p(params_.top_p);
    if (params_.min_p > 0.0f) min_p(params_.min_p);
    return draw(params_.temperature);
}

void Sampler::apply_penalties(const std::vector<int32_t>& history, int64_t n_vocab) {
    const float rep = params_.repeat_penalty, freq = params_.frequency_penalty,
                pres = params_.presence_penalty;
    if (rep == 1.0f && freq == 0.0f && pres == 0.0f) return;
    size_t n = history.size();
    if (params_.repeat_last_n >= 0) n = std::min(n, (size_t)params_.repeat_last_n);
    if (n == 0) return;
    // Each distinct token in the window is penalised once (its count scales only the
    // frequency term), as in llama.cpp; sorting the window groups equal ids.
    window_.assign(history.end() - (ptrdiff_t)n, history.end());
    std::sort(window_.begin(), window_.end());
    for (size_t i = 0; i < n;) {
        const int32_t id = window_[i];
        size_t j = i;
        while (j < n && window_[j] == id) j++;
        if (id < 0 || id >= n_vocab) {  // not a candidate: nothing to penalise
            i = j;
            continue;
        }
        float& l = cand_[id].logit;  // candidates are still in id order here
        if (rep != 1.0f) l = l <= 0.0f ? l * rep : l / rep;
        l -= (float)(j - i) * freq + pres;
        i = j;
    }
}

void Sampler::top_k(int k) {
    auto cmp = [](const Cand& a, const Cand& b) { return ranks_before(a.logit, a.id, b.logit, b.id); };
    std::nth_element(cand_.begin(), cand_.begin() + k, cand_.begin() + n_cand_, cmp);
    std::sort(cand_.begin(), cand_.begin() + k, cmp);
    n_cand_ = k;
    n_sorted_ = k;
}

void Sampler::top_p(float p) {
    auto cmp = [](const Cand& a, const Cand& b) { return ranks_before(a.logit, a.id, b.logit, b.id); };
    double mx = kNegInf;
    for (int64_t i = 0; i < n_cand_; i++) mx = std::max(mx, (double)cand_[i].logit);
    double sum = 0;
    for (int64_t i = 0; i < n_cand_; i++) sum += std::exp((double)cand_[i].logit - mx);
    const double target = (double)p * sum;
    // Smallest prefix (in rank order) whose mass reaches p; the token that crosses p is kept,
    // and at least one token always is (llama.cpp's rule with min_keep = 1).
    double cum = 0;
    int64_t i = 0;
    for (;;) {
        if (i == n_sorted_) {
            // Sort the next block: select it from the unordered rest, then order it.
            int64_t m = std::min<int64_t>(n_cand_, std::max<int64_t>(64, 4 * n_sorted_));
            auto first = cand_.begin() + n_sorted_, nth = cand_.begin() + m,
                 last = cand_.begin() + n_cand_;
            std::nth_element(first, nth, last, cmp);
            std::sort(first, nth, cmp);
            n_sorted_ = m;
        }
        cum += std::exp((double)cand_[i].logit - mx);
        i++;
        if (cum >= target || i == n_cand_) break;
    }
    n_cand_ = i;
    n_sorted_ = i;
}

void Sampler::min_p(float p) {
    // p_i >= min_p * p_max  <=>  l_i - l_max >= log(min_p): no softmax needed.
    double mx = kNegInf;
    for (int64_t i = 0; i < n_cand_; i++) mx = std::max(mx, (double)cand_[i].logit);
    const double thr = std::log((double)p);
    // Order-preserving compaction; survivors of the sorted prefix stay a sorted prefix
    // (they outrank every unsorted candidate, so if one of them is cut, all later ones are).
    int64_t w = 0, sorted_kept = 0;
    for (int64_t i = 0; i < n_cand_; i++) {
        if ((double)cand_[i].logit - mx >= thr) {
            if (i < n_sorted_) sorted_kept++;
            cand_[w++] = cand_[i];
        }
    }
    n_cand_ = w;
    n_sorted_ = sorted_kept;
}

int32_t Sampler::draw(float temperature) {
    double mx = kNegInf;
    for (int64_t i = 0; i < n_cand_; i++) mx = std::max(mx, (double)cand_[i].logit);
    if ((int64_t)weight_.size() < n_cand_) weight_.resize(n_cand_);
    const double inv_t = 1.0 / (double)temperature;
    double total = 0;
    for (int64_t i = 0; i < n_cand_; i++) {
        weight_[i] = std::exp(((double)cand_[i].logit - mx) * inv_t);
        total += weight_[i];
    }
    // 53-bit uniform in [0, 1): the draw resolves probabilities far below float's 2^-24.
    const double u = (double)(rng_.next_u64() >> 11) * (1.0 / 9007199254740992.0);
    const double r = u * total;
    double acc = 0;
    int64_t last_pos = 0;
    for (int64_t i = 0; i < n_cand_; i++) {
        if (weight_[i] <= 0) continue;
        acc += weight_[i];
        last_pos = i;
        if (r < acc) return cand_[i].id;
    }
    return cand_[last_pos].id;  // rounding left r at the very top: the last positive weight
}

float log_softmax_at(const float* logits, int64_t n, int32_t id) {
    R1_CHECK(n > 0, "[log_softmax_at] n must be positive, got ", n);
    R1_CHECK(id >= 0 && id < n, "[log_softmax_at] id ", id, " out of range [0, ", n, ")");
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; i++) mx = std::max(mx, (double)logits[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += std::exp((double)logits[i] - mx);
    return (float)((double)logits[id] - mx - std::log(sum));
}

}  // namespace r1
