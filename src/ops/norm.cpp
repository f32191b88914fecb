// LayerNorm and RMSNorm, forward and backward: the ref:: plain loops (double accumulation,
// the oracle) and the public entry points, which split rows across threads and run the
// AVX2/AVX-512 row kernels from backend/cpu/norm_*.cpp (scalar ISA -> ref).
//
// Backward sweeps x/dy once: rows are cut into fixed chunks of kRowChunk rows (independent
// of the thread count); each chunk writes its dx rows and its own dw/db partial sums, then the
// partials are added to dw/db column-parallel in chunk order. Parameter gradients are thus
// bit-identical for any thread count. The partials ([N/32, C], small) live in a per-calling-
// thread scratch that is reused, so a warm call allocates nothing.
#include "ops/norm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/elementwise_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace ref {

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int64_t C, float eps) {
    for (int64_t n = 0; n < N; n++) {
        const float* xr = x + n * C;  // [C]
        float* yr = y + n * C;
        double m = 0;
        for (int64_t c = 0; c < C; c++) m += xr[c];
        m /= C;
        double v = 0;
        for (int64_t c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
        v /= C;
        const double s = 1.0 / std::sqrt(v + eps);
        for (int64_t c = 0; c < C; c++)
            yr[c] = (float)((xr[c] - m) * s * w[c] + (b ? b[c] : 0.0f));
        if (mean) mean[n] = (float)m;
        if (rstd) rstd[n] = (float)s;
    }
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N,
                        int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        const float* xr = x + n * C;
        const float* dyr = dy + n * C;
        float* dxr = dx + n * C;
        const double m = mean[n], s = rstd[n];
        double g_mean = 0, g_xhat_mean = 0;  // mean(dy*w), mean(dy*w*xhat)
        for (int64_t c = 0; c < C; c++) {
            const double xhat = (xr[c] - m) * s, g = (double)dyr[c] * w[c];
            g_mean += g;
            g_xhat_mean += g * xhat;
        }
        g_mean /= C;
        g_xhat_mean /= C;
        for (int64_t c = 0; c < C; c++) {
            const double xhat = (xr[c] - m) * s, g = (double)dyr[c] * w[c];
            dxr[c] = (float)((g - g_mean - xhat * g_xhat_mean) * s);
            dw[c] += (float)(dyr[c] * xhat);
            if (db) db[c] += dyr[c];
        }
    }
}

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t N,
                     int64_t C, float eps) {
    for (int64_t n = 0; n < N; n++) {
        const float* xr = x + n * C;
        float* yr = y + n * C;
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        const double s = 1.0 / std::sqrt(ss / C + eps);
        for (int64_t c = 0; c < C; c++) yr[c] = (float)(xr[c] * s * w[c]);
        if (rstd) rstd[n] = (float)s;
    }
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        const float* xr = x + n * C;
        const float* dyr = dy + n * C;
        float* dxr = dx + n * C;
        const double s = rstd[n];
        double g_xhat_mean = 0;  // mean(dy*w*xhat)
        for (int64_t c = 0; c < C; c++) g_xhat_mean += (double)dyr[c] * w[c] * xr[c] * s;
        g_xhat_mean /= C;
        for (int64_t c = 0; c < C; c++) {
            const double xhat = xr[c] * s;
            dxr[c] = (float)(((double)dyr[c] * w[c] - xhat * g_xhat_mean) * s);
            dw[c] += (float)(dyr[c] * xhat);
        }
    }
}

}  // namespace ref

