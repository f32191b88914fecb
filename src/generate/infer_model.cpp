// InferenceModel: collects the per-tensor WeightViews of a model by GGUF name, checks each
// against the config (type, rows, columns), and pre-computes the fused views (q|k|v,
// gate|up) that let the forward run one product per projection group. See infer_model.h.
#include "generate/infer_model.h"

#include <string>

#include "core/dtype.h"
#include "core/error.h"

namespace r1 {

WeightView weight_rows(const WeightView& w, int64_t row0, int64_t n) {
    R1_CHECK(row0 >= 0 && n >= 0 && row0 + n <= w.N, "[infer] row slice [", row0, ", ",
             row0 + n, ") outside a view of ", w.N, " rows");
    WeightView v = w;
    v.N = n;
    v.data = static_cast<const char*>(w.data) + row0 * dtype_row_bytes(w.type, w.K);
    return v;
}

WeightView weight_concat(const WeightView& a, const WeightView& b) {
    WeightView v;
    if (!a.data || !b.data || a.type != b.type || a.K != b.K) return v;
    const char* end_a = static_cast<const char*>(a.data) + a.N * dtype_row_bytes(a.type, a.K);
    if (end_a != b.data) return v;
    v = a;
    v.N = a.N + b.N;
    return v;
}

WeightView mla_uk_head(const InferLayer& l, const ModelConfig& cfg, int64_t h) {
    return weight_rows(l.wk_b, h * cfg.kv_lora_rank, cfg.kv_lora_rank);
}

WeightView mla_uv_head(const InferLayer& l, const ModelConfig& cfg, int64_t h) {
    if (l.wv_b.data) return weight_rows(l.wv_b, h * cfg.v_head_dim, cfg.v_head_dim);
    return weight_rows(l.wkv_b, h * (cfg.qk_nope_head_dim + cfg.v_head_dim) + cfg.qk_nope_head_dim,
                       cfg.v_head_dim);
}

InferenceModel InferenceModel::from_params(const ModelConfig& cfg, const ParamSet& params) {
    std::unordered_map<std::string, WeightView> t;
    for (const ParamInfo& p : params.infos()) {
        WeightView w;
        w.type = DType::f32;
        w.data = params.data().data() + p.offset;
        if (p.shape.size() == 1) {
            w.N = 1, w.K = p.shape[0];
        } else {
            w.K = p.shape.back();
            w.N = p.numel / w.K;
        }
        t.emplace(p.name, w);
    }
    return InferenceModel(cfg, t);
}

namespace {

struct Lookup {
    const std::unordered_map<std::string, WeightView>& t;

