// Runs llama.cpp GGUF models with r1's inference engine: reads the model hyper-parameters
// from the GGUF metadata (llama.cpp key names) into a ModelConfig, and builds the engine's
// InferenceModel from WeightViews that point straight into the Reader's memory mapping
// (f32/f16/bf16/q8_0/q4_0 tensors, nothing copied).
//
// Supported general.architecture: llama, qwen2 (GQA, RMSNorm, SwiGLU, optional q/k/v bias,
// tied output) and deepseek2 (MLA + DeepSeekMoE). RoPE ordering follows llama.cpp: qwen2 is
// NEOX (rotate halves); llama and deepseek2 are NORM (interleaved pairs) because llama.cpp's
// converter permutes the q/k rows of llama models into that order.
//
// Lifetime: the InferenceModel of load_gguf_model() holds pointers into the Reader's
// mapping, so the Reader must outlive it. GgufModel keeps both together.
#pragma once
#include <memory>
#include <string>

#include "generate/infer_model.h"
#include "io/gguf.h"
#include "model/config.h"

namespace r1 {

// Throws r1::Error naming the missing / ill-typed key or the unsupported architecture.
ModelConfig config_from_gguf(const gguf::Reader& r);
// Views into r's tensors (r must outlive the result). Throws r1::Error naming the tensor
// that is missing, has the wrong shape, or has an unsupported type.
InferenceModel load_gguf_model(const gguf::Reader& r);

// A mapped GGUF file and the engine's view of it. Not movable: model points into reader.
struct GgufModel {
    gguf::Reader reader;
    InferenceModel model;

    explicit GgufModel(gguf::Reader r);
    GgufModel(const GgufModel&) = delete;
    GgufModel& operator=(const GgufModel&) = delete;

    static std::unique_ptr<GgufModel> open(const std::string& path);
};

}  // namespace r1
