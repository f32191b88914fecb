// config.json <-> ModelConfig (see hf_config.h for what maps to what and why it is strict).
#include "io/hf_config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace r1 {

namespace {

using json = nlohmann::json;

// Reads keys of a JSON object, remembering which were consumed so that the rest can be
// checked against the ignore list.
struct Keys {
    const json& j;
    std::string where;   // "[hf] DIR/config.json: "
    std::string prefix;  // "" or "rope_scaling."
    std::set<std::string> used;

    const json* find(const std::string& k) {
        used.insert(k);
        auto it = j.find(k);
        return it == j.end() ? nullptr : &*it;
    }
    // null counts as absent (transformers writes "q_lora_rank": null, "rope_scaling": null)
    const json* present(const std::string& k) {
        const json* v = find(k);
        return v && !v->is_null() ? v : nullptr;
    }
    [[noreturn]] void bad(const std::string& k, const std::string& what) {
        fail(where, "field '", prefix, k, "': ", what);
    }
    int64_t i64(const std::string& k, std::optional<int64_t> dflt = std::nullopt) {
        const json* v = present(k);
        if (!v) {
            if (dflt) return *dflt;
            bad(k, "missing (required)");
        }
        if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>())
            return (int64_t)v->get<double>();
        if (!v->is_number_integer()) bad(k, std::string("must be an integer (got ") + v->type_name() + ")");
        return v->get<int64_t>();
    }
    double num(const std::string& k, std::optional<double> dflt = std::nullopt) {
        const json* v = present(k);
        if (!v) {
            if (dflt) return *dflt;
            bad(k, "missing (required)");
        }
        if (!v->is_number()) bad(k, std::string("must be a number (got ") + v->type_name() + ")");
        return v->get<double>();
    }
    bool boolean(const std::string& k, bool dflt) {
        const json* v = present(k);
        if (!v) return dflt;
        if (!v->is_boolean()) bad(k, std::string("must be a boolean (got ") + v->type_name() + ")");
        return v->get<bool>();
    }
    std::string str(const std::string& k, std::optional<std::string> dflt = std::nullopt) {
        const json* v = present(k);
        if (!v) {
            if (dflt) return *dflt;
            bad(k, "missing (required)");
        }
        if (!v->is_string()) bad(k, std::string("must be a string (got ") + v->type_name() + ")");
        return v->get<std::string>();
    }
    // Every key of j must have been consumed or be in `ignored`.
    void check_rest(const std::set<std::string>& ignored) {
        for (auto it = j.begin(); it != j.end(); ++it)
            if (!used.count(it.key()) && !ignored.count(it.key()))
                fail(where, "field '", prefix, it.key(),
                     "' is not supported by r1.cpp (it would change the model; see "
                     "docs/hf_interop.md)");
    }
};

// Keys that do not change the forward pass of a loaded model.
const std::set<std::string> kIgnored = {
    "_name_or_path", "architectures", "model_type", "torch_dtype", "transformers_version",
    "initializer_range", "use_cache", "attention_dropout", "pretraining_tp", "auto_map",
    "bos_token_id", "eos_token_id", "pad_token_id", "max_window_layers", "ep_size",
    "seq_aux", "aux_loss_alpha", "num_nextn_predict_layers", "quantization_config",
    "tokenizer_class", "output_attentions", "output_hidden_states", "return_dict",
    "torchscript", "use_return_dict", "is_encoder_decoder", "tie_encoder_decoder",
    "bias_update_speed", "dtype", "sliding_window", "use_mrope"};

