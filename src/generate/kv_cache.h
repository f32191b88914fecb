// KV cache for batched generation: a fixed pool of sequence slots, each holding, for every
// layer, K [n_ctx, Hkv, D] and V [n_ctx, Hkv, D] (f32, K after RoPE). MLA models cache, by
// default, only the compressed latent (KvLayout::mla_latent, DeepSeek-V2 §2.1.2): per
// position c_kv [kvl] (after kv_a_norm) | k_pe [rope] (after RoPE) as the K row, no V rows —
// (kvl + rope) floats instead of H·(nope + rope + v): 288 vs 1,280 for deepseek2-small,
// 576 vs 40,960 for DeepSeek-V3. KvLayout::plain keeps the expanded per-head
// K [n_ctx, H, nope+rope] and V [n_ctx, H, v_head_dim] (the reference form). Sequences acquire a slot when
// they join a batch and release it when they finish; the memory is allocated once in the
// constructor and reused by later sequences (continuous batching never reallocates).
//
// Layout: one buffer [n_slots, n_layer, K rows | V rows], so a slot's layer cache is
// contiguous and positions are rows of k_row() / v_row() floats. Shape legend: model/model.h.
#pragma once
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "model/config.h"

namespace r1 {

// What a cache row holds. automatic = mla_latent for MLA models, plain otherwise.
enum class KvLayout { automatic, plain, mla_latent };

class KvCache {
public:
    // n_ctx: positions per slot (<= cfg.n_ctx). Throws r1::Error for bad sizes, or for
    // mla_latent on a model without MLA attention.
    KvCache(const ModelConfig& cfg, int64_t n_slots, int64_t n_ctx,
            KvLayout layout = KvLayout::automatic);

    KvLayout layout() const { return layout_; }  // resolved: plain or mla_latent

    int64_t n_slots() const { return n_slots_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_free() const;

    // Lowest free slot (length 0), or -1 when the pool is full.
    int32_t acquire();
    // Frees a slot for reuse (its contents become garbage; no memory is released).
    void release(int32_t slot);
    bool in_use(int32_t slot) const;

    // Positions [0, length) hold valid K/V.
    int64_t length(int32_t slot) const;
    // Called by the forward after it has written n new positions of every layer.
    void advance(int32_t slot, int64_t n);
    // Forgets positions >= n (n <= length): e.g. to re-run a suffix.
    void truncate(int32_t slot, int64_t n);

    // dst (in use) gets src's positions [0, n) of every layer and length n (n <= length(src)):
    // a prompt prefilled once serves every sample of a group.
    void copy_prefix(int32_t src, int32_t dst, int64_t n);

    float* k(int32_t slot, int64_t layer);     // [n_ctx, k_row]
    float* v(int32_t slot, int64_t layer);     // [n_ctx, v_row]
    // floats per position: Hkv·D; MLA plain H·(nope+rope); MLA latent kvl + rope
    int64_t k_row() const { return k_row_; }
    int64_t v_row() const { return v_row_; }   // Hkv·D; MLA plain H·v_head_dim; latent 0

private:
    void check_slot(int32_t slot, const char* what) const;
    KvLayout layout_ = KvLayout::plain;
    int64_t n_slots_ = 0, n_ctx_ = 0, n_layer_ = 0, k_row_ = 0, v_row_ = 0;
    Buffer<float> data_;
    std::vector<int64_t> len_;
    std::vector<char> used_;
};

}  // namespace r1
