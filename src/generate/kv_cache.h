// KV cache for batched generation: a fixed pool of sequence slots, each holding, for every
// layer, K [n_ctx, Hkv, D] and V [n_ctx, Hkv, D] (f32, K after RoPE). MLA models cache the
// expanded per-head K [n_ctx, H, nope+rope] and V [n_ctx, H, v_head_dim] (the plain form;
// caching only the compressed latent is a later optimisation). Sequences acquire a slot when
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

class KvCache {
public:
    // n_ctx: positions per slot (<= cfg.n_ctx). Throws r1::Error for bad sizes.
    KvCache(const ModelConfig& cfg, int64_t n_slots, int64_t n_ctx);

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
    int64_t k_row() const { return k_row_; }   // floats per position: Hkv·D (MLA: H·(nope+rope))
    int64_t v_row() const { return v_row_; }   // Hkv·D (MLA: H·v_head_dim)

private:
    void check_slot(int32_t slot, const char* what) const;
    int64_t n_slots_ = 0, n_ctx_ = 0, n_layer_ = 0, k_row_ = 0, v_row_ = 0;
    Buffer<float> data_;
    std::vector<int64_t> len_;
    std::vector<char> used_;
};

}  // namespace r1
