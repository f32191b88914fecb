// Activation kernels, AVX2 + FMA build of activation_impl.h.
#define R1_SIMD_LEVEL 1
#include "backend/cpu/activation_impl.h"
