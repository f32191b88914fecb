// BpeTokenizer on a tiny handmade tokenizer.json whose ids are worked out by hand, plus the
// pieces under it: Split behaviours, the Oniguruma->PCRE2 rewrite, UTF-8 replacement, NFC,
// streaming decode, and errors for malformed files. The exact-ids comparison with HF on real
// tokenizer files is tests/cli/tokenizer_oracle.sh.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace {
using json = nlohmann::json;
using Ids = std::vector<int32_t>;

// Vocab in GPT-2 byte-level spelling: "Ġ" is the space byte, "Ã" + "©" are the bytes of é.
json tiny_tokenizer() {
    return json::parse(R"({
      "version": "1.0",
      "added_tokens": [
        {"id": 20, "content": "<s>", "special": true, "lstrip": false, "rstrip": false,
         "single_word": false, "normalized": false},
        {"id": 21, "content": "<mask>", "special": false, "lstrip": true, "rstrip": true,
         "single_word": false, "normalized": false},
        {"id": 22, "content": "[X]", "special": false, "lstrip": false, "rstrip": false,
         "single_word": true, "normalized": false}
      ],
      "normalizer": null,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                        "use_regex": true},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [20], "tokens": ["<s>"]}}},
      "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                  "use_regex": true},
      "model": {
        "type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false,
        "byte_fallback": false, "ignore_merges": false,
        "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "Ġab": 7,
                  "Ã": 8, "©": 9, "Ã©": 10, "d": 11, "[": 12, "X": 13, "]": 14,
                  "1": 15, "2": 16, "12": 17},
        "merges": ["a b", "ab c", ["Ġ", "a"], "Ġa b", "Ã ©", "1 2"]
      }
    })");
}

r1::BpeTokenizer tiny() { return r1::BpeTokenizer::from_json(tiny_tokenizer(), json(), "tiny.json"); }

