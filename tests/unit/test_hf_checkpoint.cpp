// Hugging Face checkpoints: config.json <-> ModelConfig (fields, strict errors, round trip),
// FP8 E4M3 block dequantisation (table vs plain loop, known codes), save -> load round trips
// that must reproduce the model's logits (single file, shards, bf16, MLA with the neox -> 
// interleaved rope permutation), and malformed folders giving errors that name the file and
// the tensor. The PyTorch comparison of the four architectures is tests/cli/hf_twin.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_cache.h"
#include "io/hf_checkpoint.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "testing.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using r1::ModelConfig;
using r1::ParamSet;

std::string tmp_dir(const std::string& name) {
    const char* base = std::getenv("R1_TEST_TMP");
    fs::path p = fs::path(base ? base : fs::temp_directory_path().string()) /
                 ("hf_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

using r1::testing::error_of;

json v3_config() {
    return json::parse(R"({
      "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
      "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 4, "max_position_embeddings": 32,
      "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false,
      "hidden_act": "silu", "q_lora_rank": 16, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
      "qk_rope_head_dim": 4, "v_head_dim": 8, "n_routed_experts": 8, "num_experts_per_tok": 2,
      "n_shared_experts": 1, "moe_intermediate_size": 16, "first_k_dense_replace": 1,
      "moe_layer_freq": 1, "scoring_func": "sigmoid", "topk_method": "noaux_tc", "n_group": 4,
      "topk_group": 2, "norm_topk_prob": true, "routed_scaling_factor": 2.5,
      "num_nextn_predict_layers": 1, "torch_dtype": "bfloat16", "ep_size": 1,
      "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                              "weight_block_size": [128, 128]},
      "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                       "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}
    })");
}

ModelConfig dense_cfg(r1::Arch arch) {
    ModelConfig c;
    c.arch = arch;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 16;
    c.n_head = 4, c.n_head_kv = 2, c.head_dim = 8;
    c.qkv_bias = arch == r1::Arch::qwen2;
    c.n_ff = 40;
    c.rope_theta = 10000.0f;
    c.tie_embeddings = arch == r1::Arch::qwen2;
    c.validate();
    return c;
}

ModelConfig mla_cfg(r1::GatingFunc g, r1::RopeLayout layout) {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 40, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 16, c.n_head = 4, c.n_head_kv = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = g == r1::GatingFunc::sigmoid ? 16 : 0;
    c.kv_lora_rank = 16, c.qk_nope_head_dim = 8, c.qk_rope_head_dim = 4, c.v_head_dim = 8;
    c.head_dim = 12;
    c.rope_layout = layout;
    c.n_ff = 48;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = g;
    c.n_expert_groups = 2, c.n_group_used = 1;
    c.expert_weights_norm = g == r1::GatingFunc::sigmoid;
    c.expert_weights_scale = g == r1::GatingFunc::sigmoid ? 2.5f : 1.5f;
    c.expert_sel_bias = g == r1::GatingFunc::sigmoid;
    c.validate();
    return c;
}

void fill_random(ParamSet& ps, uint64_t seed) {
    auto v = r1::testing::randn((size_t)ps.size(), seed, 0.5f);
    std::copy(v.begin(), v.end(), ps.data().data());
}

std::vector<float> logits_of(const r1::InferenceModel& im, const std::vector<int32_t>& toks) {
    const int64_t T = (int64_t)toks.size(), V = im.config().n_vocab;
    r1::KvCache cache(im.config(), 1, T);
    r1::BatchForward fwd(im);
    const int32_t slot = cache.acquire();
    const float* lg = fwd.run(cache, {{slot, toks.data(), T}}, true);
    return std::vector<float>(lg, lg + T * V);
}

std::vector<int32_t> tokens_for(const ModelConfig& c) {
    std::vector<int32_t> t;
    for (int i = 0; i < 10; i++) t.push_back((int32_t)((i * 7 + 3) % c.n_vocab));
    return t;
}

// ---------------------------------------------------------------- config.json

