// Softmax kernels, AVX-512 build of softmax_impl.h.
#define R1_SIMD_LEVEL 2
#include "backend/cpu/softmax_impl.h"
