// Generator: continuous batching over a KvCache slot pool (see engine.h). A step is
//   admit queued requests into free slots → one BatchForward over all active sequences
//   → per sequence: sample, record log-prob, check stop/length → finished ones free slots.
#include "generate/engine.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace r1 {

Generator::Generator(const InferenceModel& model, const GeneratorOptions& opt)
    : model_(model),
      opt_(opt),
      cache_(model.config(), opt.n_slots, opt.n_ctx > 0 ? opt.n_ctx : model.config().n_ctx,
             KvLayout::automatic, opt.kv_type),
      fwd_(model) {
    R1_CHECK(opt.max_step_tokens >= 0, "[generate] max_step_tokens must be >= 0");
    R1_CHECK(opt.prefill_chunk >= 0, "[generate] prefill_chunk must be >= 0");
}

int64_t Generator::add(GenRequest req) {
    const int64_t V = model_.config().n_vocab;
    R1_CHECK(!req.prompt.empty(), "[generate] request has an empty prompt");
    R1_CHECK((int64_t)req.prompt.size() <= cache_.n_ctx(), "[generate] prompt of ",
             req.prompt.size(), " tokens does not fit the context of ", cache_.n_ctx());
    for (int32_t t : req.prompt)
        R1_CHECK(t >= 0 && t < V, "[generate] prompt token id ", t, " outside [0, n_vocab=", V,
                 ")");
    R1_CHECK(req.max_tokens >= 1, "[generate] max_tokens must be >= 1 (got ", req.max_tokens,
             ")");
    R1_CHECK(req.vocab_limit >= 0 && req.vocab_limit <= V, "[generate] vocab_limit ",
             req.vocab_limit, " outside [0, n_vocab=", V, "]");
    req.sampler.validate();
    Seq s;
    s.id = next_id_++;
    s.sampler = std::make_unique<Sampler>(req.sampler);
    s.req = std::move(req);
    queue_.push_back(std::move(s));
    return queue_.back().id;
}

std::vector<GenResult> Generator::step() {
    // admit: whole prompts, while slots (and the optional token budget) allow
    int64_t step_tokens = 0;
    auto chunk = [&](const Seq& s) {  // tokens s feeds in this step
        const int64_t rem = (int64_t)(s.pending.size() - s.fed);
        return opt_.prefill_chunk > 0 ? std::min(rem, opt_.prefill_chunk) : rem;
    };
    for (const Seq& s : active_) step_tokens += chunk(s);
    while (!queue_.empty() && cache_.n_free() > 0) {
        const std::vector<int32_t>& prompt = queue_.front().req.prompt;
        const int64_t P = (int64_t)prompt.size();
        // an active sequence with the same prompt: share its cached prefix (see engine.h)
        const Seq* src = nullptr;
        for (const Seq& a : active_)
            if (P > 1 && a.req.prompt == prompt) {
                src = &a;
                break;
            }
        if (src && cache_.length(src->slot) < P - 1) break;  // joined this step: wait one
        const int64_t n = src ? 1 : (opt_.prefill_chunk > 0 ? std::min(P, opt_.prefill_chunk) : P);
        if (opt_.max_step_tokens > 0 && step_tokens > 0 && step_tokens + n > opt_.max_step_tokens)
            break;
        Seq s = std::move(queue_.front());
        queue_.pop_front();
        s.slot = cache_.acquire();
        s.history = s.req.prompt;
        if (src) {
            cache_.copy_prefix(src->slot, s.slot, P - 1);
            s.pending.assign(1, s.req.prompt.back());
            stats_.shared_prompt_tokens += P - 1;
        } else {
            s.pending = s.req.prompt;
        }
        s.res.id = s.id;
        s.res.n_prompt = P;
        stats_.prompt_tokens += (int64_t)s.pending.size();
        step_tokens += n;
        active_.push_back(std::move(s));
    }
    events_.clear();
    if (active_.empty()) return {};

    std::vector<SeqInput> batch(active_.size());
    for (size_t i = 0; i < active_.size(); i++)
        batch[i] = {active_[i].slot, active_[i].pending.data() + active_[i].fed,
                    chunk(active_[i])};
    const float* logits = fwd_.run(cache_, batch);  // [S, V]
    stats_.steps++;

    const int64_t V = model_.config().n_vocab;
    std::vector<GenResult> finished;
    std::vector<Seq> still;
    still.reserve(active_.size());
    for (size_t i = 0; i < active_.size(); i++) {
        Seq& s = active_[i];
        s.fed += (size_t)batch[i].n_tokens;
        if (s.fed < s.pending.size()) {  // prompt chunk: nothing to sample yet
            still.push_back(std::move(s));
            continue;
        }
        s.fed = 0;
        const float* row = logits + (int64_t)i * V;
        const int64_t nv = s.req.vocab_limit > 0 ? s.req.vocab_limit : V;
        const int32_t tok = s.sampler->sample(row, nv, s.history);
        s.res.tokens.push_back(tok);
        s.res.logprobs.push_back(log_softmax_at(row, V, tok));
        s.history.push_back(tok);
        stats_.generated_tokens++;
        const bool stop =
            std::find(s.req.stop_ids.begin(), s.req.stop_ids.end(), tok) != s.req.stop_ids.end();
        const bool full = (int64_t)s.res.tokens.size() >= s.req.max_tokens ||
                          cache_.length(s.slot) >= cache_.n_ctx();  // no room to feed tok
        events_.push_back({s.id, tok, s.res.logprobs.back(), stop || full});
        if (stop || full) {
            s.res.finish_reason = stop ? "stop" : "length";
            cache_.release(s.slot);
            stats_.completed++;
            finished.push_back(std::move(s.res));
        } else {
            s.pending.assign(1, tok);
            still.push_back(std::move(s));
        }
    }
    active_ = std::move(still);
    return finished;
}

bool Generator::cancel(int64_t id) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if (it->id == id) {
            queue_.erase(it);
            return true;
        }
    for (auto it = active_.begin(); it != active_.end(); ++it)
        if (it->id == id) {
            cache_.release(it->slot);
            active_.erase(it);
            return true;
        }
    return false;
}

std::vector<GenResult> Generator::run() {
    std::vector<GenResult> all;
    while (!done()) {
        std::vector<GenResult> r = step();
        for (auto& x : r) all.push_back(std::move(x));
    }
    std::sort(all.begin(), all.end(),
              [](const GenResult& a, const GenResult& b) { return a.id < b.id; });
    return all;
}

}  // namespace r1
