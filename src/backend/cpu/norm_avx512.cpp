// LayerNorm / RMSNorm kernels, AVX-512 build of norm_impl.h.
#define R1_SIMD_LEVEL 2
#include "backend/cpu/norm_impl.h"
