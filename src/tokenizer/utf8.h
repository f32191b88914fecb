// UTF-8 helpers for the tokenizer: decoding with WHATWG replacement semantics (what Node's
// TextDecoder, Python's errors="replace" and Rust's from_utf8_lossy all do: one U+FFFD per
// maximal invalid subpart), code point iteration over known-valid text, and the "is this
// tail an unfinished character" test the streaming decoder needs.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::utf8 {

// Appends the UTF-8 encoding of code point cp (must be a Unicode scalar value).
void append(std::string& out, uint32_t cp);

// Returns s with every invalid sequence replaced by U+FFFD (WHATWG "maximal subpart" rule).
// Valid input is returned unchanged.
std::string sanitize(std::string_view s);

// True when s is well-formed UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool is_valid(std::string_view s);

// Length of the longest suffix of s that is a proper prefix of some valid UTF-8 character
// (0..3): bytes a streaming decoder must hold back because more may complete them.
size_t incomplete_tail(std::string_view s);

// Decodes known-valid UTF-8 into code points.
std::vector<uint32_t> to_code_points(std::string_view valid);

// Decodes the character at s[i] of known-valid UTF-8; advances i.
uint32_t next(std::string_view s, size_t& i);

// Unicode White_Space property (what Rust's char::is_whitespace tests).
bool is_white_space(uint32_t cp);

}  // namespace r1::utf8
