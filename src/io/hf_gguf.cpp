// HF folder -> GGUF: tokenizer.json -> tokenizer.ggml.* and the weight conversion driver
// (see hf_gguf.h for the rules).
#include "io/hf_gguf.h"

#include <sys/stat.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/hf_checkpoint.h"
#include "tokenizer/byte_tokenizer.h"

namespace r1 {

namespace {

using json = nlohmann::json;

json read_json(const std::string& path) {
    std::ifstream f(path);
    R1_CHECK(f.good(), "[hf] ", path, ": cannot open");
    try {
        return json::parse(f);
    } catch (const json::exception& e) {
        fail("[hf] ", path, ": bad JSON: ", e.what());
    }
}

bool exists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0;
}

// tokenizer_config's "bos_token": a string, {"content": ...} or null.
std::string token_content(const json& cfg, const char* key) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return "";
}

}  // namespace

std::string default_gguf_pre(const ModelConfig& cfg) {
    switch (cfg.arch) {
        case Arch::qwen2: return "qwen2";
        case Arch::llama: return "llama-bpe";
        case Arch::deepseek2: return "deepseek-v3";
        default: return "default";
    }
}

GgufTokenizerMeta gguf_tokenizer_from_hf(const std::string& dir, int64_t n_vocab,
                                         const std::string& pre, const HfConfigInfo& info) {
    const std::string path = dir + "/tokenizer.json";
    const json tj = read_json(path);
    const std::string w = "[hf] " + path + ": ";
    R1_CHECK(tj.is_object() && tj.contains("model") && tj["model"].is_object(), w, "missing 'model'");
    const json& model = tj["model"];
    R1_CHECK(model.value("type", std::string("BPE")) == "BPE", w, "model.type '",
             model.value("type", std::string()), "' is not supported (BPE)");
    R1_CHECK(model.contains("vocab") && model["vocab"].is_object(), w, "missing model.vocab");
    R1_CHECK(n_vocab > 0 && n_vocab <= (int64_t)1 << 24, w, "bad vocab size ", n_vocab);

    GgufTokenizerMeta t;
    t.model = "gpt2";
    t.pre = pre;
    t.tokens.assign((size_t)n_vocab, "");
    t.token_type.assign((size_t)n_vocab, 5);  // unused until filled
    std::vector<bool> have((size_t)n_vocab, false);
    auto put = [&](const std::string& tok, int64_t id, int32_t type, const char* field) {
        R1_CHECK(id >= 0 && id < n_vocab, w, field, " '", tok, "' has id ", id,
                 " outside the model's vocab_size ", n_vocab);
        if (have[(size_t)id]) {
            // added tokens may repeat a vocab entry with the same text (HF allows it)
            R1_CHECK(t.tokens[(size_t)id] == tok, w, field, ": id ", id, " is used by both '",
                     t.tokens[(size_t)id], "' and '", tok, "'");
        }
        have[(size_t)id] = true;
        t.tokens[(size_t)id] = tok;
        t.token_type[(size_t)id] = type;
    };
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        R1_CHECK(it.value().is_number_integer(), w, "model.vocab['", it.key(), "'] is not an id");
        put(it.key(), it.value().get<int64_t>(), 1, "model.vocab");
    }
    if (tj.contains("added_tokens")) {
        R1_CHECK(tj["added_tokens"].is_array(), w, "added_tokens is not a list");
        for (const json& a : tj["added_tokens"]) {
            R1_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() &&
                         a.contains("content") && a["content"].is_string(),
                     w, "added_tokens entry without id/content");
            put(a["content"].get<std::string>(), a["id"].get<int64_t>(),
                a.value("special", false) ? 3 : 4, "added_tokens");
        }
    }
    for (int64_t i = 0; i < n_vocab; i++)
        if (!have[(size_t)i]) t.tokens[(size_t)i] = "[PAD" + std::to_string(i) + "]";
    if (model.contains("merges")) {
        R1_CHECK(model["merges"].is_array(), w, "model.merges is not a list");
        for (const json& m : model["merges"]) {
            if (m.is_string()) {
                t.merges.push_back(m.get<std::string>());
            } else {
                R1_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), w,
                         "model.merges entry is neither \"a b\" nor [a, b]");
                t.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            }
        }
    }
    // specials: tokenizer_config.json names them by text
    std::map<std::string, int32_t> by_text;
    for (int64_t i = 0; i < n_vocab; i++)
        if (have[(size_t)i]) by_text.emplace(t.tokens[(size_t)i], (int32_t)i);
    const std::string tc_path = dir + "/tokenizer_config.json";
    if (exists(tc_path)) {
        const json tc = read_json(tc_path);
        auto id_of = [&](const char* key) -> int32_t {
            const std::string s = token_content(tc, key);
            if (s.empty()) return -1;
            auto it = by_text.find(s);
            R1_CHECK(it != by_text.end(), "[hf] ", tc_path, ": ", key, " '", s,
                     "' is not in tokenizer.json");
            return it->second;
        };
        t.bos = id_of("bos_token");
        t.eos = id_of("eos_token");
        t.pad = id_of("pad_token");
        if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean())
            t.add_bos = tc["add_bos_token"].get<bool>();
    }
    if (t.bos < 0 && info.bos_token_id >= 0 && info.bos_token_id < n_vocab) t.bos = (int32_t)info.bos_token_id;
    if (t.eos < 0 && info.eos_token_id >= 0 && info.eos_token_id < n_vocab) t.eos = (int32_t)info.eos_token_id;
    return t;
}

