// LayerNorm / RMSNorm kernels, AVX2 + FMA build of norm_impl.h.
#define R1_SIMD_LEVEL 1
#include "backend/cpu/norm_impl.h"
