// DeepSeek-R1 chat format (see chat_format.h). Mirrors the template's control flow statement by
// statement (its namespace flags is_tool / is_output_first included) so quirks carry over.
#include "generate/chat_format.h"

#include "core/error.h"

namespace r1 {

std::string_view drop_think_block(std::string_view content) {
    size_t pos = content.rfind("</think>");
    if (pos == std::string_view::npos) return content;
    return content.substr(pos + 8);
}

ChatPrompt render_r1_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                          bool add_bos) {
    for (size_t i = 0; i < messages.size(); i++) {
        const std::string& r = messages[i].role;
        R1_CHECK(r == "system" || r == "user" || r == "assistant" || r == "tool",
                 "[chat] message ", i, ": unknown role '", r,
                 "' (the R1 format knows system, user, assistant, tool)");
    }
    ChatPrompt out;
    std::string& s = out.text;
    if (add_bos) s += kR1Bos;
    bool first_system = true;
    for (const ChatMessage& m : messages) {
        if (m.role != "system") continue;
        if (!first_system) s += "\n\n";
        s += m.content;
        first_system = false;
    }
    bool is_tool = false, is_output_first = true;
    for (const ChatMessage& m : messages) {
        if (m.role == "user") {
            is_tool = false;
            s += kR1User;
            s += m.content;
        } else if (m.role == "assistant") {
            if (is_tool) {
                s += kR1ToolOutputsEnd;
                s += m.content;
                s += kR1Eos;
                is_tool = false;
            } else {
                s += kR1Assistant;
                s += drop_think_block(m.content);
                s += kR1Eos;
            }
        } else if (m.role == "tool") {
            is_tool = true;
            if (is_output_first) {
                s += kR1ToolOutputsBegin;
                is_output_first = false;
            }
            s += kR1ToolOutputBegin;
            s += m.content;
            s += kR1ToolOutputEnd;
        }
    }
    if (is_tool) s += kR1ToolOutputsEnd;
    if (add_generation_prompt && !is_tool) {
        s += kR1Assistant;
        s += "<think>\n";
        out.think_prefilled = true;
    }
    return out;
}

}  // namespace r1
