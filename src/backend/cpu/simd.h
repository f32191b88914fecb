// Internal: a thin float-vector layer so each element-wise kernel is written once and
// compiled for two ISAs. Include ONLY from a *_avx2.cpp / *_avx512.cpp file that first
// defines R1_SIMD_LEVEL (1 = AVX2+FMA, 8 lanes; 2 = AVX-512, 16 lanes).
//
// Everything here lives in namespace r1::cpu::avx2 or r1::cpu::avx512 (R1_SIMD_NS), so the
// inline helpers compiled with different -m flags never share a symbol (no ODR mix-up where
// the linker could pick an AVX-512 copy for an AVX2 caller).
//
// Math accuracy (checked against std:: in tests/unit/test_ops_elementwise.cpp):
//   vexp: Cephes expf range reduction + degree-6 polynomial, ~2 ulp on [-87, 88].
//         AVX-512 scales with vscalefps, so it is full range (subnormal results, 0, +Inf);
//         AVX2 flushes results below FLT_MIN (x < -87.34) to 0 and returns +Inf above 88.37.
//   NaN inputs propagate.
#pragma once
// GCC 12 reports -Wmaybe-uninitialized from inside its own AVX-512 intrinsics (the
// _mm*_undefined_* pass-through operands, GCC bug 105593); only kernel TUs include this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#if !defined(R1_SIMD_LEVEL)
#error "define R1_SIMD_LEVEL before including backend/cpu/simd.h"
#endif

#if R1_SIMD_LEVEL == 2
#define R1_SIMD_NS avx512
#else
#define R1_SIMD_NS avx2
#endif

namespace r1::cpu::R1_SIMD_NS {

#if R1_SIMD_LEVEL == 2
// ---------------------------------------------------------------- AVX-512: 16 lanes
constexpr int kW = 16;
struct VF {
    __m512 v;
};
inline __mmask16 lanes(int64_t r) { return (__mmask16)((1u << r) - 1u); }  // r in [0, 16)
inline VF vset1(float a) { return {_mm512_set1_ps(a)}; }
inline VF vzero() { return {_mm512_setzero_ps()}; }
inline VF vload(const float* p) { return {_mm512_loadu_ps(p)}; }
// First r lanes from p, the rest 0 (r < kW); never touches memory past p + r.
inline VF vload_n(const float* p, int64_t r) { return {_mm512_maskz_loadu_ps(lanes(r), p)}; }
inline VF vload_n_fill(const float* p, int64_t r, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), lanes(r), p)};
}
inline void vstore(float* p, VF a) { _mm512_storeu_ps(p, a.v); }
inline void vstore_n(float* p, VF a, int64_t r) { _mm512_mask_storeu_ps(p, lanes(r), a.v); }
inline VF operator+(VF a, VF b) { return {_mm512_add_ps(a.v, b.v)}; }
inline VF operator-(VF a, VF b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline VF operator*(VF a, VF b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline VF operator/(VF a, VF b) { return {_mm512_div_ps(a.v, b.v)}; }
inline VF vfmadd(VF a, VF b, VF c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }    // a*b + c
inline VF vfnmadd(VF a, VF b, VF c) { return {_mm512_fnmadd_ps(a.v, b.v, c.v)}; }  // c - a*b
inline VF vfmsub(VF a, VF b, VF c) { return {_mm512_fmsub_ps(a.v, b.v, c.v)}; }    // a*b - c
// min/max return the SECOND operand when either is NaN: pass the data second to keep NaN.
inline VF vmax(VF a, VF b) { return {_mm512_max_ps(a.v, b.v)}; }
inline VF vmin(VF a, VF b) { return {_mm512_min_ps(a.v, b.v)}; }
inline VF vabs(VF a) { return {_mm512_abs_ps(a.v)}; }
inline VF vneg(VF a) {
    return {_mm512_castsi512_ps(
        _mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32((int)0x80000000u)))};
}
// a < b ? t : f   (false for NaN)
inline VF vselect_lt(VF a, VF b, VF t, VF f) {
    return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ), f.v, t.v)};
}
// (Not _mm512_reduce_*_ps: GCC 12 warns about its _mm512_undefined temporaries.)
// 1/a for finite a with |a| in [2^-126, 2^126]: vrcp14ps + one Newton step (~1 ulp),
// about a third of vdivps' cost.
inline VF vrcp(VF a) {
    const __m512 r = _mm512_rcp14_ps(a.v);
    return {_mm512_fmadd_ps(r, _mm512_fnmadd_ps(a.v, r, _mm512_set1_ps(1.0f)), r)};
}
inline float vhsum(VF a) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a.v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float vhmax(VF a) {
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a.v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
// Lanes [r, kW) set to 0.
inline VF vkeep_n(VF a, int64_t r) { return {_mm512_maskz_mov_ps(lanes(r), a.v)}; }

inline VF vexp(VF x) {
    const __m512 xc = _mm512_min_ps(_mm512_set1_ps(88.7228394f),
                                    _mm512_max_ps(_mm512_set1_ps(-104.0f), x.v));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512 y = _mm512_scalef_ps(p, n);  // p * 2^n with IEEE overflow/underflow
    // Inputs beyond the clamp: +Inf above, 0 below (the clamp only protects the reduction).
    y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x.v, _mm512_set1_ps(88.7228394f), _CMP_GT_OQ),
                             y, _mm512_set1_ps(__builtin_inff()));
    y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x.v, _mm512_set1_ps(-104.0f), _CMP_NLT_UQ), y);
    return {y};
}

