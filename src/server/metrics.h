// Server counters and gauges, rendered as Prometheus text (GET /metrics).
//
// Written from the HTTP handler threads (request outcomes) and the engine thread (tokens,
// slots, throughput); every field is atomic or behind the mutex, so render() can run at any
// time. Names follow Prometheus conventions (r1_ prefix, _total for counters, base units).
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace r1::server {

class Metrics {
public:
    // One finished HTTP request on an API endpoint ("chat", "completions", "models", ...).
    void count_request(const std::string& endpoint, int status);

    std::atomic<int64_t> prompt_tokens{0};      // prompt tokens of admitted requests
    std::atomic<int64_t> generated_tokens{0};   // sampled tokens (all choices)
    std::atomic<int64_t> reasoning_tokens{0};   // of which inside <think>
    std::atomic<int64_t> sequences_completed{0};
    std::atomic<int64_t> sequences_cancelled{0};// client gone (disconnect) before the end
    std::atomic<int64_t> rejected_busy{0};      // 503: queue full or draining
    std::atomic<int64_t> engine_steps{0};
    std::atomic<int64_t> busy_us{0};            // engine time spent in steps (microseconds)

    std::atomic<int64_t> slots_total{0};
    std::atomic<int64_t> slots_busy{0};         // sequences holding a KV-cache slot
    std::atomic<int64_t> queue_depth{0};        // sequences waiting for a slot
    std::atomic<int64_t> requests_in_flight{0}; // API requests admitted and not yet answered
    std::atomic<double> tokens_per_second{0};   // decode throughput over the recent busy steps

    std::string render() const;

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, int64_t> requests_;
};

}  // namespace r1::server
