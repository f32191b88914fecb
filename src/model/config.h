// One config for every model family r1.cpp trains or runs:
//   gpt2       LayerNorm, GELU MLP, learned absolute positions, fused attn_qkv
//   llama      RMSNorm, RoPE (neox layout), SwiGLU, GQA, optional q/k/v bias (qwen2 = with bias)
//   deepseek2  DeepSeekMoE (routed + shared experts, first-k dense layers, softmax/sigmoid
//              routing, aux-loss-free bias, group-limited routing) and MLA attention
// Names follow llama.cpp's GGUF keys (n_embd, n_head_kv, n_expert_used, ...) so the GGUF
// reader/writer is a plain mapping.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "ops/activation.h"
#include "ops/moe_routing.h"
#include "ops/rope.h"

namespace r1 {

enum class Arch { gpt2, llama, qwen2, deepseek2 };
enum class NormKind { layernorm, rmsnorm };
enum class PosKind { learned, rope };
enum class MlpKind { gelu, swiglu };
enum class AttnKind { gqa, mla };

struct ModelConfig {
    Arch arch = Arch::llama;
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_ctx = 0;           // max positions (learned table size / rope table size)

    // attention (GQA form: n_head_kv divides n_head; head_dim usually n_embd / n_head)
    AttnKind attn = AttnKind::gqa;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    bool qkv_bias = false;       // qwen2: bias on q, k, v

    // MLA (DeepSeek-V2/V3), used when attn == mla
    int64_t q_lora_rank = 0;     // 0 = plain attn_q
    int64_t kv_lora_rank = 0;
    int64_t qk_nope_head_dim = 0;
    int64_t qk_rope_head_dim = 0;
    int64_t v_head_dim = 0;

    // normalisation / positions / MLP
    NormKind norm = NormKind::rmsnorm;
    float norm_eps = 1e-5f;
    PosKind pos = PosKind::rope;
    float rope_theta = 10000.0f;
    RopeLayout rope_layout = RopeLayout::neox;
    YarnParams yarn;
    MlpKind mlp = MlpKind::swiglu;
    GeluKind gelu = GeluKind::erf;
    int64_t n_ff = 0;            // dense MLP hidden size
    bool tie_embeddings = false;

    // DeepSeekMoE (n_expert == 0: dense model)
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t n_expert_shared = 0;     // shared experts, fused into one MLP of n_ff_exp * n_shared
    int64_t n_ff_exp = 0;            // hidden size of one expert
    int64_t n_layer_dense_lead = 0;  // first-k layers use the dense MLP
    GatingFunc gating = GatingFunc::softmax;
    bool expert_weights_norm = false;
    float expert_weights_scale = 1.0f;
    int64_t n_expert_groups = 1;
    int64_t n_group_used = 1;
    bool expert_sel_bias = false;    // V3 aux-loss-free selection bias (exp_probs_b)
    float bias_update_speed = 0.001f;// γ of the aux-loss-free bias update
    float aux_loss_alpha = 0.0f;     // sequence-wise balance loss weight (0 = off)

    bool is_moe_layer(int64_t il) const { return n_expert > 0 && il >= n_layer_dense_lead; }
    RouterConfig router() const;
    // Checks every field for consistency; throws r1::Error naming the field.
    void validate() const;
    int64_t n_params() const;          // total parameters (trainable + selection bias)
    int64_t n_params_active() const;   // parameters touched per token (k routed experts)

    // Named presets: "bench-dense" and "bench-moe" (= ../shared/peers/torch_train.py),
    // "tiny-moe", "tiny-dense" (demo/tests). Throws for an unknown name.
    static ModelConfig preset(const std::string& name);
};

const char* arch_name(Arch a);
void to_json(nlohmann::json& j, const ModelConfig& c);
// Throws r1::Error naming the bad field ("config: n_head must divide n_embd").
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace r1
