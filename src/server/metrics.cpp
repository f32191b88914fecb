// Prometheus text exposition (format 0.0.4) of the server's Metrics.
#include "server/metrics.h"

#include <sstream>

namespace r1::server {

void Metrics::count_request(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lk(mu_);
    requests_[{endpoint, status}]++;
}

namespace {
void metric(std::ostringstream& os, const char* name, const char* type, const char* help, double v) {
    os << "# HELP " << name << ' ' << help << '\n'
       << "# TYPE " << name << ' ' << type << '\n'
       << name << ' ' << v << '\n';
}
}  // namespace

std::string Metrics::render() const {
    std::ostringstream os;
    os.precision(10);
    os << "# HELP r1_requests_total API requests answered, by endpoint and HTTP status\n"
       << "# TYPE r1_requests_total counter\n";
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (const auto& [k, n] : requests_)
            os << "r1_requests_total{endpoint=\"" << k.first << "\",status=\"" << k.second << "\"} " << n
               << '\n';
    }
    metric(os, "r1_prompt_tokens_total", "counter", "Prompt tokens of admitted requests", (double)prompt_tokens);
    metric(os, "r1_generated_tokens_total", "counter", "Tokens sampled, all choices", (double)generated_tokens);
    metric(os, "r1_reasoning_tokens_total", "counter", "Sampled tokens inside the <think> block",
           (double)reasoning_tokens);
    metric(os, "r1_sequences_completed_total", "counter", "Choices generated to the end (stop or length)",
           (double)sequences_completed);
    metric(os, "r1_sequences_cancelled_total", "counter",
           "Choices dropped because the client disconnected", (double)sequences_cancelled);
    metric(os, "r1_requests_rejected_busy_total", "counter", "Requests answered 503 (queue full or draining)",
           (double)rejected_busy);
    metric(os, "r1_engine_steps_total", "counter", "Batched forward steps", (double)engine_steps);
    metric(os, "r1_engine_busy_seconds_total", "counter", "Engine time spent in forward steps",
           (double)busy_us / 1e6);
    metric(os, "r1_slots_total", "gauge", "KV-cache slots (sequences decoded together)", (double)slots_total);
    metric(os, "r1_slots_busy", "gauge", "Slots holding an active sequence", (double)slots_busy);
    metric(os, "r1_queue_depth", "gauge", "Sequences waiting for a slot", (double)queue_depth);
    metric(os, "r1_requests_in_flight", "gauge", "API requests admitted and not yet answered",
           (double)requests_in_flight);
    metric(os, "r1_tokens_per_second", "gauge", "Generated tokens per second of engine time, recent steps",
           (double)tokens_per_second);
    return os.str();
}

}  // namespace r1::server
