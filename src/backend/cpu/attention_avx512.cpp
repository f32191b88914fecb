// AVX-512 versions of the attention tile kernels (contracts in attention_kernels.h).
//   tile_gemm: register-blocked 6 rows × up to 64 columns (24 zmm accumulators); A entries
//              are broadcast from any stride (so Aᵀ costs nothing), B rows are loaded with a
//              mask on the ragged last vector (masked loads do not fault past the end).
//   exp_row:   Cephes-style expf (range reduction to [−ln2/2, ln2/2], degree-6 polynomial,
//              vscalefps for 2ⁿ, which also flushes large negative inputs to 0): ≈ 2 ulp.
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_ps.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>

#include "backend/cpu/attention_kernels.h"

namespace r1::cpu {
namespace {

inline __mmask16 tail_mask(int64_t n) {  // n in [1, 16]
    return (__mmask16)((n >= 16) ? 0xFFFF : ((1u << n) - 1));
}

template <int R, int NV>
void block(int64_t K, const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t ldb,
           float* C, int64_t ldc, __mmask16 last, bool accumulate) {
    __m512 c[R][NV];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            const __mmask16 m = v == NV - 1 ? last : (__mmask16)0xFFFF;
            c[r][v] = accumulate ? _mm512_maskz_loadu_ps(m, C + r * ldc + 16 * v)
                                 : _mm512_setzero_ps();
        }
    for (int64_t k = 0; k < K; k++) {
        __m512 b[NV];
        const float* bk = B + k * ldb;
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            b[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, bk + 16 * v)
                               : _mm512_loadu_ps(bk + 16 * v);
        const float* ak = A + k * a_cs;
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const __m512 a = _mm512_set1_ps(ak[r * a_rs]);
            #pragma GCC unroll 8
            for (int v = 0; v < NV; v++) c[r][v] = _mm512_fmadd_ps(a, b[v], c[r][v]);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            if (v == NV - 1)
                _mm512_mask_storeu_ps(C + r * ldc + 16 * v, last, c[r][v]);
            else
                _mm512_storeu_ps(C + r * ldc + 16 * v, c[r][v]);
        }
}

using BlockFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*,
                         int64_t, __mmask16, bool);

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
        case 3: return pick_nv<3>(nv);
        case 4: return pick_nv<4>(nv);
        case 5: return pick_nv<5>(nv);
        default: return pick_nv<6>(nv);
    }
}

inline __m512 exp512(__m512 x) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f);
    const __m512 ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));  // also maps −inf to a finite input
    x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
    const __m512 n =
        _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

}  // namespace

void tile_gemm_avx512(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_rs,
                      int64_t a_cs, const float* B, int64_t ldb, float* C, int64_t ldc,
                      bool accumulate) {
    for (int64_t n0 = 0; n0 < N; n0 += 64) {
        const int64_t nn = N - n0 < 64 ? N - n0 : 64;
        const int nv = (int)((nn + 15) / 16);
        const __mmask16 last = tail_mask(nn - 16 * (nv - 1));
        const BlockFn full = pick(6, nv);
        int64_t i = 0;
        for (; i + 6 <= M; i += 6)
            full(K, A + i * a_rs, a_rs, a_cs, B + n0, ldb, C + i * ldc + n0, ldc, last,
                 accumulate);
        if (i < M)
            pick((int)(M - i), nv)(K, A + i * a_rs, a_rs, a_cs, B + n0, ldb, C + i * ldc + n0,
                                   ldc, last, accumulate);
    }
}

// 16×16 blocks transposed in registers (unpack ps → unpack pd → two 128-bit lane shuffles);
// ragged edges through masked loads/stores.
void transpose_avx512(float* dst, int64_t ld, const float* src, int64_t stride, int64_t n,
                      int64_t hd) {
    for (int64_t j0 = 0; j0 < n; j0 += 16) {
        const int64_t nj = n - j0 < 16 ? n - j0 : 16;
        const __mmask16 jm = tail_mask(nj);
        for (int64_t d0 = 0; d0 < hd; d0 += 16) {
            const int64_t nd = hd - d0 < 16 ? hd - d0 : 16;
            const __mmask16 dm = tail_mask(nd);
            __m512 r[16], t[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < nj ? _mm512_maskz_loadu_ps(dm, src + (j0 + i) * stride + d0)
                              : _mm512_setzero_ps();
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {  // r[4i+j], lane L: column 4L+j of rows 4i..4i+3
                const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
                const __m512d c = _mm512_castps_pd(t[4 * i + 2]), e = _mm512_castps_pd(t[4 * i + 3]);
                r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
                r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
                r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
                r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
            }
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
                const __m512 b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
                const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
                const __m512 e = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
                t[j] = _mm512_shuffle_f32x4(a, c, 0x88);       // column j
                t[8 + j] = _mm512_shuffle_f32x4(a, c, 0xDD);   // column 8 + j
                t[4 + j] = _mm512_shuffle_f32x4(b, e, 0x88);   // column 4 + j
                t[12 + j] = _mm512_shuffle_f32x4(b, e, 0xDD);  // column 12 + j
            }
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                if (c < nd) _mm512_mask_storeu_ps(dst + (d0 + c) * ld + j0, jm, t[c]);
        }
    }
}

float exp_row_avx512(float* x, int64_t n, float scale, float sub) {
    const __m512 vs = _mm512_set1_ps(scale), vsub = _mm512_set1_ps(sub);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = tail_mask(n - j < 16 ? n - j : 16);
        __m512 v = _mm512_maskz_loadu_ps(m, x + j);
        v = exp512(_mm512_fmsub_ps(v, vs, vsub));
        _mm512_mask_storeu_ps(x + j, m, v);
        acc = _mm512_mask_add_ps(acc, m, acc, v);
    }
    return _mm512_reduce_add_ps(acc);
}

float exp_row_mom_avx512(float* x, int64_t n, float sub, float* sum_ex) {
    const __m512 vsub = _mm512_set1_ps(sub);
    __m512 acc = _mm512_setzero_ps(), acc_ex = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = tail_mask(n - j < 16 ? n - j : 16);
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vsub);
        const __m512 e = _mm512_maskz_mov_ps(m, exp512(d));
        _mm512_mask_storeu_ps(x + j, m, e);
        acc = _mm512_add_ps(acc, e);
        acc_ex = _mm512_fmadd_ps(e, _mm512_maskz_mov_ps(m, d), acc_ex);
    }
    *sum_ex = _mm512_reduce_add_ps(acc_ex);
    return _mm512_reduce_add_ps(acc);
}

float max_row_avx512(const float* x, int64_t n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = tail_mask(n - j < 16 ? n - j : 16);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, x + j));
    }
    return _mm512_reduce_max_ps(mx);
}

}  // namespace r1::cpu
