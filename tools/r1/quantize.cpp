// r1 quantize IN.gguf OUT.gguf q8_0|q4_0|f16|bf16|f32
// Re-types the weight matrices of a GGUF file (rows a multiple of the block size; routers,
// vectors and everything else kept), keeps all metadata and sets general.file_type.
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "core/error.h"
#include "io/gguf_export.h"

namespace {

int run_quantize(const std::string& in, const std::string& out, const std::string& type) {
    r1::DType t;
    R1_CHECK(r1::dtype_from_name(type.c_str(), &t), "quantize: unknown type '", type,
             "' (f32, f16, bf16, q8_0, q4_0)");
    const int64_t n = r1::quantize_gguf(in, out, t);
    std::printf("wrote %s: %lld tensors converted to %s\n", out.c_str(), (long long)n,
                type.c_str());
    return 0;
}

r1::cli::Register reg("quantize", "Convert a GGUF file's weight matrices to another type",
                      [](CLI::App& app) {
    auto in = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto type = std::make_shared<std::string>();
    app.add_option("in", *in, "input GGUF file")->required();
    app.add_option("out", *out, "output GGUF file")->required();
    app.add_option("type", *type, "q8_0, q4_0, f16, bf16 or f32")->required();
    return [in, out, type] { return run_quantize(*in, *out, *type); };
});

}  // namespace
