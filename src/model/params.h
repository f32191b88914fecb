// Flat parameter storage (llm.c's ParameterTensors): every weight lives in one contiguous
// f32 buffer with a named view per tensor; gradients mirror it in a second buffer. AdamW,
// gradient clipping, checkpoints and all-reduce are then single loops over one array.
//
// Tensor names are llama.cpp's GGUF names ("token_embd.weight", "blk.3.attn_q.weight",
// "blk.3.ffn_gate_exps.weight", ...) so export is a rename-free copy. Shapes are listed
// PyTorch-style (outermost first): a Linear weight is {out, in}; stacked experts are
// {n_expert, out, in}.
//
// Layout trick: tensors that one GEMM can compute together are allocated adjacently, so
// the fused matrix is simply a view — attn_q|attn_k|attn_v rows form [q+2kv, C] and
// ffn_gate|ffn_up rows form [2F, C]; models call one GEMM, files still see separate names.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/buffer.h"

namespace r1 {

struct ModelConfig;

struct ParamInfo {
    std::string name;
    std::vector<int64_t> shape;
    int64_t offset = 0;      // in floats, into ParamSet::data
    int64_t numel = 0;
    bool trainable = true;   // false: updated by a rule, not by the optimiser (MoE sel bias)
    bool decay = true;       // AdamW weight decay applies (false for norms, biases, embeddings? see layout)
};

class ParamSet {
public:
    ParamSet() = default;
    explicit ParamSet(const ModelConfig& cfg);   // builds the layout for cfg; data zeroed

    const std::vector<ParamInfo>& infos() const { return infos_; }
    const ParamInfo* find(const std::string& name) const;
    const ParamInfo& info(const std::string& name) const;  // throws r1::Error if missing
    float* ptr(const std::string& name) { return data_.data() + info(name).offset; }
    const float* ptr(const std::string& name) const { return data_.data() + info(name).offset; }
    float* grad_ptr(const std::string& name) { return grad_.data() + info(name).offset; }

    Buffer<float>& data() { return data_; }
    const Buffer<float>& data() const { return data_; }
    Buffer<float>& grad() { return grad_; }
    const Buffer<float>& grad() const { return grad_; }
    int64_t size() const { return (int64_t)data_.size(); }
    void zero_grad() { grad_.zero(); }

    // Appends a tensor at the end of the layout (used by the layout builder).
    ParamInfo& add(const std::string& name, std::vector<int64_t> shape, bool decay = true,
                   bool trainable = true);
    void allocate();  // after all add() calls

private:
    std::vector<ParamInfo> infos_;
    std::unordered_map<std::string, size_t> index_;
    Buffer<float> data_, grad_;
    int64_t total_ = 0;
};

}  // namespace r1