HfConvertResult convert_hf_to_gguf(const std::string& dir, const std::string& out_path, DType type,
                                   const std::string& pre_in, bool progress) {
    const auto m = load_hf_checkpoint(dir, progress);
    const ModelConfig& c = m->config;
    // llama.cpp's deepseek2 stores only yarn_log_multiplier (= 0.1 mscale_all_dim) and
    // assumes mscale == mscale_all_dim (cos/sin unscaled), as every DeepSeek config has.
    R1_CHECK(c.yarn.factor <= 1.0f || c.yarn.mscale == c.yarn.mscale_all_dim, "[hf] ", dir,
             "/config.json: rope_scaling.mscale (", c.yarn.mscale, ") != mscale_all_dim (",
             c.yarn.mscale_all_dim, "): GGUF (llama.cpp) cannot express this YaRN variant");
    // llama.cpp scores expert groups by the sum of their top-2 scores (DeepSeek-V3's
    // noaux_tc); DeepSeek-V2's group_limited_greedy uses the max: no GGUF key says which.
    R1_CHECK(c.n_expert_groups <= 1 || c.gating == GatingFunc::sigmoid, "[hf] ", dir,
             "/config.json: topk_method group_limited_greedy (n_group ", c.n_expert_groups,
             " > 1 with softmax scoring): llama.cpp scores expert groups by their top-2 sum, "
             "DeepSeek-V2 by their max; GGUF cannot express it");
    HfConvertResult r;
    r.config = m->config;
    r.gguf_arch = gguf_export_arch(m->config);
    r.n_params = m->params.size();
    r.n_skipped = m->n_skipped;
    const std::string pre = pre_in.empty() ? default_gguf_pre(m->config) : pre_in;
    GgufTokenizerMeta tok;
    if (exists(dir + "/tokenizer.json")) {
        tok = gguf_tokenizer_from_hf(dir, m->config.n_vocab, pre, m->info);
        r.n_tokens = (int64_t)tok.tokens.size();
    } else {
        R1_CHECK(m->config.n_vocab >= ByteTokenizer::n_vocab(), "[hf] ", dir,
                 ": no tokenizer.json, and vocab_size ", m->config.n_vocab,
                 " is too small for r1's byte tokenizer (", ByteTokenizer::n_vocab(), ")");
        tok = byte_tokenizer_gguf_meta(m->config.n_vocab);
    }
    export_gguf(m->config, m->params, out_path, type, tok);
    return r;
}

}  // namespace r1
