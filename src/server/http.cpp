// cpp-httplib glue for `r1 serve` (see http.h for the endpoint list and the error contract).
//
// Debian's libcpp-httplib is a compiled library built with OpenSSL, zlib and brotli support;
// those macros change the layout of httplib::Request, so they must be defined exactly as the
// library was built (its pkg-config Cflags) before the header is included.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include "server/http.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "core/error.h"
#include "generate/chat_format.h"
#include "server/api.h"
#include "server/metrics.h"
#include "server/page.h"
#include "server/stream.h"
#include "server/worker.h"

namespace r1::server {

using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

std::string endpoint_label(const std::string& path) {
    if (path == "/v1/chat/completions" || path == "/chat/completions") return "chat";
    if (path == "/v1/completions" || path == "/completions") return "completions";
    if (path == "/v1/models" || path == "/models") return "models";
    if (path == "/health") return "health";
    if (path == "/metrics") return "metrics";
    if (path == "/") return "page";
    return "other";
}

std::string model_stem(const std::string& path) {
    std::string s = path;
    const size_t slash = s.find_last_of('/');
    if (slash != std::string::npos) s = s.substr(slash + 1);
    const size_t dot = s.find_last_of('.');
    if (dot != std::string::npos && dot > 0) s = s.substr(0, dot);
    if (s == "ckpt") {  // runs/NAME/ckpt.r1 → NAME
        const size_t end = path.find_last_of('/');
        if (end != std::string::npos && end > 0) {
            const size_t beg = path.find_last_of('/', end - 1);
            s = path.substr(beg == std::string::npos ? 0 : beg + 1, end - (beg == std::string::npos ? 0 : beg + 1));
        }
    }
    return s.empty() ? "r1" : s;
}

std::string random_hex(std::mt19937_64& rng, std::mutex& mu, int n) {
    std::lock_guard<std::mutex> lk(mu);
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; i++) s += hex[rng() & 15];
    return s;
}

}  // namespace

struct HttpServer::Impl {
    const LoadedModel& model;
    ServerOptions opt;
    ApiLimits limits;
    SamplingDefaults defaults;
    Metrics metrics;
    std::unique_ptr<EngineWorker> worker;
    httplib::Server svr;
    int bound_port = -1;
    std::atomic<int64_t> open_streams{0};
    std::atomic<bool> draining{false};
    std::mutex rng_mu;
    std::mt19937_64 rng{std::random_device{}()};

    Impl(const LoadedModel& m, ServerOptions o) : model(m), opt(std::move(o)) {
        if (opt.model_id.empty()) opt.model_id = model_stem(model.path());
        WorkerOptions wo;
        wo.n_slots = opt.parallel;
        wo.n_ctx = opt.ctx > 0 ? opt.ctx : std::min<int64_t>(model.config().n_ctx, 4096);
        wo.max_queue = opt.queue;
        wo.prefill_chunk = opt.prefill_chunk;
        wo.kv_type = opt.kv_type;
        R1_CHECK(opt.body_limit >= 1024, "[serve] --body-limit must be >= 1024 bytes, got ", opt.body_limit);
        R1_CHECK(opt.max_n >= 1, "[serve] --max-n must be >= 1, got ", opt.max_n);
        worker = std::make_unique<EngineWorker>(model, wo, metrics);
        limits.model_id = opt.model_id;
        limits.max_tokens = opt.max_tokens_limit > 0 ? opt.max_tokens_limit : worker->n_ctx();
        limits.max_n = opt.max_n;
        defaults.temperature = opt.temperature;
        defaults.top_p = opt.top_p;
        setup_routes();
    }

    static void send_error(httplib::Response& res, const ApiError& e) {
        res.status = e.status;
        res.set_content(dump_json(error_body(e)), "application/json");
    }

