// r1 bench train — training throughput on the exact configs of ../shared/peers/torch_train.py
// (B=16, T=256, random tokens, AdamW lr 1e-3), reported as one JSON line for scripts:
//   tok_s, ms_per_step (median of the timed steps), params, gflops (model FLOP/s) and mfu
//   against an fp32 GEMM peak this command measures itself on the same threads.
// r1 bench decode — inference speed on a GGUF model, the convention of
// ../shared/peers/llamacpp_bench.mjs: prompt token i = (i·7919 + 13) % 1000 + 100, prefill
// tok/s = P / (time to the first greedy token), decode tok/s = (G - 1) / (time of the other
// G - 1 greedy tokens), and the greedy token ids. --batch B > 1 also decodes B copies of the
// prompt together (one cache slot each; the prompt is prefilled once and its cache copied)
// and reports batch_decode_tok_s = B·(G - 1) / time.
// Warm-up (untimed, on a scratch slot): a short prefill and two decode steps first, so the
// timed region does not pay for first-touch page faults of the mapped weights, thread start
// and scratch allocation (without it a 128-token prefill looked 30x slower than decode).
// Also reported, for ceilings: weight_bytes_per_token (bytes of stored weights one decoded
// token reads: every matrix, routed experts scaled by k/E, one embedding row) and
// active_params (matrix parameters per token, the N of 2·N FLOPs, embedding lookup excluded).
// Model FLOPs per token (PaLM/nanoGPT convention, what "MFU" usually means):
//   6·N_active_matmul + 12·L·H·D·T   (forward+backward; attention counted non-causal)
#include <algorithm>
#include <string>
#include <chrono>
#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "kv_option.h"
#include "core/buffer.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "generate/forward.h"
#include "generate/kv_cache.h"
#include "io/gguf_model.h"
#include "model/model.h"
#include "ops/matmul.h"
#include "train/adamw.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best-of-5 GFLOP/s of a square fp32 GEMM (n = 1024): the peak MFU is measured against.
double measure_gemm_peak() {
    const int64_t n = 1024;
    r1::Buffer<float> a(n * n), b(n * n), c(n * n);
    r1::Rng rng(1);
    for (auto& x : a) x = rng.uniform();
    for (auto& x : b) x = rng.uniform();
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        auto t0 = Clock::now();
        r1::gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
        double s = seconds_since(t0);
        if (rep > 0) best = std::max(best, 2.0 * n * n * n / s / 1e9);
    }
    return best;
}

// Parameters that take part in a matmul for one token (the "N" of 6N).
double matmul_params_per_token(const r1::ModelConfig& c) {
    double per_token = 0;
    const r1::ParamSet layout(c);
    for (const auto& p : layout.infos()) {
        if (p.shape.size() < 2) continue;
        const std::string& n = p.name;
        if (n == "token_embd.weight" || n == "position_embd.weight") continue;  // lookups
        double numel = (double)p.numel;
        if (n.find("_exps.") != std::string::npos)  // only k of E experts run per token
            numel *= (double)c.n_expert_used / (double)c.n_expert;
        per_token += numel;
    }
    if (c.tie_embeddings) per_token += (double)c.n_vocab * c.n_embd;
    return per_token;
}

struct BenchTrainOptions {
    std::string config = "dense";
    int steps = 8;
    int batch = 16;
    int seq = 256;
    bool json = false;
};

