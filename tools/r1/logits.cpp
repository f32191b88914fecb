// r1 logits — the full-vocabulary logits of every position of a token sequence, computed in
// f32 by the inference engine (generate/forward.h) on any model r1 opens: a Hugging Face
// folder (config.json + safetensors), a GGUF file or a ckpt.r1. It is the hook for external
// checks of a loaded model (tests/cli/hf_twin.sh compares it with a PyTorch reference):
//   r1 logits --model DIR --tokens 3,17,42 --json   ->   {"logits": [[...V floats], ...]}
// Without --json it prints the 5 largest logits of each position.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "generate/forward.h"
#include "generate/kv_cache.h"
#include "generate/model_loader.h"

namespace {

struct LogitsOptions {
    std::string model, tokens;
    bool json = false;
};

std::vector<int32_t> parse_tokens(const std::string& s, int64_t n_vocab) {
    std::vector<int32_t> out;
    size_t i = 0;
    R1_CHECK(!s.empty(), "[logits] --tokens is empty (expected ids like 3,17,42)");
    while (i <= s.size()) {
        const size_t j = std::min(s.find(',', i), s.size());
        const std::string part = s.substr(i, j - i);
        R1_CHECK(!part.empty() && part.size() <= 10 &&
                     std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }),
                 "[logits] --tokens: '", part, "' is not a token id (expected ids like 3,17,42)");
        const long long v = std::stoll(part);
        R1_CHECK(v < n_vocab, "[logits] --tokens: id ", v, " is outside the model's vocabulary of ",
                 n_vocab);
        out.push_back((int32_t)v);
        i = j + 1;
    }
    return out;
}

int run_logits(const LogitsOptions& o) {
    const auto lm = r1::load_model_for_inference(o.model);
    const r1::ModelConfig& cfg = lm->config();
    const std::vector<int32_t> toks = parse_tokens(o.tokens, cfg.n_vocab);
    const int64_t T = (int64_t)toks.size(), V = cfg.n_vocab;
    R1_CHECK(T <= cfg.n_ctx, "[logits] ", T, " tokens exceed the model's context of ", cfg.n_ctx);

    r1::KvCache cache(cfg, 1, T);
    r1::BatchForward fwd(lm->model());
    r1::SeqInput in;
    in.slot = cache.acquire();
    in.tokens = toks.data();
    in.n_tokens = T;
    const float* logits = fwd.run(cache, {in}, /*all_logits=*/true);  // [T, V]

    if (o.json) {
        nlohmann::json rows = nlohmann::json::array();
        for (int64_t t = 0; t < T; t++)
            rows.push_back(std::vector<float>(logits + t * V, logits + (t + 1) * V));
        std::printf("%s\n", nlohmann::json{{"logits", rows}}.dump().c_str());
        return 0;
    }
    std::vector<int32_t> idx((size_t)V);
    for (int64_t t = 0; t < T; t++) {
        const float* row = logits + t * V;  // [V]
        std::iota(idx.begin(), idx.end(), 0);
        const int64_t k = std::min<int64_t>(5, V);
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                          [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        std::printf("pos %lld (token %d):", (long long)t, toks[(size_t)t]);
        for (int64_t i = 0; i < k; i++) std::printf("  %d:%.4f", idx[(size_t)i], row[idx[(size_t)i]]);
        std::printf("\n");
    }
    return 0;
}

r1::cli::Register reg("logits", "Print the logits of every position of a token sequence",
                      [](CLI::App& app) {
                          auto o = std::make_shared<LogitsOptions>();
                          app.add_option("--model", o->model,
                                         "model: Hugging Face folder, .gguf file or ckpt.r1")
                              ->required();
                          app.add_option("--tokens", o->tokens, "comma-separated token ids, e.g. 3,17,42")
                              ->required();
                          app.add_flag("--json", o->json,
                                       "print {\"logits\": [[V floats] per position]} (f32)");
                          return [o] { return run_logits(*o); };
                      });

}  // namespace
