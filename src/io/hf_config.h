// Hugging Face config.json <-> ModelConfig, for the four architectures r1.cpp loads:
//   Qwen2ForCausalLM       -> Arch::qwen2     (q/k/v bias, half-split RoPE)
//   LlamaForCausalLM       -> Arch::llama     (optional attention_bias, half-split RoPE)
//   DeepseekV2ForCausalLM  -> Arch::deepseek2 (MLA, DeepSeekMoE, softmax routing,
//                                              greedy | group_limited_greedy)
//   DeepseekV3ForCausalLM  -> Arch::deepseek2 (MLA, sigmoid routing + e_score_correction_bias,
//                                              noaux_tc with n_group/topk_group)
// DeepSeek's reference code rotates adjacent pairs of the rope dims (it de-interleaves them
// before rotate_half), so DeepSeek configs map to RopeLayout::interleaved; Qwen2/Llama use
// the half-split layout (RopeLayout::neox) and need no weight permutation.
//
// Reading is strict in what it understands and explicit in what it ignores: a key that
// changes the maths and is not implemented (a non-silu hidden_act, mlp_bias, a sliding window,
// rope_scaling other than YaRN, moe_layer_freq != 1, ...) or an unknown key is an r1::Error
// naming config.json and the field, because running a model with a silently dropped option
// gives plausible-looking wrong logits. Keys that only matter for training in transformers
// or for other tools (torch_dtype, initializer_range, use_cache, auto_map, ...) are ignored.
//
// HF semantics kept: DeepSeek-V2 multiplies the routed weights by routed_scaling_factor only
// when norm_topk_prob is false (V3 always does); the MTP layers of V3
// (num_nextn_predict_layers) are not part of the model (the loader skips their tensors).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/config.h"

namespace r1 {

// What config.json says beyond ModelConfig, needed to read the weights.
struct HfConfigInfo {
    std::string architecture;       // "Qwen2ForCausalLM", ...
    int64_t n_nextn_layers = 0;     // DeepSeek-V3 MTP layers stored after the model's layers
    bool fp8 = false;               // quantization_config: fp8 e4m3 with block scales
    int64_t fp8_block_rows = 128;   // weight_block_size [rows, cols]
    int64_t fp8_block_cols = 128;
    int64_t bos_token_id = -1, eos_token_id = -1;  // -1: absent (eos: the first of a list)
};

// j = parsed config.json; `where` names the file in errors ("DIR/config.json").
// Throws r1::Error ("[hf] DIR/config.json: field 'moe_layer_freq': only 1 is supported").
ModelConfig config_from_hf(const nlohmann::json& j, const std::string& where,
                           HfConfigInfo* info = nullptr);
ModelConfig load_hf_config(const std::string& config_json_path, HfConfigInfo* info = nullptr);

// ModelConfig -> config.json (transformers' key names; architectures = [the HF class]).
// Throws r1::Error for configs no HF architecture expresses (gpt2-style, MoE with GQA
// attention, dense MLA, LayerNorm/GELU variants). Layout differences are the saver's job:
// this only describes the model as HF code would run it.
nlohmann::json config_to_hf(const ModelConfig& c);
// "Qwen2ForCausalLM" / "LlamaForCausalLM" / "DeepseekV2ForCausalLM" (softmax gating) /
// "DeepseekV3ForCausalLM" (sigmoid gating), or throws as above. HF's DeepSeek code only
// implements softmax in V2 and sigmoid + noaux_tc in V3, hence the split.
std::string hf_architecture(const ModelConfig& c);

}  // namespace r1