int run_bench_train(const BenchTrainOptions& o) {
    r1::ModelConfig cfg = r1::ModelConfig::preset("bench-" + o.config);
    R1_CHECK(o.seq <= cfg.n_ctx, "[bench] --seq ", o.seq, " exceeds the model context ", cfg.n_ctx);
    r1::Model model(cfg);
    model.init_weights(0);
    r1::AdamWConfig acfg;
    acfg.beta1 = 0.9f, acfg.beta2 = 0.999f, acfg.weight_decay = 0.01f;  // torch defaults
    r1::AdamW opt(model.params(), acfg);

    const int64_t B = o.batch, T = o.seq, N = B * T;
    std::vector<int32_t> tokens(N), targets(N);
    r1::Rng rng(0);
    for (int64_t i = 0; i < N; i++) {
        tokens[i] = (int32_t)rng.below(cfg.n_vocab);
        targets[i] = (int32_t)rng.below(cfg.n_vocab);
    }
    const int warmup = 2;
    std::vector<double> times;
    double loss = 0;
    for (int s = 0; s < warmup + o.steps; s++) {
        auto t0 = Clock::now();
        model.params().zero_grad();
        loss = model.forward_backward(tokens.data(), targets.data(), B, T, 1.0f).loss;
        opt.step(model.params(), 1e-3f);
        if (s >= warmup) times.push_back(seconds_since(t0));
        if (!o.json)
            std::fprintf(stderr, "\rstep %d/%d  loss %.4f", s + 1, warmup + o.steps, loss);
    }
    if (!o.json) std::fprintf(stderr, "\n");
    std::sort(times.begin(), times.end());
    const double med = times[times.size() / 2];
    const double tok_s = (double)N / med;
    const double flops_per_token =
        6.0 * matmul_params_per_token(cfg) +
        12.0 * cfg.n_layer * cfg.n_head * cfg.head_dim * (double)T;
    const double gflops = flops_per_token * tok_s / 1e9;
    const double peak = measure_gemm_peak();

    nlohmann::json j = {{"engine", "r1.cpp"},
                        {"config", o.config},
                        {"params", model.params().size()},
                        {"threads", r1::num_threads()},
                        {"isa", r1::cpu_summary()},
                        {"batch", B},
                        {"seq", T},
                        {"tok_s", tok_s},
                        {"ms_per_step", med * 1000},
                        {"gflops", gflops},
                        {"gemm_peak_gflops", peak},
                        {"mfu", gflops / peak},
                        {"final_loss", loss}};
    if (o.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("bench train %s: %lld params, %.0f tok/s, %.1f ms/step, %.1f GFLOP/s "
                    "(MFU %.1f%% of a measured %.0f GFLOP/s GEMM peak)\n",
                    o.config.c_str(), (long long)model.params().size(), tok_s, med * 1000,
                    gflops, 100 * gflops / peak, peak);
    }
    return 0;
}

struct BenchDecodeOptions {
    std::string model;
    int prompt_tokens = 128;
    int gen_tokens = 64;
    int threads = 0;
    int batch = 1;
    bool warmup = true;
    std::string kv = "auto";
    std::string kv_type = "f32";
    bool json = false;
};

struct WeightTotals {
    double bytes_per_token = 0;  // stored bytes read per decoded token
    double active_params = 0;    // matrix parameters per token (2·this = FLOPs per token)
};

// From the GGUF tensor list: matrices (>= 2 dims) count fully, stacked routed experts
// (`*_exps`) by k/E; token_embd is a lookup (one row read, no FLOPs) unless the output head
// is tied to it. 1-D tensors (norms, biases) add their bytes only.
WeightTotals weight_totals(const r1::gguf::Reader& r, const r1::ModelConfig& cfg) {
    WeightTotals t;
    const bool tied = r.find_tensor("output.weight") == nullptr;
    for (const auto& ti : r.tensors()) {
        double bytes = (double)ti.nbytes, numel = (double)ti.numel();
        if (ti.name.find("_exps.") != std::string::npos && cfg.n_expert > 0) {
            const double f = (double)cfg.n_expert_used / (double)cfg.n_expert;
            bytes *= f, numel *= f;
        }
        if (ti.name == "token_embd.weight") {
            const double rows = (double)std::max<int64_t>(1, ti.numel() / std::max<int64_t>(1, ti.ne[0]));
            t.bytes_per_token += tied ? bytes : bytes / rows;
            if (tied) t.active_params += numel;
            continue;
        }
        t.bytes_per_token += bytes;
        if (ti.n_dims >= 2) t.active_params += numel;
    }
    return t;
}

// Greedy pick: the first index of the largest logit.
int32_t argmax(const float* x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int32_t)best;
}

