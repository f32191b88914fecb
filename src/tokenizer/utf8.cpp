// UTF-8 decoding with replacement, following the WHATWG Encoding standard's UTF-8 decoder
// byte for byte, so r1 and the Node oracle agree on what invalid input means.
#include "tokenizer/utf8.h"

namespace r1::utf8 {

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += (char)cp;
    } else if (cp < 0x800) {
        out += (char)(0xC0 | (cp >> 6));
        out += (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += (char)(0xE0 | (cp >> 12));
        out += (char)(0x80 | ((cp >> 6) & 0x3F));
        out += (char)(0x80 | (cp & 0x3F));
    } else {
        out += (char)(0xF0 | (cp >> 18));
        out += (char)(0x80 | ((cp >> 12) & 0x3F));
        out += (char)(0x80 | ((cp >> 6) & 0x3F));
        out += (char)(0x80 | (cp & 0x3F));
    }
}

namespace {
// Number of continuation bytes a lead byte announces and the allowed range of the first
// continuation byte (this range is what rules out overlongs, surrogates and > U+10FFFF).
// Returns false for a byte that cannot start a multi-byte character.
bool lead_info(uint8_t b, int& need, uint8_t& lo, uint8_t& hi) {
    lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) return need = 1, true;
    if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
        return true;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
        return true;
    }
    return false;
}

// Length of the valid character at s[i], or 0 if invalid; `consumed` gets the length of the
// maximal subpart to replace by one U+FFFD when invalid (>= 1), and `truncated` says the
// subpart ran into the end of s.
size_t char_at(std::string_view s, size_t i, size_t& consumed, bool& truncated) {
    truncated = false;
    uint8_t b = (uint8_t)s[i];
    if (b < 0x80) return consumed = 1, 1;
    int need;
    uint8_t lo, hi;
    if (!lead_info(b, need, lo, hi)) return consumed = 1, 0;
    size_t j = i + 1;
    for (int k = 0; k < need; k++, j++) {
        if (j >= s.size()) {
            truncated = true;
            consumed = j - i;
            return 0;
        }
        uint8_t c = (uint8_t)s[j];
        if (c < lo || c > hi) {
            consumed = j - i;
            return 0;
        }
        lo = 0x80, hi = 0xBF;
    }
    return consumed = j - i, j - i;
}
}  // namespace

std::string sanitize(std::string_view s) {
    if (is_valid(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 8);
    size_t i = 0;
    while (i < s.size()) {
        size_t consumed;
        bool truncated;
        size_t n = char_at(s, i, consumed, truncated);
        if (n) {
            out.append(s.data() + i, n);
        } else {
            out += "\xEF\xBF\xBD";
        }
        i += consumed;
    }
    return out;
}

bool is_valid(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if ((uint8_t)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t consumed;
        bool truncated;
        if (!char_at(s, i, consumed, truncated)) return false;
        i += consumed;
    }
    return true;
}

size_t incomplete_tail(std::string_view s) {
    // Walk back over at most 3 bytes looking for a lead byte whose character is cut short.
    size_t n = s.size();
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        size_t i = n - k;
        uint8_t b = (uint8_t)s[i];
        if (b < 0x80) return 0;
        if (b >= 0xC0) {
            size_t consumed;
            bool truncated;
            char_at(s, i, consumed, truncated);
            return truncated && i + consumed == n ? k : 0;
        }
    }
    return 0;
}

uint32_t next(std::string_view s, size_t& i) {
    uint8_t b = (uint8_t)s[i];
    if (b < 0x80) return i += 1, b;
    if (b < 0xE0) {
        uint32_t cp = ((b & 0x1F) << 6) | (s[i + 1] & 0x3F);
        return i += 2, cp;
    }
    if (b < 0xF0) {
        uint32_t cp = ((b & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        return i += 3, cp;
    }
    uint32_t cp = ((b & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
                  (s[i + 3] & 0x3F);
    return i += 4, cp;
}

std::vector<uint32_t> to_code_points(std::string_view valid) {
    std::vector<uint32_t> cps;
    cps.reserve(valid.size());
    for (size_t i = 0; i < valid.size();) cps.push_back(next(valid, i));
    return cps;
}

bool is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

}  // namespace r1::utf8
