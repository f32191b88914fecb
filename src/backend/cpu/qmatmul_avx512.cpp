// AVX-512 (VNNI) kernels for products with stored weights (contract: qmatmul_kernels.h).
//
// Q8_0 weights go to the register-blocked GEMM in qmatmul_q8gemm_avx512.cpp (every M);
// q_prepare / q_rows below forward to it. This file keeps Q4_0 and the float weights.
//
// Q4_0: two 32-weight blocks (a "pair") per 512-bit register; each 32-bit lane of vpdpbusd
// (u8 × s8, 4 products) is exact, lanes are scaled by d_w·d_x and summed in f32 (two
// accumulators per row alternate pairs to hide FMA latency). A trailing odd block runs as a
// pair whose second block is zero weights with scale 0. Nibbles n ∈ [0, 15] are already u8:
// Σ(n-8)·x = Σ n·x − 8·Σx, and the −8·Σx of each block is the initial value of one lane
// (prepared with the activations). The 32 nibble bytes of a pair unpack with one shift and
// one AND to the 128-bit lanes [lo(b), lo(b+1), hi(b), hi(b+1)] (low nibble of byte j =
// weight j, high = j+16), so the activations are prepared in that order instead of
// shuffling weights.
// Prepared activations per pair: 64 int8, 16 int32 lane initial values, 16 f32 scales
// matching the byte layout. Up to kQRowTile activation rows share each weight load.
//
// Float weights: 16 lanes converted in registers (vcvtph2ps / bf16 << 16), FMA with x.
#include <algorithm>
#include <cstring>
#include <vector>

#define R1_SIMD_LEVEL 2
#include "backend/cpu/convert_kernels.h"
#include "backend/cpu/qmatmul_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::avx512 {
namespace {

struct alignas(64) XPair {
    int8_t q[64];
    int32_t init[16];  // Q4_0: −8·Σx of each block in its first lane, else 0
    float d[16];
};
static_assert(sizeof(XPair) == 192);

// Weights of blocks (2p, 2p+1) of a row as signed int8 plus their fp16 scales; `tail`
// means only block 2p exists (its partner reads as zero weights with scale 0).
struct WPair {
    __m512i q;
    __m512 d;
};

// d0, d1 spread over the lanes of their blocks (alternating quarters, the Q4_0 lane order).
inline __m512 scales(uint16_t d0, uint16_t d1) {
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | (uint32_t)d1 << 16)));
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

// Q4_0: unsigned nibbles in the lane order [lo(b), lo(b+1), hi(b), hi(b+1)].
template <bool Tail>
inline WPair load_pair(const BlockQ4_0* w) {
    const __m128i a = _mm_loadu_si128((const __m128i*)w[0].qs);
    const __m128i c = Tail ? _mm_setzero_si128() : _mm_loadu_si128((const __m128i*)w[1].qs);
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(a), c, 1);
    const __m512i n = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
    return {_mm512_and_si512(n, _mm512_set1_epi8(0x0f)), scales(w[0].d, Tail ? 0 : w[1].d)};
}

// y[r*ldy] = Σ over blocks for R activation rows (prepared rows at x0 + r*xstride pairs).
template <int R>
void q_tile(float* y, int64_t ldy, const XPair* x0, int64_t xstride, const BlockQ4_0* w, int64_t nb) {
    __m512 acc[R][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    auto step = [&](const WPair& wp, int64_t p, int slot) {
        for (int r = 0; r < R; r++) {
            const XPair& xp = x0[r * xstride + p];
            const __m512i dot = _mm512_dpbusd_epi32(_mm512_load_si512((const void*)xp.init), wp.q,
                                                    _mm512_load_si512((const void*)xp.q));
            acc[r][slot] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(wp.d, _mm512_load_ps(xp.d)),
                                           acc[r][slot]);
        }
    };
    const int64_t np = nb / 2;
    int64_t p = 0;
    for (; p + 2 <= np; p += 2) {
        step(load_pair<false>(w + 2 * p), p, 0);
        step(load_pair<false>(w + 2 * p + 2), p + 1, 1);
    }
    if (p < np) step(load_pair<false>(w + 2 * p), p, 0), p++;
    if (nb & 1) step(load_pair<true>(w + 2 * p), p, 1);
    for (int r = 0; r < R; r++) y[r * ldy] = vhsum(VF{_mm512_add_ps(acc[r][0], acc[r][1])});
}

