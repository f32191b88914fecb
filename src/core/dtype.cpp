// Data types: names and sizes, scalar f16/bf16 conversions, Q8_0/Q4_0 (de)quantisation, and
// the row-conversion dispatch to the F16C / AVX-512 kernels in backend/cpu/convert_*.cpp.
//
// Bit-exactness contract (tested in tests/unit/test_dtype.cpp):
//  - f32->f16 is IEEE round-to-nearest-even with subnormals, overflow to Inf, and NaNs kept
//    (sign kept, quietened, top payload bits kept) - what F16C's vcvtps2ph does, so the fast
//    row path is bit-identical to the scalar one. f16->f32 quietens NaNs as vcvtph2ps does.
//  - f32->bf16 is ggml's GGML_FP32_TO_BF16: RNE on the top 16 bits, subnormals kept (not
//    flushed), NaN -> quiet NaN with the top payload bits.
//  - quantize_q8_0 / quantize_q4_0 follow ggml's quantize_row_q8_0_ref / _q4_0_ref line by
//    line (same comparisons, same float operations in the same order), so a GGUF we write
//    is byte-identical to one llama.cpp's reference quantiser writes.
#include "core/dtype.h"

#include <cmath>
#include <cstring>

#include "backend/cpu/convert_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {
namespace {

uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float bits_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// ggml's (int8_t) casts of a float, without the undefined behaviour for NaN: in-range values
// truncate as the cast does; NaN gives 0, which is what x86's cvttss2si-then-narrow yields
// for ggml (values are otherwise within int8 range by construction of the scale).
int8_t trunc_i8(float v) { return v == v ? (int8_t)(int)v : (int8_t)0; }

void check_type(DType t, const char* where) {
    R1_CHECK(dtype_is_valid((uint32_t)t), "[dtype] ", where, ": unknown type id ", (uint32_t)t);
}

// Row conversions are memory-bound: split across threads only for long rows (model load,
// checkpoint export), so small calls from inside other kernels stay on their thread.
constexpr int64_t kConvertGrain = 1 << 16;

}  // namespace

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::bf16: return "bf16";
        case DType::q8_0: return "q8_0";
        case DType::q4_0: return "q4_0";
        case DType::i32: return "i32";
    }
    return "?";
}

bool dtype_from_name(const char* name, DType* out) {
    if (!name) return false;
    for (DType t : {DType::f32, DType::f16, DType::bf16, DType::q8_0, DType::q4_0, DType::i32}) {
        if (!std::strcmp(name, dtype_name(t))) {
            if (out) *out = t;
            return true;
        }
    }
    return false;
}

bool dtype_is_valid(uint32_t ggml_type) {
    switch ((DType)ggml_type) {
        case DType::f32:
        case DType::f16:
        case DType::bf16:
        case DType::q8_0:
        case DType::q4_0:
        case DType::i32: return true;
    }
    return false;
}

int64_t dtype_block_size(DType t) {
    check_type(t, "block size");
    return (t == DType::q8_0 || t == DType::q4_0) ? kQK : 1;
}

int64_t dtype_block_bytes(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::i32: return 4;
        case DType::f16: return 2;
        case DType::bf16: return 2;
        case DType::q8_0: return (int64_t)sizeof(BlockQ8_0);
        case DType::q4_0: return (int64_t)sizeof(BlockQ4_0);
    }
    fail("[dtype] block bytes: unknown type id ", (uint32_t)t);
}

int64_t dtype_row_bytes(DType t, int64_t n) {
    const int64_t bs = dtype_block_size(t);
    if (n < 0 || n % bs != 0) return -1;
    return n / bs * dtype_block_bytes(t);
}

// ---- scalar conversions ----------------------------------------------------------------

float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu;
    const uint32_t m = h & 0x3ffu;
    if (e == 0x1f) {  // Inf / NaN (NaN quietened, like vcvtph2ps and ggml's fallback)
        return bits_f32(sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0u));
    }
    if (e == 0) {  // zero / subnormal: m * 2^-24 is exact in f32
        const float v = (float)m * 0x1p-24f;
        return bits_f32(sign | f32_bits(v));
    }
    return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)  // NaN: quiet, keep the top payload bits
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u)  // >= 65520 (half-way to 2^16) rounds to Inf; Inf stays Inf
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {  // below 2^-14: f16 subnormal or zero
        if (ax <= 0x33000000u) return sign;  // <= 2^-25: ties-to-even gives 0
        const uint32_t e = ax >> 23;
        const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;  // 14..24: units of 2^-24
        uint32_t q = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;  // may carry into the smallest normal
        return (uint16_t)(sign | q);
    }
    uint32_t h = (ax - 0x38000000u) >> 13;  // rebias exponent 127 -> 15, keep 10 mantissa bits
    const uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;  // carry may round up to Inf
    return (uint16_t)(sign | h);
}

float bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f) {
    const uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64u);  // quiet NaN
    return (uint16_t)((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

// ---- row conversions ---------------------------------------------------------------------

namespace ref {
void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}
void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(src[i]);
}
void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}
void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(src[i]);
}
}  // namespace ref

namespace {
// Picks the kernel for the active ISA and splits long rows across threads.
template <typename D, typename S>
void convert_dispatch(D* dst, const S* src, int64_t n, void (*k_ref)(D*, const S*, int64_t),
                      void (*k_avx2)(D*, const S*, int64_t),
                      void (*k_avx512)(D*, const S*, int64_t)) {
    R1_CHECK(n >= 0, "[dtype] convert: negative length ", n);
    auto k = k_ref;
    switch (active_isa()) {
        case Isa::avx512: k = k_avx512; break;
        case Isa::avx2: k = k_avx2; break;
        case Isa::scalar: break;
    }
    if (n < 2 * kConvertGrain) {
        k(dst, src, n);
        return;
    }
    parallel_for(n, [&](int64_t b, int64_t e) { k(dst + b, src + b, e - b); }, kConvertGrain);
}
}  // namespace

void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n) {
    convert_dispatch(dst, src, n, ref::convert_f32_to_f16, cpu::avx2::convert_f32_to_f16,
                     cpu::avx512::convert_f32_to_f16);
}
void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    convert_dispatch(dst, src, n, ref::convert_f16_to_f32, cpu::avx2::convert_f16_to_f32,
                     cpu::avx512::convert_f16_to_f32);
}
void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
    convert_dispatch(dst, src, n, ref::convert_f32_to_bf16, cpu::avx2::convert_f32_to_bf16,
                     cpu::avx512::convert_f32_to_bf16);
}
void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
    convert_dispatch(dst, src, n, ref::convert_bf16_to_f32, cpu::avx2::convert_bf16_to_f32,
                     cpu::avx512::convert_bf16_to_f32);
}

// ---- block quantisation (ggml reference semantics) -----------------------------------------

namespace ref {


void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t n) {
    R1_CHECK(n >= 0 && n % kQK == 0, "[dtype] quantize_q8_0: length ", n,
             " is not a multiple of ", kQK);
    const int64_t nb = n / kQK;
    for (int64_t i = 0; i < nb; i++) {
        const float* x = src + i * kQK;
        float amax = 0.0f;
        for (int j = 0; j < kQK; j++) {
            const float a = std::fabs(x[j]);
            amax = amax > a ? amax : a;  // ggml's MAX(amax, fabsf(v)), NaN behaviour included
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        dst[i].d = f32_to_f16(d);
        for (int j = 0; j < kQK; j++) dst[i].qs[j] = trunc_i8(std::roundf(x[j] * id));
    }
}

void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n) {
    R1_CHECK(n >= 0 && n % kQK == 0, "[dtype] dequantize_q8_0: length ", n,
             " is not a multiple of ", kQK);
    const int64_t nb = n / kQK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = f16_to_f32(src[i].d);
        for (int j = 0; j < kQK; j++) dst[i * kQK + j] = src[i].qs[j] * d;
    }
}

