// r1 convert IN OUT — between Hugging Face checkpoints, GGUF and r1 checkpoints:
//   r1 convert HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0|q4_0] [--pre NAME]
//       HF folder (config.json + safetensors [+ tokenizer.json]) -> llama.cpp GGUF
//       (io/hf_gguf.h: names, keys, llama's q/k permutation, tokenizer.ggml.*)
//   r1 convert ckpt.r1 OUT_DIR [--dtype f32|bf16|f16] [--shard-mb N]
//   r1 convert HF_DIR OUT_DIR  [--dtype ...]          (re-save, e.g. FP8 -> bf16)
//       -> HF folder (config.json + model.safetensors or shards + index)
// The output kind follows OUT: a name ending in .gguf is a GGUF file, anything else a folder.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "io/gguf_export.h"
#include "io/hf_checkpoint.h"
#include "io/hf_gguf.h"
#include "model/params.h"
#include "train/checkpoint.h"

namespace {

struct ConvertOptions {
    std::string in, out, type = "f16", pre, dtype = "f32";
    int64_t shard_mb = 0;
    bool json = false;
};

bool ends_with_gguf(const std::string& s) {
    if (s.size() < 5) return false;
    std::string e = s.substr(s.size() - 5);
    for (char& c : e) c = (char)std::tolower((unsigned char)c);
    return e == ".gguf";
}

int run_convert(const ConvertOptions& o) {
    nlohmann::json res = {{"in", o.in}, {"out", o.out}};
    if (ends_with_gguf(o.out)) {
        R1_CHECK(r1::is_hf_dir(o.in), "[convert] ", o.in,
                 ": GGUF output needs a Hugging Face folder as input (config.json + "
                 "safetensors); for ckpt.r1 use `r1 export`");
        r1::DType t;
        R1_CHECK(r1::dtype_from_name(o.type.c_str(), &t), "[convert] unknown --type '", o.type,
                 "' (f32, f16, bf16, q8_0, q4_0)");
        const r1::HfConvertResult r = r1::convert_hf_to_gguf(o.in, o.out, t, o.pre, !o.json);
        res["format"] = "gguf";
        res["arch"] = r.gguf_arch;
        res["type"] = o.type;
        res["n_params"] = r.n_params;
        res["n_tokens"] = r.n_tokens;
        res["skipped_tensors"] = r.n_skipped;
    } else {
        r1::HfSaveOptions so;
        if (o.dtype == "f32") so.dtype = r1::StDType::F32;
        else if (o.dtype == "bf16") so.dtype = r1::StDType::BF16;
        else if (o.dtype == "f16") so.dtype = r1::StDType::F16;
        else r1::fail("[convert] unknown --dtype '", o.dtype, "' (f32, bf16, f16)");
        R1_CHECK(o.shard_mb >= 0, "[convert] --shard-mb must be >= 0");
        so.max_shard_bytes = o.shard_mb << 20;
        if (r1::is_hf_dir(o.in)) {
            const auto m = r1::load_hf_checkpoint(o.in, !o.json);
            r1::save_hf_checkpoint(m->config, m->params, o.out, so);
            res["n_params"] = m->params.size();
        } else {
            const r1::Checkpoint ck = r1::read_checkpoint(o.in);
            r1::ParamSet params(ck.meta.config);
            r1::apply_checkpoint(ck, params, nullptr);
            r1::save_hf_checkpoint(ck.meta.config, params, o.out, so);
            res["n_params"] = params.size();
        }
        res["format"] = "hf";
        res["dtype"] = o.dtype;
    }
    if (o.json) std::printf("%s\n", res.dump().c_str());
    else std::printf("wrote %s (%s)\n", o.out.c_str(), res["format"].get<std::string>().c_str());
    return 0;
}

r1::cli::Register reg(
    "convert", "Convert HF checkpoints to GGUF, or r1/HF checkpoints to HF safetensors",
    [](CLI::App& app) {
        auto o = std::make_shared<ConvertOptions>();
        app.add_option("in", o->in, "input: Hugging Face folder or ckpt.r1")->required();
        app.add_option("out", o->out, "output: FILE.gguf, or a folder for HF safetensors")->required();
        app.add_option("--type", o->type, "GGUF weight type: f32, f16, bf16, q8_0, q4_0 (default f16)");
        app.add_option("--pre", o->pre,
                       "GGUF tokenizer.ggml.pre (default by architecture: qwen2, llama-bpe, "
                       "deepseek-v3; R1-Distill-Qwen: deepseek-r1-qwen)");
        app.add_option("--dtype", o->dtype, "HF output dtype: f32, bf16, f16 (default f32)");
        app.add_option("--shard-mb", o->shard_mb, "HF output: shards of at most N MiB (0 = one file)");
        app.add_flag("--json", o->json, "print a JSON summary");
        return [o] { return run_convert(*o); };
    });

}  // namespace
