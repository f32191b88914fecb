// Internal: LayerNorm / RMSNorm row kernels, written once over simd.h and compiled by
// norm_avx2.cpp and norm_avx512.cpp. Float vector accumulators (two independent chains),
// two-pass mean/variance; the ref:: loops in ops/norm.cpp accumulate in double and the tests
// bound the difference. Backward makes one sweep over x/dy per row: the row reductions, then
// dx together with the row's dw/db contribution added into a per-chunk partial
// (ops/norm.cpp sums the partials in chunk order).
#include "backend/cpu/elementwise_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::R1_SIMD_NS {
namespace {

// Σ x[c] over [0, C).
inline float row_sum(const float* x, int64_t C) {
    VF a0 = vzero(), a1 = vzero();
    int64_t c = 0;
    for (; c + 2 * kW <= C; c += 2 * kW) a0 = a0 + vload(x + c), a1 = a1 + vload(x + c + kW);
    for (; c + kW <= C; c += kW) a0 = a0 + vload(x + c);
    if (c < C) a1 = a1 + vload_n(x + c, C - c);
    return vhsum(a0 + a1);
}

// Σ (x[c] - m)² over [0, C).
inline float row_sq_dev(const float* x, float m, int64_t C) {
    const VF vm = vset1(m);
    VF a0 = vzero(), a1 = vzero();
    int64_t c = 0;
    for (; c + 2 * kW <= C; c += 2 * kW) {
        const VF d0 = vload(x + c) - vm, d1 = vload(x + c + kW) - vm;
        a0 = vfmadd(d0, d0, a0), a1 = vfmadd(d1, d1, a1);
    }
    for (; c + kW <= C; c += kW) {
        const VF d = vload(x + c) - vm;
        a0 = vfmadd(d, d, a0);
    }
    if (c < C) {
        const VF d = vkeep_n(vload_n(x + c, C - c) - vm, C - c);
        a1 = vfmadd(d, d, a1);
    }
    return vhsum(a0 + a1);
}

}  // namespace

void layernorm_fwd_rows(float* y, float* mean, float* rstd, const float* x, const float* w,
                        const float* b, int64_t r0, int64_t r1, int64_t C, float eps) {
    for (int64_t n = r0; n < r1; n++) {
        const float* xr = x + n * C;  // [C]
        float* yr = y + n * C;
        const float m = row_sum(xr, C) / (float)C;
        const float s = 1.0f / __builtin_sqrtf(row_sq_dev(xr, m, C) / (float)C + eps);
        const VF vm = vset1(m), vs = vset1(s);
        int64_t c = 0;
        for (; c + kW <= C; c += kW) {
            const VF xhat = (vload(xr + c) - vm) * vs;
            vstore(yr + c, b ? vfmadd(xhat, vload(w + c), vload(b + c)) : xhat * vload(w + c));
        }
        if (c < C) {
            const int64_t r = C - c;
            const VF xhat = (vload_n(xr + c, r) - vm) * vs;
            vstore_n(yr + c,
                     b ? vfmadd(xhat, vload_n(w + c, r), vload_n(b + c, r)) : xhat * vload_n(w + c, r),
                     r);
        }
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = s;
    }
}

