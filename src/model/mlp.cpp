// Dense feed-forward blocks (SwiGLU and GELU), forward and backward, on top of the GEMM and
// activation ops. Used by dense layers and the MoE shared experts (the routed experts run
// the same maths on per-expert row ranges inside model/moe_layer.cpp).
//
// SwiGLU keeps gate|up outputs interleaved per row as [N, 2F] (gate in columns [0,F), up in
// [F,2F)): when the weights are adjacent in the flat parameter buffer (up == gate + F*C, the
// layout model/params.h produces) both projections are ONE GEMM against the [2F, C] matrix
// and swiglu reads the two halves with row stride 2F; otherwise two GEMMs write the halves.
// Backward needs scratch for d(act) and d(pre); it lives in thread-local buffers that grow
// once and are reused, so steady-state training allocates nothing here.
#include "model/mlp.h"

#include <cstring>

#include "core/error.h"
#include "ops/matmul.h"

namespace r1 {

namespace {

void ensure(Buffer<float>& b, size_t n) {
    if (b.size() < n) b.resize(n);
}

struct MlpScratch {
    Buffer<float> dact, dpre;
};
MlpScratch& scratch() {
    thread_local MlpScratch s;
    return s;
}

}  // namespace

void swiglu_mlp_forward(float* y, const float* x, const float* w_gate, const float* w_up,
                        const float* w_down, int64_t N, int64_t C, int64_t F, MlpCache& cache) {
    R1_CHECK(N >= 0 && C > 0 && F > 0, "[mlp] swiglu: bad shape N=", N, " C=", C, " F=", F);
    if (N == 0) return;
    ensure(cache.pre, (size_t)(N * 2 * F));
    ensure(cache.act, (size_t)(N * F));
    float* pre = cache.pre.data();  // [N, 2F]
    float* act = cache.act.data();  // [N, F]
    if (w_up == w_gate + F * C) {
        linear_forward(pre, x, w_gate, nullptr, N, C, 2 * F);  // [N, 2F]
    } else {
        gemm(false, true, N, F, C, 1.0f, x, C, w_gate, C, 0.0f, pre, 2 * F);    // [N, F] gate
        gemm(false, true, N, F, C, 1.0f, x, C, w_up, C, 0.0f, pre + F, 2 * F);  // [N, F] up
    }
    swiglu_forward(act, pre, pre + F, N, F, 2 * F, 2 * F);  // [N, F]
    linear_forward(y, act, w_down, nullptr, N, F, C);       // [N, C]
}

void swiglu_mlp_backward(float* dx, float* dw_gate, float* dw_up, float* dw_down, const float* dy,
                         const float* x, const float* w_gate, const float* w_up,
                         const float* w_down, int64_t N, int64_t C, int64_t F, MlpCache& cache,
                         bool accumulate_dx) {
    R1_CHECK(cache.pre.size() >= (size_t)(N * 2 * F) && cache.act.size() >= (size_t)(N * F),
             "[mlp] swiglu backward: cache smaller than N=", N, " (forward not run?)");
    if (N == 0) return;
    MlpScratch& sc = scratch();
    ensure(sc.dact, (size_t)(N * F));
    ensure(sc.dpre, (size_t)(N * 2 * F));
    const float* pre = cache.pre.data();
    const float* act = cache.act.data();
    float* dact = sc.dact.data();                                             // [N, F]
    float* dpre = sc.dpre.data();                                             // [N, 2F]
    linear_backward(dact, dw_down, nullptr, dy, act, w_down, N, F, C);        // [N, F]
    swiglu_backward(dpre, dpre + F, dact, pre, pre + F, N, F, 2 * F, 2 * F);  // [N, 2F]
    const bool fused_w = w_up == w_gate + F * C;
    const bool fused_g = dw_gate && dw_up == dw_gate + F * C;
    if (fused_w && fused_g) {
        linear_backward(dx, dw_gate, nullptr, dpre, x, w_gate, N, C, 2 * F, accumulate_dx);
        return;
    }
    // dx = dg · W_gate + du · W_up  (one GEMM over [2F, C] when the weights are adjacent)
    if (dx) {
        const float beta = accumulate_dx ? 1.0f : 0.0f;
        if (fused_w) {
            gemm(false, false, N, C, 2 * F, 1.0f, dpre, 2 * F, w_gate, C, beta, dx, C);
        } else {
            gemm(false, false, N, C, F, 1.0f, dpre, 2 * F, w_gate, C, beta, dx, C);
            gemm(false, false, N, C, F, 1.0f, dpre + F, 2 * F, w_up, C, 1.0f, dx, C);
        }
    }
    // dW_gate += dgᵀ · x,  dW_up += duᵀ · x      [F, C]
    if (dw_gate) gemm(true, false, F, C, N, 1.0f, dpre, 2 * F, x, C, 1.0f, dw_gate, C);
    if (dw_up) gemm(true, false, F, C, N, 1.0f, dpre + F, 2 * F, x, C, 1.0f, dw_up, C);
}

void gelu_mlp_forward(float* y, const float* x, const float* w_up, const float* w_down, int64_t N,
                      int64_t C, int64_t F, GeluKind kind, MlpCache& cache) {
    R1_CHECK(N >= 0 && C > 0 && F > 0, "[mlp] gelu: bad shape N=", N, " C=", C, " F=", F);
    if (N == 0) return;
    ensure(cache.pre, (size_t)(N * F));
    ensure(cache.act, (size_t)(N * F));
    float* pre = cache.pre.data();  // [N, F]
    float* act = cache.act.data();  // [N, F]
    linear_forward(pre, x, w_up, nullptr, N, C, F);
    gelu_forward(act, pre, N * F, kind);
    linear_forward(y, act, w_down, nullptr, N, F, C);  // [N, C]
}

void gelu_mlp_backward(float* dx, float* dw_up, float* dw_down, const float* dy, const float* x,
                       const float* w_up, const float* w_down, int64_t N, int64_t C, int64_t F,
                       GeluKind kind, MlpCache& cache, bool accumulate_dx) {
    R1_CHECK(cache.pre.size() >= (size_t)(N * F) && cache.act.size() >= (size_t)(N * F),
             "[mlp] gelu backward: cache smaller than N=", N, " (forward not run?)");
    if (N == 0) return;
    MlpScratch& sc = scratch();
    ensure(sc.dact, (size_t)(N * F));
    ensure(sc.dpre, (size_t)(N * F));
    float* dact = sc.dact.data();  // [N, F]
    float* dpre = sc.dpre.data();  // [N, F]
    linear_backward(dact, dw_down, nullptr, dy, cache.act.data(), w_down, N, F, C);
    gelu_backward(dpre, dact, cache.pre.data(), N * F, kind);
    linear_backward(dx, dw_up, nullptr, dpre, x, w_up, N, C, F, accumulate_dx);
}

}  // namespace r1
