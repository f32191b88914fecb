// AVX-512 VNNI product with Q8_0 weights for every M (decode M = 1, batched decode, prefill):
// a register-blocked int8 GEMM whose lanes are 16 WEIGHT ROWS (outputs), so no horizontal
// sums are needed and each finished vector is 16 consecutive outputs of one activation row.
//
// Why this shape: the earlier kernel (one weight row × 4 activation rows, lanes = positions
// along K) spent ~6 vector ops per 64 multiply-adds on sign tricks, per-lane scale products
// and f32 conversions; here one vpdpbusd does 64 multiply-adds and the per-block overhead
// (conversion, scale product, FMA) is paid once per 8 vpdpbusd.
//
// Per call and per unit of 32 weight rows (two groups of 16), the unit is repacked into a
// thread-local scratch (the weights themselves stay memory-mapped; nothing is dequantised):
//   for each block b, for each group g: 8 × 64 bytes, vector k4 holding bytes 4·k4..4·k4+3
//   of the block of each of the 16 rows (lane i = row i), XOR 0x80 (so they read as the
//   unsigned operand w + 128 of vpdpbusd), then 16 f32 scales d_w of the rows.
// The activations (prepared per row by q_prepare_q8) keep their int8 values, broadcast four
// at a time as the signed operand; Σ(w+128)·x = Σw·x + 128·Σx, so each block's integer
// accumulator starts at −128·Σx (prepared per row and block). The block dot is then exact.
//
// Every output y[r, n] = fma(dot_nb-1, d_w·d_x, … fma(dot_1, d_w·d_x, dot_0·d_w·d_x)): one
// f32 FMA chain over the blocks in order, from the exact integer block dots and the exact
// (fp16 × fp16) scale products. Nothing in it depends on M, on the tile a row falls into,
// on [n0, n1) or on the thread count, so results are batch-invariant and deterministic.
// M = 1 (decode) skips the repack (matvec_group) but computes the same chain.
// Measured figures and the reasoning behind the prefetches: docs/performance.md.
#include <algorithm>
#include <cstring>
#include <vector>

#define R1_SIMD_LEVEL 2
#include "backend/cpu/convert_kernels.h"
#include "backend/cpu/qmatmul_kernels.h"
#include "backend/cpu/simd.h"
#include "core/buffer.h"