void read_rope_scaling(Keys& k, ModelConfig& c, bool deepseek) {
    const json* rs = k.present("rope_scaling");
    if (!rs) return;
    if (!rs->is_object()) k.bad("rope_scaling", "must be an object or null");
    Keys r{*rs, k.where, "rope_scaling.", {}};
    std::string type = r.str("type", std::string());
    if (type.empty()) type = r.str("rope_type", std::string());
    else r.used.insert("rope_type");
    if (type == "default" || type.empty()) {
        r.check_rest({});
        return;
    }
    if (type != "yarn")
        r.bad("type", "'" + type + "' is not supported (supported: yarn, default)");
    c.yarn.factor = (float)r.num("factor");
    if (!(c.yarn.factor >= 1.0f)) r.bad("factor", "must be >= 1");
    c.yarn.original_max_pos = r.i64("original_max_position_embeddings");
    c.yarn.beta_fast = (float)r.num("beta_fast", 32.0);
    c.yarn.beta_slow = (float)r.num("beta_slow", 1.0);
    c.yarn.mscale = (float)r.num("mscale", 1.0);
    c.yarn.mscale_all_dim = (float)r.num("mscale_all_dim", 0.0);
    if (!deepseek) {
        // transformers' generic YaRN (Qwen2/Llama) scales attention by get_mscale(factor)
        // through attention_factor; r1's table implements DeepSeek's form, which equals it
        // when mscale = 1 and mscale_all_dim = 0 only for the cos/sin part. Refuse rather
        // than run a subtly different model.
        r.bad("type", "yarn is only supported for DeepSeek models");
    }
    r.check_rest({"attention_factor"} /* checked below */);
    if (const json* af = rs->contains("attention_factor") ? &(*rs)["attention_factor"] : nullptr)
        if (!af->is_null()) r.bad("attention_factor", "is not supported");
}

}  // namespace

