// GGUF models through the inference engine: a randomly initialised r1::Model is written to a
// GGUF file with r1's own writer (llama.cpp key and tensor names, f32), loaded back with
// load_gguf_model (views into the file), and the engine's prefill logits must equal the
// training forward Model::logits. Covers llama (interleaved RoPE, untied), qwen2 (NEOX RoPE,
// q/k/v bias, tied output) and deepseek2 (MLA + MoE, sigmoid gating, selection bias), plus
// the errors for a missing tensor, a wrong shape and an unsupported architecture.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/forward.h"
#include "generate/kv_cache.h"
#include "io/gguf.h"
#include "io/gguf_model.h"
#include "model/model.h"
#include "testing.h"

namespace {

using r1::ModelConfig;

// Expects f() to throw r1::Error whose message contains `want`.
template <class F> void expect_error(F&& f, const std::string& want) {
    try {
        f();
        ADD_FAILURE() << "no error thrown; expected one mentioning '" << want << "'";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
}
#define EXPECT_THROW_MSG(expr, want) expect_error([&] { (void)(expr); }, want)

ModelConfig llama_cfg() {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.arch = r1::Arch::llama;
    c.n_vocab = 40, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 16, c.n_head = 4, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 48, c.qkv_bias = false, c.tie_embeddings = false;
    c.rope_layout = r1::RopeLayout::interleaved;  // what llama.cpp's llama arch means
    c.rope_theta = 5000.0f, c.norm_eps = 1e-6f;
    c.validate();
    return c;
}

ModelConfig qwen2_cfg() {
    ModelConfig c = llama_cfg();
    c.arch = r1::Arch::qwen2;
    c.qkv_bias = true, c.tie_embeddings = true;
    c.rope_layout = r1::RopeLayout::neox;
    c.validate();
    return c;
}

ModelConfig ds2_cfg() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 40, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 16, c.n_head = 4, c.n_head_kv = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 16, c.kv_lora_rank = 16, c.qk_nope_head_dim = 8, c.qk_rope_head_dim = 4;
    c.v_head_dim = 8, c.head_dim = 12;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.n_ff = 48;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_weights_norm = true, c.expert_weights_scale = 2.5f;
    c.expert_sel_bias = true;
    c.validate();
    return c;
}

// The model as llama.cpp's converter would write it (f32). skip: a tensor to leave out.
// mat_type: how matrices are stored (add_tensor copies the converted bytes).
std::vector<uint8_t> to_gguf(const ModelConfig& c, const r1::ParamSet& ps,
                             const std::string& skip = "", const std::string& arch_override = "",
                             r1::DType mat_type = r1::DType::f32) {
    r1::gguf::Writer w;
    const std::string arch = arch_override.empty() ? r1::arch_name(c.arch) : arch_override;
    const std::string a = arch + ".";
    w.add_str("general.architecture", arch);
    w.add_u32(a + "context_length", (uint32_t)c.n_ctx);
    w.add_u32(a + "embedding_length", (uint32_t)c.n_embd);
    w.add_u32(a + "block_count", (uint32_t)c.n_layer);
    w.add_u32(a + "feed_forward_length", (uint32_t)c.n_ff);
    w.add_u32(a + "attention.head_count", (uint32_t)c.n_head);
    w.add_u32(a + "attention.head_count_kv", (uint32_t)c.n_head_kv);
    w.add_f32(a + "attention.layer_norm_rms_epsilon", c.norm_eps);
    w.add_f32(a + "rope.freq_base", c.rope_theta);
    if (c.attn == r1::AttnKind::mla) {
        w.add_u32(a + "attention.key_length", (uint32_t)(c.qk_nope_head_dim + c.qk_rope_head_dim));
        w.add_u32(a + "attention.value_length", (uint32_t)c.v_head_dim);
        w.add_u32(a + "attention.q_lora_rank", (uint32_t)c.q_lora_rank);
        w.add_u32(a + "attention.kv_lora_rank", (uint32_t)c.kv_lora_rank);
        w.add_u32(a + "rope.dimension_count", (uint32_t)c.qk_rope_head_dim);
        w.add_u32(a + "leading_dense_block_count", (uint32_t)c.n_layer_dense_lead);
        w.add_u32(a + "expert_feed_forward_length", (uint32_t)c.n_ff_exp);
        w.add_u32(a + "expert_count", (uint32_t)c.n_expert);
        w.add_u32(a + "expert_used_count", (uint32_t)c.n_expert_used);
        w.add_u32(a + "expert_shared_count", (uint32_t)c.n_expert_shared);
        w.add_f32(a + "expert_weights_scale", c.expert_weights_scale);
        w.add_bool(a + "expert_weights_norm", c.expert_weights_norm);
        w.add_u32(a + "expert_gating_func", (uint32_t)c.gating);
    } else {
        w.add_u32(a + "rope.dimension_count", (uint32_t)c.head_dim);
    }
    for (const r1::ParamInfo& p : ps.infos()) {
        if (p.name == skip) continue;
        std::vector<int64_t> dims(p.shape.rbegin(), p.shape.rend());  // ne[0] innermost
        if (p.shape.size() >= 2 && mat_type != r1::DType::f32) {
            std::vector<uint8_t> q((size_t)((p.numel / dims[0]) * r1::dtype_row_bytes(mat_type, dims[0])));
            r1::from_f32(q.data(), ps.data().data() + p.offset, mat_type, p.numel);
            w.add_tensor(p.name, dims, mat_type, q.data(), q.size());
            continue;
        }
        w.add_tensor_ref(p.name, dims, r1::DType::f32, ps.data().data() + p.offset,
                         (size_t)p.numel * sizeof(float));
    }
    return w.to_bytes();
}

r1::Model make_model(const ModelConfig& c, uint64_t seed) {
    r1::Model m(c);
    m.init_weights(seed);
    // non-trivial norms and biases (init sets them to 1 / 0), peaky attention
    r1::Rng rng(seed + 100);
    for (const auto& p : m.params().infos()) {
        float* x = m.params().ptr(p.name);
        const bool vec = p.shape.size() == 1;
        for (int64_t i = 0; i < p.numel; i++) {
            if (vec) x[i] += 0.2f * (rng.uniform() - 0.5f);
            else if (p.name.find("attn_q") != std::string::npos) x[i] *= 4.0f;
        }
    }
    return m;
}

void check_matches_model(const ModelConfig& c) {
    r1::Model m = make_model(c, 3);
    const std::vector<uint8_t> bytes = to_gguf(c, m.params());
    const r1::gguf::Reader r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");

    const ModelConfig got = r1::config_from_gguf(r);
    EXPECT_EQ(got.arch, c.arch);
    EXPECT_EQ(got.n_vocab, c.n_vocab);
    EXPECT_EQ(got.head_dim, c.head_dim);
    EXPECT_EQ(got.rope_layout, c.rope_layout);
    EXPECT_EQ(got.qkv_bias, c.qkv_bias);
    EXPECT_EQ(got.tie_embeddings, c.tie_embeddings);
    EXPECT_EQ(got.expert_sel_bias, c.expert_sel_bias);
    EXPECT_EQ(got.gating, c.gating);
    EXPECT_EQ(got.expert_weights_norm, c.expert_weights_norm);

    const r1::InferenceModel im = r1::load_gguf_model(r);
    // zero copy: the embedding view points into the buffer
    const uint8_t* e = static_cast<const uint8_t*>(im.tok_embd().data);
    EXPECT_TRUE(e >= bytes.data() && e < bytes.data() + bytes.size());

    std::vector<int32_t> toks((size_t)c.n_ctx);
    r1::Rng rng(9);
    for (auto& t : toks) t = (int32_t)rng.below((uint64_t)c.n_vocab);
    std::vector<float> ref((size_t)(c.n_ctx * c.n_vocab));
    m.logits(ref.data(), toks.data(), 1, c.n_ctx);

    r1::KvCache cache(got, 1, c.n_ctx);
    r1::BatchForward fwd(im);
    const int32_t slot = cache.acquire();
    const float* lg = fwd.run(cache, {{slot, toks.data(), c.n_ctx}}, true);
    EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), ref.size(), 1e-4f, 1e-3f));
}

