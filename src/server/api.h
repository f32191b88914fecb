// The OpenAI-compatible request side of `r1 serve`: parsing and validating the JSON bodies of
// POST /v1/chat/completions and /v1/completions, and OpenAI-style error bodies.
//
// Contract: parse_*() either return a fully validated request or throw ApiError carrying the
// HTTP status, the OpenAI error `type`, the offending `param` and a message that names the
// field ("'max_tokens' must be an integer >= 1, got -5"). Nothing here touches the model: the
// checks that need the tokenizer or the context size (prompt too long) live in the HTTP glue.
//
// What is accepted (where OpenAI is looser or stricter, we follow llama.cpp's server):
//   model        string; must be the served model's id (404 model_not_found otherwise);
//                absent/empty = the served model
//   messages     non-empty array of {role, content}; role in system|developer|user|assistant|
//                tool; content a string, null (assistant/tool only) or an array of
//                {"type":"text","text":...} parts (concatenated); other part types → 400
//   prompt       (completions) a string, or an array of exactly one string
//   max_tokens / max_completion_tokens   integer in [1, limits.max_tokens] (the latter wins)
//   temperature  number in [0, 2]; top_p number in (0, 1]; seed integer (any sign; stored as
//                uint64); stop string or array of at most 4 strings; stream bool;
//                stream_options.include_usage bool; n integer in [1, limits.max_n];
//                frequency_penalty / presence_penalty number in [-2, 2]
//   reasoning_format  "deepseek" (split <think> into reasoning_content) | "none" (inline)
//   ignore_eos   bool (llama.cpp): keep generating past the EOS token (benchmarks, tests)
// Unknown fields are ignored (clients send many); `null` counts as absent for optional fields.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "generate/chat_format.h"

namespace r1::server {

struct ApiError : Error {
    int status = 400;
    std::string type = "invalid_request_error";
    std::string param;  // the offending field ("" = none)
    std::string code;   // e.g. "model_not_found", "context_length_exceeded" ("" = none)

    ApiError(int status_, std::string message, std::string param_ = {}, std::string code_ = {},
             std::string type_ = {});
};

// {"error": {"message", "type", "param", "code"}} (param/code null when empty).
nlohmann::json error_body(const ApiError& e);
// The OpenAI `type` for a status without a more specific one (401 → authentication_error, ...).
std::string error_type_for_status(int status);

struct ApiLimits {
    std::string model_id;          // the one model served
    int64_t max_tokens = 4096;     // upper bound for max_tokens
    int64_t max_n = 8;             // upper bound for n
    int64_t max_stop = 4;          // stop strings per request (OpenAI's limit)
    int64_t max_stop_len = 256;    // bytes per stop string
};

struct SamplingDefaults {
    float temperature = 0.6f;  // DeepSeek-R1's recommendation
    float top_p = 0.95f;
};

struct CompletionParams {
    std::string model;
    std::optional<int64_t> max_tokens;  // absent: until the context is full (or EOS)
    float temperature = 0.6f;
    float top_p = 0.95f;
    float frequency_penalty = 0.0f;
    float presence_penalty = 0.0f;
    std::optional<uint64_t> seed;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    int64_t n = 1;
    std::optional<bool> split_reasoning;  // reasoning_format; absent: the server's default
    bool ignore_eos = false;
};

struct ChatRequest {
    CompletionParams params;
    std::vector<ChatMessage> messages;
};

struct CompletionRequest {
    CompletionParams params;
    std::string prompt;
};

// body: the raw request body. Throws ApiError (400 for malformed JSON / types / values,
// 404 for an unknown model).
ChatRequest parse_chat_request(std::string_view body, const ApiLimits& limits,
                               const SamplingDefaults& defaults = {});
CompletionRequest parse_completion_request(std::string_view body, const ApiLimits& limits,
                                           const SamplingDefaults& defaults = {});

// Constant-time comparison of a presented secret with the expected one: the time taken
// depends only on the lengths, not on where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);
// Checks an "Authorization" header value against `key` ("Bearer <key>", scheme
// case-insensitive). Empty key = no auth required (always true).
bool authorized(std::string_view authorization_header, std::string_view key);

}  // namespace r1::server