std::string error_of(const json& j) {
    try {
        r1::BpeTokenizer::from_json(j, json(), "bad.json");
    } catch (const r1::Error& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(BpeTokenizer, HandCheckedIds) {
    auto t = tiny();
    // "abc" merges a+b (rank 0) then ab+c (rank 1). In " ab" the pair a,b (rank 0) wins over
    // Ġ,a (rank 2), and no merge joins Ġ with ab: [Ġ, ab].
    EXPECT_EQ(t.encode("abc ab"), (Ids{5, 3, 4}));
    EXPECT_EQ(t.encode(" a"), (Ids{6}));
    EXPECT_EQ(t.encode("é"), (Ids{10}));
    EXPECT_EQ(t.encode(""), Ids{});
    // Bytes missing from the vocab with no unk_token are dropped, as HF does.
    EXPECT_EQ(t.encode("z"), Ids{});
}

TEST(BpeTokenizer, AddedTokensStripAndSingleWord) {
    auto t = tiny();
    EXPECT_EQ(t.encode("<s>a"), (Ids{20, 0}));
    // lstrip/rstrip swallow the spaces around <mask>; without them "ab " would be [ab, Ġ].
    EXPECT_EQ(t.encode("ab <mask> c"), (Ids{4, 21, 2}));
    EXPECT_EQ(t.encode("ab<mask>c"), (Ids{4, 21, 2}));
    // single_word: "[X]" is the token only between non-word characters.
    EXPECT_EQ(t.encode("d [X] d"), (Ids{11, 3, 22, 3, 11}));
    EXPECT_EQ(t.encode("d[X]d"), (Ids{11, 12, 13, 14, 11}));
    EXPECT_EQ(t.encode("[X]"), (Ids{22}));
    // Leftmost-longest: "<s" is not a token; the "<s>" inside is.
    EXPECT_EQ(t.encode("<<s>"), (Ids{20}));  // '<' is not in the vocab: dropped
}

TEST(BpeTokenizer, AddSpecialAndDecode) {
    auto t = tiny();
    EXPECT_EQ(t.encode("a", true), (Ids{20, 0}));
    EXPECT_EQ(t.decode({20, 5, 3, 4}), "<s>abc ab");
    EXPECT_EQ(t.decode({20, 5, 3, 4}, true), "abc ab");
    EXPECT_EQ(t.decode({10}), "é");
    EXPECT_EQ(t.decode({8}), "\xEF\xBF\xBD");  // half of é: U+FFFD
    EXPECT_THROW(t.decode({99}), r1::Error);
    EXPECT_EQ(t.token_to_id("Ġab"), 7);
    EXPECT_EQ(t.token_to_id("<mask>"), 21);
    EXPECT_TRUE(t.is_special(20));
    EXPECT_FALSE(t.is_special(21));
    EXPECT_EQ(t.n_vocab(), 23);
}

TEST(BpeTokenizer, IgnoreMerges) {
    json j = tiny_tokenizer();
    j["model"]["ignore_merges"] = true;
    auto t = r1::BpeTokenizer::from_json(j, json(), "tiny.json");
    EXPECT_EQ(t.encode(" ab"), (Ids{7}));  // whole word is in the vocab: no merging
    EXPECT_EQ(t.encode("abab"), (Ids{4, 4}));
}

TEST(BpeTokenizer, DigitsAndNfcNormalizer) {
    json j = tiny_tokenizer();
    EXPECT_EQ(r1::BpeTokenizer::from_json(j, json(), "t").encode("12"), (Ids{17}));
    json byte_level = j["pre_tokenizer"];
    j["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}};
    j["normalizer"] = {{"type", "NFC"}};
    auto t = r1::BpeTokenizer::from_json(j, json(), "t");
    EXPECT_EQ(t.encode("12"), (Ids{15, 16}));  // digits isolated before BPE can merge them
    EXPECT_EQ(t.encode("e\u0301"), (Ids{10}));  // NFC: e + combining acute -> é
}

TEST(BpeTokenizer, StreamingNeverSplitsACharacter) {
    auto t = tiny();
    r1::BpeStreamDecoder d(t);
    EXPECT_EQ(d.push(5), "abc");
    EXPECT_EQ(d.push(8), "");  // first byte of é held back
    EXPECT_EQ(d.push(9), "é");
    EXPECT_EQ(d.push(3), " ");
    EXPECT_EQ(d.push(8), "");
    EXPECT_EQ(d.push(20), "\xEF\xBF\xBD<s>");  // '<' cannot continue é: U+FFFD, like decode()
    EXPECT_EQ(d.push(8), "");
    EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
    r1::BpeStreamDecoder skip(t, true);
    EXPECT_EQ(skip.push(20) + skip.push(0), "a");
}

TEST(BpeTokenizer, MalformedFilesNameFileAndField) {
    auto with = [](auto edit) {
        json j = tiny_tokenizer();
        edit(j);
        return error_of(j);
    };
    auto has = [](const std::string& msg, const char* a, const char* b) {
        return msg.find(a) != std::string::npos && msg.find(b) != std::string::npos;
    };
    std::string e;
    e = with([](json& j) { j["model"]["merges"][1] = "abc"; });
    EXPECT_TRUE(has(e, "bad.json", "model.merges[1]")) << e;
    e = with([](json& j) { j["model"]["merges"][0] = "a z"; });
    EXPECT_TRUE(has(e, "model.merges[0]", "'z' not in model.vocab")) << e;
    e = with([](json& j) { j["model"]["merges"][0] = json::array({1, 2}); });
    EXPECT_TRUE(has(e, "bad.json", "model.merges[0]")) << e;
    e = with([](json& j) { j["model"].erase("vocab"); });
    EXPECT_TRUE(has(e, "bad.json", "model.vocab")) << e;
    e = with([](json& j) { j["model"]["vocab"]["a"] = "zero"; });
    EXPECT_TRUE(has(e, "bad.json", "model.vocab[\"a\"]")) << e;
    e = with([](json& j) { j["added_tokens"][1].erase("content"); });
    EXPECT_TRUE(has(e, "bad.json", "added_tokens[1].content")) << e;
    e = with([](json& j) { j["added_tokens"][0]["lstrip"] = "yes"; });
    EXPECT_TRUE(has(e, "added_tokens[0]", "lstrip")) << e;
    e = with([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; });
    EXPECT_TRUE(has(e, "bad.json", "pre_tokenizer")) << e;
    e = with([](json& j) {
        j["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers",
                               {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}},
                                 {"behavior", "Isolated"}},
                                j["pre_tokenizer"]}}};
    });
    EXPECT_TRUE(has(e, "pre_tokenizer.pretokenizers[0].pattern.Regex", "cannot compile")) << e;
    e = with([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; });
    EXPECT_TRUE(has(e, "normalizer", "NFKC")) << e;
    e = with([](json& j) { j["decoder"] = {{"type", "Metaspace"}}; });
    EXPECT_TRUE(has(e, "bad.json", "decoder")) << e;

    // Through load(): unreadable and non-JSON files name the path.
    const char* tmp_env = std::getenv("R1_TEST_TMP");
    auto dir = std::filesystem::path(tmp_env ? tmp_env : "/tmp") / "bpe_tokenizer_test";
    std::filesystem::create_directories(dir);
    auto path = (dir / "broken_tokenizer.json").string();
    std::ofstream(path) << "{\"model\": {\"vocab\": {";
    try {
        r1::BpeTokenizer::load(path);
        ADD_FAILURE() << "no error";
    } catch (const r1::Error& err) {
        EXPECT_TRUE(has(err.what(), "broken_tokenizer.json", "invalid JSON")) << err.what();
    }
    EXPECT_THROW(r1::BpeTokenizer::load((dir / "missing.json").string()), r1::Error);
    std::ofstream(path) << tiny_tokenizer().dump();
    EXPECT_EQ(r1::BpeTokenizer::load(path).encode("abc ab"), (Ids{5, 3, 4}));
}