TEST(GgufModel, LlamaMatchesTrainingForward) { check_matches_model(llama_cfg()); }
TEST(GgufModel, Qwen2BiasTiedMatchesTrainingForward) { check_matches_model(qwen2_cfg()); }
TEST(GgufModel, Deepseek2MlaMoeMatchesTrainingForward) { check_matches_model(ds2_cfg()); }

// Quantised files: matrices stored as f16 / bf16 / q8_0 / q4_0 (vectors f32, as llama.cpp
// does) run from the mapping; the reference is Model::logits on the dequantised weights.
TEST(GgufModel, QuantisedTensorsMatchDequantisedModel) {
    ModelConfig c = llama_cfg();
    c.n_ff = 64;  // every K a multiple of the 32-element blocks
    c.validate();
    for (r1::DType t : {r1::DType::f16, r1::DType::bf16, r1::DType::q8_0, r1::DType::q4_0}) {
        SCOPED_TRACE(r1::dtype_name(t));
        r1::Model m = make_model(c, 6);
        const std::vector<uint8_t> bytes = to_gguf(c, m.params(), "", "", t);
        const auto r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");
        EXPECT_EQ(r.tensor("blk.0.attn_q.weight").type, t);
        const r1::InferenceModel im = r1::load_gguf_model(r);
        for (const auto& p : m.params().infos()) {  // the model now holds what the file holds
            if (p.shape.size() < 2) continue;
            float* x = m.params().ptr(p.name);
            std::vector<uint8_t> q((size_t)((p.numel / p.shape.back()) *
                                            r1::dtype_row_bytes(t, p.shape.back())));
            r1::from_f32(q.data(), x, t, p.numel);
            r1::to_f32(x, q.data(), t, p.numel);
        }
        std::vector<int32_t> toks((size_t)c.n_ctx);
        for (int64_t i = 0; i < c.n_ctx; i++) toks[(size_t)i] = (int32_t)((i * 11 + 5) % c.n_vocab);
        std::vector<float> ref((size_t)(c.n_ctx * c.n_vocab));
        m.logits(ref.data(), toks.data(), 1, c.n_ctx);
        r1::KvCache cache(im.config(), 1, c.n_ctx);
        r1::BatchForward fwd(im);
        const int32_t slot = cache.acquire();
        const float* lg = fwd.run(cache, {{slot, toks.data(), c.n_ctx}}, true);
        // q8_0/q4_0 products also quantise the activations (to q8), hence the wider tolerance
        const bool quant = t == r1::DType::q8_0 || t == r1::DType::q4_0;
        EXPECT_TRUE(r1::testing::allclose(lg, ref.data(), ref.size(), quant ? 2e-2f : 1e-4f,
                                          quant ? 2e-2f : 1e-3f));
    }
}

