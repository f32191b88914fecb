// GGUF export of r1 models (see gguf_export.h for what maps to which llama.cpp architecture
// and why q/k rows are permuted) and GGUF re-typing (r1 quantize).
#include "io/gguf_export.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/params.h"
#include "tokenizer/byte_tokenizer.h"

namespace r1 {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool supported_weight_type(DType t) {
    return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::q8_0 ||
           t == DType::q4_0;
}

// The type a tensor of this name and (outermost-first) shape is stored as.
DType storage_type(const std::string& name, int64_t rank, int64_t row_len, DType want) {
    if (rank < 2 || name.find("ffn_gate_inp") != std::string::npos) return DType::f32;
    if (row_len % dtype_block_size(want) != 0) return DType::f32;
    return want;
}

void add_tensor_f32(gguf::Writer& w, const std::string& name,
                    const std::vector<int64_t>& shape, const float* data, DType want) {
    std::vector<int64_t> dims(shape.rbegin(), shape.rend());  // ne0 innermost
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    const DType t = storage_type(name, (int64_t)shape.size(), dims[0], want);
    if (t == DType::f32) {
        w.add_tensor(name, dims, t, data, (size_t)numel * sizeof(float));
        return;
    }
    const int64_t rows = numel / dims[0];
    const int64_t row_bytes = dtype_row_bytes(t, dims[0]);
    std::vector<uint8_t> buf((size_t)(rows * row_bytes));
    for (int64_t r = 0; r < rows; r++)
        from_f32(buf.data() + r * row_bytes, data + r * dims[0], t, dims[0]);
    w.add_tensor(name, dims, t, buf.data(), buf.size());
}

void add_hparams(gguf::Writer& w, const ModelConfig& c, const std::string& a) {
    w.add_u32(a + ".context_length", (uint32_t)c.n_ctx);
    w.add_u32(a + ".embedding_length", (uint32_t)c.n_embd);
    w.add_u32(a + ".block_count", (uint32_t)c.n_layer);
    w.add_u32(a + ".feed_forward_length", (uint32_t)c.n_ff);
    w.add_u32(a + ".vocab_size", (uint32_t)c.n_vocab);
    w.add_u32(a + ".attention.head_count", (uint32_t)c.n_head);
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", c.norm_eps);
    w.add_f32(a + ".rope.freq_base", c.rope_theta);
    if (c.attn == AttnKind::gqa) {
        w.add_u32(a + ".attention.head_count_kv", (uint32_t)c.n_head_kv);
        w.add_u32(a + ".attention.key_length", (uint32_t)c.head_dim);
        w.add_u32(a + ".attention.value_length", (uint32_t)c.head_dim);
        w.add_u32(a + ".rope.dimension_count", (uint32_t)c.head_dim);
    } else {
        // llama.cpp's MLA (non-absorbed kv_b form) treats every head as a kv head.
        w.add_u32(a + ".attention.head_count_kv", (uint32_t)c.n_head);
        w.add_u32(a + ".attention.key_length",
                  (uint32_t)(c.qk_nope_head_dim + c.qk_rope_head_dim));
        w.add_u32(a + ".attention.value_length", (uint32_t)c.v_head_dim);
        w.add_u32(a + ".attention.kv_lora_rank", (uint32_t)c.kv_lora_rank);
        w.add_u32(a + ".attention.q_lora_rank", (uint32_t)c.q_lora_rank);
        w.add_u32(a + ".rope.dimension_count", (uint32_t)c.qk_rope_head_dim);
    }
    if (c.n_expert > 0) {
        w.add_u32(a + ".leading_dense_block_count", (uint32_t)c.n_layer_dense_lead);
        w.add_u32(a + ".expert_feed_forward_length", (uint32_t)c.n_ff_exp);
        w.add_u32(a + ".expert_count", (uint32_t)c.n_expert);
        w.add_u32(a + ".expert_used_count", (uint32_t)c.n_expert_used);
        w.add_u32(a + ".expert_shared_count", (uint32_t)c.n_expert_shared);
        w.add_f32(a + ".expert_weights_scale", c.expert_weights_scale);
        w.add_bool(a + ".expert_weights_norm", c.expert_weights_norm);
        w.add_u32(a + ".expert_gating_func", (uint32_t)c.gating);
        if (c.n_expert_groups > 1) {
            w.add_u32(a + ".expert_group_count", (uint32_t)c.n_expert_groups);
            w.add_u32(a + ".expert_group_used_count", (uint32_t)c.n_group_used);
        }
    }
    if (c.yarn.factor > 1.0f) {
        // Key names as convert_hf_to_gguf.py writes them for DeepSeek-V2/V3 YaRN models.
        w.add_str(a + ".rope.scaling.type", "yarn");
        w.add_f32(a + ".rope.scaling.factor", c.yarn.factor);
        w.add_u32(a + ".rope.scaling.original_context_length",
                  (uint32_t)c.yarn.original_max_pos);
        if (c.attn == AttnKind::mla)
            w.add_f32(a + ".rope.scaling.yarn_log_multiplier", 0.1f * c.yarn.mscale_all_dim);
    }
}

void add_tokenizer(gguf::Writer& w, const GgufTokenizerMeta& t, int64_t n_vocab) {
    R1_CHECK((int64_t)t.tokens.size() == n_vocab, "[export] tokenizer has ", t.tokens.size(),
             " tokens but the model's n_vocab is ", n_vocab);
    R1_CHECK(t.token_type.size() == t.tokens.size(), "[export] tokenizer: token_type has ",
             t.token_type.size(), " entries for ", t.tokens.size(), " tokens");
    w.add_str("tokenizer.ggml.model", t.model);
    w.add_str("tokenizer.ggml.pre", t.pre);
    w.add_arr_str("tokenizer.ggml.tokens", t.tokens);
    w.add_arr("tokenizer.ggml.token_type", t.token_type);
    w.add_arr_str("tokenizer.ggml.merges", t.merges);
    auto id = [&](const char* key, int32_t v) {
        if (v < 0) return;
        R1_CHECK(v < n_vocab, "[export] tokenizer: ", key, " ", v, " >= n_vocab ", n_vocab);
        w.add_u32(key, (uint32_t)v);
    };
    id("tokenizer.ggml.bos_token_id", t.bos);
    id("tokenizer.ggml.eos_token_id", t.eos);
    id("tokenizer.ggml.padding_token_id", t.pad);
    w.add_bool("tokenizer.ggml.add_bos_token", t.add_bos);
    w.add_bool("tokenizer.ggml.add_eos_token", false);
}

}  // namespace