TEST(HfConfig, DeepseekV3Fields) {
    r1::HfConfigInfo info;
    const ModelConfig c = r1::config_from_hf(v3_config(), "x/config.json", &info);
    EXPECT_EQ(c.arch, r1::Arch::deepseek2);
    EXPECT_EQ(c.attn, r1::AttnKind::mla);
    EXPECT_EQ(c.rope_layout, r1::RopeLayout::interleaved);
    EXPECT_EQ(c.q_lora_rank, 16);
    EXPECT_EQ(c.head_dim, 12);
    EXPECT_EQ(c.n_expert, 8);
    EXPECT_EQ(c.n_expert_used, 2);
    EXPECT_EQ(c.n_layer_dense_lead, 1);
    EXPECT_EQ(c.gating, r1::GatingFunc::sigmoid);
    EXPECT_TRUE(c.expert_sel_bias);
    EXPECT_TRUE(c.expert_weights_norm);
    EXPECT_FLOAT_EQ(c.expert_weights_scale, 2.5f);
    EXPECT_EQ(c.n_expert_groups, 4);
    EXPECT_EQ(c.n_group_used, 2);
    EXPECT_FLOAT_EQ(c.yarn.factor, 40.0f);
    EXPECT_EQ(c.yarn.original_max_pos, 4096);
    EXPECT_FLOAT_EQ(c.yarn.mscale_all_dim, 1.0f);
    EXPECT_EQ(info.n_nextn_layers, 1);
    EXPECT_TRUE(info.fp8);
    EXPECT_EQ(info.fp8_block_rows, 128);
}

TEST(HfConfig, DeepseekV2ScalesOnlyUnnormalisedWeights) {
    json j = v3_config();
    j["architectures"] = {"DeepseekV2ForCausalLM"};
    j["model_type"] = "deepseek_v2";
    j["scoring_func"] = "softmax";
    j["topk_method"] = "group_limited_greedy";
    j["q_lora_rank"] = nullptr;
    j.erase("quantization_config");
    j.erase("num_nextn_predict_layers");
    j["norm_topk_prob"] = false;
    ModelConfig c = r1::config_from_hf(j, "c");
    EXPECT_EQ(c.q_lora_rank, 0);
    EXPECT_EQ(c.gating, r1::GatingFunc::softmax);
    EXPECT_FALSE(c.expert_sel_bias);
    EXPECT_FLOAT_EQ(c.expert_weights_scale, 2.5f);
    EXPECT_EQ(c.n_expert_groups, 4);
    j["norm_topk_prob"] = true;  // V2 ignores routed_scaling_factor then
    EXPECT_FLOAT_EQ(r1::config_from_hf(j, "c").expert_weights_scale, 1.0f);
    j["topk_method"] = "greedy";  // groups unused
    EXPECT_EQ(r1::config_from_hf(j, "c").n_expert_groups, 1);
}

TEST(HfConfig, Qwen2AndLlama) {
    json q = json::parse(R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
      "vocab_size": 100, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
      "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
      "hidden_act": "silu", "use_sliding_window": false, "sliding_window": 4096,
      "max_window_layers": 21, "rope_scaling": null, "bos_token_id": 1, "eos_token_id": [2, 3]})");
    r1::HfConfigInfo info;
    ModelConfig c = r1::config_from_hf(q, "q", &info);
    EXPECT_EQ(c.arch, r1::Arch::qwen2);
    EXPECT_TRUE(c.qkv_bias);
    EXPECT_TRUE(c.tie_embeddings);
    EXPECT_EQ(c.rope_layout, r1::RopeLayout::neox);
    EXPECT_EQ(c.head_dim, 8);
    EXPECT_FLOAT_EQ(c.rope_theta, 1e6f);
    EXPECT_EQ(info.eos_token_id, 2);
    json l = q;
    l["architectures"] = {"LlamaForCausalLM"};
    l["model_type"] = "llama";
    l.erase("use_sliding_window"), l.erase("sliding_window"), l.erase("max_window_layers");
    l["head_dim"] = 16;
    c = r1::config_from_hf(l, "l");
    EXPECT_EQ(c.arch, r1::Arch::llama);
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_EQ(c.head_dim, 16);
}

