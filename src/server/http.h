// The HTTP side of `r1 serve` (cpp-httplib): routes, API-key check, request/response limits,
// SSE streaming, and the graceful drain. All model work is handed to the EngineWorker; handler
// threads only parse, tokenise (the tokenizers are immutable and thread-safe), submit and
// stream what the engine sends back.
//
// Endpoints
//   POST /v1/chat/completions  stream (SSE) or not; reasoning_content / content split
//   POST /v1/completions       raw prompt, text out (no chat template, no split)
//   GET  /v1/models            the one served model
//   GET  /health               {"status":"ok"} (503 {"status":"draining"} while shutting down)
//   GET  /metrics              Prometheus text
//   GET  /                     the chat page (server/page.h)
// /v1/* need "Authorization: Bearer KEY" when a key is set; /, /health, /metrics do not.
// Errors are OpenAI-shaped JSON bodies: 400 bad input, 401 bad key, 404 unknown model or path,
// 413 body too large, 503 queue full or draining, 500 engine failure.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "generate/kv_cache.h"
#include "generate/model_loader.h"

namespace r1::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;               // 0: any free port (see HttpServer::port())
    std::string api_key;           // empty: no authentication
    std::string model_id;          // the name clients use; empty: the model file's stem
    int64_t parallel = 4;          // KV-cache slots = sequences decoded together
    int64_t ctx = 0;               // positions per slot (0: min(model n_ctx, 4096))
    int64_t queue = 64;            // sequences that may wait for a slot before 503
    int64_t max_tokens_limit = 0;  // largest max_tokens accepted (0: the context size)
    int64_t max_n = 8;             // largest n accepted
    int64_t body_limit = 1 << 20;  // request body bytes (413 beyond)
    int64_t prefill_chunk = 256;   // prompt tokens per step per sequence
    KvType kv_type = KvType::f32;  // KV cache storage (--kv-type)
    float temperature = 0.6f;      // defaults when a request leaves them out
    float top_p = 0.95f;
    bool split_reasoning = true;   // false: <think> stays inline in content (reasoning_format none)
    double drain_timeout_s = 30;   // SIGTERM: how long in-flight requests may take to finish
    bool log_requests = true;      // one stderr line per API request
};

class HttpServer {
public:
    HttpServer(const LoadedModel& model, ServerOptions opt);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds the listening socket; throws r1::Error if the address is unusable. Returns the port.
    int bind();
    int port() const;
    const ServerOptions& options() const;
    // Serves until shutdown() completes. Call bind() first.
    void run();
    // Graceful stop, callable from any thread (a signal-waiting thread): refuse new requests
    // (503), let admitted ones finish (up to drain_timeout_s; then they are cancelled), then
    // stop the listener so run() returns.
    void shutdown();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace r1::server