namespace r1::cpu::avx512 {
namespace {

constexpr int kGroup = 16;              // weight rows per vector (one per lane)
constexpr int kUnitGroups = 2;          // groups per repacked unit (32 weight rows)
constexpr int kVecsPerBlock = 9;        // 8 vectors of weights + 1 of scales per (block, group)
constexpr int kMaxRowTile = 6;          // activation rows per micro-tile (4·R + 4 registers)

// Prepared activation row (q_prepare_q8): [q: nb·32 int8][d: nb f32][c: nb int32 = −128·Σq].
struct XRow {
    const int8_t* q;
    const float* d;
    const int32_t* c;
};
inline XRow x_row(const uint8_t* base, int64_t nb) {
    return {(const int8_t*)base, (const float*)(base + nb * 32), (const int32_t*)(base + nb * 36)};
}

// The rows of a group or unit are read block-interleaved (16 or 32 streams), which the
// hardware prefetchers follow badly when the weights come from DRAM (decode, small M; the
// old row-at-a-time kernel did not have this problem): each row is prefetched kPrefetch
// blocks (544 bytes) ahead, continuing into the rows of the next group / unit (`span` rows
// on). Prefetches never fault, so addresses past the end of the matrix are harmless; they
// are formed as integers.
constexpr int64_t kPrefetch = 16;
inline void prefetch_rows(const BlockQ8_0* const* row, int rows, int64_t span, int64_t nb, int64_t b) {
    const int64_t bb = b + kPrefetch < nb ? b + kPrefetch : b + kPrefetch - nb + span * nb;
    for (int i = 0; i < rows; i++)
        _mm_prefetch((const char*)((uintptr_t)row[i] + (uintptr_t)bb * sizeof(BlockQ8_0)), _MM_HINT_T0);
}

// M = 1 (decode): the same outputs as tile<1, 1> (same exact block dots, same FMA chain) but
// without the repack, which costs more than the product when each weight is used once.
// Per block, 8 vpdpbusd on [row i | row i+8] (lanes: 4-byte partials) and a reduction tree
// (12 + 6 + 3 ops) give the 16 rows' exact block dots in lane order.
template <bool Tail>
void matvec_group(float* y, const XRow& x, const BlockQ8_0* w, int64_t nb, int64_t n, int64_t valid) {
    alignas(64) static const BlockQ8_0 zero_block = {};
    const BlockQ8_0* row[kGroup];
    for (int i = 0; i < kGroup; i++) row[i] = !Tail || i < valid ? w + (n + i) * nb : nullptr;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const int64_t row_bytes = nb * (int64_t)sizeof(BlockQ8_0);
    const __m512i didx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)row_bytes));
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if constexpr (!Tail) prefetch_rows(row, kGroup, kGroup, nb, b);
        auto blk = [&](int i) { return Tail && i >= valid ? &zero_block : row[i] + b; };
        const __m512i xq = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i*)(x.q + b * 32)));
        __m512i p[8];
        for (int i = 0; i < 8; i++) {
            const __m512i v = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)blk(i)->qs)),
                _mm256_loadu_si256((const __m256i*)blk(i + 8)->qs), 1);
            p[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(v, flip), xq);
        }
        __m512i a[4];
        for (int i = 0; i < 4; i++)
            a[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(p[2 * i], p[2 * i + 1]),
                                    _mm512_unpackhi_epi32(p[2 * i], p[2 * i + 1]));
        const __m512i e = _mm512_add_epi32(_mm512_unpacklo_epi64(a[0], a[1]), _mm512_unpackhi_epi64(a[0], a[1]));
        const __m512i f = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2], a[3]), _mm512_unpackhi_epi64(a[2], a[3]));
        const __m512i dot = _mm512_add_epi32(
            _mm512_add_epi32(_mm512_permutex2var_epi64(e, lo, f), _mm512_permutex2var_epi64(e, hi, f)),
            _mm512_set1_epi32(x.c[b]));
        __m512 dw;
        if constexpr (Tail) {
            alignas(32) uint16_t d[kGroup];
            for (int i = 0; i < kGroup; i++) d[i] = blk(i)->d;
            dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i*)d));
        } else {
            // 4 bytes at each row's d (d and two weights; the upper half is dropped)
            dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(didx, (const void*)&row[0][b].d, 1)));
        }
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, _mm512_set1_ps(x.d[b])), acc);
    }
    if (Tail) _mm512_mask_storeu_ps(y, lanes(valid), acc);
    else _mm512_storeu_ps(y, acc);
}

// Repacks rows [n, n + rows) (rows <= 32; missing rows of the unit read as zero weights with
// scale 0) of all nb blocks into `dst` (kUnitGroups·nb·9 vectors; see the header comment).
void repack_unit(__m512i* dst, const BlockQ8_0* w, int64_t nb, int64_t n, int64_t rows, int groups) {
    alignas(64) static const BlockQ8_0 zero_block = {};
    const BlockQ8_0* row[kUnitGroups * kGroup];
    for (int i = 0; i < groups * kGroup; i++) row[i] = i < rows ? w + (n + i) * nb : nullptr;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    // qword indices: lanes [a.L0, b.L0, a.L2, b.L2] and [a.L1, b.L1, a.L3, b.L3]
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int64_t b = 0; b < nb; b++) {
        if (rows == kUnitGroups * kGroup) prefetch_rows(row, rows, rows, nb, b);
        for (int g = 0; g < groups; g++) {
            __m512i* out = dst + (b * groups + g) * kVecsPerBlock;
            const BlockQ8_0* const* rg = row + g * kGroup;
            auto blk = [&](int i) { return rg[i] ? &rg[i][b] : &zero_block; };
            // v[i] = [row i | row i+8] (8 dwords each); an 8×8 dword transpose in each half.
            __m512i v[8], t[8];
            for (int i = 0; i < 8; i++)
                v[i] = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)blk(i)->qs)),
                    _mm256_loadu_si256((const __m256i*)blk(i + 8)->qs), 1);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
                t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
            }
            for (int h = 0; h < 8; h += 4) {  // rows h..h+3
                v[h + 0] = _mm512_unpacklo_epi64(t[h + 0], t[h + 2]);  // dwords 0 | 4
                v[h + 1] = _mm512_unpackhi_epi64(t[h + 0], t[h + 2]);  // dwords 1 | 5
                v[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]);  // dwords 2 | 6
                v[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]);  // dwords 3 | 7
            }
            for (int j = 0; j < 4; j++) {
                out[j] = _mm512_xor_si512(_mm512_permutex2var_epi64(v[j], lo, v[j + 4]), flip);
                out[j + 4] = _mm512_xor_si512(_mm512_permutex2var_epi64(v[j], hi, v[j + 4]), flip);
            }
            alignas(32) uint16_t d[kGroup];
            for (int i = 0; i < kGroup; i++) d[i] = blk(i)->d;
            out[8] = _mm512_castps_si512(_mm512_cvtph_ps(_mm256_load_si256((const __m256i*)d)));
        }
    }
}

