// Encoding and decoding for BpeTokenizer (see bpe_tokenizer.h for the contract). The order
// of steps and the treatment of added tokens follow HF tokenizers / tokenizers.js:
// raw-text added tokens -> normalizer on the gaps -> normalized added tokens -> pre-tokenizer
// -> byte-level BPE; words are cached (they repeat a lot in real text).
#include "tokenizer/bpe_tokenizer.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/bpe_impl.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace r1 {

namespace {
constexpr size_t kMaxCachedWord = 256;     // bytes; longer words are rare and not cached
constexpr size_t kMaxCacheEntries = 1 << 17;  // cleared when full (bounded memory)

struct Match {
    size_t b, e;  // span removed from the text (token plus stripped whitespace)
    int32_t index;
};

uint32_t cp_before(std::string_view s, size_t pos, size_t& len) {
    size_t i = pos;
    do i--;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80);
    len = pos - i;
    size_t j = i;
    return utf8::next(s, j);
}

// HF AddedVocabulary::find_matches: leftmost-longest, single_word needs non-word chars
// (or text edges) around the match, lstrip/rstrip swallow adjacent whitespace.
std::vector<Match> find_added(const BpeTokenizer::Impl& t, const AddedMatcher& m,
                              std::string_view s) {
    std::vector<Match> out;
    if (m.empty()) return out;
    size_t i = 0, last_end = 0;
    while (i < s.size()) {
        if (!m.first[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        int32_t idx = -1;
        size_t len = m.longest_at(s, i, idx);
        if (!len) {
            i++;
            continue;
        }
        const AddedToken& tok = t.added[idx];
        size_t b = i, e = i + len;
        if (tok.single_word) {
            bool ok = true;
            if (b > 0) {
                size_t l;
                cp_before(s, b, l);
                ok &= !t.word_char->full_match(s.substr(b - l, l));
            }
            if (ok && e < s.size()) {
                size_t j = e;
                utf8::next(s, j);
                ok &= !t.word_char->full_match(s.substr(e, j - e));
            }
            if (!ok) {
                i = e;
                continue;
            }
        }
        if (tok.lstrip) {
            while (b > last_end) {
                size_t l;
                if (!utf8::is_white_space(cp_before(s, b, l))) break;
                b -= l;
            }
        }
        if (tok.rstrip) {
            while (e < s.size()) {
                size_t j = e;
                if (!utf8::is_white_space(utf8::next(s, j))) break;
                e = j;
            }
        }
        out.push_back({b, e, idx});
        i = last_end = e;
    }
    return out;
}
}  // namespace

std::string BpeTokenizer::Impl::normalize(std::string_view s) const {
    std::string r(s);
    for (NormKind k : normalizers) r = k == NormKind::nfc ? nfc(r) : nfd(r);
    return r;
}

// One word of the pre-tokenizer's output, as raw bytes.
void BpeTokenizer::Impl::encode_word(std::string_view bytes, std::vector<int32_t>& out) const {
    if (bytes.empty()) return;
    if (ignore_merges) {  // a word that is itself in the vocab is emitted whole
        const ByteUnicode& bu = byte_unicode();
        std::string s;
        for (unsigned char c : bytes) utf8::append(s, bu.to_cp[c]);
        auto it = vocab.find(s);
        if (it != vocab.end()) {
            out.push_back(it->second);
            return;
        }
    }
    bool cacheable = bytes.size() <= kMaxCachedWord;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mu);
        auto it = cache.find(std::string(bytes));
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    size_t start = out.size();
    bpe(bytes, out);
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mu);
        if (cache.size() >= kMaxCacheEntries) cache.clear();
        cache.emplace(std::string(bytes), std::vector<int32_t>(out.begin() + start, out.end()));
    }
}

