// A model's chat template: the Jinja `chat_template` of a tokenizer_config.json, a GGUF file's
// `tokenizer.chat_template`, or a plain .jinja file, plus the special-token strings the
// template refers to (bos_token, eos_token, ...), rendered the way transformers'
// apply_chat_template does: variables messages, add_generation_prompt, the special tokens,
// tools (when given) and any extra variables (e.g. enable_thinking for Qwen3).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/jinja.h"

namespace r1 {

struct ChatTemplate {
    std::string source;                 // the Jinja text
    std::string origin;                 // file it came from (error messages)
    nlohmann::ordered_json special;     // {"bos_token": "...", "eos_token": "...", ...}
    std::shared_ptr<jinja::Template> compiled;

    // tokenizer_config.json: `chat_template` (a string, or a list of {name, template} where
    // the one named "default" is used), special tokens as strings or {"content": ...}.
    static ChatTemplate from_tokenizer_config(const std::string& path);
    // GGUF metadata `tokenizer.chat_template`; bos/eos strings from tokenizer.ggml.tokens.
    // Returns nullopt when the file has no template.
    static std::optional<ChatTemplate> from_gguf(const std::string& path);
    // A raw template text (special tokens given separately).
    static ChatTemplate from_source(std::string source, nlohmann::ordered_json special = nlohmann::ordered_json::object(),
                                    std::string origin = "<template>");
    // By extension: .json -> tokenizer config, .gguf -> GGUF, anything else -> raw Jinja.
    static ChatTemplate load(const std::string& path);

    // Renders `messages` (a JSON array of {role, content, ...}). `extra` (a JSON object) adds
    // variables, e.g. {"tools": [...], "enable_thinking": false}; they override the special
    // tokens of the same name. Throws r1::Error ("[template] FILE: ...") on template errors.
    std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;
};

// Parses a "messages" JSON value for the renderer: an array of objects each with a string
// "role". Throws r1::Error naming `what` and the message index otherwise.
void check_messages(const nlohmann::ordered_json& messages, const std::string& what);

}  // namespace r1
