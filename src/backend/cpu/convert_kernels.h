// Internal: per-ISA row conversion kernels behind r1::convert_* (core/dtype.cpp dispatches).
// Each must be bit-identical to the scalar functions in core/dtype.h (tests/unit/test_dtype.cpp).
#pragma once
#include <cstdint>

namespace r1::cpu {
#define R1_CONVERT_KERNELS                                                   \
    void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n);     \
    void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n);     \
    void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);    \
    void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);
namespace avx2 {
R1_CONVERT_KERNELS
}
namespace avx512 {
R1_CONVERT_KERNELS
}
#undef R1_CONVERT_KERNELS
}  // namespace r1::cpu
