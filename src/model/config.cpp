// ModelConfig: validation, presets, parameter counts and the JSON form.
//
// The JSON form is the config of record (checkpoints, the PyTorch twin, `r1 info`): every
// field is written, enums as strings, and reading is strict — a wrong type, an unknown enum
// string or an unknown key is an r1::Error naming the field, because a silently ignored typo
// ("n_experts") would train a different model than the user asked for.
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "core/error.h"
#include "model/config.h"
#include "model/layout.h"
#include "model/params.h"

namespace r1 {

// ---------------------------------------------------------------- enum <-> string

namespace {

template <typename E>
struct EnumName {
    E value;
    const char* name;
};

constexpr EnumName<Arch> kArch[] = {
    {Arch::gpt2, "gpt2"}, {Arch::llama, "llama"}, {Arch::qwen2, "qwen2"},
    {Arch::deepseek2, "deepseek2"}};
constexpr EnumName<NormKind> kNorm[] = {{NormKind::layernorm, "layernorm"},
                                        {NormKind::rmsnorm, "rmsnorm"}};
constexpr EnumName<PosKind> kPos[] = {{PosKind::learned, "learned"}, {PosKind::rope, "rope"}};
constexpr EnumName<MlpKind> kMlp[] = {{MlpKind::gelu, "gelu"}, {MlpKind::swiglu, "swiglu"}};
constexpr EnumName<AttnKind> kAttn[] = {{AttnKind::gqa, "gqa"}, {AttnKind::mla, "mla"}};
constexpr EnumName<RopeLayout> kRope[] = {{RopeLayout::neox, "neox"},
                                          {RopeLayout::interleaved, "interleaved"}};
constexpr EnumName<GeluKind> kGelu[] = {{GeluKind::erf, "erf"}, {GeluKind::tanh, "tanh"}};
constexpr EnumName<GatingFunc> kGating[] = {{GatingFunc::softmax, "softmax"},
                                            {GatingFunc::sigmoid, "sigmoid"}};

template <typename E, size_t K>
const char* enum_to(const EnumName<E> (&tab)[K], E v) {
    for (const auto& e : tab)
        if (e.value == v) return e.name;
    fail("config: enum value ", (int)v, " has no name");
}

template <typename E, size_t K>
E enum_from(const EnumName<E> (&tab)[K], const std::string& s, const char* field) {
    std::string allowed;
    for (const auto& e : tab) {
        if (s == e.name) return e.value;
        allowed += (allowed.empty() ? "" : "|");
        allowed += e.name;
    }
    fail("config: ", field, ": unknown value '", s, "' (expected ", allowed, ")");
}

}  // namespace

const char* arch_name(Arch a) { return enum_to(kArch, a); }

// ---------------------------------------------------------------- router / validate

RouterConfig ModelConfig::router() const {
    RouterConfig r;
    r.n_expert = n_expert;
    r.n_expert_used = n_expert_used;
    r.n_group = n_expert_groups;
    r.topk_group = n_group_used;
    r.gating = gating;
    r.norm_topk = expert_weights_norm;
    r.route_scale = expert_weights_scale;
    return r;
}

void ModelConfig::validate() const {
    auto positive = [](int64_t v, const char* f) { R1_CHECK(v > 0, "config: ", f, " must be > 0 (got ", v, ")"); };
    auto nonneg = [](int64_t v, const char* f) { R1_CHECK(v >= 0, "config: ", f, " must be >= 0 (got ", v, ")"); };
    positive(n_vocab, "n_vocab");
    positive(n_embd, "n_embd");
    positive(n_layer, "n_layer");
    positive(n_ctx, "n_ctx");
    positive(n_head, "n_head");
    R1_CHECK(std::isfinite(norm_eps) && norm_eps > 0, "config: norm_eps must be > 0");
    if (attn == AttnKind::gqa) {
        positive(n_head_kv, "n_head_kv");
        R1_CHECK(n_head % n_head_kv == 0, "config: n_head_kv must divide n_head (", n_head, " % ",
                 n_head_kv, ")");
        positive(head_dim, "head_dim");
        if (pos == PosKind::rope)
            R1_CHECK(head_dim % 2 == 0, "config: head_dim must be even for rope (got ", head_dim, ")");
    } else {
        R1_CHECK(pos == PosKind::rope, "config: pos must be rope when attn is mla");
        nonneg(q_lora_rank, "q_lora_rank");
        positive(kv_lora_rank, "kv_lora_rank");
        nonneg(qk_nope_head_dim, "qk_nope_head_dim");
        positive(qk_rope_head_dim, "qk_rope_head_dim");
        R1_CHECK(qk_rope_head_dim % 2 == 0, "config: qk_rope_head_dim must be even (got ",
                 qk_rope_head_dim, ")");
        positive(v_head_dim, "v_head_dim");
        R1_CHECK(!qkv_bias, "config: qkv_bias is not supported with attn mla");
    }
    if (pos == PosKind::rope) {
        R1_CHECK(std::isfinite(rope_theta) && rope_theta > 0, "config: rope_theta must be > 0");
        R1_CHECK(yarn.factor >= 1.0f, "config: yarn.factor must be >= 1 (got ", yarn.factor, ")");
        if (yarn.factor > 1.0f) positive(yarn.original_max_pos, "yarn.original_max_pos");
    }
    const bool any_dense = n_expert == 0 || n_layer_dense_lead > 0;
    if (any_dense) positive(n_ff, "n_ff");
    if (n_expert > 0) {
        R1_CHECK(n_expert_used >= 1 && n_expert_used <= n_expert,
                 "config: n_expert_used must be in [1, n_expert] (got ", n_expert_used, ")");
        positive(n_ff_exp, "n_ff_exp");
        nonneg(n_expert_shared, "n_expert_shared");
        R1_CHECK(n_layer_dense_lead >= 0 && n_layer_dense_lead <= n_layer,
                 "config: n_layer_dense_lead must be in [0, n_layer] (got ", n_layer_dense_lead, ")");
        positive(n_expert_groups, "n_expert_groups");
        R1_CHECK(n_expert % n_expert_groups == 0, "config: n_expert_groups must divide n_expert (",
                 n_expert, " % ", n_expert_groups, ")");
        R1_CHECK(n_group_used >= 1 && n_group_used <= n_expert_groups,
                 "config: n_group_used must be in [1, n_expert_groups] (got ", n_group_used, ")");
        R1_CHECK(n_expert_used <= n_group_used * (n_expert / n_expert_groups),
                 "config: n_expert_used exceeds the experts of the n_group_used groups");
        if (n_expert_groups > 1 && gating == GatingFunc::sigmoid)
            R1_CHECK(n_expert / n_expert_groups >= 2,
                     "config: n_expert_groups: sigmoid group scores need >= 2 experts per group");
        R1_CHECK(std::isfinite(expert_weights_scale) && expert_weights_scale > 0,
                 "config: expert_weights_scale must be > 0");
        R1_CHECK(std::isfinite(aux_loss_alpha) && aux_loss_alpha >= 0,
                 "config: aux_loss_alpha must be >= 0");
        R1_CHECK(std::isfinite(bias_update_speed) && bias_update_speed >= 0,
                 "config: bias_update_speed must be >= 0");
    } else {
        R1_CHECK(!expert_sel_bias, "config: expert_sel_bias needs n_expert > 0");
        R1_CHECK(aux_loss_alpha == 0.0f, "config: aux_loss_alpha needs n_expert > 0");
    }
}

int64_t ModelConfig::n_params() const {
    validate();
    ParamSet ps;
    add_model_params(ps, *this);
    int64_t n = 0;
    for (const auto& p : ps.infos()) n += p.numel;
    return n;
}

int64_t ModelConfig::n_params_active() const {
    int64_t n = n_params();
    if (n_expert > 0) {
        const int64_t per_expert = 3 * n_ff_exp * n_embd;
        const int64_t n_moe = n_layer - n_layer_dense_lead;
        n -= n_moe * (n_expert - n_expert_used) * per_expert;
    }
    return n;
}

// ---------------------------------------------------------------- presets

ModelConfig ModelConfig::preset(const std::string& name) {
    ModelConfig c;
    if (name == "bench-dense" || name == "bench-moe") {
        // = ../shared/peers/torch_train.py: pre-LayerNorm GPT-2 blocks, learned positions,
        // fused qkv without bias, no biases in linears, untied head.
        c.arch = Arch::gpt2;
        c.n_vocab = 512;
        c.n_embd = 256;
        c.n_layer = 4;
        c.n_ctx = 256;
        c.attn = AttnKind::gqa;
        c.n_head = 4;
        c.n_head_kv = 4;
        c.head_dim = 64;
        c.qkv_bias = false;
        c.norm = NormKind::layernorm;
        c.norm_eps = 1e-5f;
        c.pos = PosKind::learned;
        c.mlp = MlpKind::gelu;
        c.gelu = GeluKind::erf;
        c.tie_embeddings = false;
        if (name == "bench-dense") {
            c.n_ff = 1024;
        } else {
            // 8 routed SwiGLU experts (Fe 256), top-2 of softmax, no renormalisation,
            // + 1 shared SwiGLU expert of 256; every layer is MoE.
            c.n_ff = 0;
            c.n_expert = 8;
            c.n_expert_used = 2;
            c.n_expert_shared = 1;
            c.n_ff_exp = 256;
            c.n_layer_dense_lead = 0;
            c.gating = GatingFunc::softmax;
            c.expert_weights_norm = false;
            c.expert_weights_scale = 1.0f;
        }
    } else if (name == "tiny-moe" || name == "tiny-dense") {
        // Small models for demos and tests, sharing one trunk: RMSNorm, RoPE (neox), SwiGLU,
        // C=128, 4 layers, 4 heads of 32, vocab 320 (≥ the byte tokenizer's 265), context 256.
        c.n_vocab = 320;
        c.n_embd = 128;
        c.n_layer = 4;
        c.n_ctx = 256;
        c.attn = AttnKind::gqa;
        c.n_head = 4;
        c.head_dim = 32;
        c.norm = NormKind::rmsnorm;
        c.norm_eps = 1e-6f;
        c.pos = PosKind::rope;
        c.rope_layout = RopeLayout::neox;
        c.mlp = MlpKind::swiglu;
        c.n_ff = 384;
        if (name == "tiny-moe") {
            // DeepSeekMoE with V3-style routing: first layer dense, 8 routed experts top-2 with
            // sigmoid gating and the aux-loss-free selection bias, 1 shared expert.
            c.arch = Arch::deepseek2;
            c.n_head_kv = 4;
            c.n_expert = 8;
            c.n_expert_used = 2;
            c.n_expert_shared = 1;
            c.n_ff_exp = 64;
            c.n_layer_dense_lead = 1;
            c.gating = GatingFunc::sigmoid;
            c.expert_weights_norm = true;
            c.expert_weights_scale = 1.0f;
            c.expert_sel_bias = true;
            c.bias_update_speed = 0.001f;
        } else {
            // Llama-style dense model of a similar size: GQA 4/2, tied embeddings, no bias.
            c.arch = Arch::llama;
            c.n_head_kv = 2;
            c.tie_embeddings = true;
        }
    } else {
        fail("config: unknown preset '", name, "' (known: bench-dense, bench-moe, tiny-moe, tiny-dense)");
    }
    c.validate();
    return c;
}

// ---------------------------------------------------------------- JSON

void to_json(nlohmann::json& j, const ModelConfig& c) {
    j = nlohmann::json::object();
    j["arch"] = arch_name(c.arch);
    j["n_vocab"] = c.n_vocab;
    j["n_embd"] = c.n_embd;
    j["n_layer"] = c.n_layer;
    j["n_ctx"] = c.n_ctx;
    j["attn"] = enum_to(kAttn, c.attn);
    j["n_head"] = c.n_head;
    j["n_head_kv"] = c.n_head_kv;
    j["head_dim"] = c.head_dim;
    j["qkv_bias"] = c.qkv_bias;
    j["q_lora_rank"] = c.q_lora_rank;
    j["kv_lora_rank"] = c.kv_lora_rank;
    j["qk_nope_head_dim"] = c.qk_nope_head_dim;
    j["qk_rope_head_dim"] = c.qk_rope_head_dim;
    j["v_head_dim"] = c.v_head_dim;
    j["norm"] = enum_to(kNorm, c.norm);
    j["norm_eps"] = c.norm_eps;
    j["pos"] = enum_to(kPos, c.pos);
    j["rope_theta"] = c.rope_theta;
    j["rope_layout"] = enum_to(kRope, c.rope_layout);
    j["yarn"] = {{"factor", c.yarn.factor},
                 {"original_max_pos", c.yarn.original_max_pos},
                 {"beta_fast", c.yarn.beta_fast},
                 {"beta_slow", c.yarn.beta_slow},
                 {"mscale", c.yarn.mscale},
                 {"mscale_all_dim", c.yarn.mscale_all_dim}};
    j["mlp"] = enum_to(kMlp, c.mlp);
    j["gelu"] = enum_to(kGelu, c.gelu);
    j["n_ff"] = c.n_ff;
    j["tie_embeddings"] = c.tie_embeddings;
    j["n_expert"] = c.n_expert;
    j["n_expert_used"] = c.n_expert_used;
    j["n_expert_shared"] = c.n_expert_shared;
    j["n_ff_exp"] = c.n_ff_exp;
    j["n_layer_dense_lead"] = c.n_layer_dense_lead;
    j["gating"] = enum_to(kGating, c.gating);
    j["expert_weights_norm"] = c.expert_weights_norm;
    j["expert_weights_scale"] = c.expert_weights_scale;
    j["n_expert_groups"] = c.n_expert_groups;
    j["n_group_used"] = c.n_group_used;
    j["expert_sel_bias"] = c.expert_sel_bias;
    j["bias_update_speed"] = c.bias_update_speed;
    j["aux_loss_alpha"] = c.aux_loss_alpha;
}

namespace {

// Strict readers: each takes the key from obj if present (absent = keep the default).
struct Reader {
    const nlohmann::json& obj;
    std::string prefix;  // "" or "yarn."