int run_bench_decode(const BenchDecodeOptions& o) {
    if (o.threads > 0) r1::set_num_threads(o.threads);
    const auto gm = r1::GgufModel::open(o.model);
    const r1::ModelConfig& cfg = gm->model.config();
    const int64_t P = o.prompt_tokens, G = o.gen_tokens, B = o.batch, V = cfg.n_vocab;
    const int64_t ctx = P + G;
    R1_CHECK(ctx <= cfg.n_ctx, "[bench] --prompt-tokens + --gen-tokens = ", ctx,
             " exceeds the model context ", cfg.n_ctx);
    const r1::KvLayout layout = o.kv == "plain"    ? r1::KvLayout::plain
                                : o.kv == "latent" ? r1::KvLayout::mla_latent
                                                   : r1::KvLayout::automatic;
    const r1::KvType kv_type = r1::cli::kv_type_option(o.kv_type);
    std::vector<int32_t> prompt((size_t)P);
    for (int64_t i = 0; i < P; i++) prompt[(size_t)i] = (int32_t)(((i * 7919 + 13) % 1000 + 100) % V);

    // single sequence: prefill, then G - 1 decode steps
    std::vector<int32_t> out;
    double t_prefill = 0, t_dec = 0;
    int64_t kv_bytes_per_token = 0;
    {
        r1::KvCache cache(cfg, 2, ctx, layout, kv_type);
        kv_bytes_per_token = cache.bytes_per_token();
        r1::BatchForward fwd(gm->model);
        if (o.warmup) {  // untimed: touches every weight page, starts threads, sizes scratch
            const int32_t ws = cache.acquire();
            const int64_t wp = std::min<int64_t>(P, 32);
            const float* lg = fwd.run(cache, {{ws, prompt.data(), wp}});
            for (int i = 0; i < 2 && wp + i < ctx; i++) {
                const int32_t tok = argmax(lg, V);
                lg = fwd.run(cache, {{ws, &tok, 1}});
            }
            cache.release(ws);
        }
        const int32_t slot = cache.acquire();
        auto t0 = Clock::now();
        const float* lg = fwd.run(cache, {{slot, prompt.data(), P}});
        out.push_back(argmax(lg, V));
        t_prefill = seconds_since(t0);
        t0 = Clock::now();
        for (int64_t i = 1; i < G; i++) {
            const int32_t tok = out.back();
            lg = fwd.run(cache, {{slot, &tok, 1}});
            out.push_back(argmax(lg, V));
        }
        t_dec = seconds_since(t0);
    }
    const WeightTotals wt = weight_totals(gm->reader, cfg);
    const char* layout_name = cfg.attn == r1::AttnKind::mla && layout != r1::KvLayout::plain
                                  ? "mla_latent" : "plain";
    nlohmann::json j = {{"engine", "r1.cpp"},
                        {"model", o.model},
                        {"arch", r1::arch_name(cfg.arch)},
                        {"threads", r1::num_threads()},
                        {"prompt_tokens", P},
                        {"gen_tokens", G},
                        {"prefill_tok_s", (double)P / t_prefill},
                        {"decode_tok_s", G > 1 ? (double)(G - 1) / t_dec : 0.0},
                        {"weight_bytes_per_token", wt.bytes_per_token},
                        {"active_params", wt.active_params},
                        {"isa", r1::cpu_summary()},
                        {"kv_layout", layout_name},
                        {"kv_type", o.kv_type},
                        {"kv_bytes_per_token", kv_bytes_per_token},
                        {"kv_cache_bytes", kv_bytes_per_token * ctx},  // one sequence of P + G
                        {"tokens", out}};

    if (B > 1) {
        // B copies of the prompt decoded together; each must reproduce the single-sequence
        // greedy tokens up to float rounding of batched products (reported, not enforced).
        r1::KvCache cache(cfg, B, ctx, layout, kv_type);
        r1::BatchForward fwd(gm->model);
        std::vector<int32_t> slots((size_t)B), last((size_t)B);
        std::vector<r1::SeqInput> batch((size_t)B);
        for (int64_t b = 0; b < B; b++) {
            slots[(size_t)b] = cache.acquire();
            batch[(size_t)b] = {slots[(size_t)b], prompt.data(), P};
        }
        // prefill once, copy the cached prompt to the other slots (what Generator does for
        // a group of samples of one prompt)
        const float* lg = fwd.run(cache, {batch[0]});
        const int32_t first = argmax(lg, V);
        for (int64_t b = 1; b < B; b++) cache.copy_prefix(slots[0], slots[(size_t)b], P);
        int64_t same = 0;
        for (int64_t b = 0; b < B; b++) last[(size_t)b] = first;
        const auto t0 = Clock::now();
        for (int64_t i = 1; i < G; i++) {
            for (int64_t b = 0; b < B; b++) batch[(size_t)b] = {slots[(size_t)b], &last[(size_t)b], 1};
            lg = fwd.run(cache, batch);
            for (int64_t b = 0; b < B; b++) last[(size_t)b] = argmax(lg + b * V, V);
        }
        const double t = seconds_since(t0);
        for (int64_t b = 0; b < B; b++) same += last[(size_t)b] == out.back();
        j["batch"] = B;
        j["batch_decode_tok_s"] = G > 1 ? (double)(B * (G - 1)) / t : 0.0;
        j["batch_last_token_agree"] = same;
        j["batch_kv_cache_bytes"] = cache.bytes();
    }
    if (o.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("bench decode %s (%s, %d threads, %s KV cache): prefill %.1f tok/s, decode %.1f tok/s",
                    o.model.c_str(), r1::arch_name(cfg.arch), r1::num_threads(), o.kv_type.c_str(),
                    j["prefill_tok_s"].get<double>(), j["decode_tok_s"].get<double>());
        if (B > 1) std::printf(", batch %lld decode %.1f tok/s", (long long)B,
                               j["batch_decode_tok_s"].get<double>());
        std::printf("\n");
    }
    return 0;
}

