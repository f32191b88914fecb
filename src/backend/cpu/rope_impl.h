// Internal: RoPE kernels over simd.h, compiled by rope_avx2.cpp / rope_avx512.cpp.
//   neox:        the two halves of the rotated dims are two contiguous vectors.
//   interleaved: a vector holds kW/2 (even, odd) pairs; cos/sin are loaded once and
//                duplicated per pair, the pair partner comes from an in-lane swap, and
//                fmaddsub gives (a*c - b*s, b*c + a*s) in one instruction.
// Each vector is fully loaded before it is stored, so y == x (in place) is safe.
#include "backend/cpu/elementwise_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::R1_SIMD_NS {
namespace {

#if R1_SIMD_LEVEL == 2
// [p0, p0, p1, p1, ...] from r <= 8 floats at p.
inline VF vload_dup(const float* p, int64_t r) {
    const __m256 h = _mm256_maskz_loadu_ps((__mmask8)((1u << r) - 1u), p);
    const __m512i idx = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    return {_mm512_permutexvar_ps(idx, _mm512_castps256_ps512(h))};
}
inline VF vswap_pairs(VF a) { return {_mm512_permute_ps(a.v, 0xB1)}; }
inline VF vfmaddsub(VF a, VF b, VF c) { return {_mm512_fmaddsub_ps(a.v, b.v, c.v)}; }
#else
inline VF vload_dup(const float* p, int64_t r) {
    alignas(16) static const int32_t tbl[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
    const __m128 h = _mm_maskload_ps(p, _mm_loadu_si128((const __m128i*)(tbl + 4 - r)));
    const __m256i idx = _mm256_set_epi32(3, 3, 2, 2, 1, 1, 0, 0);
    return {_mm256_permutevar8x32_ps(_mm256_castps128_ps256(h), idx)};
}
inline VF vswap_pairs(VF a) { return {_mm256_permute_ps(a.v, 0xB1)}; }
inline VF vfmaddsub(VF a, VF b, VF c) { return {_mm256_fmaddsub_ps(a.v, b.v, c.v)}; }
#endif

// One head, neox layout: pairs (i, i + half).
inline void rope_head_neox(float* y, const float* x, const float* cs, const float* sn,
                           int64_t half, VF sign) {
    int64_t i = 0;
    for (; i + kW <= half; i += kW) {
        const VF a = vload(x + i), b = vload(x + half + i);
        const VF c = vload(cs + i), s = vload(sn + i) * sign;
        vstore(y + i, vfmsub(a, c, b * s));
        vstore(y + half + i, vfmadd(a, s, b * c));
    }
    if (i < half) {
        const int64_t r = half - i;
        const VF a = vload_n(x + i, r), b = vload_n(x + half + i, r);
        const VF c = vload_n(cs + i, r), s = vload_n(sn + i, r) * sign;
        vstore_n(y + i, vfmsub(a, c, b * s), r);
        vstore_n(y + half + i, vfmadd(a, s, b * c), r);
    }
}

// One head, interleaved layout: pairs (2i, 2i + 1).
inline void rope_head_interleaved(float* y, const float* x, const float* cs, const float* sn,
                                  int64_t half, VF sign) {
    constexpr int64_t P = kW / 2;  // pairs per vector
    int64_t i = 0;
    for (; i + P <= half; i += P) {
        const VF v = vload(x + 2 * i);
        const VF c = vload_dup(cs + i, P), s = vload_dup(sn + i, P) * sign;
        vstore(y + 2 * i, vfmaddsub(v, c, vswap_pairs(v) * s));
    }
    if (i < half) {
        const int64_t r = half - i;  // pairs left, < P
        const VF v = vload_n(x + 2 * i, 2 * r);
        const VF c = vload_dup(cs + i, r), s = vload_dup(sn + i, r) * sign;
        vstore_n(y + 2 * i, vfmaddsub(v, c, vswap_pairs(v) * s), 2 * r);
    }
}

}  // namespace

void rope_rows(float* y, const float* x, const int32_t* pos, int64_t n0, int64_t n1,
               int64_t n_head, int64_t token_stride, int64_t head_stride, const RopeTable& t,
               RopeLayout layout, float sign) {
    const int64_t half = t.rot_dim / 2;
    const VF vsign = vset1(sign);
    for (int64_t n = n0; n < n1; n++) {
        const float* cs = t.cos.data() + (int64_t)pos[n] * half;  // [half]
        const float* sn = t.sin.data() + (int64_t)pos[n] * half;
        for (int64_t h = 0; h < n_head; h++) {
            const int64_t off = n * token_stride + h * head_stride;
            if (layout == RopeLayout::neox) rope_head_neox(y + off, x + off, cs, sn, half, vsign);
            else rope_head_interleaved(y + off, x + off, cs, sn, half, vsign);
        }
    }
}

}  // namespace r1::cpu::R1_SIMD_NS
