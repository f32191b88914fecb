// Internal: row softmax kernels over simd.h, compiled by softmax_avx2.cpp / softmax_avx512.cpp.
// Forward: max pass, exp + sum pass (exp values stored in y), scale pass. Tail lanes load
// -Inf so they contribute exp(-Inf) = 0.
#include "backend/cpu/elementwise_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::R1_SIMD_NS {

void softmax_fwd_rows(float* y, const float* x, int64_t r0, int64_t r1, int64_t cols) {
    const float ninf = -__builtin_inff();
    for (int64_t row = r0; row < r1; row++) {
        const float* xr = x + row * cols;  // [cols]
        float* yr = y + row * cols;
        VF m0 = vset1(ninf), m1 = vset1(ninf);
        int64_t c = 0;
        for (; c + 2 * kW <= cols; c += 2 * kW)
            m0 = vmax(m0, vload(xr + c)), m1 = vmax(m1, vload(xr + c + kW));
        for (; c + kW <= cols; c += kW) m0 = vmax(m0, vload(xr + c));
        if (c < cols) m1 = vmax(m1, vload_n_fill(xr + c, cols - c, ninf));
        const VF m = vset1(vhmax(vmax(m0, m1)));
        VF s0 = vzero(), s1 = vzero();
        for (c = 0; c + kW <= cols; c += kW) {
            const VF e = vexp(vload(xr + c) - m);
            vstore(yr + c, e);
            s0 = s0 + e;
        }
        if (c < cols) {
            const VF e = vexp(vload_n_fill(xr + c, cols - c, ninf) - m);
            vstore_n(yr + c, e, cols - c);
            s1 = s1 + e;
        }
        const VF inv = vset1(1.0f / vhsum(s0 + s1));
        for (c = 0; c + kW <= cols; c += kW) vstore(yr + c, vload(yr + c) * inv);
        if (c < cols) vstore_n(yr + c, vload_n(yr + c, cols - c) * inv, cols - c);
    }
}

void softmax_bwd_rows(float* dx, const float* dy, const float* y, int64_t r0, int64_t r1,
                      int64_t cols) {
    for (int64_t row = r0; row < r1; row++) {
        const float* dyr = dy + row * cols;
        const float* yr = y + row * cols;
        float* dxr = dx + row * cols;
        VF a0 = vzero(), a1 = vzero();
        int64_t c = 0;
        for (; c + 2 * kW <= cols; c += 2 * kW) {
            a0 = vfmadd(vload(dyr + c), vload(yr + c), a0);
            a1 = vfmadd(vload(dyr + c + kW), vload(yr + c + kW), a1);
        }
        for (; c + kW <= cols; c += kW) a0 = vfmadd(vload(dyr + c), vload(yr + c), a0);
        if (c < cols) a1 = vfmadd(vload_n(dyr + c, cols - c), vload_n(yr + c, cols - c), a1);
        const VF dot = vset1(vhsum(a0 + a1));
        for (c = 0; c + kW <= cols; c += kW)
            vstore(dxr + c, vload(yr + c) * (vload(dyr + c) - dot));
        if (c < cols) {
            const int64_t r = cols - c;
            vstore_n(dxr + c, vload_n(yr + c, r) * (vload_n(dyr + c, r) - dot), r);
        }
    }
}

}  // namespace r1::cpu::R1_SIMD_NS