// The released config.json files of the models users bring (keys and values as published,
// auto_map trimmed): every key must be understood or knowingly ignored.
TEST(HfConfig, ReleasedConfigsParse) {
    const json v3 = json::parse(R"({"architectures": ["DeepseekV3ForCausalLM"],
      "attention_bias": false, "attention_dropout": 0.0, "auto_map": {"AutoConfig": "x"},
      "aux_loss_alpha": 0.001, "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1,
      "first_k_dense_replace": 3, "hidden_act": "silu", "hidden_size": 7168,
      "initializer_range": 0.02, "intermediate_size": 18432, "kv_lora_rank": 512,
      "max_position_embeddings": 163840, "model_type": "deepseek_v3",
      "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
      "n_shared_experts": 1, "norm_topk_prob": true, "num_attention_heads": 128,
      "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 128,
      "num_nextn_predict_layers": 1, "pretraining_tp": 1, "q_lora_rank": 1536,
      "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
      "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                              "quant_method": "fp8", "weight_block_size": [128, 128]},
      "rms_norm_eps": 1e-06,
      "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                       "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                       "type": "yarn"},
      "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid",
      "seq_aux": true, "tie_word_embeddings": false, "topk_group": 4, "topk_method": "noaux_tc",
      "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
      "v_head_dim": 128, "vocab_size": 129280})");
    r1::HfConfigInfo info;
    ModelConfig c = r1::config_from_hf(v3, "DeepSeek-V3/config.json", &info);
    EXPECT_EQ(c.n_layer, 61);
    EXPECT_EQ(c.n_expert, 256);
    EXPECT_EQ(c.n_layer_dense_lead, 3);
    EXPECT_EQ(info.n_nextn_layers, 1);
    EXPECT_TRUE(info.fp8);

    const json lite = json::parse(R"({"architectures": ["DeepseekV2ForCausalLM"],
      "attention_bias": false, "attention_dropout": 0.0, "aux_loss_alpha": 0.001,
      "bos_token_id": 100000, "eos_token_id": 100001, "first_k_dense_replace": 1,
      "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
      "intermediate_size": 10944, "kv_lora_rank": 512, "max_position_embeddings": 163840,
      "model_type": "deepseek_v2", "moe_intermediate_size": 1408, "moe_layer_freq": 1,
      "n_group": 1, "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": false,
      "num_attention_heads": 16, "num_experts_per_tok": 6, "num_hidden_layers": 27,
      "num_key_value_heads": 16, "pretraining_tp": 1, "q_lora_rank": null,
      "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
      "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                       "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096,
                       "type": "yarn"},
      "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax",
      "seq_aux": true, "tie_word_embeddings": false, "topk_group": 1, "topk_method": "greedy",
      "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
      "v_head_dim": 128, "vocab_size": 102400})");
    c = r1::config_from_hf(lite, "DeepSeek-V2-Lite/config.json");
    EXPECT_EQ(c.q_lora_rank, 0);
    EXPECT_EQ(c.n_expert_shared, 2);
    EXPECT_FLOAT_EQ(c.yarn.mscale, 0.707f);

    const json distill = json::parse(R"({"architectures": ["Qwen2ForCausalLM"],
      "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
      "hidden_act": "silu", "hidden_size": 1536, "initializer_range": 0.02,
      "intermediate_size": 8960, "max_position_embeddings": 131072, "max_window_layers": 21,
      "model_type": "qwen2", "num_attention_heads": 12, "num_hidden_layers": 28,
      "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 10000,
      "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
      "transformers_version": "4.44.0", "use_cache": true, "use_mrope": false,
      "use_sliding_window": false, "vocab_size": 151936})");
    c = r1::config_from_hf(distill, "DeepSeek-R1-Distill-Qwen-1.5B/config.json");
    EXPECT_EQ(c.head_dim, 128);
    EXPECT_EQ(c.n_head_kv, 2);
    EXPECT_FALSE(c.tie_embeddings);
}

TEST(HfConfig, UnsupportedFieldsNameFileAndField) {
    auto err = [](json j) { return error_of([&] { r1::config_from_hf(j, "M/config.json"); }); };
    json j = v3_config();
    j["moe_layer_freq"] = 2;
    EXPECT_NE(err(j).find("M/config.json: field 'moe_layer_freq'"), std::string::npos) << err(j);
    j = v3_config();
    j["scoring_func"] = "softmax";
    EXPECT_NE(err(j).find("'scoring_func'"), std::string::npos);
    j = v3_config();
    j["topk_method"] = "greedy";
    EXPECT_NE(err(j).find("'topk_method'"), std::string::npos);
    j = v3_config();
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
    EXPECT_NE(err(j).find("rope_scaling.type"), std::string::npos) << err(j);
    j = v3_config();
    j["hidden_act"] = "gelu";
    EXPECT_NE(err(j).find("'hidden_act'"), std::string::npos);
    j = v3_config();
    j["some_new_option"] = 1;
    EXPECT_NE(err(j).find("'some_new_option' is not supported"), std::string::npos);
    j = v3_config();
    j.erase("kv_lora_rank");
    EXPECT_NE(err(j).find("'kv_lora_rank': missing"), std::string::npos);
    j = v3_config();
    j["hidden_size"] = "32";
    EXPECT_NE(err(j).find("'hidden_size': must be an integer"), std::string::npos);
    j = v3_config();
    j["architectures"] = {"MistralForCausalLM"};
    EXPECT_NE(err(j).find("'MistralForCausalLM' is not supported"), std::string::npos);
    j = v3_config();
    j["quantization_config"]["fmt"] = "e5m2";
    EXPECT_NE(err(j).find("quantization_config.fmt"), std::string::npos);
    j = v3_config();
    j["num_experts_per_tok"] = 9;  // r1's own validation, prefixed with the file
    EXPECT_NE(err(j).find("M/config.json: inconsistent model"), std::string::npos) << err(j);
}

