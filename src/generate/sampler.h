// Token sampler: the llama.cpp sampler chain in its default order, on one row of logits.
//
//   penalties (repeat / frequency / presence over the last repeat_last_n tokens)
//   → top-k → top-p (nucleus) → min-p → temperature → draw from the renormalised distribution
//
// temperature <= 0 means greedy: the argmax of the penalised logits (ties → lowest id); the
// truncation stages cannot change the argmax, so they are skipped and no random number is
// drawn. top-p and min-p see probabilities at temperature 1 (as in llama.cpp, where the
// temperature stage comes after them); temperature only reshapes what survives.
//
// Determinism: the same params, seed, logits and history give the same token on every run and
// machine (candidate order is fixed by (logit desc, id asc); sums are in double). The RNG state
// can be saved and restored (checkpointed RL rollouts, server request replay).
//
// Cost: one copy of the logits per call, O(V) selection (nth_element) for top-k, and for top-p
// without top-k a growing partial sort that usually stops after a few hundred tokens. Scratch
// buffers are members, so after the first call at a given vocab size nothing is allocated.
// A Sampler is per-sequence state (RNG); it is not thread-safe — use one per sequence.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace r1 {

struct SamplerParams {
    float temperature = 1.0f;     // <= 0: greedy
    int top_k = 0;                // <= 0: off
    float top_p = 1.0f;           // >= 1: off
    float min_p = 0.0f;           // <= 0: off
    float repeat_penalty = 1.0f;  // 1: off (CTRL rule: l>0 → l/pen, l<=0 → l*pen)
    int repeat_last_n = 64;       // window of history the penalties look at; -1 = all, 0 = off
    uint64_t seed = 0;
    // OpenAI-style additive penalties over the same window (llama.cpp semantics):
    // l -= count·frequency_penalty + (count > 0)·presence_penalty. 0: off.
    float frequency_penalty = 0.0f;
    float presence_penalty = 0.0f;

    void validate() const;  // throws r1::Error naming the field (NaN, top_p <= 0, min_p > 1, ...)
};

class Sampler {
public:
    explicit Sampler(const SamplerParams& params);

    // Picks the next token from logits [n_vocab]. `history` is the sequence so far (prompt and
    // generated tokens); only its last repeat_last_n entries are read, for the penalties.
    // Ids in the window outside [0, n_vocab) are skipped: they cannot be drawn (e.g. prompt
    // tokens past a vocab_limit), so there is nothing to penalise. Throws r1::Error if
    // n_vocab <= 0 or no logit is finite (NaN logits are treated as -inf; +inf is rejected).
    int32_t sample(const float* logits, int64_t n_vocab, const std::vector<int32_t>& history);

    const SamplerParams& params() const { return params_; }
    Rng::State state() const { return rng_.state(); }
    void set_state(const Rng::State& st) { rng_.set_state(st); }
    void reseed(uint64_t seed) { rng_.reseed(seed); }

private:
    struct Cand {
        float logit;
        int32_t id;
    };
    void apply_penalties(const std::vector<int32_t>& history, int64_t n_vocab);
    void top_k(int k);
    void top_p(float p);
    void min_p(float p);
    int32_t draw(float temperature);

    SamplerParams params_;
    Rng rng_;
    std::vector<Cand> cand_;        // live candidates are cand_[0, n_cand_)
    int64_t n_cand_ = 0;
    int64_t n_sorted_ = 0;          // cand_[0, n_sorted_) is sorted (logit desc, id asc) and
                                    // every later candidate ranks below all of them
    std::vector<int32_t> window_;   // scratch: sorted copy of the penalty window
    std::vector<double> weight_;    // scratch: unnormalised probabilities
};

// log p(id) under softmax(logits[0, n)), computed stably in double. Throws on a bad id.
float log_softmax_at(const float* logits, int64_t n, int32_t id);

}  // namespace r1
