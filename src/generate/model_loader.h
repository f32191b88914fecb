// Loading a model for generation from either file kind `r1` accepts — a checkpoint written by
// `r1 train` (ckpt.r1: f32 weights + the byte tokenizer) or a llama.cpp GGUF file (mapped,
// possibly quantised weights + the BPE tokenizer stored in its metadata) — so every command
// that generates (generate, eval, grpo, distill, chat, serve) opens models the same way.
//
// TextCodec is the tokenizer side alone: encode/decode, the stop ids generation must end on
// and the vocab limit sampling must respect (the model's vocabulary can be larger than the
// tokenizer's). GRPO builds one for its own training weights with TextCodec::byte().
//
// Prompts: tasks and the chat format produce text that starts with the BOS *string*
// "<｜begin▁of▁sentence｜>"; both tokenizers map that string to the BOS id, so encode(text)
// adds no further specials. encode_raw() adds what the GGUF file says (add_bos_token) for
// plain text that has no chat markup (r1 generate --model X.gguf).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generate/infer_model.h"
#include "io/gguf_model.h"
#include "model/config.h"
#include "model/params.h"
#include "tokenizer/bpe_tokenizer.h"

namespace r1 {

class TextCodec {
public:
    // The byte tokenizer of the built-in tasks (tokenizer/byte_tokenizer.h).
    static TextCodec byte();
    // A BPE tokenizer (e.g. from a GGUF file's metadata).
    static TextCodec bpe(BpeTokenizer tok);

    bool is_byte() const { return !bpe_.has_value(); }
    // Text as is: special-token strings become their ids, nothing is added.
    std::vector<int32_t> encode(std::string_view text) const;
    // Plain text: BOS etc. added as the tokenizer's own config says (byte: same as encode).
    std::vector<int32_t> encode_raw(std::string_view text) const;
    // Throws r1::Error for ids the tokenizer does not know (byte: >= 265).
    std::string decode(const std::vector<int32_t>& ids) const;
    // Generated ids -> text: drops one trailing stop id (the engine includes it in results).
    std::string decode_completion(const std::vector<int32_t>& ids) const;
    std::vector<int32_t> stop_ids() const;  // EOS (empty if the tokenizer has none)
    int64_t n_vocab() const;                // ids the tokenizer can decode
    const BpeTokenizer* bpe_tokenizer() const { return bpe_ ? &*bpe_ : nullptr; }

private:
    std::optional<BpeTokenizer> bpe_;
};

// A model ready for the engine. Not movable (model() points into params or the mapped file):
// hold it by unique_ptr.
class LoadedModel {
public:
    LoadedModel(const LoadedModel&) = delete;
    LoadedModel& operator=(const LoadedModel&) = delete;

    const std::string& path() const { return path_; }
    bool is_gguf() const { return gguf_ != nullptr; }
    const ModelConfig& config() const { return model().config(); }
    const InferenceModel& model() const { return gguf_ ? gguf_->model : *model_; }
    const TextCodec& codec() const { return codec_; }
    // The f32 weights of a checkpoint (null for GGUF files).
    const ParamSet* params() const { return params_.get(); }
    // vocab_limit for GenRequest: min(model vocab, tokenizer vocab).
    int64_t vocab_limit() const;

private:
    friend std::unique_ptr<LoadedModel> load_model_for_inference(const std::string& path);
    LoadedModel() = default;
    std::string path_;
    std::unique_ptr<ParamSet> params_;
    std::unique_ptr<InferenceModel> model_;  // views into params_
    std::unique_ptr<GgufModel> gguf_;
    TextCodec codec_;
};

// A folder with config.json -> Hugging Face checkpoint (io/hf_checkpoint.h; tokenizer.json
// when present, else the byte tokenizer); path ending in ".gguf" (case-insensitive) or
// starting with the GGUF magic -> GGUF; anything else is read as an r1 checkpoint. Throws
// r1::Error naming the file on anything unreadable, and when a checkpoint's n_vocab is
// smaller than the byte tokenizer's.
std::unique_ptr<LoadedModel> load_model_for_inference(const std::string& path);

}  // namespace r1
