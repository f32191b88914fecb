// Internal: per-ISA row conversion and Q8_0/Q4_0 kernels behind core/dtype.h (dtype.cpp
// dispatches).
// Each must be bit-identical to the scalar functions in core/dtype.h (tests/unit/test_dtype.cpp).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace r1::cpu {
#define R1_CONVERT_KERNELS                                                   \
    void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n);     \
    void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n);     \
    void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);    \
    void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);    \
    /* nb whole blocks; quantize_q8_0 falls back to the scalar rules on a block with NaN */ \
    void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t nb);        \
    void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t nb);      \
    void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t nb);
namespace avx2 {
R1_CONVERT_KERNELS
}
namespace avx512 {
R1_CONVERT_KERNELS
}
#undef R1_CONVERT_KERNELS
}  // namespace r1::cpu