ModelConfig config_from_hf(const json& j, const std::string& where_file, HfConfigInfo* info) {
    const std::string where = "[hf] " + where_file + ": ";
    R1_CHECK(j.is_object(), where, "not a JSON object");
    Keys k{j, where, "", {}};
    HfConfigInfo inf;
    {
        const json* a = k.present("architectures");
        R1_CHECK(a && a->is_array() && a->size() == 1 && (*a)[0].is_string(), where,
                 "field 'architectures' must be a list of one class name");
        inf.architecture = (*a)[0].get<std::string>();
    }
    const std::string& arch = inf.architecture;
    const bool qwen2 = arch == "Qwen2ForCausalLM", llama = arch == "LlamaForCausalLM";
    const bool ds2 = arch == "DeepseekV2ForCausalLM", ds3 = arch == "DeepseekV3ForCausalLM";
    R1_CHECK(qwen2 || llama || ds2 || ds3, where, "field 'architectures': '", arch,
             "' is not supported (supported: Qwen2ForCausalLM, LlamaForCausalLM, "
             "DeepseekV2ForCausalLM, DeepseekV3ForCausalLM)");

    ModelConfig c;
    c.arch = qwen2 ? Arch::qwen2 : llama ? Arch::llama : Arch::deepseek2;
    c.n_vocab = k.i64("vocab_size");
    c.n_embd = k.i64("hidden_size");
    c.n_layer = k.i64("num_hidden_layers");
    c.n_ctx = k.i64("max_position_embeddings");
    c.n_head = k.i64("num_attention_heads");
    c.n_head_kv = k.i64("num_key_value_heads", c.n_head);
    c.norm = NormKind::rmsnorm;
    c.norm_eps = (float)k.num("rms_norm_eps", 1e-6);
    c.pos = PosKind::rope;
    c.rope_theta = (float)k.num("rope_theta", 10000.0);
    c.mlp = MlpKind::swiglu;
    c.tie_embeddings = k.boolean("tie_word_embeddings", false);
    c.n_ff = k.i64("intermediate_size");
    const std::string act = k.str("hidden_act", std::string("silu"));
    if (act != "silu") k.bad("hidden_act", "'" + act + "' is not supported (only silu)");
    if (k.boolean("mlp_bias", false)) k.bad("mlp_bias", "true is not supported");
    if (k.boolean("use_sliding_window", false))
        k.bad("use_sliding_window", "true is not supported (full attention only)");
    if (k.i64("hidden_size", 0) <= 0) k.bad("hidden_size", "must be > 0");
    if (const json* m = k.present("model_type"); m && m->is_string()) {
        const std::string mt = m->get<std::string>();
        const char* want = qwen2 ? "qwen2" : llama ? "llama" : ds2 ? "deepseek_v2" : "deepseek_v3";
        R1_CHECK(mt == want, where, "field 'model_type': '", mt, "' does not match architecture ",
                 arch, " (expected '", want, "')");
    }

    if (qwen2 || llama) {
        c.attn = AttnKind::gqa;
        c.rope_layout = RopeLayout::neox;
        c.head_dim = k.i64("head_dim", c.n_head > 0 ? c.n_embd / c.n_head : 0);
        // Qwen2 always has q/k/v bias; Llama has it when attention_bias (also on o_proj,
        // which r1 does not implement).
        c.qkv_bias = qwen2 || k.boolean("attention_bias", false);
        if (llama && c.qkv_bias)
            k.bad("attention_bias", "true is not supported for Llama (o_proj bias)");
        read_rope_scaling(k, c, false);
    } else {
        c.attn = AttnKind::mla;
        c.n_head_kv = c.n_head;  // MLA: every head has its own K/V (from the shared latent)
        c.rope_layout = RopeLayout::interleaved;
        if (k.boolean("attention_bias", false)) k.bad("attention_bias", "true is not supported");
        c.q_lora_rank = k.i64("q_lora_rank", 0);
        c.kv_lora_rank = k.i64("kv_lora_rank");
        c.qk_nope_head_dim = k.i64("qk_nope_head_dim");
        c.qk_rope_head_dim = k.i64("qk_rope_head_dim");
        c.v_head_dim = k.i64("v_head_dim");
        c.head_dim = c.qk_nope_head_dim + c.qk_rope_head_dim;
        read_rope_scaling(k, c, true);

        const json* nre = k.present("n_routed_experts");
        if (nre) {
            c.n_expert = k.i64("n_routed_experts");
            c.n_expert_used = k.i64("num_experts_per_tok");
            c.n_expert_shared = k.i64("n_shared_experts", 0);
            c.n_ff_exp = k.i64("moe_intermediate_size");
            c.n_layer_dense_lead = k.i64("first_k_dense_replace", 0);
            if (k.i64("moe_layer_freq", 1) != 1)
                k.bad("moe_layer_freq", "only 1 is supported (every layer after "
                                        "first_k_dense_replace is MoE)");
            const std::string scoring = k.str("scoring_func", std::string(ds3 ? "sigmoid" : "softmax"));
            const std::string topk = k.str("topk_method", std::string(ds3 ? "noaux_tc" : "greedy"));
            c.expert_weights_norm = k.boolean("norm_topk_prob", false);
            const double rsf = k.num("routed_scaling_factor", 1.0);
            c.n_expert_groups = k.i64("n_group", 1);
            c.n_group_used = k.i64("topk_group", 1);
            if (ds2) {
                if (scoring != "softmax")
                    k.bad("scoring_func", "'" + scoring + "' is not supported by DeepseekV2 (softmax)");
                c.gating = GatingFunc::softmax;
                if (topk == "greedy") {
                    c.n_expert_groups = 1;   // groups are not used by greedy selection
                    c.n_group_used = 1;
                } else if (topk != "group_limited_greedy") {
                    k.bad("topk_method", "'" + topk + "' is not supported for DeepseekV2 "
                                         "(greedy, group_limited_greedy)");
                }
                // V2 scales only un-normalised weights (modeling_deepseek.py MoEGate).
                c.expert_weights_scale = c.expert_weights_norm ? 1.0f : (float)rsf;
                c.expert_sel_bias = false;
            } else {
                if (scoring != "sigmoid")
                    k.bad("scoring_func", "'" + scoring + "' is not supported by DeepseekV3 (sigmoid)");
                if (topk != "noaux_tc")
                    k.bad("topk_method", "'" + topk + "' is not supported for DeepseekV3 (noaux_tc)");
                c.gating = GatingFunc::sigmoid;
                c.expert_weights_scale = (float)rsf;
                c.expert_sel_bias = true;    // e_score_correction_bias
            }
        } else {
            for (const char* key : {"num_experts_per_tok", "n_shared_experts", "moe_intermediate_size",
                                    "first_k_dense_replace", "moe_layer_freq", "scoring_func",
                                    "topk_method", "norm_topk_prob", "routed_scaling_factor",
                                    "n_group", "topk_group"})
                k.find(key);
        }
        inf.n_nextn_layers = k.i64("num_nextn_predict_layers", 0);
        if (inf.n_nextn_layers < 0) k.bad("num_nextn_predict_layers", "must be >= 0");
    }

    if (const json* q = k.present("quantization_config")) {
        R1_CHECK(q->is_object(), where, "field 'quantization_config' must be an object");
        Keys qk{*q, where, "quantization_config.", {}};
        const std::string method = qk.str("quant_method");
        if (method != "fp8") qk.bad("quant_method", "'" + method + "' is not supported (fp8)");
        const std::string fmt = qk.str("fmt", std::string("e4m3"));
        if (fmt != "e4m3") qk.bad("fmt", "'" + fmt + "' is not supported (e4m3)");
        if (const json* bs = qk.present("weight_block_size")) {
            R1_CHECK(bs->is_array() && bs->size() == 2 && (*bs)[0].is_number_integer() &&
                         (*bs)[1].is_number_integer() && (*bs)[0].get<int64_t>() > 0 &&
                         (*bs)[1].get<int64_t>() > 0,
                     where, "field 'quantization_config.weight_block_size' must be [rows, cols] > 0");
            inf.fp8_block_rows = (*bs)[0].get<int64_t>();
            inf.fp8_block_cols = (*bs)[1].get<int64_t>();
        } else {
            qk.bad("weight_block_size", "missing (only block-scaled fp8 is supported)");
        }
        qk.check_rest({"activation_scheme", "modules_to_not_convert", "ignored_layers"});
        inf.fp8 = true;
    }
    if (const json* b = k.present("bos_token_id"); b && b->is_number_integer())
        inf.bos_token_id = b->get<int64_t>();
    if (const json* e = k.present("eos_token_id")) {
        if (e->is_number_integer()) inf.eos_token_id = e->get<int64_t>();
        else if (e->is_array() && !e->empty() && (*e)[0].is_number_integer())
            inf.eos_token_id = (*e)[0].get<int64_t>();
    }
    k.check_rest(kIgnored);

    try {
        c.validate();
    } catch (const Error& e) {
        fail(where, "inconsistent model: ", e.what());
    }
    if (info) *info = inf;
    return c;
}

