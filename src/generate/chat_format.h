// The built-in DeepSeek-R1 chat format: a C++ rendering of what the chat_template in
// DeepSeek-R1's tokenizer_config.json produces for plain messages (no tool_calls field):
//
//   <｜begin▁of▁sentence｜>{system prompts joined by "\n\n"}
//   <｜User｜>{user}<｜Assistant｜>{assistant, text after its last </think>}<｜end▁of▁sentence｜>
//   ... and, with add_generation_prompt, "<｜Assistant｜><think>\n" (R1 pre-fills the think tag,
//   so generated text starts inside the reasoning: parse it with prefilled_think = true).
//
// Tool results follow the same template: the first "tool" message opens
// "<｜tool▁outputs▁begin｜>", each is wrapped in <｜tool▁output▁begin｜>…<｜tool▁output▁end｜>,
// an assistant reply right after tool outputs is written as "<｜tool▁outputs▁end｜>{content}
// <｜end▁of▁sentence｜>" (no </think> removal, no Assistant tag — the template's quirk), and
// after a trailing tool message no generation prompt is added.
// Differences from the R1-Distill templates: those keep only the last system message and put
// "\n" between consecutive tool outputs. Rendering an arbitrary tokenizer_config.json
// chat_template exactly (a Jinja subset) is a separate component; this is the fixed R1 format.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

inline constexpr std::string_view kR1Bos = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kR1Eos = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kR1User = "<｜User｜>";
inline constexpr std::string_view kR1Assistant = "<｜Assistant｜>";
inline constexpr std::string_view kR1ToolOutputsBegin = "<｜tool▁outputs▁begin｜>";
inline constexpr std::string_view kR1ToolOutputsEnd = "<｜tool▁outputs▁end｜>";
inline constexpr std::string_view kR1ToolOutputBegin = "<｜tool▁output▁begin｜>";
inline constexpr std::string_view kR1ToolOutputEnd = "<｜tool▁output▁end｜>";

struct ChatMessage {
    std::string role;  // "system" | "user" | "assistant" | "tool"
    std::string content;
};

struct ChatPrompt {
    std::string text;
    bool think_prefilled = false;  // the text ends with "<think>\n": output starts in reasoning
};

// Renders messages in the R1 format. add_bos = false leaves out the leading BOS text (for
// tokenizers that add the BOS id themselves). Throws r1::Error naming the message index on an
// unknown role.
ChatPrompt render_r1_chat(const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt = true, bool add_bos = true);

// What the template keeps of an earlier assistant turn: the text after its last "</think>"
// (the whole text if there is none).
std::string_view drop_think_block(std::string_view assistant_content);

}  // namespace r1