    const nlohmann::json* at(const char* key) const {
        auto it = obj.find(key);
        return it == obj.end() ? nullptr : &*it;
    }
    void i64(const char* key, int64_t& out) const {
        if (auto* v = at(key)) {
            R1_CHECK(v->is_number_integer(), "config: ", prefix, key, " must be an integer (got ",
                     v->type_name(), ")");
            out = v->get<int64_t>();
        }
    }
    void f32(const char* key, float& out) const {
        if (auto* v = at(key)) {
            R1_CHECK(v->is_number(), "config: ", prefix, key, " must be a number (got ",
                     v->type_name(), ")");
            out = v->get<float>();
        }
    }
    void boolean(const char* key, bool& out) const {
        if (auto* v = at(key)) {
            R1_CHECK(v->is_boolean(), "config: ", prefix, key, " must be a boolean (got ",
                     v->type_name(), ")");
            out = v->get<bool>();
        }
    }
    template <typename E, size_t K>
    void enumeration(const char* key, const EnumName<E> (&tab)[K], E& out) const {
        if (auto* v = at(key)) {
            R1_CHECK(v->is_string(), "config: ", prefix, key, " must be a string (got ",
                     v->type_name(), ")");
            out = enum_from(tab, v->get<std::string>(), key);
        }
    }
};

}  // namespace

void from_json(const nlohmann::json& j, ModelConfig& c) {
    R1_CHECK(j.is_object(), "config: expected a JSON object (got ", j.type_name(), ")");
    static const char* kKeys[] = {
        "arch", "n_vocab", "n_embd", "n_layer", "n_ctx", "attn", "n_head", "n_head_kv",
        "head_dim", "qkv_bias", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
        "qk_rope_head_dim", "v_head_dim", "norm", "norm_eps", "pos", "rope_theta",
        "rope_layout", "yarn", "mlp", "gelu", "n_ff", "tie_embeddings", "n_expert",
        "n_expert_used", "n_expert_shared", "n_ff_exp", "n_layer_dense_lead", "gating",
        "expert_weights_norm", "expert_weights_scale", "n_expert_groups", "n_group_used",
        "expert_sel_bias", "bias_update_speed", "aux_loss_alpha"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const char* k : kKeys) known = known || it.key() == k;
        R1_CHECK(known, "config: unknown field '", it.key(), "'");
    }
    ModelConfig d;
    Reader r{j, ""};
    r.enumeration("arch", kArch, d.arch);
    r.i64("n_vocab", d.n_vocab);
    r.i64("n_embd", d.n_embd);
    r.i64("n_layer", d.n_layer);
    r.i64("n_ctx", d.n_ctx);
    r.enumeration("attn", kAttn, d.attn);
    r.i64("n_head", d.n_head);
    r.i64("n_head_kv", d.n_head_kv);
    r.i64("head_dim", d.head_dim);
    r.boolean("qkv_bias", d.qkv_bias);
    r.i64("q_lora_rank", d.q_lora_rank);
    r.i64("kv_lora_rank", d.kv_lora_rank);
    r.i64("qk_nope_head_dim", d.qk_nope_head_dim);
    r.i64("qk_rope_head_dim", d.qk_rope_head_dim);
    r.i64("v_head_dim", d.v_head_dim);
    r.enumeration("norm", kNorm, d.norm);
    r.f32("norm_eps", d.norm_eps);
    r.enumeration("pos", kPos, d.pos);
    r.f32("rope_theta", d.rope_theta);
    r.enumeration("rope_layout", kRope, d.rope_layout);
    if (auto* y = r.at("yarn")) {
        R1_CHECK(y->is_object(), "config: yarn must be an object (got ", y->type_name(), ")");
        for (auto it = y->begin(); it != y->end(); ++it) {
            static const char* kY[] = {"factor", "original_max_pos", "beta_fast",
                                       "beta_slow", "mscale", "mscale_all_dim"};
            bool known = false;
            for (const char* k : kY) known = known || it.key() == k;
            R1_CHECK(known, "config: unknown field 'yarn.", it.key(), "'");
        }
        Reader ry{*y, "yarn."};
        ry.f32("factor", d.yarn.factor);
        ry.i64("original_max_pos", d.yarn.original_max_pos);
        ry.f32("beta_fast", d.yarn.beta_fast);
        ry.f32("beta_slow", d.yarn.beta_slow);
        ry.f32("mscale", d.yarn.mscale);
        ry.f32("mscale_all_dim", d.yarn.mscale_all_dim);
    }
    r.enumeration("mlp", kMlp, d.mlp);
    r.enumeration("gelu", kGelu, d.gelu);
    r.i64("n_ff", d.n_ff);
    r.boolean("tie_embeddings", d.tie_embeddings);
    r.i64("n_expert", d.n_expert);
    r.i64("n_expert_used", d.n_expert_used);
    r.i64("n_expert_shared", d.n_expert_shared);
    r.i64("n_ff_exp", d.n_ff_exp);
    r.i64("n_layer_dense_lead", d.n_layer_dense_lead);
    r.enumeration("gating", kGating, d.gating);
    r.boolean("expert_weights_norm", d.expert_weights_norm);
    r.f32("expert_weights_scale", d.expert_weights_scale);
    r.i64("n_expert_groups", d.n_expert_groups);
    r.i64("n_group_used", d.n_group_used);
    r.boolean("expert_sel_bias", d.expert_sel_bias);
    r.f32("bias_update_speed", d.bias_update_speed);
    r.f32("aux_loss_alpha", d.aux_loss_alpha);
    d.validate();
    c = d;
}

}  // namespace r1