// The RoPE layout is part of the architecture: reading a llama model as if it were qwen2
// (NEOX) must change the logits, so the layout mapping above is really tested.
TEST(GgufModel, RopeLayoutMatters) {
    const ModelConfig c = llama_cfg();
    r1::Model m = make_model(c, 4);
    const std::vector<uint8_t> bytes = to_gguf(c, m.params(), "", "qwen2");
    const r1::gguf::Reader r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");
    const r1::InferenceModel im = r1::load_gguf_model(r);
    EXPECT_EQ(im.config().rope_layout, r1::RopeLayout::neox);
    std::vector<int32_t> toks((size_t)c.n_ctx);
    for (int64_t i = 0; i < c.n_ctx; i++) toks[(size_t)i] = (int32_t)((i * 7 + 3) % c.n_vocab);
    std::vector<float> ref((size_t)(c.n_ctx * c.n_vocab));
    m.logits(ref.data(), toks.data(), 1, c.n_ctx);
    r1::KvCache cache(im.config(), 1, c.n_ctx);
    r1::BatchForward fwd(im);
    const int32_t slot = cache.acquire();
    const float* lg = fwd.run(cache, {{slot, toks.data(), c.n_ctx}}, true);
    EXPECT_FALSE(r1::testing::allclose(lg, ref.data(), ref.size(), 1e-4f, 1e-3f));
}

TEST(GgufModel, ErrorsNameTheTensorOrKey) {
    const ModelConfig c = llama_cfg();
    r1::Model m = make_model(c, 5);
    {
        const auto bytes = to_gguf(c, m.params(), "blk.1.ffn_up.weight");
        const auto r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");
        EXPECT_THROW_MSG(r1::load_gguf_model(r), "blk.1.ffn_up.weight");
    }
    {
        const auto bytes = to_gguf(c, m.params(), "", "gpt-neox");
        const auto r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");
        EXPECT_THROW_MSG(r1::config_from_gguf(r), "gpt-neox");
    }
    {
        // a wrong shape: attn_k with n_head_kv claimed as 4 (the tensor holds 2 kv heads)
        r1::gguf::Writer w;
        const auto bytes0 = to_gguf(c, m.params());
        const auto r0 = r1::gguf::Reader::parse(bytes0.data(), bytes0.size(), "t.gguf");
        for (const auto& kv : r0.metadata())
            w.add(kv.key, kv.key == "llama.attention.head_count_kv" ? r1::gguf::Value::of(uint32_t(4))
                                                                   : kv.value);
        for (const auto& t : r0.tensors()) w.add_tensor_ref(t.name, t.dims(), t.type, t.data, t.nbytes);
        const auto bytes = w.to_bytes();
        const auto r = r1::gguf::Reader::parse(bytes.data(), bytes.size(), "t.gguf");
        EXPECT_THROW_MSG(r1::load_gguf_model(r), "blk.0.attn_k.weight");
    }
}

}  // namespace
