// Export r1 models as GGUF files that llama.cpp loads, and re-type the tensors of GGUF files.
//
// Supported configurations (anything else throws r1::Error saying what can be exported):
//   (a) dense GQA, RMSNorm, RoPE, SwiGLU (Arch::llama / Arch::qwen2):
//         with q/k/v bias and neox RoPE -> general.architecture "qwen2" (llama.cpp runs qwen2
//           with NEOX rope, so weights are copied as they are);
//         otherwise                      -> "llama". llama.cpp runs llama with NORM
//           (interleaved) rope, so for neox-layout models the q/k rows (and biases) of every
//           head are permuted from half-split to interleaved order, exactly what
//           convert_hf_to_gguf.py's `permute` does to HF checkpoints.
//   (b) DeepSeekMoE + MLA (Arch::deepseek2, AttnKind::mla) -> "deepseek2" (plain attn_kv_b
//       form, as DeepSeek-V2-Lite files carry). llama.cpp runs deepseek2 with NORM rope, so
//       for neox-layout models the rope rows of attn_q / attn_q_b (per head) and of
//       attn_kv_a_mqa are permuted the same way.
//   Not exportable: gpt2-style models (llama.cpp's gpt2 wants biases and tanh-GELU r1's
//   gpt2 lacks), MoE with GQA attention, dense MLA, LayerNorm or GELU variants of (a).
//
// Matrices (rank >= 2) are stored as weight_type when their row length (ne0) is a multiple of
// the type's block size, else f32 (as llama.cpp's quantiser falls back); the router
// (ffn_gate_inp), vectors and the selection bias stay f32, as llama.cpp's converter keeps them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace r1 {

struct ModelConfig;
class ParamSet;

// tokenizer.ggml.* keys.
struct GgufTokenizerMeta {
    std::string model = "gpt2";     // tokenizer.ggml.model
    std::string pre = "default";    // tokenizer.ggml.pre
    std::vector<std::string> tokens;
    std::vector<int32_t> token_type;  // 1 normal, 3 control, 5 unused (llama_token_type)
    std::vector<std::string> merges;  // written even when empty (llama.cpp's BPE needs the key)
    int32_t bos = -1, eos = -1, pad = -1;  // -1: key not written
    bool add_bos = false;
};

// GPT-2's byte -> unicode mapping (bytes_to_unicode() in GPT-2's encoder.py), as UTF-8.
std::string gpt2_byte_to_unicode(uint8_t b);

// Metadata for r1's ByteTokenizer, padded with unused "[PADi]" tokens up to n_vocab
// (n_vocab >= ByteTokenizer::kVocabSize). Byte tokens are written in GPT-2's mapping so
// llama.cpp's BPE decodes them to the right bytes; the R1 specials are control tokens.
GgufTokenizerMeta byte_tokenizer_gguf_meta(int64_t n_vocab);

// general.architecture for cfg ("llama", "qwen2", "deepseek2"); throws if not exportable.
std::string gguf_export_arch(const ModelConfig& cfg);

// llama.cpp's general.file_type (llama_ftype) for a weight type: f32 0, f16 1, q4_0 2,
// q8_0 7, bf16 32.
uint32_t gguf_file_type(DType weight_type);

// Converts weights in place from r1's neox (half-split) rope order to interleaved order:
// for each of n_groups groups of `rot` rows (each row `row_len` floats), row j*(rot/2)+i
// moves to 2*i+j. Groups start at `first` and are `stride` rows apart.
void rope_rows_neox_to_interleaved(float* w, int64_t row_len, int64_t first, int64_t stride,
                                   int64_t n_groups, int64_t rot);

// Writes cfg + params to path (atomically). Throws r1::Error for an unsupported config, a
// weight_type other than f32/f16/bf16/q8_0/q4_0, or a tokenizer that does not match n_vocab.
void export_gguf(const ModelConfig& cfg, const ParamSet& params, const std::string& path,
                 DType weight_type, const GgufTokenizerMeta& tok);

// Re-types a GGUF file: every tensor of rank >= 2 whose name is not a router
// (ffn_gate_inp) and whose row length is a multiple of the target block size is converted to
// `type` (through f32); everything else and all metadata are kept; general.file_type is set.
// Returns the number of tensors converted.
int64_t quantize_gguf(const std::string& in_path, const std::string& out_path, DType type);

}  // namespace r1
