// Hugging Face folder -> GGUF (what `r1 convert` does): the weights go through
// load_hf_checkpoint and export_gguf (llama.cpp names and keys, llama's q/k row permutation,
// quantisation), the tokenizer through gguf_tokenizer_from_hf below.
//
// Tokenizer: tokenizer.json's model.vocab + added_tokens become tokenizer.ggml.tokens (ids
// without a token are filled with "[PAD<id>]", type unused, up to the model's vocab_size, as
// llama.cpp's converter does), model.merges become tokenizer.ggml.merges ("a b"; the newer
// [a, b] pair form is accepted), special added tokens are control (3), other added tokens
// user-defined (4). bos/eos come from tokenizer_config.json (bos_token / eos_token, string or
// {content}) or, failing that, config.json's ids; add_bos_token from tokenizer_config.json.
// tokenizer.ggml.pre cannot be read from tokenizer.json (llama.cpp identifies it by hashing
// the encoding of a probe text); it is passed in (default by architecture: qwen2 -> "qwen2",
// llama -> "llama-bpe", deepseek2 -> "deepseek-v3"; R1-Distill-Qwen users pass
// "deepseek-r1-qwen").
#pragma once
#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "io/gguf_export.h"
#include "io/hf_config.h"

namespace r1 {

// The default tokenizer.ggml.pre for an architecture (see above).
std::string default_gguf_pre(const ModelConfig& cfg);

// Reads DIR/tokenizer.json (+ tokenizer_config.json); n_vocab = the model's vocab_size.
// Throws r1::Error naming the file and field (a token id >= n_vocab, duplicate ids, ...).
GgufTokenizerMeta gguf_tokenizer_from_hf(const std::string& dir, int64_t n_vocab,
                                         const std::string& pre, const HfConfigInfo& info);

struct HfConvertResult {
    ModelConfig config;
    std::string gguf_arch;
    int64_t n_params = 0;
    int64_t n_tokens = 0;     // tokenizer entries written (0: no tokenizer.json)
    int64_t n_skipped = 0;    // HF tensors skipped (MTP layers, ...)
};
// HF folder -> GGUF file. Without tokenizer.json the byte tokenizer's vocabulary is written
// when the model's vocabulary can hold it (r1-trained models saved as HF), else an error.
// progress: a progress bar while loading (stderr).
HfConvertResult convert_hf_to_gguf(const std::string& dir, const std::string& out_path,
                                   DType type, const std::string& pre = "", bool progress = false);

}  // namespace r1
