// Attention of a group of query heads against one kv head of a KV-cache slot (the inner loop
// of generate/forward.cpp), for f32 or f16 cache rows. Compute is f32 throughout: f16 K/V
// rows are converted to f32 a tile of positions at a time (F16C / AVX-512 vcvtph2ps via
// core/dtype.h's convert_f16_to_f32) inside the loop, never the whole cache per step, and a
// tile is converted once for all the query heads that share it (GQA group, MLA latent heads).
//
// Numerics: each head's result is computed in an order that does not depend on which other
// heads share the call (scores with dot8 over positions 0..L-1, a two-pass softmax, values
// accumulated in position order), so batching or splitting heads differently gives
// bit-identical rows (batch invariance). With f32 rows it is bit-identical to the loop
// forward.cpp used before f16 caches existed. ref::kv_attend is the obviously-correct plain
// loop (scalar conversions, sequential sums) the fast version is tested against.
#pragma once
#include <cstdint>
#include <vector>

#include "generate/kv_cache.h"

namespace r1 {

// The cached rows of one kv head: row j of K is at element j·k_stride of k (already offset to
// this head), likewise V; elements of `type`.
struct KvHeadRows {
    const void* k = nullptr;
    const void* v = nullptr;
    KvType type = KvType::f32;
    int64_t k_stride = 0, v_stride = 0;  // elements between positions
};

// Reusable per-thread scratch (scores, converted tile).
struct KvAttnScratch {
    std::vector<float> sc, tile, inv;
};

// For query head h in [0, n_q): o[h·o_stride + (0..dv)] =
//   softmax_j(q_h · K[j] · scale, j in [0, L)) · V[j]        (q_h = q + h·q_stride, dqk floats)
// L >= 1.
void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride,
               KvAttnScratch& scratch);

namespace ref {
void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride);
}  // namespace ref

}  // namespace r1