    bool check_auth(const httplib::Request& req, httplib::Response& res) {
        if (authorized(req.get_header_value("Authorization"), opt.api_key)) return true;
        send_error(res, ApiError(401, req.has_header("Authorization")
                                          ? "Incorrect API key provided"
                                          : "Missing API key: send the header 'Authorization: Bearer KEY'",
                                 "", "invalid_api_key"));
        return false;
    }

    void setup_routes() {
        svr.set_payload_max_length((size_t)opt.body_limit);
        const size_t n_threads = (size_t)std::clamp<int64_t>(opt.parallel + opt.queue + 8, 8, 512);
        svr.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
        svr.set_default_headers({{"Access-Control-Allow-Origin", "*"}, {"Server", "r1.cpp"}});

        // Responses that reach here without a body (unknown path, payload too large, httplib's
        // own 400s) get an OpenAI-style error body; handler-made errors already have one.
        svr.set_error_handler(httplib::Server::HandlerWithResponse(
                                  [](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string msg;
            if (res.status == 404) msg = "Unknown endpoint " + req.method + " " + req.path;
            else if (res.status == 413) msg = "Request body too large";
            else if (res.status == 400) msg = "Malformed HTTP request";
            else msg = "HTTP error " + std::to_string(res.status);
            ApiError e(res.status, msg, "", res.status == 404 ? "unknown_url" : "");
            res.set_content(dump_json(error_body(e)), "application/json");
            return httplib::Server::HandlerResponse::Handled;
        }));
        svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string msg = "internal error";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                msg = e.what();
            } catch (...) {
            }
            send_error(res, ApiError(500, msg));
        });
        svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            const std::string ep = endpoint_label(req.path);
            metrics.count_request(ep, res.status);
            if (opt.log_requests && ep != "metrics" && ep != "health")
                std::fprintf(stderr, "[serve] %d %s %s\n", res.status, req.method.c_str(), req.path.c_str());
        });

        svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
            const std::string_view page = chat_page_html();
            res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
        });
        svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            if (draining) {
                res.status = 503;
                res.set_content(R"({"status":"draining"})", "application/json");
            } else {
                res.set_content(R"({"status":"ok"})", "application/json");
            }
        });
        svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(metrics.render(), "text/plain; version=0.0.4");
        });
        auto models = [this](const httplib::Request& req, httplib::Response& res) {
            if (!check_auth(req, res)) return;
            json m = {{"id", opt.model_id},
                      {"object", "model"},
                      {"created", (int64_t)std::time(nullptr)},
                      {"owned_by", "r1.cpp"},
                      {"meta", {{"n_ctx", worker->n_ctx()},
                                {"n_vocab", model.config().n_vocab},
                                {"parallel", worker->n_slots()},
                                {"kv_type", kv_type_name(worker->kv_type())},
                                {"kv_cache_bytes", worker->kv_cache_bytes()},
                                {"format", model.is_gguf() ? "gguf" : "r1-checkpoint"}}}};
            res.set_content(dump_json(json{{"object", "list"}, {"data", json::array({m})}}), "application/json");
        };
        svr.Get("/v1/models", models);
        svr.Get("/models", models);
        auto chat = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, true); };
        auto completions = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, false); };
        svr.Post("/v1/chat/completions", chat);
        svr.Post("/chat/completions", chat);
        svr.Post("/v1/completions", completions);
        svr.Post("/completions", completions);
        svr.Options(R"(/.*)", [](const httplib::Request&, httplib::Response& res) {
            res.status = 204;
            res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        });
    }

    // Shared by both completion endpoints: validate → tokenise → submit → answer or stream.
    void handle(const httplib::Request& req, httplib::Response& res, bool chat) {
        if (!check_auth(req, res)) return;
        try {
            CompletionParams p;
            std::vector<int32_t> prompt;
            bool prefilled = false;
            if (chat) {
                ChatRequest r = parse_chat_request(req.body, limits, defaults);
                p = std::move(r.params);
                ChatPrompt cp;
                try {
                    cp = render_r1_chat(r.messages, /*add_generation_prompt=*/true, /*add_bos=*/true);
                } catch (const Error& e) {
                    throw ApiError(400, e.what(), "messages");
                }
                prefilled = cp.think_prefilled;
                prompt = model.codec().encode(cp.text);
            } else {
                CompletionRequest r = parse_completion_request(req.body, limits, defaults);
                p = std::move(r.params);
                prompt = model.codec().encode_raw(r.prompt);
            }
            const int64_t n_ctx = worker->n_ctx();
            if (prompt.empty()) throw ApiError(400, "the prompt encodes to no tokens", chat ? "messages" : "prompt");
            if ((int64_t)prompt.size() >= n_ctx)
                throw ApiError(400,
                               "This model's context is " + std::to_string(n_ctx) + " tokens; the prompt has " +
                                   std::to_string(prompt.size()) + " tokens and leaves no room to generate",
                               chat ? "messages" : "prompt", "context_length_exceeded");
            JobSpec spec;
            spec.n = p.n;
            // generation also ends when the slot's context is full (finish_reason "length")
            spec.max_tokens = std::min<int64_t>(p.max_tokens.value_or(n_ctx), n_ctx - (int64_t)prompt.size());
            spec.prompt = std::move(prompt);
            spec.sampler.temperature = p.temperature;
            spec.sampler.top_p = p.top_p;
            spec.sampler.frequency_penalty = p.frequency_penalty;
            spec.sampler.presence_penalty = p.presence_penalty;
            if (p.frequency_penalty != 0 || p.presence_penalty != 0) spec.sampler.repeat_last_n = -1;
            {
                std::lock_guard<std::mutex> lk(rng_mu);
                spec.sampler.seed = p.seed ? *p.seed : rng();
            }
            spec.sampler.validate();
            spec.stop = p.stop;
            spec.split = chat && p.split_reasoning.value_or(opt.split_reasoning);
            spec.prefilled_think = prefilled;
            spec.ignore_eos = p.ignore_eos;

            ResponseMeta meta;
            meta.id = (chat ? "chatcmpl-" : "cmpl-") + random_hex(rng, rng_mu, 24);
            meta.created = (int64_t)std::time(nullptr);
            meta.model = opt.model_id;
            meta.chat = chat;
            meta.split = spec.split;

            std::shared_ptr<Channel> ch;
            const int64_t n_choices = spec.n;
            switch (worker->submit(std::move(spec), ch)) {
            case EngineWorker::Admit::ok: break;
            case EngineWorker::Admit::busy:
                metrics.rejected_busy++;
                throw ApiError(503, "The server is busy: every slot and queue place is taken; retry later", "",
                               "server_busy");
            case EngineWorker::Admit::draining:
                metrics.rejected_busy++;
                throw ApiError(503, "The server is shutting down", "", "server_shutting_down");
            }
            metrics.requests_in_flight++;
            if (p.stream) stream(res, ch, meta, n_choices, p.include_usage);
            else answer(res, ch, meta, n_choices);
        } catch (const ApiError& e) {
            send_error(res, e);
        } catch (const Error& e) {  // sampler validation and similar: the request's fault
            send_error(res, ApiError(400, e.what()));
        }
    }

    void answer(httplib::Response& res, const std::shared_ptr<Channel>& ch, const ResponseMeta& meta,
                int64_t n_choices) {
        std::vector<FinalChoice> choices((size_t)n_choices);
        Channel::Batch b;
        for (;;) {
            b = ch->wait(std::chrono::milliseconds(1000));
            for (const ChoiceDelta& d : b.deltas) {
                FinalChoice& c = choices[(size_t)d.index];
                c.text.append(d.text);
                if (!d.finish_reason.empty()) c.finish_reason = d.finish_reason;
            }
            if (b.done) break;
        }
        metrics.requests_in_flight--;
        if (!b.error.empty()) {
            send_error(res, ApiError(500, b.error));
            return;
        }
        const json j = meta.chat ? chat_response(meta, choices, b.usage) : completion_response(meta, choices, b.usage);
        res.set_content(dump_json(j), "application/json");
    }

    // Server-sent events. The provider runs on this handler's thread after the handler
    // returns; it blocks on the channel (with a timeout, sending SSE comment keep-alives so a
    // vanished client is noticed even while its request waits in the queue). A failed write
    // means the client is gone: the releaser then cancels the request, freeing its slot.
    void stream(httplib::Response& res, std::shared_ptr<Channel> ch, const ResponseMeta& meta,
                int64_t n_choices, bool include_usage) {
        struct State {
            std::shared_ptr<Channel> ch;
            ResponseMeta meta;
            std::vector<bool> first;
            bool include_usage = false;
            bool finished = false;
            steady::time_point last_write = steady::now();
        };
        auto st = std::make_shared<State>();
        st->ch = std::move(ch);
        st->meta = meta;
        st->first.assign((size_t)n_choices, true);
        st->include_usage = include_usage;
        open_streams++;
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [st](size_t, httplib::DataSink& sink) -> bool {
                Channel::Batch b = st->ch->wait(std::chrono::milliseconds(200));
                std::string out;
                for (const ChoiceDelta& d : b.deltas) {
                    const bool first = st->first[(size_t)d.index];
                    st->first[(size_t)d.index] = false;
                    out += sse_event(st->meta.chat ? chat_chunk(st->meta, d, first) : completion_chunk(st->meta, d));
                }
                if (b.done) {
                    if (!b.error.empty()) {
                        out += sse_event(error_body(ApiError(500, b.error)));
                    } else if (st->include_usage) {
                        out += sse_event(usage_chunk(st->meta, b.usage));
                    }
                    out += kSseDone;
                }
                if (out.empty() && steady::now() - st->last_write > std::chrono::seconds(1))
                    out = ": keep-alive\n\n";
                if (!out.empty()) {
                    if (!sink.write(out.data(), out.size())) return false;  // client gone
                    st->last_write = steady::now();
                }
                if (b.done) {
                    st->finished = true;
                    sink.done();
                }
                return true;
            },
            [this, st](bool) {
                if (!st->finished) st->ch->cancel();  // disconnect or shutdown mid-stream
                metrics.requests_in_flight--;
                open_streams--;
            });
    }
};