    const WeightView* find(const std::string& name) const {
        auto it = t.find(name);
        return it == t.end() ? nullptr : &it->second;
    }
    // A matrix of N rows × K columns (any supported type).
    WeightView mat(const std::string& name, int64_t N, int64_t K) const {
        const WeightView* w = find(name);
        R1_CHECK(w, "[infer] missing tensor '", name, "'");
        R1_CHECK(w->data, "[infer] tensor '", name, "' has no data");
        R1_CHECK(w->N == N && w->K == K, "[infer] tensor '", name, "' is [", w->N, ", ", w->K,
                 "], expected [", N, ", ", K, "]");
        R1_CHECK(dtype_row_bytes(w->type, K) > 0, "[infer] tensor '", name, "': type ",
                 dtype_name(w->type), " cannot hold rows of ", K, " elements");
        return *w;
    }
    WeightView opt_mat(const std::string& name, int64_t N, int64_t K) const {
        return find(name) ? mat(name, N, K) : WeightView{};
    }
    // An f32 vector of d elements.
    const float* vec(const std::string& name, int64_t d) const {
        const WeightView* w = find(name);
        R1_CHECK(w, "[infer] missing tensor '", name, "'");
        R1_CHECK(w->type == DType::f32, "[infer] tensor '", name, "' must be f32, is ",
                 dtype_name(w->type));
        R1_CHECK(w->N * w->K == d && w->data, "[infer] tensor '", name, "' has ", w->N * w->K,
                 " elements, expected ", d);
        return static_cast<const float*>(w->data);
    }
    const float* opt_vec(const std::string& name, int64_t d) const {
        return find(name) ? vec(name, d) : nullptr;
    }
};

}  // namespace

InferenceModel::InferenceModel(const ModelConfig& cfg,
                               const std::unordered_map<std::string, WeightView>& t)
    : cfg_(cfg) {
    cfg.validate();
    const Lookup L{t};
    const int64_t C = cfg.n_embd, V = cfg.n_vocab, H = cfg.n_head, Hkv = cfg.n_head_kv,
                  D = cfg.head_dim;
    const bool layernorm = cfg.norm == NormKind::layernorm;

    tok_embd_ = L.mat("token_embd.weight", V, C);
    if (cfg.pos == PosKind::learned) pos_embd_ = L.mat("position_embd.weight", cfg.n_ctx, C);
    out_norm_w_ = L.vec("output_norm.weight", C);
    if (layernorm) out_norm_b_ = L.vec("output_norm.bias", C);
    output_ = cfg.tie_embeddings ? tok_embd_ : L.mat("output.weight", V, C);

    layers_.resize((size_t)cfg.n_layer);
    for (int64_t il = 0; il < cfg.n_layer; il++) {
        const std::string b = "blk." + std::to_string(il) + ".";
        InferLayer& l = layers_[(size_t)il];
        l.attn_norm_w = L.vec(b + "attn_norm.weight", C);
        l.ffn_norm_w = L.vec(b + "ffn_norm.weight", C);
        if (layernorm) {
            l.attn_norm_b = L.vec(b + "attn_norm.bias", C);
            l.ffn_norm_b = L.vec(b + "ffn_norm.bias", C);
        }
        if (cfg.attn == AttnKind::mla) {
            const int64_t dqk = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim;
            if (cfg.q_lora_rank == 0) {
                l.wq = L.mat(b + "attn_q.weight", H * dqk, C);
            } else {
                l.wq_a = L.mat(b + "attn_q_a.weight", cfg.q_lora_rank, C);
                l.q_a_norm = L.vec(b + "attn_q_a_norm.weight", cfg.q_lora_rank);
                l.wq_b = L.mat(b + "attn_q_b.weight", H * dqk, cfg.q_lora_rank);
            }
            const int64_t nope = cfg.qk_nope_head_dim, dv = cfg.v_head_dim, kvl = cfg.kv_lora_rank;
            l.wkv_a = L.mat(b + "attn_kv_a_mqa.weight", kvl + cfg.qk_rope_head_dim, C);
            l.kv_a_norm = L.vec(b + "attn_kv_a_norm.weight", kvl);
            const bool split = L.find(b + "attn_k_b.weight") || L.find(b + "attn_v_b.weight");
            R1_CHECK(split || L.find(b + "attn_kv_b.weight"), "[infer] missing tensor '", b,
                     "attn_kv_b.weight' (or the split attn_k_b / attn_v_b)");
            l.wkv_b = L.opt_mat(b + "attn_kv_b.weight", H * (nope + dv), kvl);
            if (split) {  // llama.cpp: k_b {nope, kvl, H}, v_b {kvl, v, H}
                l.wk_b = L.mat(b + "attn_k_b.weight", H * kvl, nope);
                l.wv_b = L.mat(b + "attn_v_b.weight", H * dv, kvl);
            } else {  // W_UKᵀ per head from kv_b: wk_b[h·kvl + c][d] = kv_b[h·(nope+dv) + d][c]
                auto buf = std::make_shared<std::vector<float>>((size_t)(H * kvl * nope));
                std::vector<float> row((size_t)kvl);
                float* wk = buf->data();
                for (int64_t hh = 0; hh < H; hh++)
                    for (int64_t d = 0; d < nope; d++) {
                        const WeightView r = weight_rows(l.wkv_b, hh * (nope + dv) + d, 1);
                        to_f32(row.data(), r.data, r.type, kvl);
                        for (int64_t c = 0; c < kvl; c++)
                            wk[(hh * kvl + c) * nope + d] = row[(size_t)c];
                    }
                l.wk_b = WeightView{DType::f32, wk, H * kvl, nope};
                owned_.push_back(std::move(buf));
            }
        } else if (cfg.arch == Arch::gpt2) {
            l.wqkv = L.mat(b + "attn_qkv.weight", (H + 2 * Hkv) * D, C);
            if (cfg.qkv_bias) {
                l.bq = L.vec(b + "attn_qkv.bias", (H + 2 * Hkv) * D);
                l.bk = l.bq + H * D;
                l.bv = l.bk + Hkv * D;
            }
        } else {
            l.wq = L.mat(b + "attn_q.weight", H * D, C);
            l.wk = L.mat(b + "attn_k.weight", Hkv * D, C);
            l.wv = L.mat(b + "attn_v.weight", Hkv * D, C);
            const WeightView qk = weight_concat(l.wq, l.wk);
            l.wqkv = weight_concat(qk, l.wv);
            if (cfg.qkv_bias) {
                l.bq = L.vec(b + "attn_q.bias", H * D);
                l.bk = L.vec(b + "attn_k.bias", Hkv * D);
                l.bv = L.vec(b + "attn_v.bias", Hkv * D);
            }
        }
        l.wo = L.mat(b + "attn_output.weight", C,
                     cfg.attn == AttnKind::mla ? H * cfg.v_head_dim : H * D);

        l.moe = cfg.is_moe_layer(il);
        if (!l.moe) {
            const int64_t F = cfg.n_ff;
            if (cfg.mlp == MlpKind::swiglu) l.gate = L.mat(b + "ffn_gate.weight", F, C);
            l.up = L.mat(b + "ffn_up.weight", F, C);
            l.down = L.mat(b + "ffn_down.weight", C, F);
            if (cfg.mlp == MlpKind::swiglu) l.gate_up = weight_concat(l.gate, l.up);
        } else {
            const int64_t E = cfg.n_expert, Fe = cfg.n_ff_exp, Fs = Fe * cfg.n_expert_shared;
            l.gate_inp = L.mat(b + "ffn_gate_inp.weight", E, C);
            l.sel_bias = L.opt_vec(b + "exp_probs_b.bias", E);
            R1_CHECK(!cfg.expert_sel_bias || l.sel_bias, "[infer] missing tensor '", b,
                     "exp_probs_b.bias' (expert_sel_bias is set)");
            l.gate_exps = L.mat(b + "ffn_gate_exps.weight", E * Fe, C);
            l.up_exps = L.mat(b + "ffn_up_exps.weight", E * Fe, C);
            l.down_exps = L.mat(b + "ffn_down_exps.weight", E * C, Fe);
            if (Fs > 0) {
                l.gate_sh = L.mat(b + "ffn_gate_shexp.weight", Fs, C);
                l.up_sh = L.mat(b + "ffn_up_shexp.weight", Fs, C);
                l.down_sh = L.mat(b + "ffn_down_shexp.weight", C, Fs);
                l.gate_up_sh = weight_concat(l.gate_sh, l.up_sh);
            }
        }
    }
    if (cfg.pos == PosKind::rope) {
        const int64_t rot = cfg.attn == AttnKind::mla ? cfg.qk_rope_head_dim : D;
        rope_ = rope_table(rot, cfg.n_ctx, cfg.rope_theta, cfg.yarn);
    }
}

}  // namespace r1
