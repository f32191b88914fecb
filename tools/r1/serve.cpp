// r1 serve — an OpenAI-compatible HTTP server (chat/completions with DeepSeek-style
// reasoning_content, completions, models, health, Prometheus metrics, a web chat page) over
// the continuous-batching engine. See docs/serving.md and src/server/http.h.
//
// Signals: SIGTERM/SIGINT are blocked in every thread and taken by one waiting thread: the
// first one drains (new requests get 503, admitted ones finish, then the process exits 0); a
// second one cuts the drain short.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <pthread.h>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "command.h"
#include "kv_option.h"
#include "core/error.h"
#include "core/threads.h"
#include "generate/model_loader.h"
#include "server/http.h"

namespace {

struct ServeOptions {
    std::string model;
    std::string port_file;
    int threads = 0;
    bool json = false, quiet = false, no_split = false;
    std::string kv_type = "f32";
    r1::server::ServerOptions srv;
};

int run_serve(ServeOptions o) {
    if (o.threads > 0) r1::set_num_threads(o.threads);
    R1_CHECK(o.srv.top_p > 0, "[serve] --top-p must be in (0, 1], got ", o.srv.top_p);
    std::signal(SIGPIPE, SIG_IGN);  // a client closing its socket must not kill the server
    // Block the shutdown signals before any thread exists, so only the waiter below gets them.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    const std::unique_ptr<r1::LoadedModel> model = r1::load_model_for_inference(o.model);
    o.srv.log_requests = !o.quiet;
    o.srv.split_reasoning = !o.no_split;
    o.srv.kv_type = r1::cli::kv_type_option(o.kv_type);
    r1::server::HttpServer server(*model, o.srv);
    const int port = server.bind();
    const r1::server::ServerOptions& so = server.options();
    if (!o.port_file.empty()) {
        // written to a temporary name and renamed, so a reader never sees a partial number
        const std::string tmp = o.port_file + ".tmp";
        {
            std::ofstream f(tmp);
            R1_CHECK(f && (f << port << "\n"), "[serve] cannot write --port-file ", o.port_file);
        }
        R1_CHECK(std::rename(tmp.c_str(), o.port_file.c_str()) == 0, "[serve] cannot write --port-file ",
                 o.port_file);
    }
    if (o.json) {
        nlohmann::json j = {{"host", so.host},  {"port", port},
                            {"model", so.model_id}, {"n_ctx", model->config().n_ctx},
                            {"parallel", so.parallel}, {"kv_type", o.kv_type}, {"url", "http://" + so.host + ":" + std::to_string(port)}};
        std::printf("%s\n", j.dump().c_str());
        std::fflush(stdout);
    }
    std::fprintf(stderr, "[serve] %s (%s) on http://%s:%d  — %lld slots, chat page at /, API at /v1%s\n",
                 so.model_id.c_str(), model->is_gguf() ? "gguf" : "checkpoint", so.host.c_str(), port,
                 (long long)so.parallel, so.api_key.empty() ? "" : " (API key required)");

    std::thread waiter([&server, sigs] {
        int sig = 0;
        sigwait(&sigs, &sig);
        std::fprintf(stderr, "[serve] signal %d: draining in-flight requests (send again to stop now)\n", sig);
        std::thread second([sigs, &server] {
            int s2 = 0;
            sigwait(&sigs, &s2);
            std::fprintf(stderr, "[serve] second signal: exiting now\n");
            std::_Exit(130);
        });
        second.detach();
        server.shutdown();
    });
    waiter.detach();
    server.run();
    std::fprintf(stderr, "[serve] stopped\n");
    return 0;
}

r1::cli::Register reg("serve", "OpenAI-compatible HTTP server with reasoning_content and a chat page",
                      [](CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    app.add_option("--model", o->model, "model: a GGUF file or a checkpoint written by r1 train (ckpt.r1)")
        ->required();
    app.add_option("--host", o->srv.host, "address to listen on")->capture_default_str();
    app.add_option("--port", o->srv.port, "TCP port (0 = any free port; see --port-file / --json)")
        ->capture_default_str()->check(CLI::Range(0, 65535));
    app.add_option("--port-file", o->port_file, "write the bound port to this file once listening");
    app.add_option("--api-key", o->srv.api_key, "require 'Authorization: Bearer KEY' on /v1/* (default: env R1_API_KEY)")
        ->envname("R1_API_KEY");
    app.add_option("--alias", o->srv.model_id, "model id clients use (default: the file name)");
    app.add_option("--parallel", o->srv.parallel, "sequences decoded together (KV-cache slots)")
        ->capture_default_str()->check(CLI::Range((int64_t)1, (int64_t)256));
    app.add_option("--ctx", o->srv.ctx, "context positions per slot (0 = min(model, 4096))")
        ->capture_default_str()->check(CLI::Range((int64_t)0, (int64_t)1 << 20));
    app.add_option("--queue", o->srv.queue, "sequences that may wait for a slot; more get 503")
        ->capture_default_str()->check(CLI::Range((int64_t)0, (int64_t)1 << 16));
    app.add_option("--max-tokens-limit", o->srv.max_tokens_limit, "largest max_tokens accepted (0 = the context)")
        ->capture_default_str()->check(CLI::Range((int64_t)0, (int64_t)1 << 30));
    app.add_option("--max-n", o->srv.max_n, "largest n (choices per request) accepted")
        ->capture_default_str()->check(CLI::Range((int64_t)1, (int64_t)256));
    app.add_option("--body-limit", o->srv.body_limit, "largest request body in bytes (413 beyond)")
        ->capture_default_str()->check(CLI::Range((int64_t)1024, (int64_t)1 << 30));
    app.add_option("--prefill-chunk", o->srv.prefill_chunk, "prompt tokens fed per step per sequence (0 = all)")
        ->capture_default_str()->check(CLI::Range((int64_t)0, (int64_t)1 << 20));
    app.add_option("--temperature", o->srv.temperature, "default temperature for requests without one")
        ->capture_default_str()->check(CLI::Range(0.0, 2.0));
    app.add_option("--top-p", o->srv.top_p, "default top_p for requests without one")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0));
    app.add_flag("--reasoning-inline", o->no_split,
                 "keep <think>…</think> inline in content (no reasoning_content; per request: reasoning_format)");
    app.add_option("--drain-timeout", o->srv.drain_timeout_s, "seconds SIGTERM waits for in-flight requests")
        ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
    app.add_option("--threads", o->threads, "compute threads (0 = R1_THREADS or all cores)")
        ->check(CLI::Range(0, 1024));
    r1::cli::add_kv_type_option(app, o->kv_type);
    app.add_flag("--json", o->json, "print one JSON line {host, port, model, url, ...} on stdout once listening");
    app.add_flag("--quiet", o->quiet, "no per-request log lines on stderr");
    return [o] { return run_serve(*o); };
});

}  // namespace
