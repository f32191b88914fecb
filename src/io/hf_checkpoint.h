// Hugging Face checkpoints (a folder: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json) in and out of r1.cpp's flat parameters.
//
// Names: HF (transformers) names map one to one onto r1's GGUF names (model.layers.3.
// self_attn.q_proj.weight -> blk.3.attn_q.weight, ...); routed experts, stored per expert by
// HF (mlp.experts.7.gate_proj.weight), are stacked into r1's [E, out, in] tensors. No weight
// is permuted on load: r1 runs Qwen2/Llama with the same half-split RoPE as HF and DeepSeek
// with interleaved (adjacent-pair) RoPE, which is what DeepSeek's HF code computes (it
// de-interleaves q_pe/k_pe before rotate_half; the dot products are the same). The
// llama.cpp row permutation happens only when a GGUF is written (io/gguf_export).
//
// Dtypes: F32, F16, BF16 (converted to f32), and FP8 E4M3 with block scales: a weight
// `X.weight` of dtype F8_E4M3 needs `X.weight_scale_inv` [ceil(rows/br), ceil(cols/bc)]
// (br x bc = quantization_config.weight_block_size, DeepSeek-V3: 128 x 128), and
// w[r, c] = fp8(q[r, c]) * scale_inv[r / br, c / bc].
//
// Validation (every error names the file and the tensor): every tensor the model needs is
// present exactly once with the expected shape and a float dtype; no tensor is left over
// (apart from the MTP layers >= num_hidden_layers that DeepSeek-V3 ships, which are skipped,
// rotary_emb.inv_freq buffers, and a redundant lm_head of a tied model); shard file names
// stay inside the folder; the safetensors reader checks offsets/overlaps/sizes itself.
//
// Memory: weights are held as f32 (a ParamSet), ~4 bytes per parameter. That suits the
// distilled models up to a few B parameters; DeepSeek-V3-sized models need the streaming
// GGUF path, which does not exist yet (docs/hf_interop.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/params.h"

namespace r1 {

// One HF tensor and where it lives in r1's ParamSet.
struct HfTensorName {
    std::string hf;      // "model.layers.3.mlp.experts.7.up_proj.weight"
    std::string r1;      // "blk.3.ffn_up_exps.weight"
    int64_t expert = -1; // >= 0: slice `expert` of a stacked [E, ...] tensor
};
// Every tensor an HF checkpoint of cfg holds (in ParamSet order; without lm_head when tied).
std::vector<HfTensorName> hf_tensor_names(const ModelConfig& cfg);

// FP8 E4M3 (OCP "fn" variant: no infinities, S.1111.111 = NaN, max 448) -> f32.
float fp8_e4m3_to_f32(uint8_t v);
// dst[r, c] = fp8(q[r, c]) * scale_inv[r / br, c / bc]; q, dst: [rows, cols] row-major,
// scale_inv: [ceil(rows/br), ceil(cols/bc)]. Threads over rows (table lookup).
void dequant_fp8_blocks(float* dst, const uint8_t* q, const float* scale_inv, int64_t rows,
                        int64_t cols, int64_t br, int64_t bc);
namespace ref {
void dequant_fp8_blocks(float* dst, const uint8_t* q, const float* scale_inv, int64_t rows,
                        int64_t cols, int64_t br, int64_t bc);
}

struct HfModel {
    std::string dir;
    ModelConfig config;
    HfConfigInfo info;
    ParamSet params;         // f32 weights, r1 names
    int64_t n_files = 0;     // safetensors files read
    int64_t n_skipped = 0;   // tensors skipped (MTP layers, inv_freq, tied lm_head)
};

// True if dir looks like an HF checkpoint folder (has config.json).
bool is_hf_dir(const std::string& dir);

// Loads dir (see above). Throws r1::Error naming the file and tensor on any problem.
// progress: a progress bar over the tensors on stderr (core/progress.h).
std::unique_ptr<HfModel> load_hf_checkpoint(const std::string& dir, bool progress = false);

struct HfSaveOptions {
    StDType dtype = StDType::F32;  // F32, BF16 or F16 (the selection bias stays F32)
    int64_t max_shard_bytes = 0;   // > 0: split into model-0000i-of-0000n.safetensors + index
};
// Writes dir/config.json and the safetensors file(s) for cfg + params (creates dir).
// Models with neox RoPE and MLA are stored with their rope rows permuted to DeepSeek's
// interleaved order (HF DeepSeek code applies interleaved RoPE); interleaved GQA models have
// no HF form. Throws r1::Error for configs without an HF architecture (io/hf_config.h).
void save_hf_checkpoint(const ModelConfig& cfg, const ParamSet& params, const std::string& dir,
                        const HfSaveOptions& opt = {});

}  // namespace r1