ModelConfig load_hf_config(const std::string& path, HfConfigInfo* info) {
    std::ifstream f(path);
    R1_CHECK(f.good(), "[hf] ", path, ": cannot open");
    json j;
    try {
        j = json::parse(f);
    } catch (const json::exception& e) {
        fail("[hf] ", path, ": bad JSON: ", e.what());
    }
    return config_from_hf(j, path, info);
}

std::string hf_architecture(const ModelConfig& c) {
    const char* why = nullptr;
    if (c.arch == Arch::gpt2) why = "gpt2-style models (LayerNorm, GELU, learned positions)";
    else if (c.norm != NormKind::rmsnorm || c.mlp != MlpKind::swiglu || c.pos != PosKind::rope)
        why = "models without RMSNorm + SwiGLU + RoPE";
    else if (c.attn == AttnKind::gqa && c.n_expert > 0)
        why = "MoE models with GQA attention (HF's DeepSeek classes use MLA)";
    else if (c.attn == AttnKind::mla && c.n_expert == 0)
        why = "dense models with MLA attention";
    else if (c.arch == Arch::llama && c.qkv_bias)
        why = "Llama models with q/k/v bias (save as qwen2)";
    if (why) fail("[hf] ", why, " have no Hugging Face architecture r1.cpp writes");
    if (c.attn == AttnKind::gqa) return c.arch == Arch::qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
    return c.gating == GatingFunc::softmax ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM";
}

