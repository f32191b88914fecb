// KvCache: slot pool bookkeeping over one preallocated K/V buffer of f32 or f16 rows (see
// kv_cache.h). Writes convert f32 -> the storage type with core/dtype.h's converters (F16C /
// AVX-512 when present; bit-identical to the scalar round-to-nearest-even).
#include "generate/kv_cache.h"

#include <cstring>

#include "core/dtype.h"
#include "core/error.h"

namespace r1 {

const char* kv_type_name(KvType t) { return t == KvType::f16 ? "f16" : "f32"; }

KvType kv_type_from_name(const std::string& name, const char* what) {
    if (name == "f32") return KvType::f32;
    if (name == "f16") return KvType::f16;
    fail(what, ": unknown KV cache type '", name, "' (expected f32 or f16)");
}

int64_t kv_type_bytes(KvType t) { return t == KvType::f16 ? 2 : 4; }

KvCache::KvCache(const ModelConfig& cfg, int64_t n_slots, int64_t n_ctx, KvLayout layout,
                 KvType type) {
    R1_CHECK(n_slots > 0, "[kv_cache] n_slots must be > 0 (got ", n_slots, ")");
    R1_CHECK(n_ctx > 0 && n_ctx <= cfg.n_ctx, "[kv_cache] n_ctx ", n_ctx,
             " must be in [1, model n_ctx = ", cfg.n_ctx, "]");
    R1_CHECK(type == KvType::f32 || type == KvType::f16, "[kv_cache] unknown KV type ",
             (int)type);
    const bool mla = cfg.attn == AttnKind::mla;
    R1_CHECK(layout != KvLayout::mla_latent || mla,
             "[kv_cache] the MLA latent layout needs a model with MLA attention");
    layout_ = layout == KvLayout::automatic ? (mla ? KvLayout::mla_latent : KvLayout::plain)
                                            : layout;
    type_ = type;
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
    data_.resize((size_t)bytes());
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

void KvCache::check_type(KvType t, const char* what) const {
    R1_CHECK(type_ == t, "[kv_cache] ", what, ": the cache stores ", kv_type_name(type_),
             " rows, not ", kv_type_name(t));
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
    const size_t eb = (size_t)kv_type_bytes(type_);
    for (int64_t l = 0; l < n_layer_; l++) {
        std::memcpy(base(dst, l, false, "copy_prefix"), base(src, l, false, "copy_prefix"),
                    eb * (size_t)(n * k_row_));
        std::memcpy(base(dst, l, true, "copy_prefix"), base(src, l, true, "copy_prefix"),
                    eb * (size_t)(n * v_row_));
    }
    len_[(size_t)dst] = n;
}

char* KvCache::base(int32_t slot, int64_t layer, bool v, const char* what) const {
    check_slot(slot, what);
    R1_CHECK(layer >= 0 && layer < n_layer_, "[kv_cache] ", what, ": layer ", layer,
             " outside [0, ", n_layer_, ")");
    const int64_t el = (slot * n_layer_ + layer) * n_ctx_ * (k_row_ + v_row_) +
                       (v ? n_ctx_ * k_row_ : 0);
    return const_cast<char*>(data_.data()) + el * kv_type_bytes(type_);
}

const void* KvCache::k_data(int32_t slot, int64_t layer) const {
    return base(slot, layer, false, "k_data");
}
const void* KvCache::v_data(int32_t slot, int64_t layer) const {
    return base(slot, layer, true, "v_data");
}

float* KvCache::k_f32(int32_t slot, int64_t layer) {
    check_type(KvType::f32, "k_f32");
    return reinterpret_cast<float*>(base(slot, layer, false, "k_f32"));
}
float* KvCache::v_f32(int32_t slot, int64_t layer) {
    check_type(KvType::f32, "v_f32");
    return reinterpret_cast<float*>(base(slot, layer, true, "v_f32"));
}
uint16_t* KvCache::k_f16(int32_t slot, int64_t layer) {
    check_type(KvType::f16, "k_f16");
    return reinterpret_cast<uint16_t*>(base(slot, layer, false, "k_f16"));
}
uint16_t* KvCache::v_f16(int32_t slot, int64_t layer) {
    check_type(KvType::f16, "v_f16");
    return reinterpret_cast<uint16_t*>(base(slot, layer, true, "v_f16"));
}

void KvCache::store(bool v, int32_t slot, int64_t layer, int64_t pos, int64_t off,
                    const float* src, int64_t n) {
    const int64_t row = v ? v_row_ : k_row_;
    R1_CHECK(pos >= 0 && pos < n_ctx_ && off >= 0 && n >= 0 && off + n <= row,
             "[kv_cache] store: position ", pos, " elements [", off, ", ", off + n,
             ") outside [0, ", n_ctx_, ") x [0, ", row, ")");
    char* p = base(slot, layer, v, "store") + (pos * row + off) * kv_type_bytes(type_);
    if (type_ == KvType::f16)
        convert_f32_to_f16(reinterpret_cast<uint16_t*>(p), src, n);
    else
        std::memcpy(p, src, sizeof(float) * (size_t)n);
}

void KvCache::load(bool v, int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
                   int64_t n) const {
    const int64_t row = v ? v_row_ : k_row_;
    R1_CHECK(pos >= 0 && pos < n_ctx_ && off >= 0 && n >= 0 && off + n <= row,
             "[kv_cache] load: position ", pos, " elements [", off, ", ", off + n,
             ") outside [0, ", n_ctx_, ") x [0, ", row, ")");
    const char* p = base(slot, layer, v, "load") + (pos * row + off) * kv_type_bytes(type_);
    if (type_ == KvType::f16)
        convert_f16_to_f32(dst, reinterpret_cast<const uint16_t*>(p), n);
    else
        std::memcpy(dst, p, sizeof(float) * (size_t)n);
}

void KvCache::store_k(int32_t slot, int64_t layer, int64_t pos, int64_t off, const float* src,
                      int64_t n) {
    store(false, slot, layer, pos, off, src, n);
}
void KvCache::store_v(int32_t slot, int64_t layer, int64_t pos, int64_t off, const float* src,
                      int64_t n) {
    store(true, slot, layer, pos, off, src, n);
}
void KvCache::load_k(int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
                     int64_t n) const {
    load(false, slot, layer, pos, off, dst, n);
}
void KvCache::load_v(int32_t slot, int64_t layer, int64_t pos, int64_t off, float* dst,
                     int64_t n) const {
    load(true, slot, layer, pos, off, dst, n);
}

}  // namespace r1
