// GELU (erf / tanh), SiLU, SwiGLU and the residual add: ref:: loops in double (the oracle)
// and the public entry points, which split the elements across threads and run the
// AVX2/AVX-512 kernels of backend/cpu/activation_*.cpp (scalar ISA -> ref).
//
// The ref GELU(erf) is written as x * erfc(-x/√2)/2 rather than PyTorch's x*(1+erf(x/√2))/2:
// the same function, without the cancellation that leaves float erf with no correct digits
// for x < -5. Fast kernels follow the same form (see activation_impl.h).
#include "ops/activation.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/elementwise_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace ref {
namespace {
constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kBeta = 0.79788456080286535588;  // sqrt(2/pi)
constexpr double kKappa = 0.044715;

double gelu(double x, GeluKind kind) {
    if (kind == GeluKind::erf) return 0.5 * x * std::erfc(-x * kSqrt1_2);
    return 0.5 * x * (1.0 + std::tanh(kBeta * (x + kKappa * x * x * x)));
}
double gelu_grad(double x, GeluKind kind) {
    if (kind == GeluKind::erf)
        return 0.5 * std::erfc(-x * kSqrt1_2) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    const double t = std::tanh(kBeta * (x + kKappa * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * kBeta * (1.0 + 3.0 * kKappa * x * x);
}
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)gelu(x[i], kind);
}
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind) {
    for (int64_t i = 0; i < n; i++) dx[i] = (float)(dy[i] * gelu_grad(x[i], kind));
}
void silu_forward(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)(x[i] * sigmoid(x[i]));
}
void silu_backward(float* dx, const float* dy, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const double s = sigmoid(x[i]);
        dx[i] = (float)(dy[i] * s * (1.0 + x[i] * (1.0 - s)));
    }
}
void swiglu_forward(float* y, const float* g, const float* u, int64_t N, int64_t F,
                    int64_t g_stride, int64_t u_stride) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t f = 0; f < F; f++) {
            const double gv = g[n * g_stride + f];
            y[n * F + f] = (float)(gv * sigmoid(gv) * u[n * u_stride + f]);
        }
}
void swiglu_backward(float* dg, float* du, const float* dy, const float* g, const float* u,
                     int64_t N, int64_t F, int64_t g_stride, int64_t u_stride) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t f = 0; f < F; f++) {
            const double gv = g[n * g_stride + f], uv = u[n * u_stride + f], d = dy[n * F + f];
            const double s = sigmoid(gv);
            dg[n * g_stride + f] = (float)(d * uv * s * (1.0 + gv * (1.0 - s)));
            du[n * u_stride + f] = (float)(d * gv * s);
        }
}
}  // namespace ref

namespace {
// Elements per task: exp-heavy kernels run ~1-2 ns/element per core, so 8K elements keep the
// OpenMP fork/join (~1-2 us) small relative to the work.
constexpr int64_t kGrain = 8192;

void check_n(const char* op, int64_t n) { R1_CHECK(n >= 0, "[", op, "] negative length ", n); }
}  // namespace

void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind) {
    check_n("gelu_forward", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::gelu_forward(y, x, n, kind);
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
            if (isa == Isa::avx512) cpu::avx512::gelu_fwd(y + b, x + b, e - b, kind);
            else cpu::avx2::gelu_fwd(y + b, x + b, e - b, kind);
        },
        kGrain);
}

void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind) {
    check_n("gelu_backward", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::gelu_backward(dx, dy, x, n, kind);
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
            if (isa == Isa::avx512) cpu::avx512::gelu_bwd(dx + b, dy + b, x + b, e - b, kind);
            else cpu::avx2::gelu_bwd(dx + b, dy + b, x + b, e - b, kind);
        },
        kGrain);
}

void silu_forward(float* y, const float* x, int64_t n) {
    check_n("silu_forward", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::silu_forward(y, x, n);
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
            if (isa == Isa::avx512) cpu::avx512::silu_fwd(y + b, x + b, e - b);
            else cpu::avx2::silu_fwd(y + b, x + b, e - b);
        },
        kGrain);
}

void silu_backward(float* dx, const float* dy, const float* x, int64_t n) {
    check_n("silu_backward", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::silu_backward(dx, dy, x, n);
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
            if (isa == Isa::avx512) cpu::avx512::silu_bwd(dx + b, dy + b, x + b, e - b);
            else cpu::avx2::silu_bwd(dx + b, dy + b, x + b, e - b);
        },
        kGrain);
}

void swiglu_forward(float* y, const float* g, const float* u, int64_t N, int64_t F,
                    int64_t g_stride, int64_t u_stride) {
    R1_CHECK(N >= 0 && F >= 0 && g_stride >= F && u_stride >= F, "[swiglu_forward] bad shape N=",
             N, " F=", F, " g_stride=", g_stride, " u_stride=", u_stride);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::swiglu_forward(y, g, u, N, F, g_stride, u_stride);
    if (F == 0) return;
    parallel_for(
        N,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512)
                cpu::avx512::swiglu_fwd_rows(y, g, u, r0, r1, F, g_stride, u_stride);
            else
                cpu::avx2::swiglu_fwd_rows(y, g, u, r0, r1, F, g_stride, u_stride);
        },
        std::max<int64_t>(1, kGrain / F));
}

void swiglu_backward(float* dg, float* du, const float* dy, const float* g, const float* u,
                     int64_t N, int64_t F, int64_t g_stride, int64_t u_stride) {
    R1_CHECK(N >= 0 && F >= 0 && g_stride >= F && u_stride >= F, "[swiglu_backward] bad shape N=",
             N, " F=", F, " g_stride=", g_stride, " u_stride=", u_stride);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::swiglu_backward(dg, du, dy, g, u, N, F, g_stride, u_stride);
    if (F == 0) return;
    parallel_for(
        N,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512)
                cpu::avx512::swiglu_bwd_rows(dg, du, dy, g, u, r0, r1, F, g_stride, u_stride);
            else
                cpu::avx2::swiglu_bwd_rows(dg, du, dy, g, u, r0, r1, F, g_stride, u_stride);
        },
        std::max<int64_t>(1, kGrain / F));
}

void add_inplace(float* y, const float* x, int64_t n) {
    check_n("add_inplace", n);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) {
        for (int64_t i = 0; i < n; i++) y[i] += x[i];
        return;
    }
    // Pure bandwidth: larger chunks.
    parallel_for(
        n,
        [&](int64_t b, int64_t e) {
            if (isa == Isa::avx512) cpu::avx512::add_inplace(y + b, x + b, e - b);
            else cpu::avx2::add_inplace(y + b, x + b, e - b);
        },
        4 * kGrain);
}

}  // namespace r1
