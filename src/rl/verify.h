// The pieces every rule-based verifier shares: the format rule, answer extraction,
// reflection markers and answer normalisation (numbers as exact rationals, else strings).
//
// Format rule (task.h): the completion starts inside "<think>" (pre-filled by the prompt), so
// it is well formed when it contains exactly one "</think>", then (after optional text)
// exactly one "<answer>X</answer>" with X non-empty after trimming, followed by nothing but
// whitespace. No "<answer>" / "</answer>" may appear before "</think>" or twice; a stray
// "<think>" after "</think>" also breaks the format.
//
// Extraction for correctness is looser (a model that forgets "</think>" but answers right is
// still right): the content of the ONLY complete <answer>…</answer> block, provided no
// "</think>" follows it. Two or more answer blocks extract nothing (listing several answers
// is a reward hack); so does an unclosed or empty block.
//
// Numbers (parse_number): optional sign ('-', '+', or the Unicode minus U+2212), then one of
//   123   1,234,567 (thousands groups of exactly 3)   -0.25   .5   3/4   \frac{3}{4}
//   \dfrac / \tfrac / \frac12   (each part itself a signed decimal)
// with wrappers stripped first: "$…$", "\(…\)", "\[…\]", \boxed{…}, \text{…}, a leading
// "x =" / "answer:", a leading currency "$", a trailing "%", "." or unit words ("12 apples",
// "5 \text{cm}"). Values are exact (decimals become p/10^k); anything too long or out of
// int64 range is not a number and falls back to string comparison.
// Final-answer location in free text (final_answer): the text after the last "####"
// (GSM8K), else the content of the last \boxed{…} (nested braces), else the whole text.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rl/rational.h"

namespace r1::rl {

struct AnswerParse {
    bool formatted = false;               // the format rule above
    std::optional<std::string> answer;    // extracted block content (raw, untrimmed)
};
AnswerParse parse_completion(std::string_view completion);

// Any of the markers occurs in text (ASCII case-insensitive).
bool contains_marker(std::string_view text, const std::vector<std::string>& markers);
// Generic self-verification markers: "let me verify", "double-check", "let me check", ...
const std::vector<std::string>& generic_reflection_markers();

// The final answer inside free text (see above); a view into text.
std::string_view final_answer(std::string_view text);
// Content of the last \boxed{…} / \fbox{…} with balanced braces; nullopt if none.
std::optional<std::string_view> last_boxed(std::string_view text);

// An exact number, or nullopt (see above). Inputs over 256 bytes are not numbers.
std::optional<Rational> parse_number(std::string_view text);

// Canonical comparison form: a number's Rational::str() ("42", "-3/4"), else the text with
// wrappers removed, whitespace dropped, ASCII lower-cased (capped at 4096 bytes).
std::string normalize_answer(std::string_view text);
// Same value: both numbers -> exact equality; else normalised strings equal (and non-empty).
bool answers_match(std::string_view a, std::string_view b);

// Trims ASCII whitespace.
std::string_view trim(std::string_view s);

}  // namespace r1::rl
