// Byte tokenizer: specials table + a linear scan that tries the specials wherever a '<'
// appears (all specials start with '<'), otherwise emits the byte.
#include "tokenizer/byte_tokenizer.h"

#include <array>

#include "core/error.h"

namespace r1 {
namespace {
const std::array<std::string, ByteTokenizer::kVocabSize - 256>& specials() {
    static const std::array<std::string, ByteTokenizer::kVocabSize - 256> s = {
        "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // <｜begin▁of▁sentence｜>
        "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",    // <｜end▁of▁sentence｜>
        "<\xEF\xBD\x9CUser\xEF\xBD\x9C>",                                     // <｜User｜>
        "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>",                             // <｜Assistant｜>
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "<pad>",
    };
    return s;
}
}  // namespace

const std::string& ByteTokenizer::special_text(int32_t id) {
    R1_CHECK(is_special(id), "[tokenizer] id ", id, " is not a special token");
    return specials()[id - 256];
}

void ByteTokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) {
    const auto& sp = specials();
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '<') {
            int32_t best = -1;
            size_t best_len = 0;
            for (size_t k = 0; k < sp.size(); k++) {
                const std::string& s = sp[k];
                if (s.size() > best_len && text.compare(i, s.size(), s) == 0) {
                    best = 256 + (int32_t)k;
                    best_len = s.size();
                }
            }
            if (best >= 0) {
                out.push_back(best);
                i += best_len;
                continue;
            }
        }
        out.push_back((int32_t)(unsigned char)text[i]);
        i++;
    }
}

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) {
    std::vector<int32_t> out;
    out.reserve(text.size());
    encode_append(text, out);
    return out;
}

std::string ByteTokenizer::token_text(int32_t id) {
    R1_CHECK(id >= 0 && id < kVocabSize, "[tokenizer] id ", id, " out of range [0, ", kVocabSize,
             ")");
    if (id < 256) return std::string(1, (char)(unsigned char)id);
    return specials()[id - 256];
}

std::string ByteTokenizer::decode(const int32_t* ids, size_t n) {
    std::string s;
    s.reserve(n);
    for (size_t i = 0; i < n; i++) {
        const int32_t id = ids[i];
        R1_CHECK(id >= 0 && id < kVocabSize, "[tokenizer] id ", id, " at position ", i,
                 " out of range [0, ", kVocabSize, ")");
        if (id < 256)
            s.push_back((char)(unsigned char)id);
        else
            s += specials()[id - 256];
    }
    return s;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) {
    return decode(ids.data(), ids.size());
}

}  // namespace r1
