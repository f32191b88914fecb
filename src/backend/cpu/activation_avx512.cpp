// Activation kernels, AVX-512 build of activation_impl.h.
#define R1_SIMD_LEVEL 2
#include "backend/cpu/activation_impl.h"
