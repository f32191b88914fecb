// The engine thread of `r1 serve` (see worker.h for the threading contract). The loop:
//   take new jobs from the inbox → drop cancelled jobs → one Generator::step() → route each
//   sampled token through its choice's ChoiceText → push the deltas to the channels → retire
//   finished jobs. It sleeps on the inbox condition variable only when nothing is running.
#include "server/worker.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace r1::server {

using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------- Channel

Channel::Batch Channel::wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return !deltas_.empty() || done_ || !error_.empty(); });
    Batch b;
    b.deltas.swap(deltas_);
    b.done = done_;
    b.usage = usage_;
    b.error = error_;
    return b;
}

void Channel::push(std::vector<ChoiceDelta>&& deltas) {
    if (deltas.empty()) return;
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (ChoiceDelta& d : deltas) deltas_.push_back(std::move(d));
    }
    cv_.notify_all();
}

void Channel::finish(const Usage& usage) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        usage_ = usage;
        done_ = true;
    }
    cv_.notify_all();
}

void Channel::fail(const std::string& message) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        error_ = message.empty() ? "engine error" : message;
        done_ = true;
    }
    cv_.notify_all();
}

// ---------------------------------------------------------------- EngineWorker

EngineWorker::EngineWorker(const LoadedModel& model, const WorkerOptions& opt, Metrics& metrics)
    : model_(model), opt_(opt), metrics_(metrics) {
    R1_CHECK(opt_.n_slots >= 1, "[serve] --parallel must be >= 1, got ", opt_.n_slots);
    R1_CHECK(opt_.max_queue >= 0, "[serve] --queue must be >= 0, got ", opt_.max_queue);
    const int64_t model_ctx = model.config().n_ctx;
    n_ctx_ = opt_.n_ctx > 0 ? std::min(opt_.n_ctx, model_ctx) : model_ctx;
    R1_CHECK(n_ctx_ >= 2, "[serve] context of ", n_ctx_, " positions is too small");
    stop_ids_ = model.codec().stop_ids();
    GeneratorOptions go;
    go.n_slots = opt_.n_slots;
    go.n_ctx = n_ctx_;
    go.prefill_chunk = opt_.prefill_chunk;
    go.kv_type = opt_.kv_type;
    gen_ = std::make_unique<Generator>(model.model(), go);
    kv_bytes_ = gen_->cache().bytes();
    metrics_.slots_total = opt_.n_slots;
    recent_.assign(64, {0, 0});
    thread_ = std::thread([this] { loop(); });
}

EngineWorker::~EngineWorker() { shutdown_now(); }

void EngineWorker::shutdown_now() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        accepting_ = false;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

EngineWorker::Admit EngineWorker::submit(JobSpec spec, std::shared_ptr<Channel>& out) {
    auto job = std::make_unique<Job>();
    job->ch = std::make_shared<Channel>();
    const int64_t n = spec.n;
    job->spec = std::move(spec);
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!accepting_ || stop_) return Admit::draining;
        if (outstanding_seqs_ + n > opt_.n_slots + opt_.max_queue) return Admit::busy;
        outstanding_seqs_ += n;
        outstanding_jobs_++;
        out = job->ch;
        inbox_.push_back(std::move(job));
    }
    cv_.notify_all();
    return Admit::ok;
}

void EngineWorker::stop_accepting() {
    std::lock_guard<std::mutex> lk(mu_);
    accepting_ = false;
}

bool EngineWorker::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu_);
    return idle_cv_.wait_for(lk, timeout, [&] { return outstanding_jobs_.load() == 0; });
}

void EngineWorker::admit(std::unique_ptr<Job> job) {
    Job& j = *job;
    const JobSpec& s = j.spec;
    j.usage.prompt_tokens = (int64_t)s.prompt.size();
    metrics_.prompt_tokens += j.usage.prompt_tokens;
    j.choices.resize((size_t)s.n);
    try {
        for (int64_t i = 0; i < s.n; i++) {
            GenRequest q;
            q.prompt = s.prompt;
            q.max_tokens = s.max_tokens;
            q.sampler = s.sampler;
            q.sampler.seed = s.sampler.seed + (uint64_t)i;
            if (!s.ignore_eos) q.stop_ids = stop_ids_;
            q.vocab_limit = model_.vocab_limit();
            Choice& c = j.choices[(size_t)i];
            c.text = std::make_unique<ChoiceText>(model_.codec(), s.stop, s.split, s.prefilled_think);
            c.gen_id = gen_->add(std::move(q));
            by_gen_id_[c.gen_id] = {&j, i};
            j.n_open++;
        }
    } catch (const std::exception& e) {
        // the handler validated everything it could; anything left is reported, not fatal
        for (Choice& c : j.choices)
            if (c.gen_id >= 0) {
                gen_->cancel(c.gen_id);
                by_gen_id_.erase(c.gen_id);
            }
        j.ch->fail(e.what());
        retire(j);
        return;
    }
    jobs_.push_back(std::move(job));
}

void EngineWorker::retire(Job& job) {
    int64_t seqs = (int64_t)job.choices.size();
    {
        std::lock_guard<std::mutex> lk(mu_);
        outstanding_seqs_ -= seqs;
        outstanding_jobs_--;
    }
    idle_cv_.notify_all();
}

