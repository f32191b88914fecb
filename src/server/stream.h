// Turning sampled tokens into what the OpenAI API sends: text that is whole UTF-8, cut at
// stop strings, split into reasoning_content / content, and the JSON of responses and of
// streamed SSE chunks.
//
// Per choice, ChoiceText runs:  token id → incremental detokeniser (never half a character)
//   → StopMatcher (generate/stop.h: holds back a possible stop-string prefix, truncates at a
//   hit) → ReasoningParser (generate/reasoning.h: <think> … </think>, prefilled or not, or
//   inline). Streaming deltas and the final non-streamed message come from the same pipeline,
//   so concatenating every delta gives exactly the non-streamed fields.
//
// Reasoning tokens (usage.completion_tokens_details.reasoning_tokens): a generated token counts
// as reasoning when the parser was inside the think block before or after it was fed — so the
// token that closes the block counts, the first answer token does not. With tokenisers that cut
// a tag over several tokens the count can be off by one or two at the boundary.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "generate/model_loader.h"
#include "generate/reasoning.h"
#include "generate/stop.h"

namespace r1::server {

// Incremental detokeniser: push ids, get the text completed so far (UTF-8 whole characters).
class TokenTextStream {
public:
    explicit TokenTextStream(const TextCodec& codec);
    std::string push(int32_t id);
    std::string flush();  // the held-back tail (as U+FFFD for bytes that never completed)

private:
    const TextCodec& codec_;
    std::unique_ptr<BpeStreamDecoder> bpe_;
    std::string pending_;  // byte codec: bytes of an unfinished character
};

// Length of the longest prefix of s that does not end inside an unfinished (but so far valid)
// UTF-8 sequence. Invalid bytes are not held back (they will be replaced when serialised).
size_t utf8_complete_prefix(std::string_view s);

struct TextDelta {
    std::string reasoning;
    std::string content;
    bool empty() const { return reasoning.empty() && content.empty(); }
    void append(const TextDelta& d) {
        reasoning += d.reasoning;
        content += d.content;
    }
};

class ChoiceText {
public:
    // split = false: no reasoning split (completions endpoint, reasoning_format "none"): all
    // text is content, tags included.
    ChoiceText(const TextCodec& codec, std::vector<std::string> stops, bool split,
               bool prefilled_think);

    // One generated token (not the stop id that ended generation: the caller drops it).
    TextDelta push_token(int32_t id);
    // End of generation: releases everything held back.
    TextDelta finish();

    bool stopped() const { return stop_.stopped(); }  // a stop string was hit
    int64_t n_tokens() const { return n_tokens_; }
    int64_t n_reasoning_tokens() const { return n_reasoning_; }
    // Everything emitted so far (what the non-streamed response holds).
    const TextDelta& total() const { return total_; }

private:
    TextDelta route(const std::string& text);

    TokenTextStream detok_;
    StopMatcher stop_;
    ReasoningParser parser_;
    bool split_;
    bool finished_ = false;
    int64_t n_tokens_ = 0, n_reasoning_ = 0;
    TextDelta total_;
};

struct Usage {
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    int64_t reasoning_tokens = 0;
};
nlohmann::json usage_json(const Usage& u);

// One update of one choice, as the engine reports it.
struct ChoiceDelta {
    int64_t index = 0;
    TextDelta text;
    std::string finish_reason;  // "" while running; "stop" | "length" at the end
};

// Identity of one response (shared by all its chunks).
struct ResponseMeta {
    std::string id;       // "chatcmpl-…" / "cmpl-…"
    int64_t created = 0;  // unix seconds
    std::string model;
    bool chat = true;     // chat.completion(.chunk) vs text_completion
    bool split = true;    // reasoning_content present in chat messages/deltas
};

// "data: <json>\n\n" — one SSE event.
std::string sse_event(const nlohmann::json& j);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

// Stream chunks. The first chat chunk of each choice carries role "assistant"; deltas carry
// reasoning_content and/or content only when non-empty (DeepSeek sends exactly one of them per
// chunk; we may send both when one step crosses </think>); the last chunk of a choice has an
// empty delta and its finish_reason.
nlohmann::json chat_chunk(const ResponseMeta& m, const ChoiceDelta& d, bool first);
nlohmann::json completion_chunk(const ResponseMeta& m, const ChoiceDelta& d);
// The final usage chunk (stream_options.include_usage): choices [] and usage.
nlohmann::json usage_chunk(const ResponseMeta& m, const Usage& u);

struct FinalChoice {
    TextDelta text;
    std::string finish_reason;
};
nlohmann::json chat_response(const ResponseMeta& m, const std::vector<FinalChoice>& choices,
                             const Usage& u);
nlohmann::json completion_response(const ResponseMeta& m, const std::vector<FinalChoice>& choices,
                                   const Usage& u);

// JSON text with invalid UTF-8 replaced by U+FFFD (model output can be any bytes).
std::string dump_json(const nlohmann::json& j);

}  // namespace r1::server
