// AVX2 + FMA versions of the attention tile kernels (contracts in attention_kernels.h), for
// CPUs without AVX-512.
//   tile_gemm: 3 rows × up to 32 columns (12 ymm accumulators + 3 broadcasts + 1 B vector =
//              all 16 registers); ragged last vector through vmaskmovps.
//   exp:       same Cephes-style polynomial as the AVX-512 file; 2ⁿ is built in the exponent
//              bits, so inputs are clamped to [−87.3, 88.3] (exp(−87.3) ≈ 1e−38, not 0).
#include <immintrin.h>

#include <cmath>

#include "backend/cpu/attention_kernels.h"

namespace r1::cpu {
namespace {

inline __m256i tail_mask(int64_t n) {  // lanes < n (n in [1, 8]) set
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

template <int R, int NV>
void block(int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
           float* C, int64_t ldc, __m256i last, bool accumulate) {
    __m256 c[R][NV];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            c[r][v] = !accumulate      ? _mm256_setzero_ps()
                      : v == NV - 1    ? _mm256_maskload_ps(C + r * ldc + 8 * v, last)
                                       : _mm256_loadu_ps(C + r * ldc + 8 * v);
    for (int64_t k = 0; k < K; k++) {
        const float* ak = A + k * a_cs;
        const float* bk = B + k * ldb;
        __m256 a[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) a[r] = _mm256_broadcast_ss(ak + r * a_rs);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            const __m256 b = v == NV - 1 ? _mm256_maskload_ps(bk + 8 * v, last)
                                         : _mm256_loadu_ps(bk + 8 * v);
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) c[r][v] = _mm256_fmadd_ps(a[r], b, c[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            if (v == NV - 1)
                _mm256_maskstore_ps(C + r * ldc + 8 * v, last, c[r][v]);
            else
                _mm256_storeu_ps(C + r * ldc + 8 * v, c[r][v]);
        }
}

using BlockFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                         int64_t, __m256i, bool);

template <int R>
BlockFn pick_nv(int nv) {
    switch (nv) {
        case 1: return block<R, 1>;
        case 2: return block<R, 2>;
        case 3: return block<R, 3>;
        default: return block<R, 4>;
    }
}

BlockFn pick(int rows, int nv) {
    switch (rows) {
        case 1: return pick_nv<1>(nv);
        case 2: return pick_nv<2>(nv);
        default: return pick_nv<3>(nv);
    }
}

inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                         _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

}  // namespace

void tile_gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs, int64_t a_cs,
                    const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
    for (int64_t n0 = 0; n0 < N; n0 += 32) {
        const int64_t nn = N - n0 < 32 ? N - n0 : 32;
        const int nv = (int)((nn + 7) / 8);
        const __m256i last = tail_mask(nn - 8 * (nv - 1));
        const BlockFn full = pick(3, nv);
        int64_t i = 0;
        for (; i + 3 <= M; i += 3)
            full(K, A + i * a_rs, a_rs, a_cs, B + n0, ldb, C + i * ldc + n0, ldc, last,
                 accumulate);
        if (i < M)
            pick((int)(M - i), nv)(K, A + i * a_rs, a_rs, a_cs, B + n0, ldb, C + i * ldc + n0,
                                   ldc, last, accumulate);
    }
}

float exp_row_avx2(float* x, int64_t n, float scale, float sub) {
    const __m256 vs = _mm256_set1_ps(scale), vsub = _mm256_set1_ps(sub);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j += 8) {
        const __m256i m = tail_mask(n - j < 8 ? n - j : 8);
        const __m256 e = _mm256_and_ps(
            exp256(_mm256_fmsub_ps(_mm256_maskload_ps(x + j, m), vs, vsub)),
            _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + j, m, e);
        acc = _mm256_add_ps(acc, e);
    }
    return hsum(acc);
}

float exp_row_mom_avx2(float* x, int64_t n, float sub, float* sum_ex) {
    const __m256 vsub = _mm256_set1_ps(sub);
    __m256 acc = _mm256_setzero_ps(), acc_ex = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j += 8) {
        const __m256i m = tail_mask(n - j < 8 ? n - j : 8);
        const __m256 mf = _mm256_castsi256_ps(m);
        const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vsub), mf);
        const __m256 e = _mm256_and_ps(exp256(d), mf);
        _mm256_maskstore_ps(x + j, m, e);
        acc = _mm256_add_ps(acc, e);
        acc_ex = _mm256_fmadd_ps(e, d, acc_ex);
    }
    *sum_ex = hsum(acc_ex);
    return hsum(acc);
}

float max_row_avx2(const float* x, int64_t n) {
    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += 8) {
        const __m256i m = tail_mask(n - j < 8 ? n - j : 8);
        const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + j, m),
                                          _mm256_castsi256_ps(m));
        mx = _mm256_max_ps(mx, v);
    }
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

}  // namespace r1::cpu
