// Softmax kernels, AVX2 + FMA build of softmax_impl.h.
#define R1_SIMD_LEVEL 1
#include "backend/cpu/softmax_impl.h"
