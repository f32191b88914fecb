// AVX-512 row conversions f32 <-> f16/bf16 (16 lanes, masked tails).
// bf16: deliberately NOT vcvtneps2bf16 - that instruction treats f32 subnormal inputs as
// zero, while ggml's GGML_FP32_TO_BF16 (our contract) rounds them; the integer form below is
// bit-exact and the loop is memory-bound either way.
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

}  // namespace r1::cpu::avx512
