// Products with stored weights (contract in qmatmul.h): validation, dispatch, the scalar
// kernels (Isa::scalar) and the ref:: oracle.
//
// Semantics of the quantised types (Q8_0 / Q4_0 weights), as in ggml: each activation row is
// first quantised to Q8_0 with quantize_q8_0 (bit-identical at every ISA level), and
// y[m, n] = Σ_blocks d_w·d_x·Σ q_w·q_x. ref:: follows the same rule: it quantises x with
// ref::quantize_q8_0, dequantises both operands (exact in f32) and dots in double, so the
// fast paths differ from it only by f32 summation order. The error against the unquantised
// product x·dequant(W)ᵀ is that of the activation quantisation (|x - x̂| <= ~0.57·d_x per
// element; tests/unit/test_qmatmul.cpp checks that bound).
// Float weights (f32 / f16 / bf16): f16/bf16 are widened exactly to f32 and FMA'd in our
// kernels for M < kGemmRows; from kGemmRows rows on (prefill) the product is compute bound,
// so blocks of weight rows are widened to f32 scratch and multiplied by r1::gemm (oneDNN,
// near the f32 peak). f32 with M > 1 goes to r1::gemm directly, M = 1 to our matvec.
//
// Threads: outputs N are split into contiguous chunks (r1::parallel_for, static); each
// output is computed by one fixed operation sequence, so results do not depend on the thread
// count or on M (batch-invariant), except where oneDNN's GEMM is used (f32 M > 1, f16/bf16
// M >= kGemmRows).
// Hot path allocation: activation scratch is thread_local and only ever grows.
#include "ops/qmatmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/qmatmul_kernels.h"
#include "core/buffer.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "ops/matmul.h"

namespace r1 {

// ---- scalar kernels (the Isa::scalar level; same contract as the SIMD files)
namespace cpu::scalar {

size_t qx_bytes(int64_t K) { return (size_t)(K / kQK) * sizeof(BlockQ8_0); }

void q_prepare(void* xp, const float* x, int64_t K, DType) {
    r1::ref::quantize_q8_0((BlockQ8_0*)xp, x, K);
}

namespace {
template <typename WB>
int32_t block_dot(const WB& w, const BlockQ8_0& x);
template <>
int32_t block_dot(const BlockQ8_0& w, const BlockQ8_0& x) {
    int32_t s = 0;
    for (int j = 0; j < kQK; j++) s += (int32_t)w.qs[j] * x.qs[j];
    return s;
}
template <>
int32_t block_dot(const BlockQ4_0& w, const BlockQ8_0& x) {
    int32_t s = 0;
    for (int j = 0; j < kQK / 2; j++) {
        s += ((w.qs[j] & 0x0f) - 8) * (int32_t)x.qs[j];
        s += ((w.qs[j] >> 4) - 8) * (int32_t)x.qs[j + kQK / 2];
    }
    return s;
}

template <typename WB>
void q_rows_t(float* y, int64_t ldy, const BlockQ8_0* xq, int64_t M, const WB* w, int64_t nb,
              int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) {
        const WB* wr = w + n * nb;
        for (int64_t r = 0; r < M; r++) {
            const BlockQ8_0* xr = xq + r * nb;
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; b++)
                acc += f16_to_f32(wr[b].d) * f16_to_f32(xr[b].d) * (float)block_dot(wr[b], xr[b]);
            y[r * ldy + n] = acc;
        }
    }
}
}  // namespace

void q_rows(float* y, int64_t ldy, const void* xp, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    const BlockQ8_0* xq = (const BlockQ8_0*)xp;
    if (wtype == DType::q8_0) q_rows_t(y, ldy, xq, M, (const BlockQ8_0*)w, K / kQK, n0, n1);
    else q_rows_t(y, ldy, xq, M, (const BlockQ4_0*)w, K / kQK, n0, n1);
}

