// AVX2 + F16C row conversions f32 <-> f16/bf16. vcvtps2ph/vcvtph2ps round and treat NaN
// exactly as core/dtype.cpp's scalar functions; bf16 uses ggml's integer rounding (RNE on
// the top half, NaN quietened) in vector form. Tails go through the scalar functions.
// Q8_0 quantisation / Q8_0, Q4_0 dequantisation: bit-identical to core/dtype.cpp's scalar
// rules (see convert_avx512.cpp for how roundf and NaN blocks are handled).
#include <immintrin.h>

#include "backend/cpu/convert_kernels.h"
#include "core/dtype.h"

namespace r1::cpu::avx2 {

void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i*)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + i))));
    for (; i < n; i++) dst[i] = f16_to_f32(src[i]);
}

void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
    const __m256i quiet = _mm256_set1_epi32(64);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, lsb)), 16);
        __m256i nan = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
        r = _mm256_blendv_epi8(r, nan, is_nan);
        // 8 x u32 (each < 2^16) -> 8 x u16: packus works per 128-bit lane, then fix the order
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xD8);
        _mm_storeu_si128((__m128i*)(dst + i), _mm256_castsi256_si128(p));
    }
    for (; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; i++) dst[i] = bf16_to_f32(src[i]);
}

void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t nb) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t i = 0; i < nb; i++) {
        const float* x = src + i * kQK;
        __m256 v[4];
        __m256 m = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v[k], v[k], _CMP_UNORD_Q));
            m = _mm256_max_ps(m, _mm256_and_ps(v[k], abs_mask));
        }
        __m128 q = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        q = _mm_max_ps(q, _mm_movehl_ps(q, q));
        q = _mm_max_ss(q, _mm_movehdup_ps(q));
        const float amax = _mm_cvtss_f32(q);
        if (_mm256_movemask_ps(nan) || !(amax < __builtin_inff())) {  // NaN/Inf: scalar rules
            r1::ref::quantize_q8_0(dst + i, x, kQK);
            continue;
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        dst[i].d = f32_to_f16(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i qi[4];
        for (int k = 0; k < 4; k++) {
            const __m256 s = _mm256_mul_ps(v[k], vid);
            const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 frac = _mm256_and_ps(_mm256_sub_ps(s, t), abs_mask);
            const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
            const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_andnot_ps(abs_mask, s));
            qi[k] = _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
        }
        // 4 x 8 int32 -> 32 int8: packs work per 128-bit lane, so restore the order after.
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]),
                                             _mm256_packs_epi32(qi[2], qi[3]));
        _mm256_storeu_si256((__m256i*)dst[i].qs,
                            _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
}

void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const __m256 d = _mm256_set1_ps(f16_to_f32(src[i].d));
        for (int k = 0; k < 4; k++) {
            const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(src[i].qs + 8 * k)));
            _mm256_storeu_ps(dst + i * kQK + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t nb) {
    const __m128i low4 = _mm_set1_epi8(0x0f);
    const __m256i eight = _mm256_set1_epi32(8);
    for (int64_t i = 0; i < nb; i++) {
        const __m256 d = _mm256_set1_ps(f16_to_f32(src[i].d));
        const __m128i b = _mm_loadu_si128((const __m128i*)src[i].qs);
        const __m128i nib[2] = {_mm_and_si128(b, low4),                     // weights 0..15
                                _mm_and_si128(_mm_srli_epi16(b, 4), low4)};  // weights 16..31
        for (int k = 0; k < 4; k++) {
            const __m128i bytes = k & 1 ? _mm_srli_si128(nib[k / 2], 8) : nib[k / 2];
            const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), eight);
            _mm256_storeu_ps(dst + i * kQK + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

}  // namespace r1::cpu::avx2