TEST(BpeTokenizer, SplitBehaviours) {
    // HF's documented example: "the-final--countdown" split on "-".
    auto split = [](r1::SplitBehavior b, bool invert = false) {
        r1::SplitStep s{std::make_shared<r1::Regex>("-", true, "test"), b, invert};
        std::vector<std::string_view> pieces{"the-final--countdown"};
        r1::apply_split(s, pieces);
        return std::vector<std::string>(pieces.begin(), pieces.end());
    };
    using V = std::vector<std::string>;
    using B = r1::SplitBehavior;
    EXPECT_EQ(split(B::removed), (V{"the", "final", "countdown"}));
    EXPECT_EQ(split(B::isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
    EXPECT_EQ(split(B::merged_with_previous), (V{"the-", "final-", "-", "countdown"}));
    EXPECT_EQ(split(B::merged_with_next), (V{"the", "-final", "-", "-countdown"}));
    EXPECT_EQ(split(B::contiguous), (V{"the", "-", "final", "--", "countdown"}));
    EXPECT_EQ(split(B::removed, true), (V{"-", "-", "-"}));
}

TEST(BpeTokenizer, OnigurumaRewrite) {
    EXPECT_EQ(r1::onig_to_pcre2("(?i:'s|'t)"), "(?:'[sS]|'[tT])");
    EXPECT_EQ(r1::onig_to_pcre2("\\s+(?!\\S)"), "\\p{White_Space}+(?!\\P{White_Space})");
    EXPECT_EQ(r1::onig_to_pcre2("[^\\s\\p{L}]"), "[^\\p{White_Space}\\p{L}]");
    EXPECT_EQ(r1::onig_to_pcre2("\\u4e00"), "\\x{4e00}");
    // ASCII-only case folding: the long s (U+017F) is not an 's' here, unlike PCRE2's (?i).
    r1::Regex re("(?i:'s)", false, "test");
    EXPECT_TRUE(re.full_match("'S"));
    EXPECT_FALSE(re.full_match("'\u017F"));
    // \s is Unicode White_Space: U+0085 yes, U+180E no (PCRE2's own \s says the opposite).
    r1::Regex ws("\\s", false, "test");
    EXPECT_TRUE(ws.full_match("\u0085"));
    EXPECT_FALSE(ws.full_match("\u180E"));
}

TEST(BpeTokenizer, Utf8Replacement) {
    using r1::utf8::sanitize;
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(sanitize("ok é"), "ok é");
    EXPECT_EQ(sanitize("\xC3("), fffd + "(");
    EXPECT_EQ(sanitize("\xE4\xB8"), fffd);                 // truncated: one maximal subpart
    EXPECT_EQ(sanitize("\xED\xA0\x80"), fffd + fffd + fffd);  // surrogate: byte by byte
    EXPECT_EQ(sanitize("\xC0\xAF"), fffd + fffd);          // overlong
    EXPECT_EQ(sanitize("\xF0\x9F\x98" "a"), fffd + "a");
    EXPECT_EQ(r1::utf8::incomplete_tail("a\xF0\x9F\x98"), 3u);
    EXPECT_EQ(r1::utf8::incomplete_tail("a\xF0\x9F\x98\x80"), 0u);
    EXPECT_EQ(r1::utf8::incomplete_tail("a\xED\xA0"), 0u);  // can never complete
}

TEST(BpeTokenizer, Nfc) {
    EXPECT_EQ(r1::nfc("e\u0301"), "\u00E9");
    EXPECT_EQ(r1::nfc("\u1100\u1161\u11A8"), "\uAC01");             // Hangul L V T
    EXPECT_EQ(r1::nfc("a\u0323\u0302"), "\u1EAD");                  // reordered marks
    EXPECT_EQ(r1::nfc("a\u0302\u0323"), "\u1EAD");
    EXPECT_EQ(r1::nfc("\u2126"), "\u03A9");                         // singleton
    EXPECT_EQ(r1::nfc("\u0958"), "\u0915\u093C");                   // composition exclusion
    EXPECT_EQ(r1::nfc("\uFB01"), "\uFB01");                         // compatibility: untouched
    EXPECT_EQ(r1::nfd("\u00E9"), "e\u0301");
    EXPECT_EQ(r1::nfc("plain ascii"), "plain ascii");
}
