// Saving r1 models as Hugging Face checkpoints: config.json (io/hf_config) + safetensors,
// one file or shards with model.safetensors.index.json, tensors in HF names (experts
// unstacked), F32/BF16/F16. Loading the result with load_hf_checkpoint gives the same model.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "io/gguf_export.h"
#include "io/hf_checkpoint.h"
#include "model/layout.h"

namespace r1 {

namespace {

void make_dir(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        R1_CHECK(S_ISDIR(st.st_mode), "[hf] ", dir, ": exists and is not a folder");
        return;
    }
    R1_CHECK(::mkdir(dir.c_str(), 0755) == 0, "[hf] ", dir, ": cannot create folder");
}

void write_text(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        R1_CHECK(f.good(), "[hf] ", tmp, ": cannot write");
        f << text;
        R1_CHECK(f.good(), "[hf] ", tmp, ": write failed");
    }
    R1_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "[hf] ", path, ": rename failed");
}

}  // namespace

void save_hf_checkpoint(const ModelConfig& cfg_in, const ParamSet& params, const std::string& dir,
                        const HfSaveOptions& opt) {
    R1_CHECK(opt.dtype == StDType::F32 || opt.dtype == StDType::BF16 || opt.dtype == StDType::F16,
             "[hf] save: dtype must be F32, BF16 or F16 (got ", st_dtype_name(opt.dtype), ")");
    ModelConfig cfg = cfg_in;
    nlohmann::json cj = config_to_hf(cfg);  // throws for configs HF cannot express
    R1_CHECK(cfg.attn == AttnKind::mla || cfg.rope_layout == RopeLayout::neox,
             "[hf] save: GQA models with interleaved RoPE have no HF form (HF Llama/Qwen2 use "
             "the half-split layout)");
    ParamSet layout;                 // names and shapes only (not allocated)
    add_model_params(layout, cfg);
    for (const ParamInfo& pi : layout.infos()) {
        const ParamInfo* have = params.find(pi.name);
        R1_CHECK(have && have->shape == pi.shape, "[hf] save: parameter '", pi.name,
                 "' is missing or has the wrong shape for this config");
    }
    // MLA with r1's neox RoPE: permute the rope rows to DeepSeek's interleaved order.
    const bool permute = cfg.attn == AttnKind::mla && cfg.rope_layout == RopeLayout::neox;
    cfg.rope_layout = cfg.attn == AttnKind::mla ? RopeLayout::interleaved : cfg.rope_layout;
    cj["torch_dtype"] = opt.dtype == StDType::F32 ? "float32"
                        : opt.dtype == StDType::BF16 ? "bfloat16" : "float16";

    make_dir(dir);
    struct Shard {
        SafetensorsWriter w;
        int64_t bytes = 0;
        std::vector<std::string> names;
    };
    std::vector<Shard> shards(1);
    std::vector<float> buf;
    std::vector<uint16_t> half;
    for (const HfTensorName& n : hf_tensor_names(cfg)) {
        const ParamInfo& pi = params.info(n.r1);
        std::vector<int64_t> shape = pi.shape;
        int64_t numel = pi.numel;
        const float* src = params.data().data() + pi.offset;
        if (n.expert >= 0) {
            shape.erase(shape.begin());
            numel /= pi.shape[0];
            src += n.expert * numel;
        }
        buf.assign(src, src + numel);
        if (permute) {
            const int64_t H = cfg.n_head, dqk = cfg.qk_nope_head_dim + cfg.qk_rope_head_dim;
            const int64_t rot = cfg.qk_rope_head_dim;
            const int64_t row_len = shape.size() == 2 ? shape[1] : 1;
            if (n.r1.find(".attn_q.weight") != std::string::npos ||
                n.r1.find(".attn_q_b.weight") != std::string::npos)
                rope_rows_neox_to_interleaved(buf.data(), row_len, cfg.qk_nope_head_dim, dqk, H, rot);
            else if (n.r1.find(".attn_kv_a_mqa.weight") != std::string::npos)
                rope_rows_neox_to_interleaved(buf.data(), row_len, cfg.kv_lora_rank, 0, 1, rot);
        }
        // the V3 selection bias is kept in f32 as DeepSeek ships it
        const bool keep_f32 = opt.dtype == StDType::F32 || n.r1.find("exp_probs_b") != std::string::npos;
        const int64_t nbytes = numel * (keep_f32 ? 4 : 2);
        if (opt.max_shard_bytes > 0 && shards.back().bytes > 0 &&
            shards.back().bytes + nbytes > opt.max_shard_bytes)
            shards.emplace_back();
        Shard& s = shards.back();
        if (keep_f32) {
            s.w.add(n.hf, StDType::F32, shape, buf.data());
        } else {
            half.resize((size_t)numel);
            if (opt.dtype == StDType::BF16) convert_f32_to_bf16(half.data(), buf.data(), numel);
            else convert_f32_to_f16(half.data(), buf.data(), numel);
            s.w.add(n.hf, opt.dtype, shape, half.data());
        }
        s.bytes += nbytes;
        s.names.push_back(n.hf);
    }
    for (auto& s : shards) s.w.set_metadata("format", "pt");
    if (opt.max_shard_bytes <= 0) {
        shards[0].w.write(dir + "/model.safetensors");
    } else {
        nlohmann::json wm = nlohmann::json::object();
        int64_t total = 0;
        const size_t n = shards.size();
        for (size_t i = 0; i < n; i++) {
            char fn[64];
            std::snprintf(fn, sizeof fn, "model-%05zu-of-%05zu.safetensors", i + 1, n);
            shards[i].w.write(dir + "/" + fn);
            for (const auto& name : shards[i].names) wm[name] = fn;
            total += shards[i].bytes;
        }
        nlohmann::json idx = {{"metadata", {{"total_size", total}}}, {"weight_map", wm}};
        write_text(dir + "/model.safetensors.index.json", idx.dump(2) + "\n");
    }
    write_text(dir + "/config.json", cj.dump(2) + "\n");
}

}  // namespace r1