#else
// ---------------------------------------------------------------- AVX2 + FMA: 8 lanes
constexpr int kW = 8;
struct VF {
    __m256 v;
};
inline __m256i lanes(int64_t r) {  // r in [0, 8): first r lanes all-ones
    alignas(32) static const int32_t tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256((const __m256i*)(tbl + 8 - r));
}
inline VF vset1(float a) { return {_mm256_set1_ps(a)}; }
inline VF vzero() { return {_mm256_setzero_ps()}; }
inline VF vload(const float* p) { return {_mm256_loadu_ps(p)}; }
inline VF vload_n(const float* p, int64_t r) { return {_mm256_maskload_ps(p, lanes(r))}; }
inline VF vload_n_fill(const float* p, int64_t r, float fill) {
    const __m256i m = lanes(r);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m),
                             _mm256_castsi256_ps(m))};
}
inline void vstore(float* p, VF a) { _mm256_storeu_ps(p, a.v); }
inline void vstore_n(float* p, VF a, int64_t r) { _mm256_maskstore_ps(p, lanes(r), a.v); }
inline VF operator+(VF a, VF b) { return {_mm256_add_ps(a.v, b.v)}; }
inline VF operator-(VF a, VF b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline VF operator*(VF a, VF b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline VF operator/(VF a, VF b) { return {_mm256_div_ps(a.v, b.v)}; }
inline VF vfmadd(VF a, VF b, VF c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline VF vfnmadd(VF a, VF b, VF c) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }
inline VF vfmsub(VF a, VF b, VF c) { return {_mm256_fmsub_ps(a.v, b.v, c.v)}; }
inline VF vmax(VF a, VF b) { return {_mm256_max_ps(a.v, b.v)}; }
inline VF vmin(VF a, VF b) { return {_mm256_min_ps(a.v, b.v)}; }
inline VF vabs(VF a) {
    return {_mm256_and_ps(a.v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)))};
}
inline VF vneg(VF a) { return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))}; }
inline VF vselect_lt(VF a, VF b, VF t, VF f) {
    return {_mm256_blendv_ps(f.v, t.v, _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ))};
}
// 1/a for finite a with |a| in [2^-126, 2^126]: vrcpps (12 bits) + one Newton step (~2 ulp).
inline VF vrcp(VF a) {
    const __m256 r = _mm256_rcp_ps(a.v);
    return {_mm256_fmadd_ps(r, _mm256_fnmadd_ps(a.v, r, _mm256_set1_ps(1.0f)), r)};
}
inline float vhsum(VF a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float vhmax(VF a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline VF vkeep_n(VF a, int64_t r) { return {_mm256_and_ps(a.v, _mm256_castsi256_ps(lanes(r)))}; }

inline VF vexp(VF x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447504f);
    const __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(lo, x.v));
    // n <= 127 so 2^n stays a normal float built from exponent bits.
    const __m256 n = _mm256_min_ps(
        _mm256_set1_ps(127.0f),
        _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x.v, hi, _CMP_GT_OQ));
    y = _mm256_andnot_ps(_mm256_cmp_ps(x.v, lo, _CMP_LT_OQ), y);
    return {y};
}
#endif

// ---------------------------------------------------------------- shared, built on the above

// 1 / (1 + exp(-x)) with exp's argument capped at 80, so no Inf appears (1 - s is then
// computed as e * s without Inf * 0) and 1 + e stays in vrcp's range. For x < -80 this
// returns 1.8e-35 instead of ~0: harmless in every product it feeds. Returns s and e.
inline VF vsigmoid(VF x, VF* e_out) {
    const VF e = vexp(vmin(vset1(80.0f), vneg(x)));
    const VF s = vrcp(vset1(1.0f) + e);
    if (e_out) *e_out = e;
    return s;
}

}  // namespace r1::cpu::R1_SIMD_NS
