// Loading and rendering a model's chat template (see chat_template.h).
#include "chat/chat_template.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"

namespace r1 {
namespace {

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    R1_CHECK(f, "[template] cannot open '", path, "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool ends_with(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

ChatTemplate ChatTemplate::from_source(std::string source, nlohmann::ordered_json special, std::string origin) {
    ChatTemplate t;
    t.source = std::move(source);
    t.origin = std::move(origin);
    t.special = special.is_object() ? std::move(special) : nlohmann::ordered_json::object();
    try {
        t.compiled = std::make_shared<jinja::Template>(t.source);
    } catch (const Error& e) {
        fail("[template] ", t.origin, ": ", e.what());
    }
    return t;
}

ChatTemplate ChatTemplate::from_tokenizer_config(const std::string& path) {
    nlohmann::ordered_json cfg;
    try {
        cfg = nlohmann::ordered_json::parse(read_text(path));
    } catch (const nlohmann::json::exception& e) {
        fail("[template] ", path, ": not valid JSON (", e.what(), ")");
    }
    R1_CHECK(cfg.is_object(), "[template] ", path, ": expected a JSON object");
    R1_CHECK(cfg.contains("chat_template"), "[template] ", path, ": no 'chat_template' field");
    const auto& ct = cfg["chat_template"];
    std::string src;
    if (ct.is_string()) {
        src = ct.get<std::string>();
    } else if (ct.is_array()) {
        for (const auto& e : ct)
            if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
                src = e["template"].get<std::string>();
        R1_CHECK(!src.empty(), "[template] ", path, ": 'chat_template' is a list without a \"default\" entry");
    } else {
        fail("[template] ", path, ": 'chat_template' must be a string or a list of {name, template}");
    }
    nlohmann::ordered_json special = nlohmann::ordered_json::object();
    for (const char* k : {"bos_token", "eos_token", "unk_token", "pad_token"}) {
        if (!cfg.contains(k)) continue;
        const auto& v = cfg[k];
        if (v.is_string()) special[k] = v;
        else if (v.is_object() && v.contains("content") && v["content"].is_string()) special[k] = v["content"];
    }
    return from_source(std::move(src), std::move(special), path);
}

std::optional<ChatTemplate> ChatTemplate::from_gguf(const std::string& path) {
    gguf::Reader r = gguf::Reader::open(path);
    const gguf::Value* v = r.find("tokenizer.chat_template");
    if (!v) return std::nullopt;
    std::string src = r.get_str("tokenizer.chat_template");
    nlohmann::ordered_json special = nlohmann::ordered_json::object();
    if (r.has("tokenizer.ggml.tokens")) {
        const auto& toks = r.get_arr_str("tokenizer.ggml.tokens");
        auto tok = [&](const char* key, const char* name) {
            if (!r.has(key)) return;
            uint32_t id = r.get_u32(key);
            if (id < toks.size()) special[name] = toks[id];
        };
        tok("tokenizer.ggml.bos_token_id", "bos_token");
        tok("tokenizer.ggml.eos_token_id", "eos_token");
    }
    return from_source(std::move(src), std::move(special), path);
}

ChatTemplate ChatTemplate::load(const std::string& path) {
    if (ends_with(path, ".json")) return from_tokenizer_config(path);
    if (ends_with(path, ".gguf")) {
        auto t = from_gguf(path);
        R1_CHECK(t.has_value(), "[template] ", path, ": no 'tokenizer.chat_template' in this GGUF file");
        return std::move(*t);
    }
    return from_source(read_text(path), nlohmann::ordered_json::object(), path);
}

void check_messages(const nlohmann::ordered_json& messages, const std::string& what) {
    R1_CHECK(messages.is_array(), "[template] ", what, ": messages must be a JSON array");
    for (size_t i = 0; i < messages.size(); i++) {
        const auto& m = messages[i];
        R1_CHECK(m.is_object(), "[template] ", what, ": message ", i, " is not a JSON object");
        R1_CHECK(m.contains("role") && m["role"].is_string(), "[template] ", what, ": message ", i,
                 " has no string 'role'");
    }
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
    R1_CHECK(compiled, "[template] ", origin, ": no template loaded");
    check_messages(messages, origin);
    R1_CHECK(extra.is_object() || extra.is_null(), "[template] extra variables must be a JSON object");
    nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
    ctx["messages"] = messages;
    ctx["add_generation_prompt"] = add_generation_prompt;
    for (auto it = special.begin(); it != special.end(); ++it) ctx[it.key()] = it.value();
    if (extra.is_object())
        for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = it.value();
    try {
        return compiled->render(ctx);
    } catch (const Error& e) {
        fail("[template] ", origin, ": ", e.what());
    }
}

}  // namespace r1
