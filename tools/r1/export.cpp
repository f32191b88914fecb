// r1 export --ckpt DIR/ckpt.r1 --out M.gguf [--type f32|f16|bf16|q8_0|q4_0]
// Writes a trained checkpoint as a llama.cpp-loadable GGUF (see src/io/gguf_export.h for the
// supported configs). r1-trained models use the byte tokenizer, so its vocabulary is written.
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "core/error.h"
#include "io/gguf_export.h"
#include "model/params.h"
#include "train/checkpoint.h"

namespace {

int run_export(const std::string& ckpt, const std::string& out, const std::string& type) {
    r1::DType t;
    R1_CHECK(r1::dtype_from_name(type.c_str(), &t), "export: unknown --type '", type,
             "' (f32, f16, bf16, q8_0, q4_0)");
    const r1::Checkpoint ck = r1::read_checkpoint(ckpt);
    r1::ParamSet params(ck.meta.config);
    r1::apply_checkpoint(ck, params, nullptr);
    r1::export_gguf(ck.meta.config, params, out, t,
                    r1::byte_tokenizer_gguf_meta(ck.meta.config.n_vocab));
    std::printf("wrote %s (%s, %s weights, step %lld)\n", out.c_str(),
                r1::gguf_export_arch(ck.meta.config).c_str(), type.c_str(),
                (long long)ck.meta.step);
    return 0;
}

r1::cli::Register reg("export", "Write a checkpoint as a llama.cpp GGUF file", [](CLI::App& app) {
    auto ckpt = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto type = std::make_shared<std::string>("f16");
    app.add_option("--ckpt", *ckpt, "checkpoint file (ckpt.r1)")->required();
    app.add_option("--out", *out, "output GGUF file")->required();
    app.add_option("--type", *type, "weight type: f32, f16, bf16, q8_0, q4_0 (default f16)");
    return [ckpt, out, type] { return run_export(*ckpt, *out, *type); };
});

}  // namespace