namespace {

void check_norm(const char* op, int64_t N, int64_t C) {
    R1_CHECK(N >= 0 && C > 0, "[", op, "] bad shape N=", N, " C=", C);
}

// Rows per task: about 4K floats of work each, so small inputs stay on one thread.
int64_t row_grain(int64_t C) { return std::max<int64_t>(1, 4096 / C); }

constexpr int64_t kRowChunk = 32;

float* scratch(size_t n) {
    thread_local std::vector<float> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

// rows(dwp, dbp, r0, r1) runs the ISA row kernel on rows [r0, r1) with zeroed partials.
template <class Rows>
void norm_backward_chunked(float* dw, float* db, int64_t N, int64_t C, const Rows& rows) {
    const int64_t nch = (N + kRowChunk - 1) / kRowChunk;
    if (nch == 0) return;
    float* pw = scratch((size_t)(nch * C * (db ? 2 : 1)));  // [nch, C] (+ [nch, C] for db)
    float* pb = db ? pw + nch * C : nullptr;
    parallel_for(
        nch,
        [&](int64_t ch0, int64_t ch1) {
            for (int64_t ch = ch0; ch < ch1; ch++) {
                std::memset(pw + ch * C, 0, (size_t)C * sizeof(float));
                if (pb) std::memset(pb + ch * C, 0, (size_t)C * sizeof(float));
                rows(pw + ch * C, pb ? pb + ch * C : nullptr, ch * kRowChunk,
                     std::min(N, (ch + 1) * kRowChunk));
            }
        },
        std::max<int64_t>(1, 4096 / (kRowChunk * C)));
    parallel_for(
        C,
        [&](int64_t c0, int64_t c1) {
            for (int64_t ch = 0; ch < nch; ch++) {
                for (int64_t c = c0; c < c1; c++) dw[c] += pw[ch * C + c];
                if (db)
                    for (int64_t c = c0; c < c1; c++) db[c] += pb[ch * C + c];
            }
        },
        std::max<int64_t>(64, 16384 / nch));
}

}  // namespace

void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int64_t C, float eps) {
    check_norm("layernorm_forward", N, C);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::layernorm_forward(y, mean, rstd, x, w, b, N, C, eps);
    parallel_for(
        N,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512)
                cpu::avx512::layernorm_fwd_rows(y, mean, rstd, x, w, b, r0, r1, C, eps);
            else
                cpu::avx2::layernorm_fwd_rows(y, mean, rstd, x, w, b, r0, r1, C, eps);
        },
        row_grain(C));
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N,
                        int64_t C) {
    check_norm("layernorm_backward", N, C);
    R1_CHECK(mean && rstd, "[layernorm_backward] mean/rstd from the forward pass are required");
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, N, C);
    norm_backward_chunked(dw, db, N, C, [&](float* dwp, float* dbp, int64_t r0, int64_t r1) {
        if (isa == Isa::avx512)
            cpu::avx512::layernorm_bwd_rows(dx, dwp, dbp, dy, x, w, mean, rstd, r0, r1, C);
        else
            cpu::avx2::layernorm_bwd_rows(dx, dwp, dbp, dy, x, w, mean, rstd, r0, r1, C);
    });
}

void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t N,
                     int64_t C, float eps) {
    check_norm("rmsnorm_forward", N, C);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::rmsnorm_forward(y, rstd, x, w, N, C, eps);
    parallel_for(
        N,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512)
                cpu::avx512::rmsnorm_fwd_rows(y, rstd, x, w, r0, r1, C, eps);
            else
                cpu::avx2::rmsnorm_fwd_rows(y, rstd, x, w, r0, r1, C, eps);
        },
        row_grain(C));
}

void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C) {
    check_norm("rmsnorm_backward", N, C);
    R1_CHECK(rstd, "[rmsnorm_backward] rstd from the forward pass is required");
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::rmsnorm_backward(dx, dw, dy, x, w, rstd, N, C);
    norm_backward_chunked(dw, nullptr, N, C, [&](float* dwp, float*, int64_t r0, int64_t r1) {
        if (isa == Isa::avx512)
            cpu::avx512::rmsnorm_bwd_rows(dx, dwp, dy, x, w, rstd, r0, r1, C);
        else
            cpu::avx2::rmsnorm_bwd_rows(dx, dwp, dy, x, w, rstd, r0, r1, C);
    });
}

}  // namespace r1