// y[r·ldy + 16g + i] for R activation rows × G groups over all nb blocks of a repacked unit;
// `valid` outputs of the unit are stored (the rest are padding rows).
template <int R, int G>
void tile(float* y, int64_t ldy, const XRow* x, const __m512i* wp, int64_t nb, int64_t valid) {
    __m512 acc[R][G];
    for (int r = 0; r < R; r++)
        for (int g = 0; g < G; g++) acc[r][g] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const __m512i* wb = wp + b * G * kVecsPerBlock;
        __m512i dot[R][G];
        for (int r = 0; r < R; r++) {
            const __m512i c = _mm512_set1_epi32(x[r].c[b]);
            for (int g = 0; g < G; g++) dot[r][g] = c;
        }
        const int8_t* xq[R];
        for (int r = 0; r < R; r++) xq[r] = x[r].q + b * 32;
        for (int k4 = 0; k4 < 8; k4++) {
            __m512i w[G];
            for (int g = 0; g < G; g++) w[g] = _mm512_load_si512(wb + g * kVecsPerBlock + k4);
            for (int r = 0; r < R; r++) {
                int32_t xv;
                std::memcpy(&xv, xq[r] + 4 * k4, 4);
                const __m512i xb = _mm512_set1_epi32(xv);
                for (int g = 0; g < G; g++) dot[r][g] = _mm512_dpbusd_epi32(dot[r][g], w[g], xb);
            }
        }
        __m512 dw[G];
        for (int g = 0; g < G; g++) dw[g] = _mm512_castsi512_ps(_mm512_load_si512(wb + g * kVecsPerBlock + 8));
        for (int r = 0; r < R; r++) {
            const __m512 dx = _mm512_set1_ps(x[r].d[b]);
            for (int g = 0; g < G; g++)
                acc[r][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[r][g]), _mm512_mul_ps(dw[g], dx), acc[r][g]);
        }
    }
    for (int g = 0; g < G; g++) {
        const int64_t v = valid - g * kGroup;
        if (v <= 0) break;
        for (int r = 0; r < R; r++) {
            if (v >= kGroup) _mm512_storeu_ps(y + r * ldy + g * kGroup, acc[r][g]);
            else _mm512_mask_storeu_ps(y + r * ldy + g * kGroup, lanes(v), acc[r][g]);
        }
    }
}

