// Attention of a block of query tokens × heads against one kv head of a KV-cache slot (the
// inner loop of generate/forward.cpp), for f32 or f16 cache rows. Compute is f32 throughout: f16 K/V
// rows are converted to f32 a tile of positions at a time (F16C vcvtph2ps, inlined in the
// AVX2 / AVX-512 copies of the kernel; exact widening) inside the loop, never the whole cache
// per step, and a tile is converted once for all the query tokens and heads that share it
// (prefill tokens of a sequence, GQA group, MLA latent heads).
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

// Reusable per-thread scratch (scores, converted tile, 1/sum per row).
struct KvAttnScratch {
    std::vector<float> sc, tile, inv;
};

// Consecutive tokens of one sequence against one kv head: token t (0 <= t < n_tok) attends
// positions [0, L0 + t) (causal: the step's tokens sit at positions L0 - 1, L0, ...), with
// query head h (0 <= h < n_q) at q + t·q_tok_stride + h·q_head_stride (dqk floats) and its
// output at o + t·o_tok_stride + h·o_head_stride (dv floats). L0 >= 1.
struct KvQueryBlock {
    const float* q = nullptr;
    int64_t q_head_stride = 0, q_tok_stride = 0;
    float* o = nullptr;
    int64_t o_head_stride = 0, o_tok_stride = 0;
    int64_t n_q = 1, n_tok = 1, L0 = 1;
};

// o = softmax_j(q · K[j] · scale, j < L) · V[j] for every (token, head) of the block. One
// K/V tile conversion serves the whole block (a prefill's tokens, a GQA group's heads).
// Runs the copy compiled for the active ISA (backend/cpu/kv_attention_{avx2,avx512}.cpp);
// all copies give bit-identical results.
void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                     const KvQueryBlock& b, KvAttnScratch& scratch);

// One token: for query head h in [0, n_q): o[h·o_stride + (0..dv)] =
//   softmax_j(q_h · K[j] · scale, j in [0, L)) · V[j]        (q_h = q + h·q_stride, dqk floats)
// L >= 1. (kv_attend_block with n_tok = 1, L0 = L.)
void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride,
               KvAttnScratch& scratch);

namespace ref {
void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride);
}  // namespace ref

}  // namespace r1