void layernorm_bwd_rows(float* dx, float* dwp, float* dbp, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t r0,
                        int64_t r1, int64_t C) {
    for (int64_t n = r0; n < r1; n++) {
        const float* xr = x + n * C;
        const float* dyr = dy + n * C;
        float* dxr = dx + n * C;
        const VF vm = vset1(mean[n]), vs = vset1(rstd[n]);
        // pass 1: Σ g and Σ g*xhat with g = dy*w (tail lanes load dy = 0, so g = 0 there)
        VF sg = vzero(), sgx = vzero();
        int64_t c = 0;
        for (; c + kW <= C; c += kW) {
            const VF g = vload(dyr + c) * vload(w + c);
            sg = sg + g;
            sgx = vfmadd(g, (vload(xr + c) - vm) * vs, sgx);
        }
        if (c < C) {
            const int64_t r = C - c;
            const VF g = vload_n(dyr + c, r) * vload_n(w + c, r);
            sg = sg + g;
            sgx = vfmadd(g, (vload_n(xr + c, r) - vm) * vs, sgx);
        }
        const VF gm = vset1(vhsum(sg) / (float)C), gxm = vset1(vhsum(sgx) / (float)C);
        // pass 2 (row still in L1): dx = (g - mean(g) - xhat * mean(g*xhat)) * rstd, and the
        // parameter partials dw += dy*xhat, db += dy
        for (c = 0; c + kW <= C; c += kW) {
            const VF d = vload(dyr + c);
            const VF g = d * vload(w + c);
            const VF xhat = (vload(xr + c) - vm) * vs;
            vstore(dxr + c, vfnmadd(xhat, gxm, g - gm) * vs);
            vstore(dwp + c, vfmadd(d, xhat, vload(dwp + c)));
            if (dbp) vstore(dbp + c, vload(dbp + c) + d);
        }
        if (c < C) {
            const int64_t r = C - c;
            const VF d = vload_n(dyr + c, r);
            const VF g = d * vload_n(w + c, r);
            const VF xhat = (vload_n(xr + c, r) - vm) * vs;
            vstore_n(dxr + c, vfnmadd(xhat, gxm, g - gm) * vs, r);
            vstore_n(dwp + c, vfmadd(d, xhat, vload_n(dwp + c, r)), r);
            if (dbp) vstore_n(dbp + c, vload_n(dbp + c, r) + d, r);
        }
    }
}

void rmsnorm_fwd_rows(float* y, float* rstd, const float* x, const float* w, int64_t r0,
                      int64_t r1, int64_t C, float eps) {
    for (int64_t n = r0; n < r1; n++) {
        const float* xr = x + n * C;
        float* yr = y + n * C;
        const float s = 1.0f / __builtin_sqrtf(row_sq_dev(xr, 0.0f, C) / (float)C + eps);
        const VF vs = vset1(s);
        int64_t c = 0;
        for (; c + kW <= C; c += kW) vstore(yr + c, vload(xr + c) * vs * vload(w + c));
        if (c < C) vstore_n(yr + c, vload_n(xr + c, C - c) * vs * vload_n(w + c, C - c), C - c);
        if (rstd) rstd[n] = s;
    }
}

void rmsnorm_bwd_rows(float* dx, float* dwp, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t r0, int64_t r1, int64_t C) {
    for (int64_t n = r0; n < r1; n++) {
        const float* xr = x + n * C;
        const float* dyr = dy + n * C;
        float* dxr = dx + n * C;
        const VF vs = vset1(rstd[n]);
        VF a0 = vzero(), a1 = vzero();  // Σ dy*w*x (xhat = x*rstd applied after the sum)
        int64_t c = 0;
        for (; c + 2 * kW <= C; c += 2 * kW) {
            a0 = vfmadd(vload(dyr + c) * vload(w + c), vload(xr + c), a0);
            a1 = vfmadd(vload(dyr + c + kW) * vload(w + c + kW), vload(xr + c + kW), a1);
        }
        for (; c + kW <= C; c += kW) a0 = vfmadd(vload(dyr + c) * vload(w + c), vload(xr + c), a0);
        if (c < C) {
            const int64_t r = C - c;
            a1 = vfmadd(vload_n(dyr + c, r) * vload_n(w + c, r), vload_n(xr + c, r), a1);
        }
        // dx = (g - xhat * mean(g*xhat)) * rstd with xhat = x*rstd  =>  g*rstd - x*k;
        // dw partial += dy * xhat
        const float k = vhsum(a0 + a1) / (float)C * rstd[n] * rstd[n] * rstd[n];
        const VF vk = vset1(k);
        for (c = 0; c + kW <= C; c += kW) {
            const VF d = vload(dyr + c), xv = vload(xr + c);
            vstore(dxr + c, vfnmadd(xv, vk, d * vload(w + c) * vs));
            vstore(dwp + c, vfmadd(d, xv * vs, vload(dwp + c)));
        }
        if (c < C) {
            const int64_t r = C - c;
            const VF d = vload_n(dyr + c, r), xv = vload_n(xr + c, r);
            vstore_n(dxr + c, vfnmadd(xv, vk, d * vload_n(w + c, r) * vs), r);
            vstore_n(dwp + c, vfmadd(d, xv * vs, vload_n(dwp + c, r)), r);
        }
    }
}

}  // namespace r1::cpu::R1_SIMD_NS