void quantize_q4_0(BlockQ4_0* dst, const float* src, int64_t n) {
    R1_CHECK(n >= 0 && n % kQK == 0, "[dtype] quantize_q4_0: length ", n,
             " is not a multiple of ", kQK);
    const int64_t nb = n / kQK;
    for (int64_t i = 0; i < nb; i++) {
        const float* x = src + i * kQK;
        float amax = 0.0f, max = 0.0f;  // largest |v| and v itself (sign kept)
        for (int j = 0; j < kQK; j++) {
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        dst[i].d = f32_to_f16(d);
        for (int j = 0; j < kQK / 2; j++) {
            const float x0 = x[j] * id;
            const float x1 = x[kQK / 2 + j] * id;
            const int8_t t0 = trunc_i8(x0 + 8.5f), t1 = trunc_i8(x1 + 8.5f);
            const uint8_t q0 = (uint8_t)(t0 < 15 ? t0 : 15);
            const uint8_t q1 = (uint8_t)(t1 < 15 ? t1 : 15);
            dst[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n) {
    R1_CHECK(n >= 0 && n % kQK == 0, "[dtype] dequantize_q4_0: length ", n,
             " is not a multiple of ", kQK);
    const int64_t nb = n / kQK;
    for (int64_t i = 0; i < nb; i++) {
        const float d = f16_to_f32(src[i].d);
        for (int j = 0; j < kQK / 2; j++) {
            const int x0 = (src[i].qs[j] & 0x0f) - 8;
            const int x1 = (src[i].qs[j] >> 4) - 8;
            dst[i * kQK + j] = x0 * d;
            dst[i * kQK + j + kQK / 2] = x1 * d;
        }
    }
}

}  // namespace ref

namespace {
// Blocks per task when splitting long rows across threads (quantising a whole tensor).
constexpr int64_t kBlockGrain = 2048;

void check_blocks(const char* op, int64_t n) {
    R1_CHECK(n >= 0 && n % kQK == 0, "[dtype] ", op, ": length ", n, " is not a multiple of ", kQK);
}
}  // namespace

void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t n) {
    check_blocks("quantize_q8_0", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::quantize_q8_0(dst, src, n);
    parallel_for(
        n / kQK,
        [&](int64_t b0, int64_t b1) {
            if (isa == Isa::avx512) cpu::avx512::quantize_q8_0(dst + b0, src + b0 * kQK, b1 - b0);
            else cpu::avx2::quantize_q8_0(dst + b0, src + b0 * kQK, b1 - b0);
        },
        kBlockGrain);
}

void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n) {
    check_blocks("dequantize_q8_0", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::dequantize_q8_0(dst, src, n);
    parallel_for(
        n / kQK,
        [&](int64_t b0, int64_t b1) {
            if (isa == Isa::avx512) cpu::avx512::dequantize_q8_0(dst + b0 * kQK, src + b0, b1 - b0);
            else cpu::avx2::dequantize_q8_0(dst + b0 * kQK, src + b0, b1 - b0);
        },
        kBlockGrain);
}

// Q4_0 quantisation runs once per exported tensor: the scalar rules are fast enough.
void quantize_q4_0(BlockQ4_0* dst, const float* src, int64_t n) {
    check_blocks("quantize_q4_0", n);
    parallel_for(
        n / kQK, [&](int64_t b0, int64_t b1) { ref::quantize_q4_0(dst + b0, src + b0 * kQK, (b1 - b0) * kQK); },
        kBlockGrain);
}

void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n) {
    check_blocks("dequantize_q4_0", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::dequantize_q4_0(dst, src, n);
    parallel_for(
        n / kQK,
        [&](int64_t b0, int64_t b1) {
            if (isa == Isa::avx512) cpu::avx512::dequantize_q4_0(dst + b0 * kQK, src + b0, b1 - b0);
            else cpu::avx2::dequantize_q4_0(dst + b0 * kQK, src + b0, b1 - b0);
        },
        kBlockGrain);
}

// ---- generic --------------------------------------------------------------------------------

void to_f32(float* dst, const void* src, DType t, int64_t n) {
    switch (t) {
        case DType::f32: std::memmove(dst, src, (size_t)n * 4); return;
        case DType::f16: convert_f16_to_f32(dst, (const uint16_t*)src, n); return;
        case DType::bf16: convert_bf16_to_f32(dst, (const uint16_t*)src, n); return;
        case DType::q8_0: dequantize_q8_0(dst, (const BlockQ8_0*)src, n); return;
        case DType::q4_0: dequantize_q4_0(dst, (const BlockQ4_0*)src, n); return;
        case DType::i32: {
            const int32_t* s = (const int32_t*)src;
            for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
            return;
        }
    }
    fail("[dtype] to_f32: unknown type id ", (uint32_t)t);
}

void from_f32(void* dst, const float* src, DType t, int64_t n) {
    switch (t) {
        case DType::f32: std::memmove(dst, src, (size_t)n * 4); return;
        case DType::f16: convert_f32_to_f16((uint16_t*)dst, src, n); return;
        case DType::bf16: convert_f32_to_bf16((uint16_t*)dst, src, n); return;
        case DType::q8_0: quantize_q8_0((BlockQ8_0*)dst, src, n); return;
        case DType::q4_0: quantize_q4_0((BlockQ4_0*)dst, src, n); return;
        case DType::i32: fail("[dtype] from_f32: refusing to convert f32 to i32 (ids are not floats)");
    }
    fail("[dtype] from_f32: unknown type id ", (uint32_t)t);
}

}  // namespace r1