void EngineWorker::finish_choice(Job& job, int64_t index, const std::string& reason,
                                 std::vector<ChoiceDelta>& out) {
    Choice& c = job.choices[(size_t)index];
    if (c.done) return;
    c.done = true;
    by_gen_id_.erase(c.gen_id);
    ChoiceDelta d;
    d.index = index;
    d.text = c.text->finish();
    d.finish_reason = reason;
    out.push_back(std::move(d));
    job.n_open--;
    job.usage.completion_tokens += c.text->n_tokens();
    job.usage.reasoning_tokens += c.text->n_reasoning_tokens();
    metrics_.reasoning_tokens += c.text->n_reasoning_tokens();
    metrics_.sequences_completed++;
}

void EngineWorker::drop_cancelled() {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        Job& j = **it;
        if (!j.ch->cancelled()) {
            ++it;
            continue;
        }
        for (Choice& c : j.choices)
            if (!c.done) {
                gen_->cancel(c.gen_id);
                by_gen_id_.erase(c.gen_id);
                metrics_.sequences_cancelled++;
            }
        retire(j);
        it = jobs_.erase(it);
    }
}

void EngineWorker::fail_all(const std::string& message) {
    for (auto& j : jobs_) {
        j->ch->fail(message);
        retire(*j);
    }
    jobs_.clear();
    by_gen_id_.clear();
    GeneratorOptions go;
    go.n_slots = opt_.n_slots;
    go.n_ctx = n_ctx_;
    go.prefill_chunk = opt_.prefill_chunk;
    go.kv_type = opt_.kv_type;
    gen_ = std::make_unique<Generator>(model_.model(), go);  // a clean cache for what comes next
}

void EngineWorker::process_step(const std::vector<GenResult>& results) {
    // deltas per job, pushed once per step (one lock per channel per step)
    std::unordered_map<Job*, std::vector<ChoiceDelta>> out;
    for (const TokenEvent& ev : gen_->last_events()) {
        auto it = by_gen_id_.find(ev.id);
        if (it == by_gen_id_.end()) continue;  // cancelled earlier in this step's bookkeeping
        Job& j = *it->second.first;
        const int64_t index = it->second.second;
        Choice& c = j.choices[(size_t)index];
        const bool is_stop_id = ev.finished && !j.spec.ignore_eos &&
                                std::find(stop_ids_.begin(), stop_ids_.end(), ev.token) != stop_ids_.end();
        if (is_stop_id) {
            // the EOS itself is not text, but it was sampled: it counts as a completion token
            j.usage.completion_tokens++;
            continue;
        }
        TextDelta d = c.text->push_token(ev.token);
        if (!d.empty()) {
            ChoiceDelta cd;
            cd.index = index;
            cd.text = std::move(d);
            out[&j].push_back(std::move(cd));
        }
        if (c.text->stopped() && !ev.finished) {
            gen_->cancel(ev.id);  // stop string: free the slot now
            finish_choice(j, index, "stop", out[&j]);
        }
    }
    for (const GenResult& r : results) {
        auto it = by_gen_id_.find(r.id);
        if (it == by_gen_id_.end()) continue;
        Job& j = *it->second.first;
        const int64_t index = it->second.second;
        // a stop string on the final token also ends as "stop"
        const bool stopped = j.choices[(size_t)index].text->stopped();
        finish_choice(j, index, stopped ? "stop" : r.finish_reason, out[&j]);
    }
    for (auto& [job, deltas] : out) job->ch->push(std::move(deltas));
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        Job& j = **it;
        if (j.n_open > 0) {
            ++it;
            continue;
        }
        j.ch->finish(j.usage);
        retire(j);
        it = jobs_.erase(it);
    }
}

void EngineWorker::loop() {
    for (;;) {
        std::deque<std::unique_ptr<Job>> incoming;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [&] { return stop_ || !inbox_.empty() || !gen_->done(); });
            if (stop_) break;
            incoming.swap(inbox_);
        }
        try {
            for (auto& j : incoming) admit(std::move(j));
            drop_cancelled();
            if (gen_->done()) {
                metrics_.slots_busy = 0;
                metrics_.queue_depth = 0;
                continue;
            }
            const auto t0 = clock_type::now();
            const std::vector<GenResult> results = gen_->step();
            const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();
            const int64_t toks = (int64_t)gen_->last_events().size();
            metrics_.engine_steps++;
            metrics_.busy_us += us;
            metrics_.generated_tokens += toks;
            recent_[recent_pos_++ % recent_.size()] = {toks, us};
            int64_t st = 0, su = 0;
            for (const auto& [t, u] : recent_) {
                st += t;
                su += u;
            }
            metrics_.tokens_per_second = su > 0 ? (double)st * 1e6 / (double)su : 0.0;
            process_step(results);
            metrics_.slots_busy = gen_->n_active();
            metrics_.queue_depth = gen_->n_queued();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "[serve] engine error: %s (failing %zu requests)\n", e.what(), jobs_.size());
            fail_all(std::string("engine error: ") + e.what());
        }
    }
    // stopping: whatever is still running is cancelled (the caller drained first if it wanted)
    for (auto& j : jobs_) {
        j->ch->fail("server shutting down");
        retire(*j);
    }
    jobs_.clear();
    std::deque<std::unique_ptr<Job>> rest;
    {
        std::lock_guard<std::mutex> lk(mu_);
        rest.swap(inbox_);
    }
    for (auto& j : rest) {
        j->ch->fail("server shutting down");
        retire(*j);
    }
}

}  // namespace r1::server
