// Token → text pipeline per choice, and the JSON shapes of OpenAI responses and SSE chunks
// (see stream.h). The shapes follow OpenAI's chat.completion / chat.completion.chunk /
// text_completion objects plus DeepSeek's `reasoning_content` field.
#include "server/stream.h"

#include "tokenizer/byte_tokenizer.h"

namespace r1::server {

using nlohmann::json;

size_t utf8_complete_prefix(std::string_view s) {
    // Look at the last (up to 3) bytes for a lead byte whose sequence is not finished yet.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        const unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
        size_t need = 0;
        if ((c & 0xE0) == 0xC0) need = 2;
        else if ((c & 0xF0) == 0xE0) need = 3;
        else if ((c & 0xF8) == 0xF0) need = 4;
        else return n;                      // ASCII or invalid lead: nothing to wait for
        return need > back ? n - back : n;  // unfinished → hold the sequence back
    }
    return n;
}

TokenTextStream::TokenTextStream(const TextCodec& codec) : codec_(codec) {
    if (codec.bpe_tokenizer()) bpe_ = std::make_unique<BpeStreamDecoder>(*codec.bpe_tokenizer());
}

std::string TokenTextStream::push(int32_t id) {
    if (bpe_) return bpe_->push(id);
    pending_ += ByteTokenizer::token_text(id);
    const size_t k = utf8_complete_prefix(pending_);
    std::string out = pending_.substr(0, k);
    pending_.erase(0, k);
    return out;
}

std::string TokenTextStream::flush() {
    if (bpe_) return bpe_->flush();
    std::string out;
    // an unfinished character at the end of generation can never complete
    for (size_t i = 0; i < pending_.size(); i++) out += "\xEF\xBF\xBD";
    pending_.clear();
    return out;
}

namespace {
ReasoningOptions reasoning_options(bool split, bool prefilled) {
    ReasoningOptions o;
    o.prefilled_think = prefilled;
    o.inline_tags = !split;
    return o;
}
}  // namespace

ChoiceText::ChoiceText(const TextCodec& codec, std::vector<std::string> stops, bool split,
                       bool prefilled_think)
    : detok_(codec), stop_(std::move(stops)), parser_(reasoning_options(split, prefilled_think)),
      split_(split) {}

TextDelta ChoiceText::route(const std::string& text) {
    const ReasoningDelta r = parser_.feed(text);
    TextDelta d{r.reasoning, r.content};
    total_.append(d);
    return d;
}

TextDelta ChoiceText::push_token(int32_t id) {
    if (finished_ || stop_.stopped()) return {};
    n_tokens_++;
    const bool was_reasoning = split_ && parser_.in_reasoning();
    const std::string text = detok_.push(id);
    TextDelta d;
    if (!text.empty()) {
        const StopResult s = stop_.push(text);
        if (!s.text.empty()) d = route(s.text);
    }
    if (was_reasoning || (split_ && parser_.in_reasoning())) n_reasoning_++;
    return d;
}

TextDelta ChoiceText::finish() {
    if (finished_) return {};
    finished_ = true;
    TextDelta d;
    if (!stop_.stopped()) {
        const std::string tail = detok_.flush();
        std::string text;
        if (!tail.empty()) text = stop_.push(tail).text;
        if (!stop_.stopped()) text += stop_.flush();
        if (!text.empty()) d = route(text);
    }
    const ReasoningDelta r = parser_.finish();
    TextDelta rest{r.reasoning, r.content};
    total_.append(rest);
    d.append(rest);
    return d;
}

json usage_json(const Usage& u) {
    return json{{"prompt_tokens", u.prompt_tokens},
                {"completion_tokens", u.completion_tokens},
                {"total_tokens", u.prompt_tokens + u.completion_tokens},
                {"completion_tokens_details", {{"reasoning_tokens", u.reasoning_tokens}}}};
}

std::string dump_json(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sse_event(const json& j) { return "data: " + dump_json(j) + "\n\n"; }

namespace {
json finish_json(const std::string& f) { return f.empty() ? json(nullptr) : json(f); }

json chunk_base(const ResponseMeta& m) {
    return json{{"id", m.id},
                {"object", m.chat ? "chat.completion.chunk" : "text_completion"},
                {"created", m.created},
                {"model", m.model},
                {"system_fingerprint", "r1.cpp"}};
}
}  // namespace

json chat_chunk(const ResponseMeta& m, const ChoiceDelta& d, bool first) {
    json delta = json::object();
    if (first) {
        delta["role"] = "assistant";
        delta["content"] = "";
    }
    if (!d.text.reasoning.empty()) delta["reasoning_content"] = d.text.reasoning;
    if (!d.text.content.empty()) delta["content"] = d.text.content;
    json j = chunk_base(m);
    j["choices"] = json::array({json{{"index", d.index},
                                     {"delta", delta},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_json(d.finish_reason)}}});
    return j;
}

json completion_chunk(const ResponseMeta& m, const ChoiceDelta& d) {
    json j = chunk_base(m);
    // the completions endpoint has no reasoning split: both parts are text, in order
    j["choices"] = json::array({json{{"index", d.index},
                                     {"text", d.text.reasoning + d.text.content},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_json(d.finish_reason)}}});
    return j;
}

json usage_chunk(const ResponseMeta& m, const Usage& u) {
    json j = chunk_base(m);
    j["choices"] = json::array();
    j["usage"] = usage_json(u);
    return j;
}

json chat_response(const ResponseMeta& m, const std::vector<FinalChoice>& choices, const Usage& u) {
    json cs = json::array();
    for (size_t i = 0; i < choices.size(); i++) {
        json msg = {{"role", "assistant"}, {"content", choices[i].text.content}};
        if (m.split) msg["reasoning_content"] = choices[i].text.reasoning;
        cs.push_back(json{{"index", (int64_t)i},
                          {"message", msg},
                          {"logprobs", nullptr},
                          {"finish_reason", finish_json(choices[i].finish_reason)}});
    }
    return json{{"id", m.id},
                {"object", "chat.completion"},
                {"created", m.created},
                {"model", m.model},
                {"system_fingerprint", "r1.cpp"},
                {"choices", cs},
                {"usage", usage_json(u)}};
}

json completion_response(const ResponseMeta& m, const std::vector<FinalChoice>& choices,
                         const Usage& u) {
    json cs = json::array();
    for (size_t i = 0; i < choices.size(); i++)
        cs.push_back(json{{"index", (int64_t)i},
                          {"text", choices[i].text.reasoning + choices[i].text.content},
                          {"logprobs", nullptr},
                          {"finish_reason", finish_json(choices[i].finish_reason)}});
    return json{{"id", m.id},
                {"object", "text_completion"},
                {"created", m.created},
                {"model", m.model},
                {"system_fingerprint", "r1.cpp"},
                {"choices", cs},
                {"usage", usage_json(u)}};
}

}  // namespace r1::server