HttpServer::HttpServer(const LoadedModel& model, ServerOptions opt)
    : impl_(std::make_unique<Impl>(model, std::move(opt))) {}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
    Impl& s = *impl_;
    if (s.opt.port == 0) s.bound_port = s.svr.bind_to_any_port(s.opt.host);
    else s.bound_port = s.svr.bind_to_port(s.opt.host, s.opt.port) ? s.opt.port : -1;
    R1_CHECK(s.bound_port > 0, "[serve] cannot listen on ", s.opt.host, ":", s.opt.port,
             " (address in use, or not an address of this machine)");
    return s.bound_port;
}

int HttpServer::port() const { return impl_->bound_port; }
const ServerOptions& HttpServer::options() const { return impl_->opt; }

void HttpServer::run() {
    R1_CHECK(impl_->bound_port > 0, "[serve] run() before bind()");
    impl_->svr.listen_after_bind();
}

void HttpServer::shutdown() {
    Impl& s = *impl_;
    if (s.draining.exchange(true)) return;
    s.worker->stop_accepting();
    const auto deadline = steady::now() + std::chrono::milliseconds((int64_t)(s.opt.drain_timeout_s * 1000));
    const bool idle = s.worker->wait_idle(std::chrono::milliseconds((int64_t)(s.opt.drain_timeout_s * 1000)));
    if (!idle) {
        std::fprintf(stderr, "[serve] drain timeout: %lld requests still running are cut off\n",
                     (long long)s.worker->outstanding_jobs());
        s.worker->shutdown_now();  // fails what is left, so no handler waits forever
    }
    // streams write their last chunks after the engine finished them
    while (s.open_streams.load() > 0 && steady::now() < deadline + std::chrono::seconds(2))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.svr.stop();
}

}  // namespace r1::server