TEST(HfConfig, RoundTrip) {
    const ModelConfig cs[] = {dense_cfg(r1::Arch::llama), dense_cfg(r1::Arch::qwen2),
                              mla_cfg(r1::GatingFunc::softmax, r1::RopeLayout::interleaved),
                              mla_cfg(r1::GatingFunc::sigmoid, r1::RopeLayout::interleaved)};
    for (const ModelConfig& c : cs) {
        const json j = r1::config_to_hf(c);
        SCOPED_TRACE(j.dump());
        const ModelConfig d = r1::config_from_hf(j, "rt");
        EXPECT_EQ(json(d), json(c));
    }
    ModelConfig g = r1::ModelConfig::preset("tiny-moe");  // MoE + GQA: no HF class
    EXPECT_NE(error_of([&] { r1::config_to_hf(g); }).find("no Hugging Face architecture"),
              std::string::npos);
}

// ---------------------------------------------------------------- fp8

TEST(HfFp8, KnownCodes) {
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x00), 0.0f);
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x38), 1.0f);           // e = 7, m = 0
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x7E), 448.0f);         // max finite
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0xFE), -448.0f);
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x08), std::ldexp(1.0f, -6));  // smallest normal
    EXPECT_EQ(r1::fp8_e4m3_to_f32(0x3C), 1.5f);
    EXPECT_TRUE(std::isnan(r1::fp8_e4m3_to_f32(0x7F)));
    EXPECT_TRUE(std::isnan(r1::fp8_e4m3_to_f32(0xFF)));
    // monotone over the positive codes
    for (int i = 1; i < 0x7F; i++) EXPECT_LT(r1::fp8_e4m3_to_f32((uint8_t)(i - 1)), r1::fp8_e4m3_to_f32((uint8_t)i));
}

TEST(HfFp8, BlockDequantMatchesReference) {
    for (auto [R, C, br, bc] : std::vector<std::array<int64_t, 4>>{
             {200, 300, 128, 128}, {128, 128, 128, 128}, {7, 33, 4, 16}, {1, 1, 128, 128}}) {
        std::vector<uint8_t> q((size_t)(R * C));
        for (size_t i = 0; i < q.size(); i++) q[i] = (uint8_t)((i * 37 + 11) % 256 == 0x7F ? 0 : (i * 37 + 11) % 256);
        for (auto& v : q) if (v == 0xFF) v = 0x80;
        const int64_t sr = (R + br - 1) / br, sc = (C + bc - 1) / bc;
        std::vector<float> s = r1::testing::randn((size_t)(sr * sc), 5, 1e-3f);
        std::vector<float> a((size_t)(R * C)), b((size_t)(R * C));
        r1::dequant_fp8_blocks(a.data(), q.data(), s.data(), R, C, br, bc);
        r1::ref::dequant_fp8_blocks(b.data(), q.data(), s.data(), R, C, br, bc);
        EXPECT_EQ(a, b);
        // spot check: block (r/br, c/bc) scale applied
        EXPECT_EQ(b[(size_t)((R - 1) * C + C - 1)],
                  r1::fp8_e4m3_to_f32(q[(size_t)((R - 1) * C + C - 1)]) * s[(size_t)(sr * sc - 1)]);
    }
    EXPECT_THROW(r1::dequant_fp8_blocks(nullptr, nullptr, nullptr, 1, 1, 0, 128), r1::Error);
}

// ---------------------------------------------------------------- save -> load

