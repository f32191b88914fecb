// r1 generate — sample completions from a model trained by `r1 train` (a ckpt.r1 file), with
// the KV-cache batched engine (src/generate/engine.h). The prompt is wrapped in the
// DeepSeek-R1 chat format "<｜begin▁of▁sentence｜><｜User｜>TEXT<｜Assistant｜>" (--think
// appends "<think>\n" as the built-in training corpus does; --raw sends TEXT as is) and
// tokenised with the byte tokenizer those models use. Generation stops at
// <｜end▁of▁sentence｜> (not printed) or after --max-tokens. --n samples several completions
// in one batch (seeds seed, seed+1, ...).
// Models are opened by generate/model_loader.h (--model also accepts a ckpt.r1).
// --model M.gguf runs a llama.cpp GGUF file instead (llama, qwen2, deepseek2; io/gguf_model.h)
// with the tokenizer stored in the file (tokenizer/bpe_from_gguf.h): the prompt text is
// encoded as is (BOS added when the file says add_bos_token; no chat template), and
// generation stops at the file's EOS token.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "kv_option.h"
#include "core/error.h"
#include "generate/engine.h"
#include "generate/model_loader.h"
#include "tokenizer/byte_tokenizer.h"

namespace {

struct GenerateOptions {
    std::string ckpt, model, prompt;
    int64_t max_tokens = 256;
    int n = 1;
    float temperature = 0.6f;  // DeepSeek-R1's recommended sampling
    float top_p = 0.95f;
    int top_k = 0;
    float min_p = 0.0f;
    float repeat_penalty = 1.0f;
    uint64_t seed = 0;
    bool json = false, raw = false, think = false;
    std::string kv_type = "f32";
};

r1::GenRequest make_request(const GenerateOptions& o, const std::vector<int32_t>& prompt, int i) {
    r1::GenRequest q;
    q.prompt = prompt;
    q.max_tokens = o.max_tokens;
    q.sampler.temperature = o.temperature;
    q.sampler.top_p = o.top_p;
    q.sampler.top_k = o.top_k;
    q.sampler.min_p = o.min_p;
    q.sampler.repeat_penalty = o.repeat_penalty;
    q.sampler.seed = o.seed + (uint64_t)i;
    return q;
}

int run_generate(const GenerateOptions& o) {
    R1_CHECK(!o.ckpt.empty() || !o.model.empty(), "[generate] give --ckpt PATH/ckpt.r1 or --model FILE.gguf");
    const std::unique_ptr<r1::LoadedModel> lm =
        r1::load_model_for_inference(o.model.empty() ? o.ckpt : o.model);
    const r1::ModelConfig& cfg = lm->config();
    const r1::TextCodec& codec = lm->codec();

    std::vector<int32_t> prompt;
    if (lm->is_gguf()) {
        prompt = codec.encode_raw(o.prompt);  // the file's own BOS rule, no chat template
    } else {
        using Tok = r1::ByteTokenizer;
        std::string text = o.prompt;
        if (!o.raw)
            text = Tok::special_text(Tok::kBos) + Tok::special_text(Tok::kUser) + o.prompt +
                   Tok::special_text(Tok::kAssistant) + (o.think ? Tok::special_text(Tok::kThink) + "\n" : "");
        prompt = codec.encode(text);
    }
    R1_CHECK(!prompt.empty(), "[generate] the prompt encodes to no tokens");
    R1_CHECK((int64_t)prompt.size() < cfg.n_ctx, "[generate] prompt of ", prompt.size(),
             " tokens leaves no room in the model's context of ", cfg.n_ctx);

    r1::GeneratorOptions go;
    go.n_slots = o.n;
    // cache only what this request can use (prompt + max_tokens), not the model's whole n_ctx
    go.n_ctx = std::min<int64_t>(cfg.n_ctx, (int64_t)prompt.size() + o.max_tokens);
    go.kv_type = r1::cli::kv_type_option(o.kv_type);
    r1::Generator gen(lm->model(), go);
    for (int i = 0; i < o.n; i++) {
        r1::GenRequest q = make_request(o, prompt, i);
        q.stop_ids = codec.stop_ids();
        q.vocab_limit = lm->vocab_limit();  // never emit ids the tokenizer cannot decode
        gen.add(std::move(q));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<r1::GenResult> res = gen.run();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // generated tokens per second of wall time, prefill included
    const double tps = secs > 0 ? (double)gen.stats().generated_tokens / secs : 0.0;

    for (const r1::GenResult& r : res) {
        std::vector<int32_t> ids = r.tokens;
        if (r.finish_reason == "stop" && !ids.empty()) ids.pop_back();  // the EOS
        const std::string out = codec.decode(ids);
        if (o.json) {
            nlohmann::json j = {{"text", out},
                                {"tokens", r.tokens},
                                {"prompt_tokens", prompt},
                                {"n_prompt", r.n_prompt},
                                {"n_tokens", (int64_t)r.tokens.size()},
                                {"finish_reason", r.finish_reason},
                                {"tok_per_s", tps},
                                {"seed", o.seed + (uint64_t)r.id},
                                {"kv_type", o.kv_type},
                                {"kv_cache_bytes", gen.cache().bytes()}};
            std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else {
            if (o.n > 1) std::printf("--- sample %lld ---\n", (long long)r.id);
            std::printf("%s\n", out.c_str());
        }
    }
    if (!o.json)
        std::fprintf(stderr, "[%lld tokens in %.2f s, %.1f tok/s, finish: %s]\n",
                     (long long)gen.stats().generated_tokens, secs, tps,
                     res.empty() ? "-" : res[0].finish_reason.c_str());
    return 0;
}

r1::cli::Register reg("generate", "Sample a completion from a trained checkpoint (ckpt.r1) or a GGUF model",
                      [](CLI::App& app) {
    auto o = std::make_shared<GenerateOptions>();
    auto* ck = app.add_option("--ckpt", o->ckpt, "checkpoint written by r1 train (PATH/ckpt.r1)");
    auto* md = app.add_option("--model", o->model, "GGUF model file (llama, qwen2, deepseek2) or a ckpt.r1");
    ck->excludes(md);
    app.add_option("--prompt", o->prompt, "user message (wrapped in the R1 chat format)")->required();
    app.add_option("--max-tokens", o->max_tokens, "maximum tokens to generate")
        ->capture_default_str()->check(CLI::Range((int64_t)1, (int64_t)1 << 30));
    app.add_option("--n", o->n, "completions to sample (decoded as one batch)")
        ->capture_default_str()->check(CLI::Range(1, 256));
    app.add_option("--temperature", o->temperature, "sampling temperature (0 = greedy)")->capture_default_str();
    app.add_option("--top-p", o->top_p, "nucleus sampling threshold (1 = off)")->capture_default_str();
    app.add_option("--top-k", o->top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
    app.add_option("--min-p", o->min_p, "drop tokens below min_p x the top probability (0 = off)")->capture_default_str();
    app.add_option("--repeat-penalty", o->repeat_penalty, "CTRL repetition penalty (1 = off)")->capture_default_str();
    app.add_option("--seed", o->seed, "sampling seed (sample i uses seed + i)")->capture_default_str();
    app.add_flag("--json", o->json, "one JSON object per completion: text, tokens, prompt_tokens, finish_reason, tok_per_s");
    app.add_flag("--think", o->think, "append \"<think>\\n\" to the prompt (as the built-in corpus does)");
    app.add_flag("--raw", o->raw, "send the prompt text as is (no chat format)");
    r1::cli::add_kv_type_option(app, o->kv_type);
    return [o] { return run_generate(*o); };
});

}  // namespace
