// Pre-tokenizers of HF tokenizer.json files for byte-level BPE: Split (regex or literal,
// every SplitDelimiterBehavior, invert), Digits, and the ByteLevel step (optional GPT-2
// regex split and add_prefix_space; the byte->unicode mapping itself happens in the BPE
// model). Regexes run on PCRE2 (UTF + UCP, JIT when available). tokenizer.json patterns are
// written for Oniguruma; compile_onig_pattern() rewrites the few constructs whose meaning
// differs in PCRE2 so matches agree with HF: \s/\S = Unicode White_Space, (?i:...) folds ASCII
// letters only, \h = hex digit, \w = Alphabetic|M|Nd|Pc, \uHHHH escapes.
#pragma once
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

// A compiled PCRE2 pattern; thread-safe to share (match data is per call).
class Regex {
public:
    // `source` names the pattern in errors, e.g. "tokenizer.json: pre_tokenizer[0].pattern".
    Regex(const std::string& pattern, bool literal, const std::string& source);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    // Appends [start, end) byte offsets of successive non-overlapping matches in s (valid
    // UTF-8). Empty matches are reported (start == end) and the search moves one character on.
    void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
    // True when the whole of s matches (anchored both ends).
    bool full_match(std::string_view s) const;

private:
    void* code_ = nullptr;  // pcre2_code_8*
};

// Rewrites an Oniguruma pattern (as found in tokenizer.json) into PCRE2 syntax; see header.
std::string onig_to_pcre2(const std::string& pattern);

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct SplitStep {
    std::shared_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::isolated;
    bool invert = false;
};

// The ByteLevel pre-tokenizer: applied last, per piece: optional leading space, optional
// GPT-2 regex split; the byte->unicode mapping itself is done by the BPE model.
struct ByteLevelStep {
    bool present = false;
    bool add_prefix_space = false;
    std::shared_ptr<Regex> regex;  // null when use_regex is false
};

struct PreTokenizer {
    std::vector<SplitStep> splits;  // in order, before byte_level
    ByteLevelStep byte_level;
};

// Splits each piece of `pieces` (views into text the caller owns) by one step.
void apply_split(const SplitStep& step, std::vector<std::string_view>& pieces);

// Parses tokenizer.json's "pre_tokenizer" (null, one step, or a Sequence of Split, Digits,
// ByteLevel). ByteLevel must come last when present (later steps would see its alphabet).
// Errors name `file` and the JSON path.
PreTokenizer parse_pre_tokenizer(const nlohmann::json& j, const std::string& file);

}  // namespace r1
