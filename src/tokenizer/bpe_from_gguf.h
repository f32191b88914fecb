// Byte-level BPE tokenizer from a GGUF file's own metadata (llama.cpp "gpt2" tokenizer
// model): tokenizer.ggml.tokens / token_type / merges / bos_token_id / eos_token_id /
// add_bos_token / pre. It rebuilds the equivalent tokenizer.json in memory and hands it to
// BpeTokenizer::from_json, so encoding is exactly the tokenizer.json path's.
// tokenizer.ggml.pre selects the pre-tokenizer, copied from the models' tokenizer.json files:
//   qwen2, deepseek-r1-qwen    Qwen2/3 (NFC normalizer, one Split regex, \p{N} single digits;
//                              llama.cpp maps DeepSeek-R1-Distill-Qwen to the same regex)
//   llama-bpe                  Llama 3 regex (\p{N}{1,3})
//   deepseek-v3                DeepSeek-V3/R1 (three Splits)
// Token types: 1 normal, 6 byte -> vocab; 3 control -> special added token; 4 user-defined ->
// non-special added token; 2 unknown / 5 unused -> left out (their ids decode as unknown).
#pragma once
#include "io/gguf.h"
#include "tokenizer/bpe_tokenizer.h"

namespace r1 {

// Throws r1::Error naming the key for a missing/unsupported tokenizer (model not "gpt2",
// unknown pre type).
BpeTokenizer bpe_from_gguf(const gguf::Reader& r);

}  // namespace r1