// `next` / `next_bytes`: the weight rows of the following unit, prefetched into L2 a slice
// per row tile while this unit computes (the repack alone is too short to hide DRAM latency
// when M is large).
template <int G>
void tiles(float* y, int64_t ldy, const uint8_t* xp, size_t xb, int64_t M, const __m512i* wp,
           int64_t nb, int64_t valid, const BlockQ8_0* next, int64_t next_bytes) {
    XRow x[kMaxRowTile];
    const int64_t n_tiles = (M + kMaxRowTile - 1) / kMaxRowTile;
    const int64_t slice = ((next_bytes + 63) / 64 + n_tiles - 1) / n_tiles * 64;  // bytes per tile
    uintptr_t pf = (uintptr_t)next;
    const uintptr_t pf_end = pf + (uintptr_t)std::max<int64_t>(0, next_bytes);
    for (int64_t r0 = 0; r0 < M; r0 += kMaxRowTile) {
        for (const uintptr_t e = std::min(pf_end, pf + slice); pf < e; pf += 64)
            _mm_prefetch((const char*)pf, _MM_HINT_T1);
        const int R = (int)std::min<int64_t>(kMaxRowTile, M - r0);
        for (int r = 0; r < R; r++) x[r] = x_row(xp + (r0 + r) * xb, nb);
        float* yr = y + r0 * ldy;
        switch (R) {
            case 6: tile<6, G>(yr, ldy, x, wp, nb, valid); break;
            case 5: tile<5, G>(yr, ldy, x, wp, nb, valid); break;
            case 4: tile<4, G>(yr, ldy, x, wp, nb, valid); break;
            case 3: tile<3, G>(yr, ldy, x, wp, nb, valid); break;
            case 2: tile<2, G>(yr, ldy, x, wp, nb, valid); break;
            default: tile<1, G>(yr, ldy, x, wp, nb, valid); break;
        }
    }
}

}  // namespace

void q_prepare_q8(void* xp, const float* x, int64_t K) {
    const int64_t nb = K / kQK;
    thread_local std::vector<BlockQ8_0> tmp;  // grows to the largest K seen; never shrinks
    if ((int64_t)tmp.size() < nb) tmp.resize(nb);
    cpu::avx512::quantize_q8_0(tmp.data(), x, nb);  // bit-identical to ref::
    uint8_t* base = (uint8_t*)xp;
    int8_t* q = (int8_t*)base;
    float* d = (float*)(base + nb * 32);
    int32_t* c = (int32_t*)(base + nb * 36);
    for (int64_t b = 0; b < nb; b++) {
        std::memcpy(q + b * 32, tmp[b].qs, 32);
        d[b] = f16_to_f32(tmp[b].d);
        int32_t s = 0;
        for (int j = 0; j < kQK; j++) s += tmp[b].qs[j];
        c[b] = -128 * s;
    }
}

void q8_rows(float* y, int64_t ldy, const void* xp, size_t xb, int64_t M, const BlockQ8_0* w,
             int64_t K, int64_t n0, int64_t n1) {
    const int64_t nb = K / kQK;
    thread_local Buffer<uint8_t> scratch;  // one repacked unit, 64-byte aligned; grows only
    const size_t need = (size_t)(kUnitGroups * nb * kVecsPerBlock) * sizeof(__m512i);
    if (scratch.size() < need) scratch.resize(need);
    __m512i* wp = (__m512i*)scratch.data();
    const uint8_t* x = (const uint8_t*)xp;
    if (M == 1) {
        const XRow xr = x_row(x, nb);
        int64_t n = n0;
        for (; n + kGroup <= n1; n += kGroup) matvec_group<false>(y + n, xr, w, nb, n, kGroup);
        if (n < n1) matvec_group<true>(y + n, xr, w, nb, n, n1 - n);
        return;
    }
    for (int64_t n = n0; n < n1; n += kUnitGroups * kGroup) {
        const int64_t rows = std::min<int64_t>(kUnitGroups * kGroup, n1 - n);
        const int groups = rows > kGroup ? 2 : 1;
        repack_unit(wp, w, nb, n, rows, groups);
        const int64_t next_rows = std::min<int64_t>(kUnitGroups * kGroup, n1 - n - rows);
        const BlockQ8_0* next = w + (n + rows) * nb;
        // Small M (batched decode): the unit computes too briefly to spread the prefetch
        // over; the repack's own per-row prefetch does better there (measured at M = 16).
        const int64_t next_bytes = M > 3 * kMaxRowTile ? next_rows * nb * (int64_t)sizeof(BlockQ8_0) : 0;
        if (groups == 2) tiles<2>(y + n, ldy, x, xb, M, wp, nb, rows, next, next_bytes);
        else tiles<1>(y + n, ldy, x, xb, M, wp, nb, rows, next, next_bytes);
    }
}

}  // namespace r1::cpu::avx512
