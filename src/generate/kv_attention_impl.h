// The body of kv_attend (kv_attention.h), compiled three times: by kv_attention.cpp with the
// baseline flags and by backend/cpu/kv_attention_{avx2,avx512}.cpp with their ISA flags (the
// compiler vectorises the same loops 8 / 16 wide). Include it only from those files: it
// defines functions with internal linkage so each copy keeps its own instruction set.
//
// Bit-identical across the three copies: every sum keeps its order (dot8's 8 partial sums are
// lanes; the value accumulation is elementwise), and fp-contract is off here, so the
// FMA-capable copies never fuse a multiply-add the baseline rounds twice.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "core/dtype.h"
#include "generate/kv_attention.h"

#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")

namespace r1 {
namespace {

// Positions per converted tile: 32 rows of up to 576 floats (DeepSeek-V3 latent) = 72 KiB.
constexpr int64_t kKvTile = 32;

// Dot product with 8 independent partial sums (the compiler vectorises it; a single running
// sum cannot be reordered without -ffast-math). Fixed order: deterministic.
inline float kv_dot8(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float d = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) d += a[i] * b[i];
    return d;
}

// Rows [j0, j1) of width w as f32: the rows themselves for an f32 cache (stride `stride`),
// else converted with `cvt` (an inlinable f16 -> f32 row converter, exact widening) into
// `tile` (stride w). Returns the first row; *rs = its stride.
template <typename Cvt>
inline const float* kv_rows_f32(const void* base, KvType type, int64_t stride, int64_t j0,
                                int64_t j1, int64_t w, std::vector<float>& tile, Cvt cvt,
                                int64_t* rs) {
    if (type == KvType::f32) {
        *rs = stride;
        return static_cast<const float*>(base) + j0 * stride;
    }
    const uint16_t* src = static_cast<const uint16_t*>(base);
    if ((int64_t)tile.size() < (j1 - j0) * w) tile.resize((size_t)((j1 - j0) * w));
    if (stride == w)  // contiguous rows (one kv head, e.g. the MLA latent): one call
        cvt(tile.data(), src + j0 * stride, (j1 - j0) * w);
    else
        for (int64_t j = j0; j < j1; j++) cvt(tile.data() + (j - j0) * w, src + j * stride, w);
    *rs = w;
    return tile.data();
}

#if defined(__F16C__)
// f16 -> f32 rows with F16C (vcvtph2ps: exact, the same values as the scalar f16_to_f32), for
// the copies compiled with the AVX2 / AVX-512 flags; inlined into the tile conversion.
inline void kv_f16c_rows(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}
#endif

// kv_attend_block's contract (kv_attention.h); cvt converts f16 rows (unused for f32).
template <typename Cvt>
inline void kv_attend_block_impl(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                                 const KvQueryBlock& b, KvAttnScratch& scratch, Cvt cvt) {
    const int64_t nr = b.n_tok * b.n_q, Lmax = b.L0 + b.n_tok - 1;
    std::vector<float>& sc = scratch.sc;  // [n_tok, n_q, Lmax] scores, then probabilities
    if ((int64_t)sc.size() < nr * Lmax) sc.resize((size_t)(nr * Lmax));
    // pass 1: scores; each K tile is converted once for every (token, head) of the block
    for (int64_t j0 = 0; j0 < Lmax; j0 += kKvTile) {
        const int64_t j1 = Lmax < j0 + kKvTile ? Lmax : j0 + kKvTile;
        int64_t rs = 0;
        const float* K = kv_rows_f32(kv.k, kv.type, kv.k_stride, j0, j1, dqk, scratch.tile, cvt, &rs);
        for (int64_t t = 0; t < b.n_tok; t++) {
            const int64_t L = b.L0 + t, je = L < j1 ? L : j1;
            for (int64_t h = 0; h < b.n_q; h++) {
                const float* q = b.q + t * b.q_tok_stride + h * b.q_head_stride;
                float* s = sc.data() + (t * b.n_q + h) * Lmax;
                for (int64_t j = j0; j < je; j++) s[j] = kv_dot8(q, K + (j - j0) * rs, dqk) * scale;
            }
        }
    }
    // pass 2: softmax numerators per (token, head); outputs zeroed
    std::vector<float>& inv = scratch.inv;
    inv.resize((size_t)nr);
    for (int64_t t = 0; t < b.n_tok; t++)
        for (int64_t h = 0; h < b.n_q; h++) {
            const int64_t L = b.L0 + t;
            float* s = sc.data() + (t * b.n_q + h) * Lmax;
            float mx = -INFINITY;
            for (int64_t j = 0; j < L; j++) mx = s[j] > mx ? s[j] : mx;
            float sum = 0;
            for (int64_t j = 0; j < L; j++) {
                s[j] = std::exp(s[j] - mx);
                sum += s[j];
            }
            inv[(size_t)(t * b.n_q + h)] = 1.0f / sum;
            float* o = b.o + t * b.o_tok_stride + h * b.o_head_stride;
            for (int64_t i = 0; i < dv; i++) o[i] = 0.0f;
        }
    // pass 3: values, one V tile conversion per block, accumulated in position order
    for (int64_t j0 = 0; j0 < Lmax; j0 += kKvTile) {
        const int64_t j1 = Lmax < j0 + kKvTile ? Lmax : j0 + kKvTile;
        int64_t rs = 0;
        const float* Vt = kv_rows_f32(kv.v, kv.type, kv.v_stride, j0, j1, dv, scratch.tile, cvt, &rs);
        for (int64_t t = 0; t < b.n_tok; t++) {
            const int64_t L = b.L0 + t, je = L < j1 ? L : j1;
            for (int64_t h = 0; h < b.n_q; h++) {
                const float* p = sc.data() + (t * b.n_q + h) * Lmax;
                float* o = b.o + t * b.o_tok_stride + h * b.o_head_stride;
                for (int64_t j = j0; j < je; j++) {
                    const float pj = p[j];
                    const float* vr = Vt + (j - j0) * rs;
                    for (int64_t i = 0; i < dv; i++) o[i] += pj * vr[i];
                }
            }
        }
    }
    for (int64_t t = 0; t < b.n_tok; t++)
        for (int64_t h = 0; h < b.n_q; h++) {
            const float f = inv[(size_t)(t * b.n_q + h)];
            float* o = b.o + t * b.o_tok_stride + h * b.o_head_stride;
            for (int64_t i = 0; i < dv; i++) o[i] *= f;
        }
}

}  // namespace
}  // namespace r1

#pragma GCC pop_options