void f_rows(float* y, int64_t ldy, const float* x, int64_t M, DType wtype, const void* w,
            int64_t K, int64_t n0, int64_t n1) {
    thread_local std::vector<float> row;  // one weight row widened to f32; grows only
    if ((int64_t)row.size() < K) row.resize(K);
    for (int64_t n = n0; n < n1; n++) {
        const float* wr;
        if (wtype == DType::f32) {
            wr = (const float*)w + n * K;
        } else {
            const uint16_t* src = (const uint16_t*)w + n * K;
            if (wtype == DType::f16) r1::ref::convert_f16_to_f32(row.data(), src, K);
            else r1::ref::convert_bf16_to_f32(row.data(), src, K);
            wr = row.data();
        }
        for (int64_t r = 0; r < M; r++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) acc += wr[k] * x[r * K + k];
            y[r * ldy + n] = acc;
        }
    }
}

}  // namespace cpu::scalar

namespace {

bool is_quantised(DType t) { return t == DType::q8_0 || t == DType::q4_0; }

constexpr int64_t kGemmRows = 16;  // f16/bf16: from this many activation rows on, use GEMM

void validate(float* y, const float* x, const WeightView& w, int64_t M, const char* who) {
    R1_CHECK(w.type == DType::f32 || w.type == DType::f16 || w.type == DType::bf16 ||
                 is_quantised(w.type),
             "[", who, "] weight type ", dtype_name(w.type), " (", (uint32_t)w.type,
             ") is not supported (f32, f16, bf16, q8_0, q4_0)");
    R1_CHECK(M >= 0 && w.N >= 0 && w.K >= 0, "[", who, "] negative size M=", M, " N=", w.N,
             " K=", w.K);
    R1_CHECK(!is_quantised(w.type) || w.K % kQK == 0, "[", who, "] K=", w.K, " is not a multiple of ",
             kQK, " for ", dtype_name(w.type), " weights");
    if (M > 0 && w.N > 0) R1_CHECK(y, "[", who, "] y is null");
    if (M > 0 && w.N > 0 && w.K > 0) {
        R1_CHECK(x, "[", who, "] x is null");
        R1_CHECK(w.data, "[", who, "] weight data is null");
    }
}

struct Kernels {
    size_t (*qx_bytes)(int64_t);
    void (*q_prepare)(void*, const float*, int64_t, DType);
    void (*q_rows)(float*, int64_t, const void*, int64_t, DType, const void*, int64_t, int64_t,
                   int64_t);
    void (*f_rows)(float*, int64_t, const float*, int64_t, DType, const void*, int64_t, int64_t,
                   int64_t);
};

Kernels kernels(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            // The quantised AVX-512 kernels need VNNI (vpdpbusd), which Isa::avx512 does not
            // imply (Skylake-X has AVX-512 without it): fall back to AVX2 for those.
            if (cpu_features().avx512vnni)
                return {cpu::avx512::qx_bytes, cpu::avx512::q_prepare, cpu::avx512::q_rows,
                        cpu::avx512::f_rows};
            return {cpu::avx2::qx_bytes, cpu::avx2::q_prepare, cpu::avx2::q_rows,
                    cpu::avx512::f_rows};
        case Isa::avx2:
            return {cpu::avx2::qx_bytes, cpu::avx2::q_prepare, cpu::avx2::q_rows, cpu::avx2::f_rows};
        default:
            return {cpu::scalar::qx_bytes, cpu::scalar::q_prepare, cpu::scalar::q_rows,
                    cpu::scalar::f_rows};
    }
}

// Output rows per parallel chunk: at least ~64 KB of weight-row work (bytes × activation
// rows, capped) so small products stay on one thread; chunks stay contiguous.
int64_t grain_rows(const WeightView& w, int64_t M) {
    const int64_t row_bytes = std::max<int64_t>(1, dtype_row_bytes(w.type, w.K));
    return std::max<int64_t>(1, (int64_t{64} << 10) / (row_bytes * std::min<int64_t>(M, 16)));
}

}  // namespace

