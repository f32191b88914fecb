// Unicode canonical normalization (NFC, NFD) for the tokenizer's "NFC"/"NFD" normalizers
// (Qwen2/Qwen3 tokenizer.json files use NFC). Tables are generated from Python's
// unicodedata by scripts/gen_unicode_nfc.py into unicode_nfc_data.cpp; characters added to
// Unicode after that version are passed through unchanged (affects only recent scripts).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1 {

// Input must be valid UTF-8 (the tokenizer sanitizes first).
std::string nfc(std::string_view valid_utf8);
std::string nfd(std::string_view valid_utf8);

namespace unicode_data {
struct CccRange {
    uint32_t lo, hi;
    uint8_t ccc;
};
struct Decomposition {
    uint32_t cp, a, b;  // canonical, one level; b == 0 for singletons
};
struct Composition {
    uint32_t a, b, composite;  // primary composites only, sorted by (a, b)
};
extern const char* const kUnicodeVersion;
extern const CccRange kCccRanges[];
extern const size_t kCccRangesCount;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionsCount;
extern const Composition kCompositions[];
extern const size_t kCompositionsCount;
}  // namespace unicode_data

}  // namespace r1
