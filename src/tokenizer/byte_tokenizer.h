// Byte-level tokenizer for the built-in tasks (no merges, no file): every UTF-8 byte is one
// token, plus the DeepSeek-R1 chat specials so prompts and reasoning markers are single ids.
// Small vocabulary (265) keeps tiny demo models cheap; real models use the BPE tokenizer.
//
// Ids (stable: checkpoints and metrics depend on them):
//     0..255  the byte with that value
//     256  <｜begin▁of▁sentence｜>   (BOS; note the fullwidth bars U+FF5C and U+2581 '▁')
//     257  <｜end▁of▁sentence｜>     (EOS)
//     258  <｜User｜>
//     259  <｜Assistant｜>
//     260  <think>
//     261  </think>
//     262  <answer>
//     263  </answer>
//     264  <pad>
//   n_vocab() = 265. A model used with this tokenizer needs ModelConfig::n_vocab >= 265
//   (larger is fine: the extra rows are never targets).
//
// encode() matches special-token strings anywhere in the text (longest match first, so a
// literal "<think>" in user text becomes the special id — acceptable for built-in tasks, and
// what the R1 chat template does too); every other byte maps to itself. decode() is the exact
// inverse for any id sequence, so decode(encode(s)) == s for every string s.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

class ByteTokenizer {
public:
    static constexpr int32_t kBos = 256;
    static constexpr int32_t kEos = 257;
    static constexpr int32_t kUser = 258;
    static constexpr int32_t kAssistant = 259;
    static constexpr int32_t kThink = 260;
    static constexpr int32_t kThinkEnd = 261;
    static constexpr int32_t kAnswer = 262;
    static constexpr int32_t kAnswerEnd = 263;
    static constexpr int32_t kPad = 264;
    static constexpr int32_t kVocabSize = 265;

    static int32_t n_vocab() { return kVocabSize; }
    static bool is_special(int32_t id) { return id >= 256 && id < kVocabSize; }
    // Text of a special id ("<think>"); throws r1::Error for a non-special id.
    static const std::string& special_text(int32_t id);

    static std::vector<int32_t> encode(std::string_view text);
    // Appends to out (no allocation churn when building packed streams).
    static void encode_append(std::string_view text, std::vector<int32_t>& out);
    // Throws r1::Error for an id outside [0, n_vocab).
    static std::string decode(const std::vector<int32_t>& ids);
    static std::string decode(const int32_t* ids, size_t n);
    // Text of one id (a single byte or a special's string).
    static std::string token_text(int32_t id);
};

}  // namespace r1
