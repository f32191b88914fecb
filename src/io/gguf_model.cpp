// GGUF metadata -> ModelConfig, GGUF tensors -> InferenceModel views. See gguf_model.h.
// Shapes: a GGUF tensor with ne = {ne0, ne1, ne2} (ne0 innermost) is a row-major matrix of
// N = ne1·ne2 rows by K = ne0 columns - exactly the engine's WeightView convention (stacked
// experts {E, out, in} become E·out rows; a vector {d} becomes N = 1, K = d).
#include "io/gguf_model.h"

#include <string>
#include <unordered_map>

#include "core/dtype.h"
#include "core/error.h"

namespace r1 {

namespace {

// An integer hyper-parameter stored as any unsigned/signed integer type (llama.cpp writes
// u32, but other producers use i32 or u64).
int64_t get_int(const gguf::Reader& r, const std::string& key) {
    const gguf::Value* v = r.find(key);
    R1_CHECK(v, "[gguf] ", r.name(), ": missing key '", key, "'");
    switch (v->type) {
        case gguf::Type::u8: return v->as<uint8_t>();
        case gguf::Type::i8: return v->as<int8_t>();
        case gguf::Type::u16: return v->as<uint16_t>();
        case gguf::Type::i16: return v->as<int16_t>();
        case gguf::Type::u32: return v->as<uint32_t>();
        case gguf::Type::i32: return v->as<int32_t>();
        case gguf::Type::u64: return (int64_t)v->as<uint64_t>();
        case gguf::Type::i64: return v->as<int64_t>();
        default:
            fail("[gguf] ", r.name(), ": key '", key, "' has type ", v->type_string(),
                 ", expected an integer");
    }
}
int64_t get_int_or(const gguf::Reader& r, const std::string& key, int64_t fallback) {
    return r.has(key) ? get_int(r, key) : fallback;
}
float get_float_or(const gguf::Reader& r, const std::string& key, float fallback) {
    const gguf::Value* v = r.find(key);
    if (!v) return fallback;
    if (v->type == gguf::Type::f64) return (float)v->as<double>();
    return r.get_f32(key);
}

}  // namespace

ModelConfig config_from_gguf(const gguf::Reader& r) {
    const std::string arch = r.architecture();
    R1_CHECK(arch == "llama" || arch == "qwen2" || arch == "deepseek2", "[gguf] ", r.name(),
             ": general.architecture '", arch, "' is not supported (llama, qwen2, deepseek2)");
    const std::string a = arch + ".";
    ModelConfig c;
    c.arch = arch == "llama" ? Arch::llama : arch == "qwen2" ? Arch::qwen2 : Arch::deepseek2;
    c.norm = NormKind::rmsnorm;
    c.pos = PosKind::rope;
    c.mlp = MlpKind::swiglu;
    c.n_ctx = get_int(r, a + "context_length");
    c.n_embd = get_int(r, a + "embedding_length");
    c.n_layer = get_int(r, a + "block_count");
    c.n_ff = get_int_or(r, a + "feed_forward_length", 0);
    c.n_head = get_int(r, a + "attention.head_count");
    c.n_head_kv = get_int_or(r, a + "attention.head_count_kv", c.n_head);
    c.norm_eps = get_float_or(r, a + "attention.layer_norm_rms_epsilon", 1e-5f);
    c.rope_theta = get_float_or(r, a + "rope.freq_base", 10000.0f);
    c.rope_layout = arch == "qwen2" ? RopeLayout::neox : RopeLayout::interleaved;

    const gguf::TensorInfo& emb = r.tensor("token_embd.weight");
    R1_CHECK(emb.n_dims == 2, "[gguf] ", r.name(), ": tensor 'token_embd.weight' has ",
             emb.n_dims, " dims, expected 2");
    c.n_vocab = emb.ne[1];
    c.tie_embeddings = r.find_tensor("output.weight") == nullptr;

    if (arch != "deepseek2") {
        c.attn = AttnKind::gqa;
        R1_CHECK(c.n_head > 0 && c.n_embd % c.n_head == 0, "[gguf] ", r.name(), ": ", a,
                 "attention.head_count ", c.n_head, " does not divide embedding_length ", c.n_embd);
        c.head_dim = get_int_or(r, a + "attention.key_length", c.n_embd / c.n_head);
        const int64_t rot = get_int_or(r, a + "rope.dimension_count", c.head_dim);
        R1_CHECK(rot == c.head_dim, "[gguf] ", r.name(), ": ", a, "rope.dimension_count ", rot,
                 " != head dim ", c.head_dim, " (partial rotary is not supported)");
        c.qkv_bias = r.find_tensor("blk.0.attn_q.bias") != nullptr;
    } else {
        c.attn = AttnKind::mla;
        c.n_head_kv = c.n_head;
        c.q_lora_rank = get_int_or(r, a + "attention.q_lora_rank", 0);
        c.kv_lora_rank = get_int(r, a + "attention.kv_lora_rank");
        c.qk_rope_head_dim = get_int(r, a + "rope.dimension_count");
        const int64_t key_len = get_int(r, a + "attention.key_length");
        R1_CHECK(key_len > c.qk_rope_head_dim, "[gguf] ", r.name(), ": ", a,
                 "attention.key_length ", key_len, " must exceed rope.dimension_count ",
                 c.qk_rope_head_dim);
        c.qk_nope_head_dim = key_len - c.qk_rope_head_dim;
        c.v_head_dim = get_int(r, a + "attention.value_length");
        c.head_dim = key_len;
        c.n_layer_dense_lead = get_int_or(r, a + "leading_dense_block_count", 0);
        c.n_expert = get_int_or(r, a + "expert_count", 0);
        if (c.n_expert > 0) {
            c.n_ff_exp = get_int(r, a + "expert_feed_forward_length");
            c.n_expert_used = get_int(r, a + "expert_used_count");
            c.n_expert_shared = get_int_or(r, a + "expert_shared_count", 0);
            c.expert_weights_scale = get_float_or(r, a + "expert_weights_scale", 1.0f);
            c.expert_weights_norm = r.get_or<bool>(a + "expert_weights_norm", false);
            const int64_t g = get_int_or(r, a + "expert_gating_func", 1);
            R1_CHECK(g == 1 || g == 2, "[gguf] ", r.name(), ": ", a, "expert_gating_func ", g,
                     " is not supported (1 softmax, 2 sigmoid)");
            c.gating = g == 1 ? GatingFunc::softmax : GatingFunc::sigmoid;
            c.n_expert_groups = get_int_or(r, a + "expert_group_count", 1);
            c.n_group_used = get_int_or(r, a + "expert_group_used_count", 1);
            if (c.n_expert_groups <= 0) c.n_expert_groups = 1;
            if (c.n_group_used <= 0) c.n_group_used = c.n_expert_groups;
            const std::string first_moe = "blk." + std::to_string(c.n_layer_dense_lead) +
                                          ".exp_probs_b.bias";
            c.expert_sel_bias = r.find_tensor(first_moe) != nullptr;
        }
        // YaRN (DeepSeek-V2/V3). llama.cpp stores only yarn_log_multiplier = 0.1·mscale_all_dim;
        // the DeepSeek configs have mscale == mscale_all_dim, so the cos/sin factor is 1 and
        // only the softmax scale changes.
        if (r.has(a + "rope.scaling.type") && r.get_str(a + "rope.scaling.type") == "yarn") {
            c.yarn.factor = get_float_or(r, a + "rope.scaling.factor", 1.0f);
            c.yarn.original_max_pos = get_int_or(r, a + "rope.scaling.original_context_length", 0);
            const float mul = get_float_or(r, a + "rope.scaling.yarn_log_multiplier", 0.0f);
            c.yarn.mscale_all_dim = mul / 0.1f;
            c.yarn.mscale = c.yarn.mscale_all_dim;
        }
    }
    try {
        c.validate();
    } catch (const Error& e) {
        fail("[gguf] ", r.name(), ": ", e.what());
    }
    return c;
}

InferenceModel load_gguf_model(const gguf::Reader& r) {
    const ModelConfig cfg = config_from_gguf(r);
    std::unordered_map<std::string, WeightView> t;
    for (const gguf::TensorInfo& ti : r.tensors()) {
        const DType d = ti.type;
        R1_CHECK(d == DType::f32 || d == DType::f16 || d == DType::bf16 || d == DType::q8_0 ||
                     d == DType::q4_0,
                 "[gguf] ", r.name(), ": tensor '", ti.name, "' has type ", dtype_name(d),
                 " (supported: f32, f16, bf16, q8_0, q4_0)");
        WeightView w;
        w.type = d;
        w.data = ti.data;
        w.K = ti.ne[0];
        w.N = w.K > 0 ? ti.numel() / w.K : 0;
        t.emplace(ti.name, w);
    }
    try {
        return InferenceModel(cfg, t);
    } catch (const Error& e) {
        fail("[gguf] ", r.name(), ": ", e.what());
    }
}

GgufModel::GgufModel(gguf::Reader r) : reader(std::move(r)), model(load_gguf_model(reader)) {}

std::unique_ptr<GgufModel> GgufModel::open(const std::string& path) {
    return std::make_unique<GgufModel>(gguf::Reader::open(path));
}

}  // namespace r1