// Merges the lowest-ranked adjacent pair until none applies; ties go to the leftmost pair.
// Symbols form a linked list over the word; the heap holds candidate pairs and stale
// entries are skipped on pop (their left symbol changed or was merged away).
void BpeTokenizer::Impl::bpe(std::string_view bytes, std::vector<int32_t>& out) const {
    size_t n = bytes.size();
    std::vector<int32_t> id(n), prev(n), next(n);
    for (size_t i = 0; i < n; i++) {
        id[i] = byte_ids[(unsigned char)bytes[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    struct Cand {
        int32_t rank, left, right, left_id, right_id;
        bool operator>(const Cand& o) const {
            return rank != o.rank ? rank > o.rank : left > o.left;
        }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int32_t l) {
        if (l < 0) return;
        int32_t r = next[l];
        if (r < 0 || id[l] < 0 || id[r] < 0) return;
        auto it = merges.find(((uint64_t)(uint32_t)id[l] << 32) | (uint32_t)id[r]);
        if (it != merges.end()) heap.push({it->second.rank, l, r, id[l], id[r]});
    };
    for (size_t i = 0; i + 1 < n; i++) push((int32_t)i);
    while (!heap.empty()) {
        Cand c = heap.top();
        heap.pop();
        if (id[c.left] != c.left_id || next[c.left] != c.right || id[c.right] != c.right_id)
            continue;  // stale
        auto it = merges.find(((uint64_t)(uint32_t)c.left_id << 32) | (uint32_t)c.right_id);
        id[c.left] = it->second.merged;
        id[c.right] = -2;  // dead
        next[c.left] = next[c.right];
        if (next[c.left] >= 0) prev[next[c.left]] = c.left;
        push(prev[c.left]);
        push(c.left);
    }
    for (int32_t i = 0; i >= 0; i = next[i]) {
        if (id[i] >= 0) out.push_back(id[i]);
        else if (unk_id >= 0) out.push_back(unk_id);  // byte missing from the vocab
    }
}

// A stretch of normalized text between added tokens: pre-tokenize, then BPE each word.
void BpeTokenizer::Impl::encode_gap(std::string_view gap, std::vector<int32_t>& out) const {
    if (gap.empty()) return;
    std::vector<std::string_view> pieces{gap};
    for (const SplitStep& s : pre.splits) apply_split(s, pieces);
    std::string buf;
    std::vector<std::pair<size_t, size_t>> words;
    for (std::string_view piece : pieces) {
        std::string_view p = piece;
        if (pre.byte_level.add_prefix_space && (p.empty() || p[0] != ' ')) {
            buf = " ";
            buf += piece;
            p = buf;
        }
        if (!pre.byte_level.regex) {
            encode_word(p, out);
            continue;
        }
        words.clear();
        pre.byte_level.regex->find_all(p, words);
        size_t prev = 0;  // text the GPT-2 regex does not match still forms words (Isolated)
        for (auto [b, e] : words) {
            if (b > prev) encode_word(p.substr(prev, b - prev), out);
            encode_word(p.substr(b, e - b), out);
            prev = e;
        }
        if (prev < p.size()) encode_word(p.substr(prev), out);
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view input, bool add_special) const {
    const Impl& t = *impl_;
    std::string text = utf8::sanitize(input);
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special) out.insert(out.end(), t.prefix_ids.begin(), t.prefix_ids.end());
    auto encode_normalized = [&](std::string_view gap) {
        if (gap.empty()) return;
        std::string norm = t.has_normalizer ? t.normalize(gap) : std::string(gap);
        std::string_view ns = norm;
        size_t prev = 0;
        for (const Match& m : find_added(t, t.norm_matcher, ns)) {
            t.encode_gap(ns.substr(prev, m.b - prev), out);
            out.push_back(t.added[m.index].id);
            prev = m.e;
        }
        t.encode_gap(ns.substr(prev), out);
    };
    std::string_view s = text;
    size_t prev = 0;
    for (const Match& m : find_added(t, t.raw_matcher, s)) {
        encode_normalized(s.substr(prev, m.b - prev));
        out.push_back(t.added[m.index].id);
        prev = m.e;
    }
    encode_normalized(s.substr(prev));
    if (add_special) out.insert(out.end(), t.suffix_ids.begin(), t.suffix_ids.end());
    return out;
}

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
    const Impl& t = *impl_;
    if (id < 0 || (size_t)id >= t.id_kind.size() || !t.id_kind[id])
        fail("[tokenizer] ", t.source, ": unknown token id ", id);
    return t.id_bytes[id];
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::string bytes;
    for (int32_t id : ids) {
        const std::string& b = token_bytes(id);
        if (skip_special && impl_->id_kind[id] == 3) continue;
        bytes += b;
    }
    return utf8::sanitize(bytes);
}

int32_t BpeTokenizer::n_vocab() const { return (int32_t)impl_->id_kind.size(); }

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
    auto a = impl_->added_by_content.find(std::string(token));
    if (a != impl_->added_by_content.end()) return a->second;
    auto v = impl_->vocab.find(std::string(token));
    if (v != impl_->vocab.end()) return v->second;
    return std::nullopt;
}

const std::string& BpeTokenizer::id_to_token(int32_t id) const {
    token_bytes(id);  // range check
    return impl_->id_to_token[id];
}

bool BpeTokenizer::is_special(int32_t id) const {
    token_bytes(id);
    return impl_->id_kind[id] == 3;
}

const std::vector<AddedToken>& BpeTokenizer::added_tokens() const { return impl_->added; }

std::optional<int32_t> BpeTokenizer::bos_id() const {
    return impl_->bos >= 0 ? std::optional<int32_t>(impl_->bos) : std::nullopt;
}
std::optional<int32_t> BpeTokenizer::eos_id() const {
    return impl_->eos >= 0 ? std::optional<int32_t>(impl_->eos) : std::nullopt;
}

std::string BpeStreamDecoder::push(int32_t id) {
    const std::string& b = tok_.token_bytes(id);
    if (!(skip_special_ && tok_.is_special(id))) pending_ += b;
    size_t hold = utf8::incomplete_tail(pending_);
    std::string out = utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - hold));
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string BpeStreamDecoder::flush() {
    std::string out = utf8::sanitize(pending_);
    pending_.clear();
    return out;
}

}  // namespace r1
