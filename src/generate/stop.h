// Stop strings on streamed text. Generation decodes token by token, and a stop string can be
// split across tokens ("<|e" + "nd|>"), so text that might be the start of a stop string is
// held back until the next piece decides it. A hit truncates the output just before the stop
// string (the stop string itself is never emitted, as in the OpenAI API); text after it in the
// same piece is dropped.
//
// Matching is on bytes. If the pieces are whole UTF-8 characters and the stop strings are
// valid UTF-8, everything emitted ends on a character boundary (a held-back suffix starts
// where a stop string starts). Splitting a multi-byte character across pieces is the
// detokeniser's business, not this class's. Empty stop strings are ignored (they would stop
// before any text).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

struct StopResult {
    std::string text;     // safe to emit now
    bool stopped = false; // a stop string was hit (now or earlier); generation should end
    int stop_index = -1;  // which stop string (index into the constructor's list), or -1
};

class StopMatcher {
public:
    StopMatcher() = default;
    explicit StopMatcher(std::vector<std::string> stops);

    // Appends a piece of streamed text. After a stop, further pushes return empty text
    // with stopped = true.
    StopResult push(std::string_view piece);
    // End of stream without a stop: returns the held-back text (empty after a stop).
    std::string flush();
    // Forgets the held text and the stop (reuse for a new sequence, same stop strings).
    void reset();

    bool stopped() const { return stop_index_ >= 0; }
    // Bytes currently held back (at most the longest stop string minus one, between pushes).
    size_t held() const { return pending_.size(); }
    const std::vector<std::string>& stops() const { return stops_; }

private:
    std::vector<std::string> stops_;
    std::vector<int> index_;  // stops_[i] came from constructor position index_[i]
    std::string pending_;
    int stop_index_ = -1;
};

}  // namespace r1
