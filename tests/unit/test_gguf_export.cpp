// GGUF export (r1 export) and re-typing (r1 quantize): files read back through gguf::Reader
// with llama.cpp's names, dims (ne0 innermost), types, values and hyper-parameter keys; the
// neox -> interleaved rope row permutation checked row by row against the source weights.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <map>
#include <filesystem>
#include <set>
#include <string>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_export.h"
#include "model/config.h"
#include "model/params.h"
#include "testing.h"

namespace {

using r1::DType;
using r1::ModelConfig;
using r1::ParamSet;
namespace gguf = r1::gguf;

std::string tmp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("r1_gguf_export_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

void fill_random(ParamSet& ps, uint64_t seed) {
    auto v = r1::testing::randn((size_t)ps.size(), seed, 0.5f);
    std::copy(v.begin(), v.end(), ps.data().data());
}

ModelConfig mla_moe_config() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 272, c.n_embd = 64, c.n_layer = 2, c.n_ctx = 64, c.n_head = 2;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 0, c.kv_lora_rank = 32, c.qk_nope_head_dim = 16, c.qk_rope_head_dim = 8;
    c.v_head_dim = 16;
    c.rope_layout = r1::RopeLayout::neox;
    c.n_ff = 96;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 32;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_weights_norm = true;
    c.expert_sel_bias = true;
    c.validate();
    return c;
}

std::vector<float> as_f32(const gguf::TensorInfo& t) {
    std::vector<float> out((size_t)t.numel());
    const int64_t row = t.ne[0], rows = t.numel() / row, rb = r1::dtype_row_bytes(t.type, row);
    for (int64_t r = 0; r < rows; r++)
        r1::to_f32(out.data() + r * row, static_cast<const uint8_t*>(t.data) + r * rb, t.type,
                   row);
    return out;
}

// Source row that ends up at file row `r` of a tensor whose rope rows were permuted in
// groups of `rot` starting at `first` + g * `stride` (0 <= g < groups).
int64_t source_row(int64_t r, int64_t first, int64_t stride, int64_t groups, int64_t rot) {
    for (int64_t g = 0; g < groups; g++) {
        const int64_t b = first + g * stride;
        if (r >= b && r < b + rot) {
            const int64_t k = r - b, i = k / 2, j = k % 2;  // file row 2i+j <- source j*rot/2+i
            return b + j * (rot / 2) + i;
        }
    }
    return r;
}

struct Perm {
    int64_t first = 0, stride = 0, groups = 0, rot = 0;
};

// Every parameter is in the file with reversed dims; values match within tol (exact for
// f32) after undoing the permutations given per tensor name.
void check_tensors(const gguf::Reader& r, const ParamSet& ps, DType want,
                   const std::map<std::string, Perm>& perms, float rel_tol) {
    for (const auto& p : ps.infos()) {
        SCOPED_TRACE(p.name);
        const gguf::TensorInfo* t = r.find_tensor(p.name);
        ASSERT_NE(t, nullptr);
        std::vector<int64_t> dims(p.shape.rbegin(), p.shape.rend());
        ASSERT_EQ(t->dims(), dims);
        const bool matrix = p.shape.size() >= 2 && p.name.find("gate_inp") == std::string::npos;
        EXPECT_EQ(t->type, matrix ? want : DType::f32);
        const std::vector<float> got = as_f32(*t);
        const float* src = ps.data().data() + p.offset;
        const int64_t row = dims[0], rows = p.numel / row;
        const auto it = perms.find(p.name.substr(p.name.find('.') + 1));
        const bool is_blk = p.name.rfind("blk.", 0) == 0;
        float maxabs = 0;
        for (int64_t i = 0; i < p.numel; i++) maxabs = std::max(maxabs, std::fabs(src[i]));
        for (int64_t rr = 0; rr < rows; rr++) {
            int64_t sr = rr;
            if (is_blk && it != perms.end())
                sr = source_row(rr, it->second.first, it->second.stride, it->second.groups,
                                it->second.rot);
            for (int64_t c = 0; c < row; c++) {
                const float a = got[(size_t)(rr * row + c)], b = src[sr * row + c];
                if (rel_tol == 0) ASSERT_EQ(a, b) << "row " << rr << " col " << c;
                else ASSERT_NEAR(a, b, rel_tol * maxabs) << "row " << rr << " col " << c;
            }
        }
    }
}

std::map<std::string, Perm> dense_perms(const ModelConfig& c) {
    // key: name without the "blk.N." prefix's first component ("N.attn_q.weight" -> strip)
    std::map<std::string, Perm> m;
    for (int64_t il = 0; il < c.n_layer; il++) {
        const std::string b = std::to_string(il) + ".";
        for (const char* s : {"attn_q.weight", "attn_q.bias"})
            m[b + s] = {0, c.head_dim, c.n_head, c.head_dim};
        for (const char* s : {"attn_k.weight", "attn_k.bias"})
            m[b + s] = {0, c.head_dim, c.n_head_kv, c.head_dim};
    }
    return m;
}

TEST(GgufExport, DenseLlamaF32PermutesRopeRowsAndWritesKeys) {
    const ModelConfig c = ModelConfig::preset("tiny-dense");
    ParamSet ps(c);
    fill_random(ps, 1);
    const std::string path = tmp_path("dense.gguf");
    r1::export_gguf(c, ps, path, DType::f32, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const auto r = gguf::Reader::open(path);
    EXPECT_EQ(r.architecture(), "llama");
    EXPECT_EQ(r.get_u32("llama.block_count"), (uint32_t)c.n_layer);
    EXPECT_EQ(r.get_u32("llama.context_length"), (uint32_t)c.n_ctx);
    EXPECT_EQ(r.get_u32("llama.embedding_length"), (uint32_t)c.n_embd);
    EXPECT_EQ(r.get_u32("llama.feed_forward_length"), (uint32_t)c.n_ff);
    EXPECT_EQ(r.get_u32("llama.attention.head_count"), (uint32_t)c.n_head);
    EXPECT_EQ(r.get_u32("llama.attention.head_count_kv"), (uint32_t)c.n_head_kv);
    EXPECT_EQ(r.get_u32("llama.rope.dimension_count"), (uint32_t)c.head_dim);
    EXPECT_EQ(r.get_f32("llama.attention.layer_norm_rms_epsilon"), c.norm_eps);
    EXPECT_EQ(r.get_f32("llama.rope.freq_base"), c.rope_theta);
    EXPECT_EQ(r.get_u32("general.file_type"), 0u);
    // tokenizer: GPT-2 byte mapping, specials as control tokens, empty merges
    EXPECT_EQ(r.get_str("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(r.get_str("tokenizer.ggml.pre"), "default");
    const auto& toks = r.get_arr_str("tokenizer.ggml.tokens");
    ASSERT_EQ((int64_t)toks.size(), c.n_vocab);
    EXPECT_EQ(toks[65], "A");
    EXPECT_EQ(toks[32], "\xC4\xA0");   // 'Ġ' U+0120
    EXPECT_EQ(toks[10], "\xC4\x8A");   // 'Ċ' U+010A
    EXPECT_EQ(toks[0], "\xC4\x80");    // U+0100
    EXPECT_EQ(toks[173], "\xC5\x83");  // soft hyphen: the 68th remapped byte -> U+0143
    EXPECT_EQ(toks[260], "<think>");
    const auto types = r.get_arr<int32_t>("tokenizer.ggml.token_type");
    EXPECT_EQ(types[65], 1);
    EXPECT_EQ(types[256], 3);
    EXPECT_EQ(types[264], 3);
    EXPECT_EQ(types[300], 5);
    EXPECT_EQ(r.expect_array("tokenizer.ggml.merges", gguf::Type::str).n, 0u);
    EXPECT_EQ(r.get_u32("tokenizer.ggml.bos_token_id"), 256u);
    EXPECT_EQ(r.get_u32("tokenizer.ggml.eos_token_id"), 257u);
    EXPECT_TRUE(r.get_bool("tokenizer.ggml.add_bos_token"));
    check_tensors(r, ps, DType::f32, dense_perms(c), 0.0f);
    std::filesystem::remove(path);
}

TEST(GgufExport, Gpt2ByteMappingIsABijectionOntoDistinctStrings) {
    std::set<std::string> seen;
    for (int b = 0; b < 256; b++) seen.insert(r1::gpt2_byte_to_unicode((uint8_t)b));
    EXPECT_EQ(seen.size(), 256u);
    EXPECT_EQ(r1::gpt2_byte_to_unicode(255), "\xC3\xBF");  // printable: maps to itself
    EXPECT_EQ(r1::gpt2_byte_to_unicode(127), "\xC4\xA1");  // U+0121 (33 bytes 0..32 come first)
}

TEST(GgufExport, DenseQ8_0DequantisesCloseToSource) {
    const ModelConfig c = ModelConfig::preset("tiny-dense");
    ParamSet ps(c);
    fill_random(ps, 2);
    const std::string path = tmp_path("dense_q8.gguf");
    r1::export_gguf(c, ps, path, DType::q8_0, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const auto r = gguf::Reader::open(path);
    EXPECT_EQ(r.get_u32("general.file_type"), 7u);
    check_tensors(r, ps, DType::q8_0, dense_perms(c), 0.01f);
    std::filesystem::remove(path);
}

TEST(GgufExport, Qwen2WithBiasIsCopiedWithoutPermutation) {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.qkv_bias = true;
    c.arch = r1::Arch::qwen2;
    ParamSet ps(c);
    fill_random(ps, 3);
    const std::string path = tmp_path("qwen2.gguf");
    r1::export_gguf(c, ps, path, DType::f16, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const auto r = gguf::Reader::open(path);
    EXPECT_EQ(r.architecture(), "qwen2");
    EXPECT_EQ(r.get_u32("qwen2.attention.head_count_kv"), (uint32_t)c.n_head_kv);
    EXPECT_EQ(r.get_u32("general.file_type"), 1u);
    ASSERT_NE(r.find_tensor("blk.0.attn_k.bias"), nullptr);
    check_tensors(r, ps, DType::f16, {}, 1e-3f);
    std::filesystem::remove(path);
}

TEST(GgufExport, Deepseek2MlaMoeKeysTensorsAndRopeRows) {
    const ModelConfig c = mla_moe_config();
    ParamSet ps(c);
    fill_random(ps, 4);
    const std::string path = tmp_path("ds2.gguf");
    r1::export_gguf(c, ps, path, DType::f32, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const auto r = gguf::Reader::open(path);
    EXPECT_EQ(r.architecture(), "deepseek2");
    EXPECT_EQ(r.get_u32("deepseek2.leading_dense_block_count"), 1u);
    EXPECT_EQ(r.get_u32("deepseek2.expert_feed_forward_length"), 32u);
    EXPECT_EQ(r.get_u32("deepseek2.expert_count"), 4u);
    EXPECT_EQ(r.get_u32("deepseek2.expert_used_count"), 2u);
    EXPECT_EQ(r.get_u32("deepseek2.expert_shared_count"), 1u);
    EXPECT_EQ(r.get_f32("deepseek2.expert_weights_scale"), 1.0f);
    EXPECT_TRUE(r.get_bool("deepseek2.expert_weights_norm"));
    EXPECT_EQ(r.get_u32("deepseek2.expert_gating_func"), 2u);
    EXPECT_EQ(r.get_u32("deepseek2.attention.key_length"), 24u);
    EXPECT_EQ(r.get_u32("deepseek2.attention.value_length"), 16u);
    EXPECT_EQ(r.get_u32("deepseek2.attention.kv_lora_rank"), 32u);
    EXPECT_EQ(r.get_u32("deepseek2.attention.q_lora_rank"), 0u);
    EXPECT_EQ(r.get_u32("deepseek2.attention.head_count_kv"), 2u);
    EXPECT_EQ(r.get_u32("deepseek2.rope.dimension_count"), 8u);
    EXPECT_EQ(r.tensor("blk.1.ffn_gate_exps.weight").dims(), (std::vector<int64_t>{64, 32, 4}));
    EXPECT_EQ(r.tensor("blk.1.exp_probs_b.bias").type, DType::f32);
    std::map<std::string, Perm> perms;
    for (int il = 0; il < 2; il++) {
        perms[std::to_string(il) + ".attn_q.weight"] = {16, 24, 2, 8};
        perms[std::to_string(il) + ".attn_kv_a_mqa.weight"] = {32, 0, 1, 8};
    }
    check_tensors(r, ps, DType::f32, perms, 0.0f);
    std::filesystem::remove(path);

    // q4_0: experts quantised, router stays f32
    r1::export_gguf(c, ps, path, DType::q4_0, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const auto q = gguf::Reader::open(path);
    EXPECT_EQ(q.tensor("blk.1.ffn_down_exps.weight").type, DType::q4_0);
    EXPECT_EQ(q.tensor("blk.1.ffn_gate_inp.weight").type, DType::f32);
    EXPECT_EQ(q.get_u32("general.file_type"), 2u);
    std::filesystem::remove(path);
}

TEST(GgufExport, Deepseek2QLoraPermutesQbAndInterleavedIsCopied) {
    ModelConfig c = mla_moe_config();
    c.q_lora_rank = 32;
    c.validate();
    ParamSet ps(c);
    fill_random(ps, 6);
    const std::string path = tmp_path("ds2_qlora.gguf");
    r1::export_gguf(c, ps, path, DType::f32, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    {
        const auto r = gguf::Reader::open(path);
        EXPECT_EQ(r.get_u32("deepseek2.attention.q_lora_rank"), 32u);
        std::map<std::string, Perm> perms;
        for (int il = 0; il < 2; il++) {
            perms[std::to_string(il) + ".attn_q_b.weight"] = {16, 24, 2, 8};
            perms[std::to_string(il) + ".attn_kv_a_mqa.weight"] = {32, 0, 1, 8};
        }
        check_tensors(r, ps, DType::f32, perms, 0.0f);
    }
    // interleaved rope is llama.cpp's deepseek2 order already: a plain copy
    c.rope_layout = r1::RopeLayout::interleaved;
    r1::export_gguf(c, ps, path, DType::f32, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    {
        const auto r = gguf::Reader::open(path);
        check_tensors(r, ps, DType::f32, {}, 0.0f);
    }
    std::filesystem::remove(path);
}

TEST(GgufExport, UnsupportedConfigsAndTokenizerMismatchThrow) {
    const ModelConfig moe = ModelConfig::preset("tiny-moe");  // MoE with GQA attention
    ParamSet ps(moe);
    try {
        r1::export_gguf(moe, ps, tmp_path("x.gguf"), DType::f32,
                        r1::byte_tokenizer_gguf_meta(moe.n_vocab));
        FAIL() << "expected an error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("MoE with GQA"), std::string::npos) << e.what();
    }
    const ModelConfig d = ModelConfig::preset("tiny-dense");
    ParamSet pd(d);
    EXPECT_THROW(r1::export_gguf(d, pd, tmp_path("y.gguf"), DType::f32,
                                 r1::byte_tokenizer_gguf_meta(d.n_vocab + 1)),
                 r1::Error);
    EXPECT_THROW(r1::export_gguf(d, pd, tmp_path("z.gguf"), DType::i32,
                                 r1::byte_tokenizer_gguf_meta(d.n_vocab)),
                 r1::Error);
    EXPECT_FALSE(std::filesystem::exists(tmp_path("x.gguf")));
}

TEST(GgufExport, QuantizeKeepsMetadataAndConvertsMatrices) {
    const ModelConfig c = ModelConfig::preset("tiny-dense");
    ParamSet ps(c);
    fill_random(ps, 5);
    const std::string f32 = tmp_path("q_in.gguf"), q4 = tmp_path("q_q4.gguf"),
                      back = tmp_path("q_back.gguf");
    r1::export_gguf(c, ps, f32, DType::f32, r1::byte_tokenizer_gguf_meta(c.n_vocab));
    const int64_t n = r1::quantize_gguf(f32, q4, DType::q4_0);
    const auto a = gguf::Reader::open(f32);
    const auto b = gguf::Reader::open(q4);
    EXPECT_GT(n, 0);
    ASSERT_EQ(a.metadata().size(), b.metadata().size());
    for (size_t i = 0; i < a.metadata().size(); i++) {
        EXPECT_EQ(a.metadata()[i].key, b.metadata()[i].key);
        if (a.metadata()[i].key != "general.file_type")
            EXPECT_TRUE(a.metadata()[i].value == b.metadata()[i].value) << a.metadata()[i].key;
    }
    EXPECT_EQ(b.get_u32("general.file_type"), 2u);
    EXPECT_LT(b.size(), a.size() / 4);
    int64_t n_matrix = 0;
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (const auto& t : a.tensors()) {
        const auto& u = b.tensor(t.name);
        EXPECT_EQ(u.dims(), t.dims());
        if (t.n_dims >= 2) {
            n_matrix++;
            EXPECT_EQ(u.type, DType::q4_0) << t.name;
            // q4_0 of the same f32 rows: identical to quantising directly
            std::vector<r1::BlockQ4_0> ref((size_t)(t.numel() / 32));
            r1::quantize_q4_0(ref.data(), static_cast<const float*>(t.data), t.numel());
            EXPECT_EQ(std::memcmp(ref.data(), u.data, u.nbytes), 0) << t.name;
        } else {
            EXPECT_EQ(u.type, DType::f32);
            EXPECT_EQ(std::memcmp(u.data, t.data, t.nbytes), 0) << t.name;
        }
    }
    EXPECT_EQ(n, n_matrix);
    // and back to f32: the dequantised q4_0 values
    r1::quantize_gguf(q4, back, DType::f32);
    const auto f = gguf::Reader::open(back);
    EXPECT_EQ(f.get_u32("general.file_type"), 0u);
    const auto& t = f.tensor("blk.0.ffn_up.weight");
    EXPECT_EQ(t.type, DType::f32);
    EXPECT_EQ(as_f32(t), as_f32(b.tensor("blk.0.ffn_up.weight")));
    for (const auto& p : {f32, q4, back}) std::filesystem::remove(p);
}

}  // namespace
