// Reasoning parser (see reasoning.h for the rules). The streaming version is a three-state
// machine (before / think / after) that holds back at most len(tag)-1 bytes; split_reasoning
// is written independently with plain find() so the tests can check one against the other.
#include "generate/reasoning.h"

#include <algorithm>

namespace r1 {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest proper prefix of `tag` that is a suffix of `s`.
size_t partial_tag_suffix(const std::string& s, std::string_view tag) {
    size_t max_k = std::min(s.size(), tag.size() - 1);
    for (size_t k = max_k; k > 0; k--)
        if (std::string_view(s).substr(s.size() - k) == tag.substr(0, k)) return k;
    return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(ReasoningOptions opts) : opts_(opts) { reset(); }

void ReasoningParser::reset() {
    state_ = opts_.prefilled_think ? State::think : State::before;
    strip_pending_ = false;
    pending_.clear();
}

ReasoningDelta ReasoningParser::feed(std::string_view piece) {
    ReasoningDelta out;
    if (opts_.inline_tags) {
        out.content.assign(piece);
        return out;
    }
    pending_.append(piece);
    for (;;) {
        if (strip_pending_ && !pending_.empty()) {
            if (pending_[0] == '\n') pending_.erase(0, 1);
            strip_pending_ = false;
        }
        if (state_ == State::after) {
            out.content += pending_;
            pending_.clear();
            break;
        }
        const std::string_view tag = state_ == State::before ? kOpen : kClose;
        std::string& dst = state_ == State::before ? out.content : out.reasoning;
        size_t pos = pending_.find(tag);
        if (pos != std::string::npos) {
            dst.append(pending_, 0, pos);
            pending_.erase(0, pos + tag.size());
            state_ = state_ == State::before ? State::think : State::after;
            strip_pending_ = opts_.strip_newline;
            continue;
        }
        size_t hold = partial_tag_suffix(pending_, tag);
        dst.append(pending_, 0, pending_.size() - hold);
        pending_.erase(0, pending_.size() - hold);
        break;
    }
    return out;
}

ReasoningDelta ReasoningParser::finish() {
    ReasoningDelta out;
    (state_ == State::think ? out.reasoning : out.content) += pending_;
    pending_.clear();
    return out;
}

ReasoningDelta split_reasoning(std::string_view text, const ReasoningOptions& opts) {
    ReasoningDelta out;
    if (opts.inline_tags) {
        out.content.assign(text);
        return out;
    }
    size_t begin = 0;  // start of the reasoning
    if (!opts.prefilled_think) {
        size_t open = text.find(kOpen);
        if (open == std::string_view::npos) {
            out.content.assign(text);
            return out;
        }
        out.content.assign(text.substr(0, open));
        begin = open + kOpen.size();
        if (opts.strip_newline && begin < text.size() && text[begin] == '\n') begin++;
    }
    size_t close = text.find(kClose, begin);
    if (close == std::string_view::npos) {
        out.reasoning.assign(text.substr(begin));
        return out;
    }
    out.reasoning.assign(text.substr(begin, close - begin));
    size_t after = close + kClose.size();
    if (opts.strip_newline && after < text.size() && text[after] == '\n') after++;
    out.content.append(text.substr(after));
    return out;
}

}  // namespace r1