r1::cli::Register reg("bench", "Benchmarks (training throughput, GGUF decode speed)",
                      [](CLI::App& app) {
    app.require_subcommand(1);
    auto o = std::make_shared<BenchTrainOptions>();
    CLI::App* train = app.add_subcommand(
        "train", "Training tokens/s on the peer configs of shared/peers/torch_train.py");
    train->add_option("--config", o->config, "dense | moe")
        ->check(CLI::IsMember({"dense", "moe"}));
    train->add_option("--steps", o->steps, "timed steps (after 2 warm-up steps)")
        ->check(CLI::PositiveNumber);
    train->add_option("--batch", o->batch, "sequences per step")->check(CLI::PositiveNumber);
    train->add_option("--seq", o->seq, "tokens per sequence")->check(CLI::PositiveNumber);
    train->add_flag("--json", o->json, "print one JSON line");
    auto d = std::make_shared<BenchDecodeOptions>();
    CLI::App* decode = app.add_subcommand(
        "decode", "Prefill / greedy decode tokens/s on a GGUF model (llamacpp_bench.mjs convention)");
    decode->add_option("--model", d->model, "GGUF file (llama, qwen2, deepseek2)")->required();
    decode->add_option("--prompt-tokens", d->prompt_tokens, "prompt length")
        ->capture_default_str()->check(CLI::PositiveNumber);
    decode->add_option("--gen-tokens", d->gen_tokens, "greedy tokens to generate")
        ->capture_default_str()->check(CLI::PositiveNumber);
    decode->add_option("--threads", d->threads, "threads (0 = default)")->check(CLI::NonNegativeNumber);
    decode->add_option("--batch", d->batch, "also decode this many sequences together (> 1)")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    decode->add_flag("!--no-warmup", d->warmup,
                     "time the first calls too (default: one untimed short prefill + 2 steps)");
    decode->add_option("--kv", d->kv,
                       "KV cache layout: auto (MLA models: latent) | plain | latent (MLA only)")
        ->capture_default_str()->check(CLI::IsMember({"auto", "plain", "latent"}));
    r1::cli::add_kv_type_option(*decode, d->kv_type);
    decode->add_flag("--json", d->json, "print one JSON line");
    return [o, train, d, decode]() -> int {
        if (train->parsed()) return run_bench_train(*o);
        if (decode->parsed()) return run_bench_decode(*d);
        return 2;
    };
});

}  // namespace
