// bpe_from_gguf: a tokenizer given as GGUF metadata (the way llama.cpp's converter stores a
// tokenizer.json) encodes and decodes exactly like BpeTokenizer::from_json on the original
// tokenizer.json: same vocabulary, merges, special tokens, BOS handling and pre-tokenizer.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/bpe_from_gguf.h"
#include "tokenizer/bpe_tokenizer.h"

namespace {

struct Fixture {
    nlohmann::json tok;                 // tokenizer.json
    std::vector<uint8_t> gguf;          // the same as GGUF metadata
};

// Printable ASCII (byte-level maps them to themselves), "Ġ" (space), some merges, two added
// tokens (one control, one user-defined) and the Qwen2 pre-tokenizer.
Fixture make(const std::string& pre) {
    std::vector<std::string> tokens;
    for (int c = 33; c < 127; c++) tokens.push_back(std::string(1, (char)c));
    tokens.push_back("\xC4\xA0");  // Ġ
    const std::vector<std::string> merges = {"h e", "l l", "he ll", "hell o", "\xC4\xA0 w",
                                             "o r", "\xC4\xA0w or", "1 2"};
    for (const std::string& m : merges) {
        const size_t sp = m.find(' ');
        tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    }
    std::vector<int32_t> types(tokens.size(), 1);
    tokens.push_back("<|endoftext|>"), types.push_back(3);
    tokens.push_back("<think>"), types.push_back(4);

    Fixture f;
    nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
    for (size_t i = 0; i < tokens.size(); i++) {
        if (types[i] == 1) vocab[tokens[i]] = (int)i;
        else added.push_back({{"id", (int)i}, {"content", tokens[i]}, {"special", types[i] == 3},
                              {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                              {"normalized", false}});
    }
    f.tok = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
             {"added_tokens", added},
             {"normalizer", {{"type", "NFC"}}},
             {"pre_tokenizer",
              {{"type", "Sequence"},
               {"pretokenizers",
                {{{"type", "Split"},
                  {"pattern", {{"Regex", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                  {"behavior", "Isolated"}, {"invert", false}},
                 {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                  {"use_regex", false}}}}}},
             {"decoder", {{"type", "ByteLevel"}}},
             {"post_processor", nullptr}};

    r1::gguf::Writer w;
    w.add_str("tokenizer.ggml.model", "gpt2");
    w.add_str("tokenizer.ggml.pre", pre);
    w.add_arr_str("tokenizer.ggml.tokens", tokens);
    w.add_arr("tokenizer.ggml.token_type", types);
    w.add_arr_str("tokenizer.ggml.merges", merges);
    w.add_u32("tokenizer.ggml.bos_token_id", (uint32_t)(tokens.size() - 2));
    w.add_u32("tokenizer.ggml.eos_token_id", (uint32_t)(tokens.size() - 2));
    w.add_bool("tokenizer.ggml.add_bos_token", true);
    f.gguf = w.to_bytes();
    return f;
}

TEST(BpeFromGguf, MatchesTokenizerJson) {
    const Fixture f = make("qwen2");
    const nlohmann::json config = {{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"},
                                   {"add_bos_token", true}};
    const r1::BpeTokenizer ref = r1::BpeTokenizer::from_json(f.tok, config, "tokenizer.json");
    const auto r = r1::gguf::Reader::parse(f.gguf.data(), f.gguf.size(), "t.gguf");
    const r1::BpeTokenizer got = r1::bpe_from_gguf(r);
    EXPECT_EQ(got.n_vocab(), ref.n_vocab());
    EXPECT_EQ(got.bos_id(), ref.bos_id());
    EXPECT_EQ(got.eos_id(), ref.eos_id());
    for (const std::string s : {"hello world", "hello<think>world<|endoftext|> 123 x",
                                "Hello, WORLD!!  hello\n\nworld", "it's 12 o'clock"}) {
        SCOPED_TRACE(s);
        for (bool special : {false, true}) {
            const std::vector<int32_t> a = ref.encode(s, special), b = got.encode(s, special);
            EXPECT_EQ(a, b);
            EXPECT_EQ(got.decode(b), ref.decode(a));
        }
    }
    // merges really apply: "hello" is one token, " world" is "Ġwor" + "l" + "d"
    const std::vector<int32_t> ids = got.encode("hello world");
    ASSERT_EQ(ids.size(), 4u);
    EXPECT_EQ(got.id_to_token(ids[0]), "hello");
    EXPECT_EQ(got.decode(ids), "hello world");
    EXPECT_TRUE(got.is_special(*got.token_to_id("<|endoftext|>")));
    EXPECT_FALSE(got.is_special(*got.token_to_id("<think>")));
}

TEST(BpeFromGguf, UnknownPreTypeIsAnError) {
    const Fixture f = make("gpt-4o");
    const auto r = r1::gguf::Reader::parse(f.gguf.data(), f.gguf.size(), "t.gguf");
    try {
        (void)r1::bpe_from_gguf(r);
        ADD_FAILURE() << "no error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.pre 'gpt-4o'"), std::string::npos)
            << e.what();
    }
}

}  // namespace
