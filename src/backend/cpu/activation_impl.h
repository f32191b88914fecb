// Internal: activation kernels (GELU erf/tanh, SiLU, SwiGLU, add), written once over simd.h
// and compiled by activation_avx2.cpp and activation_avx512.cpp.
//
// Formulas (all relative-accurate, no cancellation; tests bound |fast - ref| against the
// double-precision ref:: loops):
//   GELU erf : y = x * Phi(x),  Phi(x) = erfc(-x/√2)/2, with erfc(z), z >= 0, from Numerical
//              Recipes' erfcc (t = 1/(1+z/2), t*exp(-z² + P9(t)), fractional error < 1.2e-7)
//              and Phi = 1 - erfc(z)/2 for x >= 0.  dy/dx = Phi + x * exp(-x²/2)/√(2π).
//   GELU tanh: 0.5*x*(1 + tanh(u)) == x * sigmoid(2u), u = √(2/π)(x + 0.044715x³), so no
//              tanh is needed; dy/dx = s + 2x s(1-s) u'  with 1-s = e*s, e = exp(-2u).
//   SiLU     : y = x*s, s = sigmoid(x);  dy/dx = s (1 + x (1-s)).
// Measured against the double refs on a dense grid over [-12, 12] (both ISAs): forward
// values within 1.3e-6 relative (GELU), 2.2e-7 (SiLU); derivatives within 2.4e-7 absolute
// (they cross zero as differences of O(1) terms, so relative error there is meaningless).
// tests/unit/test_ops_elementwise.cpp checks 2e-6 relative / 1e-6 absolute.
#include "backend/cpu/elementwise_kernels.h"
#include "backend/cpu/simd.h"

