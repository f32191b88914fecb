// KV cache for batched generation: a fixed pool of sequence slots, each holding, for every
// layer, K [n_ctx, Hkv, D] and V [n_ctx, Hkv, D] (K after RoPE). MLA models cache, by
// default, only the compressed latent (KvLayout::mla_latent, DeepSeek-V2 §2.1.2): per
// position c_kv [kvl] (after kv_a_norm) | k_pe [rope] (after RoPE) as the K row, no V rows —
// (kvl + rope) values instead of H·(nope + rope + v): 288 vs 1,280 for deepseek2-small,
// 576 vs 40,960 for DeepSeek-V3. KvLayout::plain keeps the expanded per-head
// K [n_ctx, H, nope+rope] and V [n_ctx, H, v_head_dim] (the reference form). Sequences acquire a slot when
// they join a batch and release it when they finish; the memory is allocated once in the
// constructor and reused by later sequences (continuous batching never reallocates).
//
// Storage type (KvType): f32 (the default: what training and GRPO rollouts see), or f16 —
// IEEE half, round-to-nearest-even exactly as ggml's GGML_FP32_TO_FP16 (core/dtype.h), what
// llama.cpp stores by default (-ctk/-ctv f16). f16 halves the cache: twice the context or
// the batch in the same memory, half the bytes read per decode step. Values are rounded once
// when written (store_k/store_v); attention computes in f32 (generate/kv_attention.h).
// Accessors are typed and throw on the wrong type: there is no float* view of an f16 cache.
//
// Layout: one buffer [n_slots, n_layer, K rows | V rows], so a slot's layer cache is
// contiguous and positions are rows of k_row() / v_row() elements. Shape legend: model/model.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "model/config.h"

namespace r1 {

// What a cache row holds. automatic = mla_latent for MLA models, plain otherwise.
enum class KvLayout { automatic, plain, mla_latent };

// Element type of the cached rows.
enum class KvType { f32, f16 };
const char* kv_type_name(KvType t);  // "f32" | "f16"
// "f32" | "f16" -> type; throws r1::Error naming `what` (e.g. "--kv-type") otherwise.
KvType kv_type_from_name(const std::string& name, const char* what = "kv_type");
int64_t kv_type_bytes(KvType t);     // 4 | 2

class KvCache {
public:
    // n_ctx: positions per slot (<= cfg.n_ctx). Throws r1::Error for bad sizes, or for
    // mla_latent on a model without MLA attention.
    KvCache(const ModelConfig& cfg, int64_t n_slots, int64_t n_ctx,
            KvLayout layout = KvLayout::automatic, KvType type = KvType::f32);

    KvLayout layout() const { return layout_; }  // resolved: plain or mla_latent
    KvType type() const { return type_; }

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
    // a prompt prefilled once serves every sample of a group. Bytes are copied as stored.
    void copy_prefix(int32_t src, int32_t dst, int64_t n);

    // elements per position: Hkv·D; MLA plain H·(nope+rope); MLA latent kvl + rope
    int64_t k_row() const { return k_row_; }
    int64_t v_row() const { return v_row_; }   // Hkv·D; MLA plain H·v_head_dim; latent 0

    // Raw rows of (slot, layer): K [n_ctx, k_row], V [n_ctx, v_row], elements of type().
    const void* k_data(int32_t slot, int64_t layer) const;
    const void* v_data(int32_t slot, int64_t layer) const;
    // Typed views; throw r1::Error when the cache holds the other type.
    float* k_f32(int32_t slot, int64_t layer);
    float* v_f32(int32_t slot, int64_t layer);
    uint16_t* k_f16(int32_t slot, int64_t layer);
    uint16_t* v_f16(int32_t slot, int64_t layer);

    // Writes n f32 values into K (resp. V) row `pos` of (slot, layer) at element offset
    // `off`, converted to type(). pos < n_ctx, off + n <= k_row (v_row).
    void store_k(int32_t slot, int64_t layer, int64_t pos, int64_t off, const float* src,
                 int64_t n);
    void store_v(int32_t slot, int64_t layer, int64_t pos, int64_t off, const float* src,
                 int64_t n);
    // Reads n values of K (V) row `pos` back as f32 (tests, debugging).
    void load_k(int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
                int64_t n) const;
    void load_v(int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
                int64_t n) const;

    // Bytes of one position over all layers (K + V), and of the whole pool.
    int64_t bytes_per_token() const { return n_layer_ * (k_row_ + v_row_) * kv_type_bytes(type_); }
    int64_t bytes() const { return n_slots_ * n_ctx_ * bytes_per_token(); }

private:
    void check_slot(int32_t slot, const char* what) const;
    void check_type(KvType t, const char* what) const;
    char* base(int32_t slot, int64_t layer, bool v, const char* what) const;
    void store(bool v, int32_t slot, int64_t layer, int64_t pos, int64_t off, const float* src,
               int64_t n);
    void load(bool v, int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
              int64_t n) const;
    KvLayout layout_ = KvLayout::plain;
    KvType type_ = KvType::f32;
    int64_t n_slots_ = 0, n_ctx_ = 0, n_layer_ = 0, k_row_ = 0, v_row_ = 0;
    Buffer<char> data_;  // [n_slots, n_layer, n_ctx·(k_row + v_row)] elements of type_
    std::vector<int64_t> len_;
    std::vector<char> used_;
};

}  // namespace r1