std::string gpt2_byte_to_unicode(uint8_t b) {
    // Printable bytes map to themselves; the other 68 map, in byte order, to U+0100...
    auto printable = [](int x) {
        return (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
    };
    uint32_t cp = b;
    if (!printable(b)) {
        int n = 0;
        for (int x = 0; x < b; x++) n += printable(x) ? 0 : 1;
        cp = 256 + (uint32_t)n;
    }
    std::string s;
    if (cp < 0x80) {
        s += (char)cp;
    } else {  // all mapped code points are < 0x800
        s += (char)(0xC0 | (cp >> 6));
        s += (char)(0x80 | (cp & 0x3F));
    }
    return s;
}

GgufTokenizerMeta byte_tokenizer_gguf_meta(int64_t n_vocab) {
    R1_CHECK(n_vocab >= ByteTokenizer::kVocabSize, "[export] n_vocab ", n_vocab,
             " is smaller than the byte tokenizer's ", ByteTokenizer::kVocabSize);
    GgufTokenizerMeta m;
    m.model = "gpt2";
    m.pre = "default";
    for (int b = 0; b < 256; b++) {
        m.tokens.push_back(gpt2_byte_to_unicode((uint8_t)b));
        m.token_type.push_back(1);
    }
    for (int32_t id = 256; id < ByteTokenizer::kVocabSize; id++) {
        m.tokens.push_back(ByteTokenizer::special_text(id));
        m.token_type.push_back(3);
    }
    for (int64_t id = ByteTokenizer::kVocabSize; id < n_vocab; id++) {
        m.tokens.push_back("[PAD" + std::to_string(id) + "]");
        m.token_type.push_back(5);
    }
    m.bos = ByteTokenizer::kBos;
    m.eos = ByteTokenizer::kEos;
    m.pad = ByteTokenizer::kPad;
    m.add_bos = true;
    return m;
}

std::string gguf_export_arch(const ModelConfig& c) {
    const char* what =
        "only (a) dense GQA models with RMSNorm, RoPE and SwiGLU (exported as llama/qwen2) and "
        "(b) DeepSeekMoE models with MLA attention (exported as deepseek2) can be exported";
    auto bad = [&](const std::string& why) -> std::string {
        fail("[export] config not exportable to GGUF: ", why, "; ", what);
    };
    if (c.norm != NormKind::rmsnorm) return bad("LayerNorm");
    if (c.pos != PosKind::rope) return bad("learned positions (gpt2-style)");
    if (c.mlp != MlpKind::swiglu) return bad("GELU MLP");
    if (c.arch == Arch::gpt2) return bad("arch gpt2");
    if (c.n_expert > 0 || c.attn == AttnKind::mla) {
        if (c.attn != AttnKind::mla) return bad("MoE with GQA attention");
        if (c.n_expert == 0) return bad("dense model with MLA attention");
        return "deepseek2";
    }
    if (c.qkv_bias && c.rope_layout == RopeLayout::neox) return "qwen2";
    return "llama";
}

uint32_t gguf_file_type(DType t) {
    switch (t) {
        case DType::f32: return 0;
        case DType::f16: return 1;
        case DType::q4_0: return 2;
        case DType::q8_0: return 7;
        case DType::bf16: return 32;
        default: break;
    }
    fail("[export] no llama.cpp file type for weight type ", dtype_name(t));
}

void rope_rows_neox_to_interleaved(float* w, int64_t row_len, int64_t first, int64_t stride,
                                   int64_t n_groups, int64_t rot) {
    R1_CHECK(rot % 2 == 0, "[export] rope dims must be even (got ", rot, ")");
    const int64_t half = rot / 2;
    std::vector<float> tmp((size_t)(rot * row_len));
    for (int64_t g = 0; g < n_groups; g++) {
        float* base = w + (first + g * stride) * row_len;
        for (int64_t j = 0; j < 2; j++)
            for (int64_t i = 0; i < half; i++)
                std::memcpy(tmp.data() + (2 * i + j) * row_len, base + (j * half + i) * row_len,
                            (size_t)row_len * sizeof(float));
        std::memcpy(base, tmp.data(), tmp.size() * sizeof(float));
    }
}

void export_gguf(const ModelConfig& cfg, const ParamSet& params, const std::string& path,
                 DType weight_type, const GgufTokenizerMeta& tok) {
    cfg.validate();
    R1_CHECK(supported_weight_type(weight_type), "[export] weight type ",
             dtype_name(weight_type), " is not one of f32, f16, bf16, q8_0, q4_0");
    const std::string arch = gguf_export_arch(cfg);
    const bool permute = cfg.rope_layout == RopeLayout::neox && arch != "qwen2";

    gguf::Writer w;
    w.add_str("general.architecture", arch);
    w.add_str("general.name", "r1.cpp " + std::string(arch_name(cfg.arch)));
    w.add_u32("general.file_type", gguf_file_type(weight_type));
    w.add_u32("general.quantization_version", 2);
    add_hparams(w, cfg, arch);
    add_tokenizer(w, tok, cfg.n_vocab);

    std::vector<float> scratch;
    for (const ParamInfo& p : params.infos()) {
        const float* src = params.data().data() + p.offset;
        const std::string& n = p.name;
        // Rows to permute: (first, stride, n_groups, rot) in units of rows.
        bool perm = false;
        int64_t first = 0, stride = 0, groups = 0, rot = 0;
        if (permute && cfg.attn == AttnKind::gqa) {
            const bool q = ends_with(n, ".attn_q.weight") || ends_with(n, ".attn_q.bias");
            const bool k = ends_with(n, ".attn_k.weight") || ends_with(n, ".attn_k.bias");
            if (q || k) {
                perm = true;
                first = 0, stride = cfg.head_dim, rot = cfg.head_dim;
                groups = q ? cfg.n_head : cfg.n_head_kv;
            }
        } else if (permute) {  // MLA: only the rope part of each head
            const int64_t dqk = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim;
            if (ends_with(n, ".attn_q.weight") || ends_with(n, ".attn_q_b.weight")) {
                perm = true;
                first = cfg.qk_nope_head_dim, stride = dqk, groups = cfg.n_head;
                rot = cfg.qk_rope_head_dim;
            } else if (ends_with(n, ".attn_kv_a_mqa.weight")) {
                perm = true;
                first = cfg.kv_lora_rank, stride = 0, groups = 1, rot = cfg.qk_rope_head_dim;
            }
        }
        if (perm) {
            scratch.assign(src, src + p.numel);
            const int64_t row_len = p.shape.size() >= 2 ? p.shape.back() : 1;
            rope_rows_neox_to_interleaved(scratch.data(), row_len, first, stride, groups, rot);
            src = scratch.data();
        }
        add_tensor_f32(w, n, p.shape, src, weight_type);
    }
    // llama.cpp's deepseek2 requires output.weight: tied models get a copy of token_embd.
    if (cfg.tie_embeddings) {
        const ParamInfo& e = params.info("token_embd.weight");
        add_tensor_f32(w, "output.weight", e.shape, params.data().data() + e.offset,
                       weight_type);
    }
    w.write(path);
}

int64_t quantize_gguf(const std::string& in_path, const std::string& out_path, DType type) {
    R1_CHECK(supported_weight_type(type), "[quantize] type ", dtype_name(type),
             " is not one of f32, f16, bf16, q8_0, q4_0");
    const gguf::Reader r = gguf::Reader::open(in_path);
    gguf::Writer w;
    bool have_ft = false;
    for (const auto& kv : r.metadata()) {
        if (kv.key == "general.file_type") {
            w.add_u32(kv.key, gguf_file_type(type));
            have_ft = true;
        } else {
            w.add(kv.key, kv.value);
        }
    }
    if (!have_ft) w.add_u32("general.file_type", gguf_file_type(type));

    int64_t converted = 0;
    std::vector<float> f32;
    for (const gguf::TensorInfo& t : r.tensors()) {
        const std::vector<int64_t> dims = t.dims();
        const DType to = storage_type(t.name, t.n_dims, t.ne[0], type);
        if (t.n_dims < 2 || to == t.type || to != type) {
            w.add_tensor_ref(t.name, dims, t.type, t.data, t.nbytes);
            continue;
        }
        const int64_t rows = t.numel() / t.ne[0];
        const int64_t in_row = dtype_row_bytes(t.type, t.ne[0]);
        const int64_t out_row = dtype_row_bytes(to, t.ne[0]);
        R1_CHECK(in_row > 0 && out_row > 0, "[quantize] ", in_path, ": tensor ", t.name,
                 " has rows of ", t.ne[0], " elements");
        f32.resize((size_t)t.ne[0]);
        std::vector<uint8_t> buf((size_t)(rows * out_row));
        const auto* in = static_cast<const uint8_t*>(t.data);
        for (int64_t i = 0; i < rows; i++) {
            to_f32(f32.data(), in + i * in_row, t.type, t.ne[0]);
            from_f32(buf.data() + i * out_row, f32.data(), to, t.ne[0]);
        }
        w.add_tensor(t.name, dims, to, buf.data(), buf.size());
        converted++;
    }
    w.write(out_path);
    return converted;
}

}  // namespace r1