void round_trip(const ModelConfig& c, const r1::HfSaveOptions& opt, const std::string& name,
                float tol) {
    SCOPED_TRACE(name);
    ParamSet ps(c);
    fill_random(ps, 11);
    const std::string dir = tmp_dir(name);
    r1::save_hf_checkpoint(c, ps, dir, opt);
    const auto m = r1::load_hf_checkpoint(dir);
    ASSERT_EQ(m->params.size(), ps.size());
    const auto toks = tokens_for(c);
    const auto want = logits_of(r1::InferenceModel::from_params(c, ps), toks);
    const auto got = logits_of(r1::InferenceModel::from_params(m->config, m->params), toks);
    EXPECT_TRUE(r1::testing::allclose(got, want, tol, tol));
    if (opt.dtype == r1::StDType::F32 && c.rope_layout == m->config.rope_layout)
        EXPECT_EQ(std::vector<float>(m->params.data().data(), m->params.data().data() + ps.size()),
                  std::vector<float>(ps.data().data(), ps.data().data() + ps.size()));
    fs::remove_all(dir);
}

TEST(HfCheckpoint, SaveLoadDenseSingleFileAndShards) {
    round_trip(dense_cfg(r1::Arch::llama), {}, "llama", 1e-5f);
    r1::HfSaveOptions sh;
    sh.max_shard_bytes = 8000;
    round_trip(dense_cfg(r1::Arch::qwen2), sh, "qwen2_sharded", 1e-5f);
    r1::HfSaveOptions bf;
    bf.dtype = r1::StDType::BF16;  // logits of the bf16-rounded weights: loose
    round_trip(dense_cfg(r1::Arch::llama), bf, "llama_bf16", 0.25f);
}

TEST(HfCheckpoint, SaveLoadMlaMoe) {
    round_trip(mla_cfg(r1::GatingFunc::sigmoid, r1::RopeLayout::interleaved), {}, "v3", 1e-5f);
    r1::HfSaveOptions sh;
    sh.max_shard_bytes = 20000;
    round_trip(mla_cfg(r1::GatingFunc::softmax, r1::RopeLayout::interleaved), sh, "v2", 1e-5f);
    // r1-trained MLA models use neox rope: saved with rope rows permuted to DeepSeek's order,
    // loaded back as interleaved, same logits.
    round_trip(mla_cfg(r1::GatingFunc::sigmoid, r1::RopeLayout::neox), {}, "v3_neox", 1e-4f);
}

// ---------------------------------------------------------------- malformed folders

struct Folder {
    std::string dir;
    std::map<std::string, std::pair<r1::StDType, std::vector<int64_t>>> extra;
};

// Writes cfg as an HF folder, then rewrites model.safetensors through `edit`.
std::string broken(const std::string& name,
                   const std::function<void(std::vector<r1::StTensor>&,
                                            std::map<std::string, std::vector<uint8_t>>&)>& edit,
                   const ModelConfig& c = dense_cfg(r1::Arch::llama)) {
    ParamSet ps(c);
    fill_random(ps, 3);
    const std::string dir = tmp_dir(name);
    r1::save_hf_checkpoint(c, ps, dir);
    std::vector<r1::StTensor> ts;
    std::map<std::string, std::vector<uint8_t>> bytes;
    {
        r1::SafetensorsReader r(dir + "/model.safetensors");
        ts = r.tensors();
        for (const auto& t : ts) bytes[t.name].assign(r.data(t), r.data(t) + (t.end - t.begin));
    }
    edit(ts, bytes);
    r1::SafetensorsWriter w;
    for (const auto& t : ts) w.add(t.name, t.dtype, t.shape, bytes[t.name].data());
    w.write(dir + "/model.safetensors");
    return dir;
}

std::string load_error(const std::string& dir) {
    return error_of([&] { r1::load_hf_checkpoint(dir); });
}

