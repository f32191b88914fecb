// RoPE kernels, AVX2 + FMA build of rope_impl.h.
#define R1_SIMD_LEVEL 1
#include "backend/cpu/rope_impl.h"
