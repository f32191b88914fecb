// Internal state of BpeTokenizer shared by bpe_load.cpp (building it from tokenizer.json)
// and bpe_tokenizer.cpp (encode/decode). Not part of the public API.
#pragma once
#include <array>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"

namespace r1 {

// The GPT-2 byte <-> unicode table: printable Latin-1 bytes map to themselves, the other 68
// bytes to U+0100.. in order. Every byte-level vocab string is spelled in these characters.
struct ByteUnicode {
    std::array<uint32_t, 256> to_cp{};
    std::unordered_map<uint32_t, uint8_t> to_byte;
    ByteUnicode();
};
const ByteUnicode& byte_unicode();

// Leftmost-longest matcher over the added tokens' contents (a byte trie).
struct AddedMatcher {
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> child node
    std::vector<int32_t> terminal{-1};            // node -> index into Impl::added, or -1
    std::array<bool, 256> first{};                // bytes that can start a token
    bool empty() const { return terminal.size() == 1; }
    void add(const std::string& s, int32_t index);
    // Longest token starting at s[pos]: returns its length and sets index; 0 if none.
    size_t longest_at(std::string_view s, size_t pos, int32_t& index) const;
};

enum class NormKind { nfc, nfd };

struct MergeRule {
    int32_t rank, merged;
};

struct BpeTokenizer::Impl {
    std::string source;  // file name for errors
    std::unordered_map<std::string, int32_t> vocab;  // model vocab, byte-level spelling
    std::vector<std::string> id_to_token;            // vocab string or added content
    std::vector<std::string> id_bytes;               // bytes decode() emits per id
    std::vector<uint8_t> id_kind;                    // 0 hole, 1 model, 2 added, 3 special
    std::unordered_map<uint64_t, MergeRule> merges;  // (left << 32 | right) -> rule
    std::array<int32_t, 256> byte_ids{};             // id of each single byte, -1 if none
    bool ignore_merges = false;
    int32_t unk_id = -1;

    std::vector<AddedToken> added;
    std::unordered_map<std::string, int32_t> added_by_content;
    AddedMatcher raw_matcher;   // tokens matched on raw text
    AddedMatcher norm_matcher;  // normalized tokens, matched on normalized gaps
    std::shared_ptr<Regex> word_char;  // for single_word boundaries

    bool has_normalizer = false;
    std::vector<NormKind> normalizers;
    PreTokenizer pre;

    std::vector<int32_t> prefix_ids, suffix_ids;  // add_special
    int32_t bos = -1, eos = -1;

    mutable std::mutex cache_mu;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;  // word bytes -> ids

    std::string normalize(std::string_view s) const;
    void encode_gap(std::string_view gap, std::vector<int32_t>& out) const;
    void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;
    void bpe(std::string_view bytes, std::vector<int32_t>& out) const;
};

}  // namespace r1
