// The engine worker: ONE thread owns the Generator (generate/engine.h: continuous batching)
// and everything that touches the model; HTTP handler threads talk to it only through
// submit() (a mutex-protected inbox) and a per-request Channel (mutex + condition variable).
//
//   handler thread                       engine thread
//   submit(JobSpec) ── inbox ──────────▶ Generator::add (n choices, seeds seed+i)
//                                        loop: step() → last_events() → ChoiceText per choice
//   Channel::wait() ◀── deltas/finish ── Channel::push / finish
//   Channel::cancel() (client gone) ───▶ seen before the next step: Generator::cancel, slot freed
//
// Admission is bounded: a job is refused (Admit::busy → HTTP 503) when its choices would take
// the sequences admitted and unfinished past n_slots + max_queue. Stop strings are matched on
// the engine thread, so a hit cancels the sequence at once (no wasted decode steps).
//
// Shutdown: stop_accepting() refuses new jobs (draining); wait_idle() waits until every
// admitted job has finished; the destructor cancels whatever is left and joins the thread.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "generate/engine.h"
#include "generate/model_loader.h"
#include "server/metrics.h"
#include "server/stream.h"

namespace r1::server {

struct JobSpec {
    std::vector<int32_t> prompt;   // >= 1 token, < n_ctx (checked by the caller)
    int64_t n = 1;                 // choices, sampled as separate sequences
    int64_t max_tokens = 1;        // per choice, >= 1
    SamplerParams sampler;         // choice i uses seed + i
    std::vector<std::string> stop; // stop strings (text); the tokenizer's EOS always stops
    bool split = true;             // reasoning_content / content split
    bool prefilled_think = false;  // the prompt ends inside <think>
    bool ignore_eos = false;       // generate past the EOS id (only max_tokens / context end it)
};

// The stream of one request's results, written by the engine thread, read by one handler.
class Channel {
public:
    struct Batch {
        std::vector<ChoiceDelta> deltas;  // in order; a choice's last delta has finish_reason
        bool done = false;                // every choice finished; usage is final
        Usage usage;
        std::string error;                // non-empty: the engine failed this request
    };
    // Waits up to `timeout` for news, then returns (and clears) what arrived.
    Batch wait(std::chrono::milliseconds timeout);
    // The reader is gone (client disconnected): the engine drops the request's sequences.
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    // engine side
    void push(std::vector<ChoiceDelta>&& deltas);
    void finish(const Usage& usage);
    void fail(const std::string& message);

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<ChoiceDelta> deltas_;
    bool done_ = false;
    Usage usage_;
    std::string error_;
    std::atomic<bool> cancelled_{false};
};

struct WorkerOptions {
    int64_t n_slots = 4;        // sequences decoded together
    int64_t n_ctx = 0;          // positions per slot (0 = the model's)
    int64_t max_queue = 64;     // sequences allowed to wait for a slot
    int64_t prefill_chunk = 256;// prompt tokens per step per sequence (0 = whole prompt)
    KvType kv_type = KvType::f32;  // KV cache storage (generate/kv_cache.h)
};

class EngineWorker {
public:
    // model must outlive the worker. Starts the engine thread.
    EngineWorker(const LoadedModel& model, const WorkerOptions& opt, Metrics& metrics);
    ~EngineWorker();
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    enum class Admit { ok, busy, draining };
    // Thread-safe. On ok, `out` is the request's channel.
    Admit submit(JobSpec spec, std::shared_ptr<Channel>& out);

    void stop_accepting();
    bool accepting() const { return accepting_.load(); }
    // Blocks until no admitted job is unfinished, or the timeout passes; true when idle.
    bool wait_idle(std::chrono::milliseconds timeout);
    int64_t outstanding_jobs() const { return outstanding_jobs_.load(); }
    // Stops the engine thread now: every unfinished job fails ("server shutting down") and
    // later submits are refused. Idempotent; the destructor calls it.
    void shutdown_now();

    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_slots() const { return opt_.n_slots; }
    KvType kv_type() const { return opt_.kv_type; }
    int64_t kv_cache_bytes() const { return kv_bytes_; }  // the whole slot pool

private:
    struct Choice {
        int64_t gen_id = -1;
        std::unique_ptr<ChoiceText> text;
        bool done = false;
        bool first = true;  // no delta sent yet (the first chat chunk carries the role)
    };
    struct Job {
        std::shared_ptr<Channel> ch;
        JobSpec spec;
        std::vector<Choice> choices;
        int64_t n_open = 0;
        Usage usage;
    };

    void loop();
    void admit(std::unique_ptr<Job> job);
    void process_step(const std::vector<GenResult>& results);
    void finish_choice(Job& job, int64_t index, const std::string& reason,
                       std::vector<ChoiceDelta>& out);
    void drop_cancelled();
    void fail_all(const std::string& message);
    void retire(Job& job);

    const LoadedModel& model_;
    WorkerOptions opt_;
    Metrics& metrics_;
    int64_t n_ctx_ = 0, kv_bytes_ = 0;
    std::vector<int32_t> stop_ids_;

    // shared with handler threads (mu_)
    std::mutex mu_;
    std::condition_variable cv_;       // inbox / stop
    std::condition_variable idle_cv_;  // outstanding_jobs_ reached 0
    std::deque<std::unique_ptr<Job>> inbox_;
    bool stop_ = false;
    int64_t outstanding_seqs_ = 0;     // admitted choices not finished (under mu_)
    std::atomic<int64_t> outstanding_jobs_{0};
    std::atomic<bool> accepting_{true};

    // engine thread only
    std::unique_ptr<Generator> gen_;
    std::vector<std::unique_ptr<Job>> jobs_;
    std::unordered_map<int64_t, std::pair<Job*, int64_t>> by_gen_id_;
    std::vector<std::pair<int64_t, int64_t>> recent_;  // (tokens, us) of the last steps
    size_t recent_pos_ = 0;

    std::thread thread_;
};

}  // namespace r1::server