void qlinear_forward(float* y, const float* x, const WeightView& w, int64_t M) {
    validate(y, x, w, M, "qlinear_forward");
    const int64_t N = w.N, K = w.K;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        std::memset(y, 0, sizeof(float) * M * N);
        return;
    }
    if (w.type == DType::f32 && M > 1) {
        gemm(false, true, M, N, K, 1.0f, x, K, (const float*)w.data, K, 0.0f, y, N);  // [M, N]
        return;
    }
    if ((w.type == DType::f16 || w.type == DType::bf16) && M >= kGemmRows) {
        // Blocks of ~4 MB of widened weight rows: conversion is O(N·K), the GEMM O(M·N·K).
        const int64_t nblk = std::max<int64_t>(16, (int64_t{1} << 20) / K);
        thread_local Buffer<float> wf;
        if ((int64_t)wf.size() < std::min(nblk, N) * K) wf.resize(std::min(nblk, N) * K);
        const int64_t row_bytes = dtype_row_bytes(w.type, K);
        for (int64_t n0 = 0; n0 < N; n0 += nblk) {
            const int64_t nb = std::min(nblk, N - n0);
            to_f32(wf.data(), (const uint8_t*)w.data + n0 * row_bytes, w.type, nb * K);  // [nb, K]
            gemm(false, true, M, nb, K, 1.0f, x, K, wf.data(), K, 0.0f, y + n0, N);        // [M, nb]
        }
        return;
    }
    const Kernels kr = kernels(active_isa());
    const int64_t grain = grain_rows(w, M);
    if (!is_quantised(w.type)) {
        parallel_for(N, [&](int64_t n0, int64_t n1) { kr.f_rows(y, N, x, M, w.type, w.data, K, n0, n1); },
                     grain);
        return;
    }
    // Activations → prepared Q8_0 rows, once per call (64-byte aligned for the kernels).
    const size_t xb = kr.qx_bytes(K);
    thread_local Buffer<uint8_t> scratch;
    if (scratch.size() < xb * M) scratch.resize(xb * M);
    uint8_t* xp = scratch.data();
    parallel_for(
        M, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; r++) kr.q_prepare(xp + r * xb, x + r * K, K, w.type);
        },
        std::max<int64_t>(1, 8192 / K));
    // Chunks of whole 16-row groups (the AVX-512 Q8_0 kernel's vector of outputs), so no
    // thread but the last ends on a partial group; results do not depend on the split.
    constexpr int64_t kG = 16;
    parallel_for(
        (N + kG - 1) / kG,
        [&](int64_t g0, int64_t g1) {
            kr.q_rows(y, N, xp, M, w.type, w.data, K, g0 * kG, std::min(N, g1 * kG));
        },
        std::max<int64_t>(1, grain / kG));
}

namespace ref {

void qlinear_forward(float* y, const float* x, const WeightView& w, int64_t M) {
    validate(y, x, w, M, "ref::qlinear_forward");
    const int64_t N = w.N, K = w.K;
    std::vector<float> xr(K), wr(K);
    std::vector<BlockQ8_0> xq(is_quantised(w.type) ? K / kQK : 0);
    const int64_t row_bytes = dtype_row_bytes(w.type, K);
    for (int64_t m = 0; m < M; m++) {
        // The activation row as the product sees it: quantised for Q8_0 / Q4_0 weights.
        if (is_quantised(w.type)) {
            r1::ref::quantize_q8_0(xq.data(), x + m * K, K);
            r1::ref::dequantize_q8_0(xr.data(), xq.data(), K);
        } else {
            std::copy(x + m * K, x + (m + 1) * K, xr.begin());
        }
        for (int64_t n = 0; n < N; n++) {
            const void* src = (const uint8_t*)w.data + n * row_bytes;
            switch (w.type) {
                case DType::f32: std::memcpy(wr.data(), src, sizeof(float) * K); break;
                case DType::f16: r1::ref::convert_f16_to_f32(wr.data(), (const uint16_t*)src, K); break;
                case DType::bf16: r1::ref::convert_bf16_to_f32(wr.data(), (const uint16_t*)src, K); break;
                case DType::q8_0: r1::ref::dequantize_q8_0(wr.data(), (const BlockQ8_0*)src, K); break;
                default: r1::ref::dequantize_q4_0(wr.data(), (const BlockQ4_0*)src, K); break;
            }
            double acc = 0;
            for (int64_t k = 0; k < K; k++) acc += (double)wr[k] * xr[k];
            y[m * N + n] = (float)acc;
        }
    }
}

}  // namespace ref
}  // namespace r1