namespace r1::cpu::R1_SIMD_NS {
namespace {

template <class Fn>
inline void map1(float* y, const float* x, int64_t n, Fn f) {
    int64_t i = 0;
    for (; i + kW <= n; i += kW) vstore(y + i, f(vload(x + i)));
    if (i < n) vstore_n(y + i, f(vload_n(x + i, n - i)), n - i);
}
template <class Fn>
inline void map2(float* y, const float* a, const float* b, int64_t n, Fn f) {
    int64_t i = 0;
    for (; i + kW <= n; i += kW) vstore(y + i, f(vload(a + i), vload(b + i)));
    if (i < n) vstore_n(y + i, f(vload_n(a + i, n - i), vload_n(b + i, n - i)), n - i);
}

// Phi(x) = P(N(0,1) < x), relative-accurate in both tails' meaningful range.
inline VF normal_cdf(VF x) {
    // z capped at 10 (erfc(10) underflows to 0 anyway) keeps t in vrcp's range for x = ±Inf
    const VF z = vmin(vset1(10.0f), vabs(x) * vset1(0.70710678118654752f));
    const VF t = vrcp(vfmadd(z, vset1(0.5f), vset1(1.0f)));
    VF p = vset1(0.17087277f);
    p = vfmadd(p, t, vset1(-0.82215223f));
    p = vfmadd(p, t, vset1(1.48851587f));
    p = vfmadd(p, t, vset1(-1.13520398f));
    p = vfmadd(p, t, vset1(0.27886807f));
    p = vfmadd(p, t, vset1(-0.18628806f));
    p = vfmadd(p, t, vset1(0.09678418f));
    p = vfmadd(p, t, vset1(0.37409196f));
    p = vfmadd(p, t, vset1(1.00002368f));
    p = vfmsub(p, t, vset1(1.26551223f));
    const VF half_erfc = vset1(0.5f) * t * vexp(vfnmadd(z, z, p));  // erfc(z)/2
    return vselect_lt(x, vzero(), half_erfc, vset1(1.0f) - half_erfc);
}

constexpr float kBeta = 0.7978845608028654f;  // √(2/π)
constexpr float kKappa = 0.044715f;

inline VF gelu_erf(VF x) { return x * normal_cdf(x); }
inline VF gelu_erf_grad(VF x) {
    const VF pdf = vexp(x * x * vset1(-0.5f)) * vset1(0.3989422804014327f);
    return vfmadd(x, pdf, normal_cdf(x));
}
inline VF gelu_tanh(VF x) {
    const VF u = vset1(kBeta) * vfmadd(vset1(kKappa) * x, x * x, x);
    return x * vsigmoid(u + u, nullptr);
}
inline VF gelu_tanh_grad(VF x) {
    const VF x2 = x * x;
    const VF u = vset1(kBeta) * vfmadd(vset1(kKappa) * x, x2, x);
    VF e;
    const VF s = vsigmoid(u + u, &e);
    const VF du = vset1(kBeta) * vfmadd(vset1(3.0f * kKappa), x2, vset1(1.0f));
    return vfmadd((x + x) * (e * s) * s, du, s);
}
inline VF silu(VF x) { return x * vsigmoid(x, nullptr); }
inline VF silu_grad(VF x) {
    VF e;
    const VF s = vsigmoid(x, &e);
    return s * vfmadd(x, e * s, vset1(1.0f));
}

}  // namespace

void gelu_fwd(float* y, const float* x, int64_t n, GeluKind kind) {
    if (kind == GeluKind::erf) map1(y, x, n, [](VF v) { return gelu_erf(v); });
    else map1(y, x, n, [](VF v) { return gelu_tanh(v); });
}

void gelu_bwd(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind) {
    if (kind == GeluKind::erf) map2(dx, dy, x, n, [](VF d, VF v) { return d * gelu_erf_grad(v); });
    else map2(dx, dy, x, n, [](VF d, VF v) { return d * gelu_tanh_grad(v); });
}

void silu_fwd(float* y, const float* x, int64_t n) {
    map1(y, x, n, [](VF v) { return silu(v); });
}

void silu_bwd(float* dx, const float* dy, const float* x, int64_t n) {
    map2(dx, dy, x, n, [](VF d, VF v) { return d * silu_grad(v); });
}

void swiglu_fwd_rows(float* y, const float* g, const float* u, int64_t r0, int64_t r1,
                     int64_t F, int64_t g_stride, int64_t u_stride) {
    for (int64_t n = r0; n < r1; n++)
        map2(y + n * F, g + n * g_stride, u + n * u_stride, F,
             [](VF gv, VF uv) { return silu(gv) * uv; });
}

void swiglu_bwd_rows(float* dg, float* du, const float* dy, const float* g, const float* u,
                     int64_t r0, int64_t r1, int64_t F, int64_t g_stride, int64_t u_stride) {
    for (int64_t n = r0; n < r1; n++) {
        const float* dyr = dy + n * F;  // [F]
        const float* gr = g + n * g_stride;
        const float* ur = u + n * u_stride;
        float* dgr = dg + n * g_stride;
        float* dur = du + n * u_stride;
        auto step = [](VF d, VF gv, VF uv, VF* dgv, VF* duv) {
            VF e;
            const VF s = vsigmoid(gv, &e);
            *duv = d * gv * s;
            *dgv = d * uv * s * vfmadd(gv, e * s, vset1(1.0f));
        };
        int64_t f = 0;
        for (; f + kW <= F; f += kW) {
            VF a, b;
            step(vload(dyr + f), vload(gr + f), vload(ur + f), &a, &b);
            vstore(dgr + f, a);
            vstore(dur + f, b);
        }
        if (f < F) {
            const int64_t r = F - f;
            VF a, b;
            step(vload_n(dyr + f, r), vload_n(gr + f, r), vload_n(ur + f, r), &a, &b);
            vstore_n(dgr + f, a, r);
            vstore_n(dur + f, b, r);
        }
    }
}

void add_inplace(float* y, const float* x, int64_t n) {
    map2(y, y, x, n, [](VF a, VF b) { return a + b; });
}

}  // namespace r1::cpu::R1_SIMD_NS
