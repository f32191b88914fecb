// The inference view of a model: its config plus one WeightView per tensor (GGUF names),
// grouped per layer. Nothing is copied: views point into a trained model's ParamSet (f32)
// or, later, into a memory-mapped GGUF file (f16/bf16/Q8_0/Q4_0), so the forward code in
// generate/forward.cpp runs unchanged on quantised weights through qlinear_forward.
//
// Supported: GQA attention (gpt2: learned positions, LayerNorm, GELU, fused attn_qkv;
// llama/qwen2: RoPE, RMSNorm, SwiGLU, optional q/k/v bias, tied embeddings), MLA attention
// (DeepSeek-V2/V3: attn_kv_b, and/or the split attn_k_b / attn_v_b of newer llama.cpp
// conversions) and DeepSeekMoE FFNs.
// MLA absorbed form (latent KV cache) needs W_UK per head transposed, [kvl, nope]: taken from
// attn_k_b when the file has it, else built once from attn_kv_b, dequantised to f32 (owned
// here: H·kvl·nope floats per layer; 0.5 MB per layer for deepseek2-small).
//
// Tensor map convention (what a loader passes in): a tensor of PyTorch shape {out, in} is a
// view with N = out, K = in; stacked experts {E, out, in} are N = E·out rows of K = in; a
// vector {d} (norms, biases) is N = 1, K = d and must be f32. Shape legend: model/model.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/config.h"
#include "model/params.h"
#include "ops/qmatmul.h"
#include "ops/rope.h"

namespace r1 {

// Rows [row0, row0 + n) of w as a view (expert e of a stacked tensor: row0 = e·rows_per_e).
WeightView weight_rows(const WeightView& w, int64_t row0, int64_t n);
// The view [a; b] if b's rows directly follow a's in memory (same type and K); data == null
// otherwise. Lets adjacent q|k|v or gate|up run as one product.
WeightView weight_concat(const WeightView& a, const WeightView& b);

struct InferLayer {
    const float* attn_norm_w = nullptr;  // [C]
    const float* attn_norm_b = nullptr;  // [C] LayerNorm only
    const float* ffn_norm_w = nullptr;
    const float* ffn_norm_b = nullptr;

    // attention: wqkv [(H + 2Hkv)·D, C] when q|k|v are one matrix (gpt2 attn_qkv, or
    // adjacent rows), else wq [H·D, C], wk, wv [Hkv·D, C] and wqkv.data == null.
    WeightView wqkv, wq, wk, wv;
    const float* bq = nullptr;  // [H·D]   biases (null: none); for gpt2 the fused bias
    const float* bk = nullptr;  // [Hkv·D]    is split into these three pointers
    const float* bv = nullptr;
    WeightView wo;  // [C, H·D]  (MLA: [C, H·v_head_dim])
    // MLA: wq [H·dqk, C] (q_lora_rank 0) or wq_a [ql, C] + q_a_norm [ql] + wq_b [H·dqk, ql];
    // wkv_a [kvl + rope, C], kv_a_norm [kvl], wkv_b [H·(nope + v), kvl] (data == null when
    // the file has only the split form; then only the latent cache works)
    // absorbed form: wk_b [H·kvl, nope] (head h: rows h·kvl.., q_nope_h → q·W_UK in latent
    // space); wv_b [H·v, kvl] (head h: rows h·v.., latent → v) or data == null, then W_UV
    // of head h is rows h·(nope+v) + nope .. of wkv_b (see mla_uv_head)
    WeightView wq_a, wq_b, wkv_a, wkv_b, wk_b, wv_b;
    const float* q_a_norm = nullptr;
    const float* kv_a_norm = nullptr;

    bool moe = false;
    // dense MLP: gate [F, C] (SwiGLU only), up [F, C], down [C, F]; gate_up when adjacent
    WeightView gate, up, down, gate_up;
    // MoE: router [E, C], selection bias [E] or null, stacked experts (N = E·Fe or E·C)
    WeightView gate_inp;
    const float* sel_bias = nullptr;
    WeightView gate_exps, up_exps, down_exps;
    // shared experts: [Fs, C], [Fs, C], [C, Fs] (data == null: none); gate_up_sh if adjacent
    WeightView gate_sh, up_sh, down_sh, gate_up_sh;
};

// MLA absorbed-form weights of head h: W_UKᵀ [kvl, nope] and W_UV [v, kvl].
WeightView mla_uk_head(const InferLayer& l, const ModelConfig& cfg, int64_t h);
WeightView mla_uv_head(const InferLayer& l, const ModelConfig& cfg, int64_t h);

class InferenceModel {
public:
    // Views into a trained model's parameters (f32, zero copy): params must outlive this.
    static InferenceModel from_params(const ModelConfig& cfg, const ParamSet& params);
    // Generic form (see the tensor map convention above). Validates every tensor's type and
    // shape against cfg; throws r1::Error naming the tensor.
    InferenceModel(const ModelConfig& cfg, const std::unordered_map<std::string, WeightView>& t);

    const ModelConfig& config() const { return cfg_; }
    const InferLayer& layer(int64_t il) const { return layers_[(size_t)il]; }
    const WeightView& tok_embd() const { return tok_embd_; }   // [V, C]
    const WeightView& pos_embd() const { return pos_embd_; }   // [n_ctx, C] or data == null
    const WeightView& output() const { return output_; }       // [V, C] (= tok_embd if tied)
    const float* output_norm_w() const { return out_norm_w_; }
    const float* output_norm_b() const { return out_norm_b_; }
    const RopeTable& rope() const { return rope_; }

private:
    ModelConfig cfg_;
    std::vector<InferLayer> layers_;
    WeightView tok_embd_, pos_embd_, output_;
    const float* out_norm_w_ = nullptr;
    const float* out_norm_b_ = nullptr;
    RopeTable rope_;
    // f32 weights derived at load time (MLA W_UK transposed); shared so copies stay valid
    std::vector<std::shared_ptr<std::vector<float>>> owned_;
};

}  // namespace r1
