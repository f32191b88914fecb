// Data types: f32 is the compute type; f16/bf16 are storage types; Q8_0 and Q4_0 are the
// GGUF block-quantised types, bit-exact with ggml's layouts (ggml-common.h):
//   Q8_0: 32 weights per block = fp16 scale d + 32 x int8           (34 bytes), w = d*q
//   Q4_0: 32 weights per block = fp16 scale d + 16 bytes of nibbles (18 bytes), w = d*(q-8)
//         byte j holds weight j in its low nibble and weight j+16 in its high nibble.
// Enum values equal ggml's type ids so GGUF files map directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace r1 {

enum class DType : uint32_t { f32 = 0, f16 = 1, q4_0 = 2, q8_0 = 8, i32 = 26, bf16 = 30 };

constexpr int kQK = 32;  // weights per quantisation block (Q8_0, Q4_0)

struct BlockQ8_0 {
    uint16_t d;        // fp16 scale
    int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
    uint16_t d;            // fp16 scale
    uint8_t qs[kQK / 2];   // nibbles
};
static_assert(sizeof(BlockQ4_0) == 18);

const char* dtype_name(DType t);
bool dtype_from_name(const char* name, DType* out);     // "f32", "f16", "bf16", "q8_0", "q4_0"
bool dtype_is_valid(uint32_t ggml_type);                 // one of the types above
int64_t dtype_block_size(DType t);                       // elements per block (1 or 32)
int64_t dtype_block_bytes(DType t);                      // bytes per block
// Bytes for n elements (n must be a multiple of the block size; returns -1 otherwise).
int64_t dtype_row_bytes(DType t, int64_t n);

// Scalar conversions (IEEE round-to-nearest-even, NaN/Inf preserved, as ggml does).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

// Row conversions; n elements. Fast paths (F16C / AVX-512) chosen at run time.
void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n);
void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n);
void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);
void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);

// Quantise / dequantise n elements (n % 32 == 0), exactly as ggml's reference
// quantize_row_q8_0_ref / quantize_row_q4_0_ref do (same rounding, same scale choice).
void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t n);
void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n);
void quantize_q4_0(BlockQ4_0* dst, const float* src, int64_t n);
void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n);

// Plain scalar loops: the oracle for the fast (SIMD, threaded) versions above, which are
// bit-identical to them.
namespace ref {
void convert_f32_to_f16(uint16_t* dst, const float* src, int64_t n);
void convert_f16_to_f32(float* dst, const uint16_t* src, int64_t n);
void convert_f32_to_bf16(uint16_t* dst, const float* src, int64_t n);
void convert_bf16_to_f32(float* dst, const uint16_t* src, int64_t n);
void quantize_q8_0(BlockQ8_0* dst, const float* src, int64_t n);
void dequantize_q8_0(float* dst, const BlockQ8_0* src, int64_t n);
void quantize_q4_0(BlockQ4_0* dst, const float* src, int64_t n);
void dequantize_q4_0(float* dst, const BlockQ4_0* src, int64_t n);
}  // namespace ref

// Any supported type -> f32 (n elements of raw data of type t).
void to_f32(float* dst, const void* src, DType t, int64_t n);
// f32 -> any supported type.
void from_f32(void* dst, const float* src, DType t, int64_t n);

}  // namespace r1
