// Splits a reasoning model's output into reasoning ("<think> … </think>") and answer, for the
// API's `reasoning_content` / `content` fields, streamed or all at once.
//
// Behaviour (the streaming parser and split_reasoning() agree exactly, for any way the text is
// cut into pieces, including cuts inside a tag):
//   - Default mode: text before the first "<think>" is content; from "<think>" to the first
//     following "</think>" is reasoning; everything after that "</think>" is content, verbatim.
//   - prefilled_think: the prompt already ended with "<think>\n" (the DeepSeek-R1 template
//     does this), so the output starts inside the think block and only "</think>" is looked for.
//   - Only one think block is parsed. Inside it, a nested "<think>" is literal reasoning text and
//     the first "</think>" closes the block; after it, further "<think>"/"</think>" are literal
//     content. A "</think>" before any "<think>" (default mode) is literal content.
//   - If the text ends inside the think block (no "</think>": generation was cut off), all of
//     it stays reasoning and the content is empty (it is never re-labelled as answer).
//   - strip_newline: drop one '\n' directly after "<think>" and directly after "</think>"
//     (R1 writes "<think>\n" and "</think>\n\n"; DeepSeek's API drops the newline after the tag).
//   - inline_tags: no split at all — everything, tags included, is content.
// The tags themselves never appear in either field (except in inline mode or as literals above).
#pragma once
#include <string>
#include <string_view>

namespace r1 {

struct ReasoningOptions {
    bool prefilled_think = false;
    bool inline_tags = false;
    bool strip_newline = true;
};

struct ReasoningDelta {
    std::string reasoning;
    std::string content;
};

class ReasoningParser {
public:
    explicit ReasoningParser(ReasoningOptions opts = {});

    // Consumes a piece of streamed text; returns what can be attributed now. A suffix that could
    // still become a tag (e.g. "</thi") is held back until the next piece or finish().
    ReasoningDelta feed(std::string_view piece);
    // End of stream: releases held-back text as literal text of the current section.
    ReasoningDelta finish();
    void reset();

    bool in_reasoning() const { return state_ == State::think; }
    bool reasoning_done() const { return state_ == State::after; }
    const ReasoningOptions& options() const { return opts_; }

private:
    enum class State { before, think, after };
    ReasoningOptions opts_;
    State state_;
    bool strip_pending_ = false;  // the next byte is dropped if it is '\n'
    std::string pending_;
};

// Non-streaming split of a complete output, same rules as ReasoningParser.
ReasoningDelta split_reasoning(std::string_view text, const ReasoningOptions& opts);
inline ReasoningDelta split_reasoning(std::string_view text, bool prefilled) {
    ReasoningOptions o;
    o.prefilled_think = prefilled;
    return split_reasoning(text, o);
}

}  // namespace r1