json config_to_hf(const ModelConfig& c) {
    c.validate();
    const std::string arch = hf_architecture(c);
    R1_CHECK(c.yarn.factor == 1.0f || c.attn == AttnKind::mla,
             "[hf] YaRN rope scaling is only written for DeepSeek (MLA) models");
    json j;
    j["architectures"] = {arch};
    j["vocab_size"] = c.n_vocab;
    j["hidden_size"] = c.n_embd;
    j["num_hidden_layers"] = c.n_layer;
    j["max_position_embeddings"] = c.n_ctx;
    j["num_attention_heads"] = c.n_head;
    j["rms_norm_eps"] = c.norm_eps;
    j["rope_theta"] = c.rope_theta;
    j["tie_word_embeddings"] = c.tie_embeddings;
    j["hidden_act"] = "silu";
    j["torch_dtype"] = "float32";
    j["rope_scaling"] = nullptr;
    if (c.attn == AttnKind::gqa) {
        j["model_type"] = c.arch == Arch::qwen2 ? "qwen2" : "llama";
        j["num_key_value_heads"] = c.n_head_kv;
        j["intermediate_size"] = c.n_ff;
        if (c.arch == Arch::qwen2) {
            R1_CHECK(c.qkv_bias, "[hf] Qwen2ForCausalLM always has q/k/v bias; this qwen2 config has none");
            j["use_sliding_window"] = false;
        } else {
            j["attention_bias"] = false;
            j["mlp_bias"] = false;
        }
        if (c.head_dim * c.n_head != c.n_embd) j["head_dim"] = c.head_dim;
    } else {
        const bool v3 = c.gating == GatingFunc::sigmoid;
        j["model_type"] = v3 ? "deepseek_v3" : "deepseek_v2";
        j["num_key_value_heads"] = c.n_head;
        j["intermediate_size"] = c.n_ff > 0 ? c.n_ff : c.n_ff_exp;
        j["attention_bias"] = false;
        j["q_lora_rank"] = c.q_lora_rank > 0 ? json(c.q_lora_rank) : json(nullptr);
        j["kv_lora_rank"] = c.kv_lora_rank;
        j["qk_nope_head_dim"] = c.qk_nope_head_dim;
        j["qk_rope_head_dim"] = c.qk_rope_head_dim;
        j["v_head_dim"] = c.v_head_dim;
        j["n_routed_experts"] = c.n_expert;
        j["num_experts_per_tok"] = c.n_expert_used;
        j["n_shared_experts"] = c.n_expert_shared;
        j["moe_intermediate_size"] = c.n_ff_exp;
        j["first_k_dense_replace"] = c.n_layer_dense_lead;
        j["moe_layer_freq"] = 1;
        j["norm_topk_prob"] = c.expert_weights_norm;
        j["n_group"] = c.n_expert_groups;
        j["topk_group"] = c.n_group_used;
        j["scoring_func"] = v3 ? "sigmoid" : "softmax";
        if (v3) {
            j["topk_method"] = "noaux_tc";
            j["routed_scaling_factor"] = c.expert_weights_scale;
        } else {
            R1_CHECK(!c.expert_sel_bias,
                     "[hf] DeepseekV2 (softmax gating) has no selection bias; this config has one");
            j["topk_method"] = c.n_expert_groups > 1 ? "group_limited_greedy" : "greedy";
            R1_CHECK(!c.expert_weights_norm || c.expert_weights_scale == 1.0f,
                     "[hf] DeepseekV2 ignores routed_scaling_factor when norm_topk_prob is true; "
                     "this config scales normalised weights by ", c.expert_weights_scale);
            j["routed_scaling_factor"] = c.expert_weights_scale;
        }
        if (c.yarn.factor > 1.0f)
            j["rope_scaling"] = {{"type", "yarn"},
                                 {"factor", c.yarn.factor},
                                 {"original_max_position_embeddings", c.yarn.original_max_pos},
                                 {"beta_fast", c.yarn.beta_fast},
                                 {"beta_slow", c.yarn.beta_slow},
                                 {"mscale", c.yarn.mscale},
                                 {"mscale_all_dim", c.yarn.mscale_all_dim}};
    }
    return j;
}

}  // namespace r1
