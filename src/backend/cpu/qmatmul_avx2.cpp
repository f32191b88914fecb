// AVX2 kernels for products with stored weights (contract: qmatmul_kernels.h).
//
// Quantised weights: one 32-weight block per 256-bit register, ggml's mul_sum_i8_pairs:
// vpmaddubsw(|w| as u8, x with w's sign) gives exact int16 pair sums (|w| <= 128,
// |x| <= 127, so 2·128·127 < 32767: no saturation), vpmaddwd with ones widens to int32,
// then each block is scaled by d_w·d_x and summed in f32 (two accumulators alternate
// blocks). Prepared activations: nb blocks of 32 int8, then nb f32 scales.
// Q4_0 nibbles unpack to (q - 8): low nibble of byte j = weight j, high nibble = j+16.
// Float weights: 8 lanes converted in registers (F16C / bf16 << 16), FMA, scalar tail.
#include <algorithm>
#include <cstring>
#include <vector>

#define R1_SIMD_LEVEL 1
#include "backend/cpu/convert_kernels.h"
#include "backend/cpu/qmatmul_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::avx2 {
namespace {

inline int64_t q_stride(int64_t nb) { return (nb * 36 + 63) / 64 * 64; }  // bytes per row

inline __m256i load_w(const BlockQ8_0& b) { return _mm256_loadu_si256((const __m256i*)b.qs); }
inline __m256i load_w(const BlockQ4_0& b) {
    const __m128i v = _mm_loadu_si128((const __m128i*)b.qs);
    const __m128i m = _mm_set1_epi8(0x0f);
    const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
}

template <int R, typename WB>
void q_tile(float* y, int64_t ldy, const int8_t* x0, int64_t xstride, const WB* w, int64_t nb) {
    __m256 acc[R][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    auto step = [&](int64_t b, int slot) {
        const __m256i wq = load_w(w[b]);
        const __m256i wabs = _mm256_sign_epi8(wq, wq);
        const float dw = _cvtsh_ss(w[b].d);
        for (int r = 0; r < R; r++) {
            const int8_t* xr = x0 + r * xstride;
            const __m256i xq = _mm256_loadu_si256((const __m256i*)(xr + 32 * b));
            const float dx = ((const float*)(xr + 32 * nb))[b];
            const __m256i p16 = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xq, wq));
            const __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            acc[r][slot] = _mm256_fmadd_ps(f, _mm256_set1_ps(dw * dx), acc[r][slot]);
        }
    };
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) step(b, 0), step(b + 1, 1);
    if (b < nb) step(b, 0);
    for (int r = 0; r < R; r++) y[r * ldy] = vhsum(VF{_mm256_add_ps(acc[r][0], acc[r][1])});
}

template <typename WB>
void q_rows_t(float* y, int64_t ldy, const int8_t* xp, int64_t M, const WB* w, int64_t K,
              int64_t n0, int64_t n1) {
    const int64_t nb = K / kQK, xs = q_stride(nb);
    const int64_t nblk = std::max<int64_t>(1, (192 << 10) / (nb * (int64_t)sizeof(WB)));
    for (int64_t nb0 = n0; nb0 < n1; nb0 += nblk) {
        const int64_t nb1 = std::min(n1, nb0 + nblk);
        for (int64_t r0 = 0; r0 < M; r0 += kQRowTile) {
            const int8_t* x0 = xp + r0 * xs;
            float* yr = y + r0 * ldy;
            switch (std::min(kQRowTile, M - r0)) {
                case 4: for (int64_t n = nb0; n < nb1; n++) q_tile<4>(yr + n, ldy, x0, xs, w + n * nb, nb); break;
                case 3: for (int64_t n = nb0; n < nb1; n++) q_tile<3>(yr + n, ldy, x0, xs, w + n * nb, nb); break;
                case 2: for (int64_t n = nb0; n < nb1; n++) q_tile<2>(yr + n, ldy, x0, xs, w + n * nb, nb); break;
                default: for (int64_t n = nb0; n < nb1; n++) q_tile<1>(yr + n, ldy, x0, xs, w + n * nb, nb); break;
            }
        }
    }
}

// ---- float weights
enum class FT { f32, f16, bf16 };

template <FT T>
inline __m256 loadw(const void* w, int64_t k) {
    if constexpr (T == FT::f32) return _mm256_loadu_ps((const float*)w + k);
    else if constexpr (T == FT::f16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)((const uint16_t*)w + k)));
    else
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)((const uint16_t*)w + k))), 16));
}
template <FT T>
inline float loadw1(const void* w, int64_t k) {
    if constexpr (T == FT::f32) return ((const float*)w)[k];
    else if constexpr (T == FT::f16) return _cvtsh_ss(((const uint16_t*)w)[k]);
    else {
        const uint32_t u = (uint32_t)((const uint16_t*)w)[k] << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
}

template <int R, FT T>
void f_tile(float* y, int64_t ldy, const float* x, int64_t ldx, const void* w, int64_t K) {
    __m256 acc[R][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        const __m256 w0 = loadw<T>(w, k), w1 = loadw<T>(w, k + 8);
        for (int r = 0; r < R; r++) {
            acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * ldx + k), acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * ldx + k + 8), acc[r][1]);
        }
    }
    if (k + 8 <= K) {
        const __m256 w0 = loadw<T>(w, k);
        for (int r = 0; r < R; r++)
            acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * ldx + k), acc[r][0]);
        k += 8;
    }
    for (int r = 0; r < R; r++) {
        float s = vhsum(VF{_mm256_add_ps(acc[r][0], acc[r][1])});
        for (int64_t j = k; j < K; j++) s += loadw1<T>(w, j) * x[r * ldx + j];
        y[r * ldy] = s;
    }
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

size_t qx_bytes(int64_t K) { return (size_t)q_stride(K / kQK); }

void q_prepare(void* xp, const float* x, int64_t K, DType) {
    const int64_t nb = K / kQK;
    thread_local std::vector<BlockQ8_0> tmp;  // grows to the largest K seen; never shrinks
    if ((int64_t)tmp.size() < nb) tmp.resize(nb);
    cpu::avx2::quantize_q8_0(tmp.data(), x, nb);  // bit-identical to ref::
    int8_t* q = (int8_t*)xp;
    float* d = (float*)(q + 32 * nb);
    for (int64_t b = 0; b < nb; b++) {
        std::memcpy(q + 32 * b, tmp[b].qs, 32);
        d[b] = f16_to_f32(tmp[b].d);
    }
}

void q_rows(float* y, int64_t ldy, const void* xp, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    if (wtype == DType::q8_0)
        q_rows_t(y, ldy, (const int8_t*)xp, M, (const BlockQ8_0*)w, K, n0, n1);
    else
        q_rows_t(y, ldy, (const int8_t*)xp, M, (const BlockQ4_0*)w, K, n0, n1);
}

void f_rows(float* y, int64_t ldy, const float* x, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    switch (wtype) {
        case DType::f32: return f_rows_t<FT::f32>(y, ldy, x, M, w, K, n0, n1);
        case DType::f16: return f_rows_t<FT::f16>(y, ldy, x, M, w, K, n0, n1);
        default: return f_rows_t<FT::bf16>(y, ldy, x, M, w, K, n0, n1);
    }
}

}  // namespace r1::cpu::avx2
