// RoPE kernels, AVX-512 build of rope_impl.h.
#define R1_SIMD_LEVEL 2
#include "backend/cpu/rope_impl.h"
