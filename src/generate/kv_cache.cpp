// KvCache: slot pool bookkeeping over one preallocated K/V buffer (see kv_cache.h).
#include "generate/kv_cache.h"

#include <cstring>

#include "core/error.h"

namespace r1 {

KvCache::KvCache(const ModelConfig& cfg, int64_t n_slots, int64_t n_ctx, KvLayout layout) {
    R1_CHECK(n_slots > 0, "[kv_cache] n_slots must be > 0 (got ", n_slots, ")");
    R1_CHECK(n_ctx > 0 && n_ctx <= cfg.n_ctx, "[kv_cache] n_ctx ", n_ctx,
             " must be in [1, model n_ctx = ", cfg.n_ctx, "]");
    const bool mla = cfg.attn == AttnKind::mla;
    R1_CHECK(layout != KvLayout::mla_latent || mla,
             "[kv_cache] the MLA latent layout needs a model with MLA attention");
    layout_ = layout == KvLayout::automatic ? (mla ? KvLayout::mla_latent : KvLayout::plain)
                                            : layout;
    n_slots_ = n_slots, n_ctx_ = n_ctx, n_layer_ = cfg.n_layer;
    if (layout_ == KvLayout::mla_latent) {
        k_row_ = cfg.kv_lora_rank + cfg.qk_rope_head_dim;  // c_kv | k_pe
        v_row_ = 0;
    } else if (mla) {
        k_row_ = cfg.n_head * (cfg.qk_nope_head_dim + cfg.qk_rope_head_dim);
        v_row_ = cfg.n_head * cfg.v_head_dim;
    } else {
        k_row_ = v_row_ = cfg.n_head_kv * cfg.head_dim;
    }
    data_.resize((size_t)(n_slots * n_layer_ * n_ctx * (k_row_ + v_row_)));
    len_.assign((size_t)n_slots, 0);
    used_.assign((size_t)n_slots, 0);
}

int64_t KvCache::n_free() const {
    int64_t n = 0;
    for (char u : used_) n += !u;
    return n;
}

int32_t KvCache::acquire() {
    for (int64_t s = 0; s < n_slots_; s++)
        if (!used_[(size_t)s]) {
            used_[(size_t)s] = 1;
            len_[(size_t)s] = 0;
            return (int32_t)s;
        }
    return -1;
}

void KvCache::check_slot(int32_t slot, const char* what) const {
    R1_CHECK(slot >= 0 && slot < n_slots_, "[kv_cache] ", what, ": slot ", slot,
             " outside [0, ", n_slots_, ")");
    R1_CHECK(used_[(size_t)slot], "[kv_cache] ", what, ": slot ", slot, " is not in use");
}

void KvCache::release(int32_t slot) {
    check_slot(slot, "release");
    used_[(size_t)slot] = 0;
    len_[(size_t)slot] = 0;
}

bool KvCache::in_use(int32_t slot) const {
    return slot >= 0 && slot < n_slots_ && used_[(size_t)slot];
}

int64_t KvCache::length(int32_t slot) const {
    check_slot(slot, "length");
    return len_[(size_t)slot];
}

void KvCache::advance(int32_t slot, int64_t n) {
    check_slot(slot, "advance");
    R1_CHECK(n >= 0 && len_[(size_t)slot] + n <= n_ctx_, "[kv_cache] advance: slot ", slot,
             " would hold ", len_[(size_t)slot] + n, " positions, n_ctx is ", n_ctx_);
    len_[(size_t)slot] += n;
}

void KvCache::truncate(int32_t slot, int64_t n) {
    check_slot(slot, "truncate");
    R1_CHECK(n >= 0 && n <= len_[(size_t)slot], "[kv_cache] truncate: ", n,
             " outside [0, length ", len_[(size_t)slot], "]");
    len_[(size_t)slot] = n;
}

void KvCache::copy_prefix(int32_t src, int32_t dst, int64_t n) {
    check_slot(src, "copy_prefix");
    check_slot(dst, "copy_prefix");
    R1_CHECK(src != dst, "[kv_cache] copy_prefix: source and destination are slot ", src);
    R1_CHECK(n >= 0 && n <= len_[(size_t)src], "[kv_cache] copy_prefix: ", n,
             " positions requested, slot ", src, " holds ", len_[(size_t)src]);
    for (int64_t l = 0; l < n_layer_; l++) {
        std::memcpy(k(dst, l), k(src, l), sizeof(float) * (size_t)(n * k_row_));
        std::memcpy(v(dst, l), v(src, l), sizeof(float) * (size_t)(n * v_row_));
    }
    len_[(size_t)dst] = n;
}

float* KvCache::k(int32_t slot, int64_t layer) {
    check_slot(slot, "k");
    return data_.data() + (slot * n_layer_ + layer) * n_ctx_ * (k_row_ + v_row_);
}

float* KvCache::v(int32_t slot, int64_t layer) {
    check_slot(slot, "v");
    return data_.data() + (slot * n_layer_ + layer) * n_ctx_ * (k_row_ + v_row_) +
           n_ctx_ * k_row_;
}

}  // namespace r1
