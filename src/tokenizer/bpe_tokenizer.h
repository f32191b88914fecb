// Byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (DeepSeek-V3/R1,
// Qwen2/3, Llama 3 and GPT-2-style files), producing the same ids as HF tokenizers.
//
// encode(text): invalid UTF-8 is first replaced by U+FFFD per maximal invalid subpart (the
// WHATWG rule, i.e. what HF gives for the same bytes decoded with errors="replace"); then
// added tokens are matched leftmost-longest on the raw text (non-normalized ones first, then
// normalized ones on each normalized gap, honouring lstrip/rstrip/single_word); the gaps are
// normalized (NFC/NFD or none), pre-tokenized (Split regexes, ByteLevel), mapped bytes ->
// unicode and merged by BPE rank. add_special adds what the post_processor's
// TemplateProcessing says, or, without one, BOS/EOS per add_bos_token/add_eos_token of a
// tokenizer_config.json lying next to tokenizer.json (as transformers does for Llama-style
// tokenizers).
//
// decode(ids): concatenates each token's bytes (added tokens: their content) and decodes
// UTF-8 with U+FFFD replacement; no clean-up of spaces (HF's clean_up_tokenization_spaces is
// a transformers-level option and off here). BpeStreamDecoder emits text as ids arrive and
// never emits half a character.
//
// The object is immutable after load and safe to use from several threads.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

struct AddedToken {
    std::string content;
    int32_t id = -1;
    bool special = false, lstrip = false, rstrip = false, single_word = false,
         normalized = false;
};

class BpeTokenizer {
public:
    // Loads tokenizer.json; reads tokenizer_config.json from the same directory when present.
    // Throws r1::Error naming the file and field on anything malformed or unsupported.
    static BpeTokenizer load(const std::string& tokenizer_json_path);
    // From parsed JSON; `source` names it in errors. `config` is tokenizer_config.json or null.
    static BpeTokenizer from_json(const nlohmann::json& tokenizer, const nlohmann::json& config,
                                  const std::string& source);

    std::vector<int32_t> encode(std::string_view text, bool add_special = false) const;
    std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

    int32_t n_vocab() const;  // 1 + the largest id (vocab or added token)
    std::optional<int32_t> token_to_id(std::string_view token) const;  // vocab or added
    const std::string& id_to_token(int32_t id) const;  // byte-level form; throws if unknown
    const std::string& token_bytes(int32_t id) const;  // what decode emits for id
    bool is_special(int32_t id) const;
    const std::vector<AddedToken>& added_tokens() const;
    std::optional<int32_t> bos_id() const;
    std::optional<int32_t> eos_id() const;

    struct Impl;

private:
    std::shared_ptr<const Impl> impl_;
};

// Incremental decoding for generation: push ids one at a time, get the text that is complete.
// Bytes of an unfinished UTF-8 character are held until the next token completes them; bytes
// that can never become valid come out as U+FFFD, exactly as decode() would render them.
class BpeStreamDecoder {
public:
    explicit BpeStreamDecoder(const BpeTokenizer& tok, bool skip_special = false)
        : tok_(tok), skip_special_(skip_special) {}
    std::string push(int32_t id);
    std::string flush();  // the held-back tail (as U+FFFD) at end of stream

private:
    const BpeTokenizer& tok_;
    bool skip_special_;
    std::string pending_;
};

}  // namespace r1
