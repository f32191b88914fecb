// Batched generation with continuous batching — the engine behind `r1 generate`, the server
// and GRPO rollouts.
//
// Requests (prompt tokens, max_tokens, sampler params, stop token ids) are queued by add().
// Each step(): queued requests join while cache slots are free (their prompt is prefilled
// in this step, or in chunks over several steps with prefill_chunk), ONE batched forward (generate/forward.h) runs over every active
// sequence (prefill chunks and single decode tokens together), each sequence samples its
// next token with its own Sampler, and sequences that finished leave and free their slot
// for the next queued request.
//
// Results carry the generated tokens (a stop token that ended generation IS included: GRPO
// trains on it), the log-prob of every sampled token under the model's distribution
// log softmax(logits) at temperature 1 over the full vocabulary, before penalties and
// truncation (the quantity a GRPO trainer recomputes for its ratio), and finish_reason:
// "stop" (a stop id was sampled) or "length" (max_tokens reached, or the context is full).
//
// Shared prompts (GRPO groups): a queued request whose prompt equals that of an active
// sequence whose prompt is already in the cache copies the first P-1 positions from that
// slot and feeds only its last prompt token, instead of prefilling P tokens again. If the
// matching sequence joined in this same step (not prefilled yet), the request waits a step.
//
// Determinism: a request's tokens depend only on its prompt, params and seed — not on which
// other requests share its steps — up to float rounding differences of batched products.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "generate/sampler.h"

namespace r1 {

struct GenRequest {
    std::vector<int32_t> prompt;     // >= 1 token, at most n_ctx
    int64_t max_tokens = 256;        // >= 1
    SamplerParams sampler;
    std::vector<int32_t> stop_ids;   // generation ends after sampling one of these
    int64_t vocab_limit = 0;         // > 0: sample only ids < vocab_limit (a tokenizer smaller
                                     // than the model's vocabulary); 0: all n_vocab
};

struct GenResult {
    int64_t id = -1;                 // what add() returned
    int64_t n_prompt = 0;
    std::vector<int32_t> tokens;     // generated tokens
    std::vector<float> logprobs;     // [tokens.size()] log p(token) (see the header comment)
    std::string finish_reason;       // "stop" | "length"
};

// One sampled token of the last step (streaming: the server forwards these as they come).
struct TokenEvent {
    int64_t id = -1;        // request
    int32_t token = -1;
    float logprob = 0;
    bool finished = false;  // this token ended the request (its GenResult is in step()'s return)
};

struct GeneratorOptions {
    int64_t n_slots = 8;             // sequences decoded together (KV cache slots)
    int64_t n_ctx = 0;               // positions per slot; 0 = the model's n_ctx
    int64_t max_step_tokens = 0;     // > 0: admit queued prompts only while the step holds
                                     // at most this many tokens (one is always admitted)
    int64_t prefill_chunk = 0;       // > 0: feed a prompt at most this many tokens per step
                                     // (long prompts no longer stall the decodes sharing
                                     // their steps); 0 = whole prompt in one step
    KvType kv_type = KvType::f32;    // KV cache storage (kv_cache.h): f16 halves its memory;
                                     // f32 (default) is what training/GRPO numbers assume
};

struct GeneratorStats {
    int64_t steps = 0;
    int64_t prompt_tokens = 0;       // prefilled (run through the model)
    int64_t shared_prompt_tokens = 0;// copied from another slot instead
    int64_t generated_tokens = 0;    // sampled
    int64_t completed = 0;
};

class Generator {
public:
    // model must outlive the generator.
    Generator(const InferenceModel& model, const GeneratorOptions& opt = {});

    // Queues a request; returns its id (0, 1, 2, ... in add order). Throws r1::Error for an
    // empty/too long prompt, out-of-range ids, max_tokens < 1 or bad sampler params.
    int64_t add(GenRequest req);

    // One batched forward + sampling over the active sequences (after admitting queued
    // requests). Returns the requests that finished in this step; empty if nothing to do.
    std::vector<GenResult> step();
    // Steps until every queued and active request has finished; results sorted by id.
    std::vector<GenResult> run();

    // Tokens sampled by the last step(), in batch order.
    const std::vector<TokenEvent>& last_events() const { return events_; }
    // Drops a queued or active request (client gone): frees its slot, no result is produced.
    // Returns false if the id is unknown or already finished.
    bool cancel(int64_t id);

    bool done() const { return active_.empty() && queue_.empty(); }
    int64_t n_active() const { return (int64_t)active_.size(); }
    int64_t n_queued() const { return (int64_t)queue_.size(); }
    const GeneratorStats& stats() const { return stats_; }
    const KvCache& cache() const { return cache_; }

private:
    struct Seq {
        int64_t id = -1;
        GenRequest req;
        std::unique_ptr<Sampler> sampler;
        int32_t slot = -1;
        std::vector<int32_t> history;  // prompt + generated
        std::vector<int32_t> pending;  // tokens to feed; [0, fed) already fed
        size_t fed = 0;
        GenResult res;
    };

    const InferenceModel& model_;
    GeneratorOptions opt_;
    KvCache cache_;
    BatchForward fwd_;
    std::deque<Seq> queue_;
    std::vector<Seq> active_;
    std::vector<TokenEvent> events_;
    int64_t next_id_ = 0;
    GeneratorStats stats_;
};

}  // namespace r1
