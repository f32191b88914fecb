// AVX2 + F16C row conversions f32 <-> f16/bf16. vcvtps2ph/vcvtph2ps round and treat NaN
// exactly as core/dtype.cpp's scalar functions; bf16 uses ggml's integer rounding (RNE on
// the top half, NaN quietened) in vector form. Tails go through the scalar functions.
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

}  // namespace r1::cpu::avx2