void q4_rows(float* y, int64_t ldy, const XPair* xp, int64_t M, const BlockQ4_0* w, int64_t K,
             int64_t n0, int64_t n1) {
    const int64_t nb = K / kQK, np = (nb + 1) / 2;
    // Weight rows per n-block: ~192 KB stay in L2 while every row tile passes over them, so
    // weights come from memory once per call whatever M is.
    const int64_t nblk = std::max<int64_t>(1, (192 << 10) / (nb * (int64_t)sizeof(BlockQ4_0)));
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nblk) {
        const int64_t nb1 = std::min(n1, nb0 + nblk);
        for (int64_t r0 = 0; r0 < M; r0 += kQRowTile) {
            const XPair* x0 = xp + r0 * np;
            float* yr = y + r0 * ldy;
            switch (std::min(kQRowTile, M - r0)) {
                case 4: for (int64_t n = nb0; n < nb1; n++) q_tile<4>(yr + n, ldy, x0, np, w + n * nb, nb); break;
                case 3: for (int64_t n = nb0; n < nb1; n++) q_tile<3>(yr + n, ldy, x0, np, w + n * nb, nb); break;
                case 2: for (int64_t n = nb0; n < nb1; n++) q_tile<2>(yr + n, ldy, x0, np, w + n * nb, nb); break;
                default: for (int64_t n = nb0; n < nb1; n++) q_tile<1>(yr + n, ldy, x0, np, w + n * nb, nb); break;
            }
        }
    }
}

// ---- float weights
enum class FT { f32, f16, bf16 };

template <FT T>
inline __m512 loadw(const void* w, int64_t k) {
    if constexpr (T == FT::f32) return _mm512_loadu_ps((const float*)w + k);
    else if constexpr (T == FT::f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)((const uint16_t*)w + k)));
    else
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)((const uint16_t*)w + k))), 16));
}
template <FT T>
inline __m512 loadw_n(const void* w, int64_t k, int64_t r) {
    const __mmask16 m = lanes(r);
    if constexpr (T == FT::f32) return _mm512_maskz_loadu_ps(m, (const float*)w + k);
    else if constexpr (T == FT::f16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t*)w + k));
    else
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t*)w + k)), 16));
}

template <int R, FT T>
void f_tile(float* y, int64_t ldy, const float* x, int64_t ldx, const void* w, int64_t K) {
    __m512 acc[R][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        const __m512 w0 = loadw<T>(w, k), w1 = loadw<T>(w, k + 16);
        for (int r = 0; r < R; r++) {
            acc[r][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + r * ldx + k), acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + r * ldx + k + 16), acc[r][1]);
        }
    }
    if (k + 16 <= K) {
        const __m512 w0 = loadw<T>(w, k);
        for (int r = 0; r < R; r++)
            acc[r][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + r * ldx + k), acc[r][0]);
        k += 16;
    }
    if (k < K) {
        const __m512 w1 = loadw_n<T>(w, k, K - k);
        for (int r = 0; r < R; r++)
            acc[r][1] = _mm512_fmadd_ps(w1, _mm512_maskz_loadu_ps(lanes(K - k), x + r * ldx + k),
                                        acc[r][1]);
    }
    for (int r = 0; r < R; r++) y[r * ldy] = vhsum(VF{_mm512_add_ps(acc[r][0], acc[r][1])});
}

