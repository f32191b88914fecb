// AVX-512 row conversions f32 <-> f16/bf16 (16 lanes, masked tails), Q8_0 quantisation and
// Q8_0/Q4_0 dequantisation, all bit-identical to the scalar rules in core/dtype.cpp.
// Q8_0: amax by vector max (exact, order-free), then roundf(x*id) done exactly as
// trunc + (|frac| >= 0.5 ? ±1 : 0); a block holding a NaN or Inf takes the scalar path
// (ggml's MAX() through NaN is order-dependent, and Inf makes x*id NaN, whose int8
// conversion only the scalar cvttss2si-then-truncate defines the same way).
// bf16: deliberately NOT vcvtneps2bf16 - that instruction treats f32 subnormal inputs as
// zero, while ggml's GGML_FP32_TO_BF16 (our contract) rounds them; the integer form below is
// bit-exact and the loop is memory-bound either way.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 intrinsics (bug 105593)
#include <immintrin.h>

#include "backend/cpu/convert_kernels.h"
#include "core/dtype.h"

namespace r1::cpu::avx512 {
namespace {
inline __mmask16 tail_mask(int64_t r) { return (__mmask16)((1u << r) - 1u); }

inline __m512i f32_to_bf16_lanes(__m512 v) {
    const __m512i x = _mm512_castps_si512(v);
    const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(
        _mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    const __m512i hi = _mm512_srli_epi32(x, 16);
    const __m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
    return _mm512_mask_or_epi32(r, is_nan, hi, _mm512_set1_epi32(64));
}
}  // namespace

void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i*)(dst + i), h);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(dst + i, m, h);
    }
}

void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(src + i))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i*)(dst + i),
                            _mm512_cvtepi32_epi16(f32_to_bf16_lanes(_mm512_loadu_ps(src + i))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, m,
                                          f32_to_bf16_lanes(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, src + i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t nb) {
    const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < nb; i++) {
        const float* x = src + i * kQK;
        const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        const bool has_nan = _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q);
        const __m512 m = _mm512_max_ps(_mm512_and_ps(v0, abs_mask), _mm512_and_ps(v1, abs_mask));
        __m256 h = _mm256_max_ps(_mm512_castps512_ps256(m),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m), 1)));
        __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        q = _mm_max_ps(q, _mm_movehl_ps(q, q));
        q = _mm_max_ss(q, _mm_movehdup_ps(q));
        const float amax = _mm_cvtss_f32(q);
        if (has_nan || !(amax < __builtin_inff())) {  // NaN/Inf: the scalar rules
            r1::ref::quantize_q8_0(dst + i, x, kQK);
            continue;
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        dst[i].d = f32_to_f16(d);
        const __m512 vid = _mm512_set1_ps(id);
        for (int k = 0; k < 2; k++) {
            const __m512 v = _mm512_mul_ps(k ? v1 : v0, vid);
            const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m512 frac = _mm512_and_ps(_mm512_sub_ps(v, t), abs_mask);
            const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
            // ±1 with the sign of v (v's sign bit OR 1.0)
            const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f),
                                            _mm512_andnot_ps(abs_mask, v));
            const __m512 r = _mm512_mask_add_ps(t, up, t, one);
            _mm_storeu_si128((__m128i*)(dst[i].qs + 16 * k),
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(r)));
        }
    }
}

void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const __m512 d = _mm512_set1_ps(f16_to_f32(src[i].d));
        for (int k = 0; k < 2; k++) {
            const __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(src[i].qs + 16 * k)));
            _mm512_storeu_ps(dst + i * kQK + 16 * k, _mm512_mul_ps(_mm512_cvtepi32_ps(q), d));
        }
    }
}

void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t nb) {
    const __m128i low4 = _mm_set1_epi8(0x0f);
    const __m512i eight = _mm512_set1_epi32(8);
    for (int64_t i = 0; i < nb; i++) {
        const __m512 d = _mm512_set1_ps(f16_to_f32(src[i].d));
        const __m128i b = _mm_loadu_si128((const __m128i*)src[i].qs);
        const __m128i lo = _mm_and_si128(b, low4);                     // weights 0..15
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), low4);  // weights 16..31
        const __m512i q0 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(lo), eight);
        const __m512i q1 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(hi), eight);
        _mm512_storeu_ps(dst + i * kQK, _mm512_mul_ps(_mm512_cvtepi32_ps(q0), d));
        _mm512_storeu_ps(dst + i * kQK + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(q1), d));
    }
}

}  // namespace r1::cpu::avx512
