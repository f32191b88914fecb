// ParamSet: the flat parameter/gradient buffers, and the tensor layout of every model family
// with llama.cpp's GGUF tensor names.
//
// Layout contracts the model code relies on (one GEMM over adjacent rows):
//   attn_q | attn_k | attn_v        rows adjacent → one [(H + 2·Hkv)·D, C] matrix
//   attn_q.bias | attn_k.bias | attn_v.bias adjacent → one bias vector
//   ffn_gate | ffn_up (dense SwiGLU and shared experts) adjacent → one [2F, C] matrix
// GPT-2 (arch gpt2) stores the fused matrix under its own name, attn_qkv.
// decay = rank >= 2 (matrices and embeddings); norms and biases are not decayed; the MoE
// selection bias exp_probs_b is moved by its own rule, not by the optimiser.
#include "model/params.h"

#include <string>

#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"

namespace r1 {

ParamInfo& ParamSet::add(const std::string& name, std::vector<int64_t> shape, bool decay,
                         bool trainable) {
    R1_CHECK(!index_.count(name), "[params] duplicate tensor '", name, "'");
    R1_CHECK(data_.empty(), "[params] add('", name, "') after allocate()");
    int64_t n = 1;
    for (int64_t d : shape) {
        R1_CHECK(d > 0, "[params] tensor '", name, "' has a non-positive dimension");
        n *= d;
    }
    ParamInfo p;
    p.name = name;
    p.shape = std::move(shape);
    p.offset = total_;
    p.numel = n;
    p.decay = decay;
    p.trainable = trainable;
    total_ += n;
    index_[name] = infos_.size();
    infos_.push_back(std::move(p));
    return infos_.back();
}

void ParamSet::allocate() {
    data_.resize((size_t)total_);
    grad_.resize((size_t)total_);
}

const ParamInfo* ParamSet::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &infos_[it->second];
}

const ParamInfo& ParamSet::info(const std::string& name) const {
    const ParamInfo* p = find(name);
    if (!p) fail("[params] no tensor named '", name, "'");
    return *p;
}

ParamSet::ParamSet(const ModelConfig& cfg) {
    cfg.validate();
    add_model_params(*this, cfg);
    allocate();
}

void add_model_params(ParamSet& ps, const ModelConfig& c) {
    const int64_t C = c.n_embd, V = c.n_vocab;
    // weights (rank >= 2) decay; vectors (norms, biases) do not
    auto W = [&](const std::string& n, std::vector<int64_t> s) {
        const bool decay = s.size() >= 2;
        ps.add(n, std::move(s), decay);
    };
    auto vec = [&](const std::string& n, int64_t d) { ps.add(n, {d}, false); };
    auto norm = [&](const std::string& base, int64_t d) {
        vec(base + ".weight", d);
        if (c.norm == NormKind::layernorm) vec(base + ".bias", d);
    };

    W("token_embd.weight", {V, C});
    if (c.pos == PosKind::learned) W("position_embd.weight", {c.n_ctx, C});

    for (int64_t il = 0; il < c.n_layer; il++) {
        const std::string b = "blk." + std::to_string(il) + ".";
        norm(b + "attn_norm", C);
        if (c.attn == AttnKind::gqa) {
            const int64_t D = c.head_dim, H = c.n_head, Hkv = c.n_head_kv;
            if (c.arch == Arch::gpt2) {
                W(b + "attn_qkv.weight", {(H + 2 * Hkv) * D, C});
                if (c.qkv_bias) vec(b + "attn_qkv.bias", (H + 2 * Hkv) * D);
            } else {
                W(b + "attn_q.weight", {H * D, C});
                W(b + "attn_k.weight", {Hkv * D, C});
                W(b + "attn_v.weight", {Hkv * D, C});
                if (c.qkv_bias) {
                    vec(b + "attn_q.bias", H * D);
                    vec(b + "attn_k.bias", Hkv * D);
                    vec(b + "attn_v.bias", Hkv * D);
                }
            }
            W(b + "attn_output.weight", {C, H * D});
        } else {
            const int64_t H = c.n_head, dqk = c.qk_nope_head_dim + c.qk_rope_head_dim;
            if (c.q_lora_rank == 0) {
                W(b + "attn_q.weight", {H * dqk, C});
            } else {
                W(b + "attn_q_a.weight", {c.q_lora_rank, C});
                vec(b + "attn_q_a_norm.weight", c.q_lora_rank);
                W(b + "attn_q_b.weight", {H * dqk, c.q_lora_rank});
            }
            W(b + "attn_kv_a_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, C});
            vec(b + "attn_kv_a_norm.weight", c.kv_lora_rank);
            W(b + "attn_kv_b.weight", {H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank});
            W(b + "attn_output.weight", {C, H * c.v_head_dim});
        }
        norm(b + "ffn_norm", C);
        if (!c.is_moe_layer(il)) {
            const int64_t F = c.n_ff;
            if (c.mlp == MlpKind::swiglu) W(b + "ffn_gate.weight", {F, C});
            W(b + "ffn_up.weight", {F, C});
            W(b + "ffn_down.weight", {C, F});
        } else {
            const int64_t E = c.n_expert, Fe = c.n_ff_exp, Fs = c.n_ff_exp * c.n_expert_shared;
            W(b + "ffn_gate_inp.weight", {E, C});
            if (c.expert_sel_bias) ps.add(b + "exp_probs_b.bias", {E}, false, false);
            W(b + "ffn_gate_exps.weight", {E, Fe, C});
            W(b + "ffn_up_exps.weight", {E, Fe, C});
            W(b + "ffn_down_exps.weight", {E, C, Fe});
            if (Fs > 0) {
                W(b + "ffn_gate_shexp.weight", {Fs, C});
                W(b + "ffn_up_shexp.weight", {Fs, C});
                W(b + "ffn_down_shexp.weight", {C, Fs});
            }
        }
    }
    norm("output_norm", C);
    if (!c.tie_embeddings) W("output.weight", {V, C});
}

}  // namespace r1