template <FT T>
void f_rows_t(float* y, int64_t ldy, const float* x, int64_t M, const void* w, int64_t K,
              int64_t n0, int64_t n1) {
    const int64_t esz = T == FT::f32 ? 4 : 2;
    const int64_t nblk = std::max<int64_t>(1, (192 << 10) / (K * esz));
    auto row = [&](int64_t n) { return (const void*)((const char*)w + n * K * esz); };
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nblk) {
        const int64_t nb1 = std::min(n1, nb0 + nblk);
        for (int64_t r0 = 0; r0 < M; r0 += kQRowTile) {
            const float* xr = x + r0 * K;
            float* yr = y + r0 * ldy;
            switch (std::min(kQRowTile, M - r0)) {
                case 4: for (int64_t n = nb0; n < nb1; n++) f_tile<4, T>(yr + n, ldy, xr, K, row(n), K); break;
                case 3: for (int64_t n = nb0; n < nb1; n++) f_tile<3, T>(yr + n, ldy, xr, K, row(n), K); break;
                case 2: for (int64_t n = nb0; n < nb1; n++) f_tile<2, T>(yr + n, ldy, xr, K, row(n), K); break;
                default: for (int64_t n = nb0; n < nb1; n++) f_tile<1, T>(yr + n, ldy, xr, K, row(n), K); break;
            }
        }
    }
}

}  // namespace

// 96 bytes per block: the Q4_0 pairs; the Q8_0 layout (q_prepare_q8) needs 40 and fits.
size_t qx_bytes(int64_t K) { return (size_t)((K / kQK + 1) / 2) * sizeof(XPair); }

void q_prepare(void* xp, const float* x, int64_t K, DType wtype) {
    if (wtype == DType::q8_0) return q_prepare_q8(xp, x, K);  // else Q4_0
    const int64_t nb = K / kQK, np = (nb + 1) / 2;
    thread_local std::vector<BlockQ8_0> tmp;  // grows to the largest K seen; never shrinks
    if ((int64_t)tmp.size() < nb) tmp.resize(nb);
    cpu::avx512::quantize_q8_0(tmp.data(), x, nb);  // bit-identical to ref::
    XPair* out = (XPair*)xp;
    for (int64_t p = 0; p < np; p++) {
        XPair& o = out[p];
        std::memset(&o, 0, sizeof(o));
        for (int h = 0; h < 2 && 2 * p + h < nb; h++) {
            const BlockQ8_0& b = tmp[2 * p + h];
            const float d = f16_to_f32(b.d);
            // lanes [lo(b), lo(b+1), hi(b), hi(b+1)]
            std::memcpy(o.q + 16 * h, b.qs, 16);
            std::memcpy(o.q + 32 + 16 * h, b.qs + 16, 16);
            int32_t sum = 0;
            for (int j = 0; j < kQK; j++) sum += b.qs[j];
            o.init[4 * h] = -8 * sum;
            for (int i = 0; i < 4; i++) o.d[4 * h + i] = o.d[8 + 4 * h + i] = d;
        }
    }
}

void q_rows(float* y, int64_t ldy, const void* xp, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    if (wtype == DType::q8_0)
        q8_rows(y, ldy, xp, qx_bytes(K), M, (const BlockQ8_0*)w, K, n0, n1);
    else
        q4_rows(y, ldy, (const XPair*)xp, M, (const BlockQ4_0*)w, K, n0, n1);
}

void f_rows(float* y, int64_t ldy, const float* x, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    switch (wtype) {
        case DType::f32: return f_rows_t<FT::f32>(y, ldy, x, M, w, K, n0, n1);
        case DType::f16: return f_rows_t<FT::f16>(y, ldy, x, M, w, K, n0, n1);
        default: return f_rows_t<FT::bf16>(y, ldy, x, M, w, K, n0, n1);
    }
}

}  // namespace r1::cpu::avx512
