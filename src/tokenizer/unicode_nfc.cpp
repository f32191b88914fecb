// NFC / NFD per UAX #15: full canonical decomposition (Hangul algorithmically), canonical
// ordering of combining marks by combining class, then canonical composition of unblocked
// pairs. Text that is all below U+0300 is returned as is (nothing there decomposes into or
// composes with anything under NFC), which is the common case and costs one scan.
#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "tokenizer/utf8.h"

namespace r1 {
namespace {
using namespace unicode_data;

constexpr uint32_t SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
constexpr uint32_t LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount,
                   SCount = LCount * NCount;

uint8_t ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    auto it = std::upper_bound(kCccRanges, kCccRanges + kCccRangesCount, cp,
                               [](uint32_t c, const CccRange& r) { return c < r.lo; });
    if (it == kCccRanges) return 0;
    --it;
    return cp <= it->hi ? it->ccc : 0;
}

const Decomposition* find_decomposition(uint32_t cp) {
    auto it = std::lower_bound(kDecompositions, kDecompositions + kDecompositionsCount, cp,
                               [](const Decomposition& d, uint32_t c) { return d.cp < c; });
    return it != kDecompositions + kDecompositionsCount && it->cp == cp ? it : nullptr;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= SBase && cp < SBase + SCount) {
        uint32_t s = cp - SBase;
        out.push_back(LBase + s / NCount);
        out.push_back(VBase + (s % NCount) / TCount);
        if (s % TCount) out.push_back(TBase + s % TCount);
        return;
    }
    const Decomposition* d = cp >= 0xC0 ? find_decomposition(cp) : nullptr;
    if (!d) {
        out.push_back(cp);
        return;
    }
    decompose(d->a, out);
    if (d->b) decompose(d->b, out);
}

// Returns the primary composite of (a, b) or 0.
uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= LBase && a < LBase + LCount && b >= VBase && b < VBase + VCount)
        return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
    if (a >= SBase && a < SBase + SCount && (a - SBase) % TCount == 0 && b > TBase &&
        b < TBase + TCount)
        return a + (b - TBase);
    auto it = std::lower_bound(
        kCompositions, kCompositions + kCompositionsCount, std::make_pair(a, b),
        [](const Composition& c, const std::pair<uint32_t, uint32_t>& k) {
            return c.a != k.first ? c.a < k.first : c.b < k.second;
        });
    if (it != kCompositions + kCompositionsCount && it->a == a && it->b == b)
        return it->composite;
    return 0;
}

bool all_below_0300(std::string_view s) {
    // Every byte < 0xCC means every code point < U+0300 (U+0300 encodes as CC 80).
    for (unsigned char c : s)
        if (c >= 0xCC) return false;
    return true;
}

std::vector<uint32_t> decompose_and_order(std::string_view s) {
    std::vector<uint32_t> d;
    d.reserve(s.size());
    for (size_t i = 0; i < s.size();) decompose(utf8::next(s, i), d);
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < d.size();) {
        if (ccc(d[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < d.size() && ccc(d[j]) != 0) j++;
        std::stable_sort(d.begin() + i, d.begin() + j,
                         [](uint32_t x, uint32_t y) { return ccc(x) < ccc(y); });
        i = j;
    }
    return d;
}

std::string encode(const std::vector<uint32_t>& cps) {
    std::string out;
    out.reserve(cps.size() * 2);
    for (uint32_t c : cps) utf8::append(out, c);
    return out;
}
}  // namespace

std::string nfd(std::string_view s) {
    bool ascii = true;
    for (unsigned char c : s) ascii &= c < 0x80;
    if (ascii) return std::string(s);
    return encode(decompose_and_order(s));
}

std::string nfc(std::string_view s) {
    if (all_below_0300(s)) return std::string(s);
    std::vector<uint32_t> d = decompose_and_order(s);
    std::vector<uint32_t> out;
    out.reserve(d.size());
    long starter = -1;  // index in out of the last starter
    uint8_t last_ccc = 0;
    for (uint32_t c : d) {
        uint8_t cc = ccc(c);
        if (starter >= 0) {
            bool adjacent = (size_t)starter == out.size() - 1;
            // c is blocked from the starter by any char between them with ccc 0 or >= cc.
            bool unblocked = adjacent || (last_ccc != 0 && last_ccc < cc);
            if (unblocked) {
                if (uint32_t comp = compose_pair(out[starter], c)) {
                    out[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = (long)out.size();
        out.push_back(c);
        last_ccc = cc;
    }
    return encode(out);
}

}  // namespace r1