TEST(HfCheckpoint, ErrorsNameFileAndTensor) {
    const std::string k = "model.layers.1.self_attn.k_proj.weight";
    std::string d = broken("missing", [&](auto& ts, auto&) {
        std::erase_if(ts, [&](const r1::StTensor& t) { return t.name == k; });
    });
    EXPECT_NE(load_error(d).find("missing tensor '" + k + "'"), std::string::npos) << load_error(d);

    d = broken("shape", [&](auto& ts, auto&) {
        for (auto& t : ts)
            if (t.name == k) std::swap(t.shape[0], t.shape[1]);
    });
    EXPECT_NE(load_error(d).find("model.safetensors: tensor '" + k + "': shape [32, 16], expected [16, 32]"),
              std::string::npos) << load_error(d);

    d = broken("extra", [&](auto& ts, auto& b) {
        ts.push_back({"model.layers.0.self_attn.o_proj.bias", r1::StDType::F32, {32}, 0, 0});
        b["model.layers.0.self_attn.o_proj.bias"].assign(128, 0);
    });
    EXPECT_NE(load_error(d).find("unexpected tensor 'model.layers.0.self_attn.o_proj.bias'"),
              std::string::npos) << load_error(d);

    d = broken("layer_range", [&](auto& ts, auto& b) {
        ts.push_back({"model.layers.7.input_layernorm.weight", r1::StDType::F32, {32}, 0, 0});
        b["model.layers.7.input_layernorm.weight"].assign(128, 0);
    });
    EXPECT_NE(load_error(d).find("belongs to layer 7"), std::string::npos) << load_error(d);

    d = broken("dtype", [&](auto& ts, auto& b) {
        for (auto& t : ts)
            if (t.name == k) {
                t.dtype = r1::StDType::I32;
                b[k].resize(b[k].size());
            }
    });
    EXPECT_NE(load_error(d).find("'" + k + "': dtype I32 is not supported"), std::string::npos)
        << load_error(d);

    d = broken("fp8_no_scale", [&](auto& ts, auto& b) {
        for (auto& t : ts)
            if (t.name == k) {
                t.dtype = r1::StDType::F8_E4M3;
                b[k].resize(b[k].size() / 4);
            }
    });
    EXPECT_NE(load_error(d).find("needs '" + k + "_scale_inv'"), std::string::npos) << load_error(d);

    // a tied model may carry a redundant lm_head; the inv_freq buffers of old files are skipped
    d = broken("skippable", [&](auto& ts, auto& b) {
        ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", r1::StDType::F32, {4}, 0, 0});
        b["model.layers.0.self_attn.rotary_emb.inv_freq"].assign(16, 0);
    });
    EXPECT_EQ(r1::load_hf_checkpoint(d)->n_skipped, 1);

    EXPECT_NE(load_error(tmp_dir("empty")).find("no config.json"), std::string::npos);
}

TEST(HfCheckpoint, ShardIndexErrors) {
    const ModelConfig c = dense_cfg(r1::Arch::llama);
    ParamSet ps(c);
    const std::string dir = tmp_dir("index");
    r1::HfSaveOptions sh;
    sh.max_shard_bytes = 8000;
    r1::save_hf_checkpoint(c, ps, dir, sh);
    const std::string ip = dir + "/model.safetensors.index.json";
    json idx = json::parse(std::ifstream(ip));
    const json orig = idx;
    idx["weight_map"]["model.norm.weight"] = "../evil.safetensors";
    std::ofstream(ip) << idx.dump();
    EXPECT_NE(load_error(dir).find("is not a file name inside the folder"), std::string::npos);
    idx = orig;
    idx["weight_map"]["model.extra.weight"] = orig["weight_map"]["model.norm.weight"];
    std::ofstream(ip) << idx.dump();
    EXPECT_NE(load_error(dir).find("'model.extra.weight' listed in model.safetensors.index.json is not in the file"),
              std::string::npos) << load_error(dir);
    std::ofstream(ip) << "{";
    EXPECT_NE(load_error(dir).find("bad JSON"), std::string::npos);
    std::ofstream(ip) << orig.dump();
    EXPECT_NO_THROW(r1::load_hf_checkpoint(dir));
}

// Seeds for tests/fuzz/fuzz_safetensors.cpp (scripts/fuzz_safetensors.sh sets the dir).
TEST(SafetensorsSeeds, WriteFuzzCorpus) {
    const char* dir = std::getenv("R1_SAFETENSORS_SEED_DIR");
    if (!dir) GTEST_SKIP() << "R1_SAFETENSORS_SEED_DIR not set";
    r1::SafetensorsWriter w;
    std::vector<float> a = {1, 2, 3, 4, 5, 6};
    w.add_f32("a", {2, 3}, a.data());
    uint16_t h[2] = {0x3c00, 0x4000};
    w.add("b", r1::StDType::BF16, {2}, h);
    uint8_t f8[4] = {0x38, 0x7e, 0x01, 0x80};
    w.add("c", r1::StDType::F8_E4M3, {2, 2}, f8);
    w.set_metadata("format", "pt");
    w.write(std::string(dir) + "/seed1.safetensors");
    r1::SafetensorsWriter e;
    e.write(std::string(dir) + "/seed_empty.safetensors");
}

}  // namespace
