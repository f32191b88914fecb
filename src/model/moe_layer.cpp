// The DeepSeekMoE feed-forward layer, forward and hand-written backward.
//
// forward:  logits = x·Wrᵀ → route (scores, ids, weights) → bucket slots by expert → gather
//           rows into one contiguous block per expert → per expert: SwiGLU as three GEMMs on
//           its n_e rows → y = shared(x) → y += Σ_j w_j · ys[slot(t, j)]  (weighted scatter)
// backward: the exact mirror; dweights come out of the scatter backward, flow through the
//           routing weights (not the selection) into the router logits, plus the aux loss.
//
// Why it is shaped like this: one GEMM per projection per expert (never a per-token loop),
// oneDNN's sgemm threads each GEMM, and the routing/dispatch passes are O(N·k·C) memory
// moves. All buffers grow to the largest N seen and are reused, and backward recycles the
// forward buffers in place (xs→dxs, ys→dys, act→dact, logits→dlogits): backward consumes
// the state of the last forward and can run once per forward.
#include "model/moe_layer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "ops/activation.h"
#include "ops/matmul.h"
#include "ops/moe_routing.h"

namespace r1 {

namespace {
template <typename T>
void ensure(Buffer<T>& b, size_t n) {
    if (b.size() < n) b.resize(n);
}
}  // namespace

void MoeLayer::forward(float* y, const float* x, int64_t B, int64_t T, const MoeWeights& w,
                       const ModelConfig& cfg, bool train) {
    const RouterConfig rc = cfg.router();
    const int64_t N = B * T, C = cfg.n_embd, E = cfg.n_expert, k = cfg.n_expert_used;
    const int64_t Fe = cfg.n_ff_exp, Fs = cfg.n_ff_exp * cfg.n_expert_shared;
    R1_CHECK(E > 0 && k > 0 && Fe > 0 && C > 0, "[moe_layer] n_expert/n_expert_used/n_ff_exp",
             "/n_embd must be > 0");
    R1_CHECK(w.gate_inp && w.gate_exps && w.up_exps && w.down_exps,
             "[moe_layer] missing router or expert weights");
    R1_CHECK(Fs == 0 || (w.gate_shexp && w.up_shexp && w.down_shexp),
             "[moe_layer] n_expert_shared > 0 but shared expert weights are missing");
    N_ = N, B_ = B, T_ = T;
    x_ = train ? x : nullptr;

    ensure(logits_, N * E);
    ensure(scores_, N * E);
    ensure(weights_, N * k);
    ensure(ids_, N * k);
    ensure(xs_, N * k * C);
    ensure(ys_, N * k * C);
    ensure(pre_, N * k * 2 * Fe);
    ensure(act_, N * k * Fe);

    // router
    linear_forward(logits_.data(), x, w.gate_inp, nullptr, N, C, E);  // [N, E]
    moe_route_forward(ids_.data(), weights_.data(), scores_.data(), logits_.data(), w.sel_bias, N,
                      rc);  // [N, k]
    moe_bucket(buckets_, ids_.data(), N, k, E);
    counts_.resize(E);
    for (int64_t e = 0; e < E; e++) counts_[e] = buckets_.count(e);

    // routed experts on their contiguous row ranges
    moe_gather(xs_.data(), x, buckets_, C);  // [N*k, C]
    for (int64_t e = 0; e < E; e++) {
        const int64_t n = buckets_.count(e), o = buckets_.offsets[e];
        if (n == 0) continue;
        const float* xe = xs_.data() + o * C;  // [n, C]
        float* pe = pre_.data() + o * 2 * Fe;  // [n, 2Fe]
        float* ae = act_.data() + o * Fe;      // [n, Fe]
        float* ye = ys_.data() + o * C;        // [n, C]
        gemm(false, true, n, Fe, C, 1.0f, xe, C, w.gate_exps + e * Fe * C, C, 0.0f, pe, 2 * Fe);
        gemm(false, true, n, Fe, C, 1.0f, xe, C, w.up_exps + e * Fe * C, C, 0.0f, pe + Fe, 2 * Fe);
        swiglu_forward(ae, pe, pe + Fe, n, Fe, 2 * Fe, 2 * Fe);
        gemm(false, true, n, C, Fe, 1.0f, ae, Fe, w.down_exps + e * C * Fe, Fe, 0.0f, ye, C);
    }

    // y = shared(x) + Σ w · routed
    if (Fs > 0)
        swiglu_mlp_forward(y, x, w.gate_shexp, w.up_shexp, w.down_shexp, N, C, Fs,
                           shared_cache_);  // [N, C]
    else
        std::memset(y, 0, sizeof(float) * N * C);
    moe_scatter_add(y, ys_.data(), weights_.data(), k, buckets_, C);

    aux_loss_ = 0;
    if (cfg.aux_loss_alpha > 0)
        aux_loss_ =
            moe_seq_aux_loss(nullptr, scores_.data(), ids_.data(), B, T, rc, cfg.aux_loss_alpha);
}

void MoeLayer::backward(float* dx, const float* dy, const MoeWeights& w, MoeGrads& g,
                        const ModelConfig& cfg, float aux_scale) {
    R1_CHECK(x_ != nullptr, "[moe_layer] backward without a train-mode forward");
    const RouterConfig rc = cfg.router();
    const int64_t N = N_, C = cfg.n_embd, E = cfg.n_expert, k = cfg.n_expert_used;
    const int64_t Fe = cfg.n_ff_exp, Fs = cfg.n_ff_exp * cfg.n_expert_shared;
    ensure(dpre_, N * k * 2 * Fe);
    ensure(dweights_, N * k);

    // weighted scatter: dys (in ys_), dweights
    float* dys = ys_.data();
    moe_scatter_add_backward(dys, dweights_.data(), dy, ys_.data(), weights_.data(), k, buckets_,
                             C);

    // experts, in reverse: down, swiglu, gate|up
    for (int64_t e = 0; e < E; e++) {
        const int64_t n = buckets_.count(e), o = buckets_.offsets[e];
        if (n == 0) continue;
        float* xe = xs_.data() + o * C;              // [n, C]  x, then dx
        const float* pe = pre_.data() + o * 2 * Fe;  // [n, 2Fe]
        float* ae = act_.data() + o * Fe;            // [n, Fe] act, then dact
        const float* dye = dys + o * C;              // [n, C]
        float* dpe = dpre_.data() + o * 2 * Fe;      // [n, 2Fe]
        const float* wg = w.gate_exps + e * Fe * C;
        const float* wu = w.up_exps + e * Fe * C;
        const float* wd = w.down_exps + e * C * Fe;
        if (g.down_exps)  // dWd [C, Fe] += dyᵀ · act
            gemm(true, false, C, Fe, n, 1.0f, dye, C, ae, Fe, 1.0f, g.down_exps + e * C * Fe, Fe);
        gemm(false, false, n, Fe, C, 1.0f, dye, C, wd, Fe, 0.0f, ae, Fe);  // dact [n, Fe]
        swiglu_backward(dpe, dpe + Fe, ae, pe, pe + Fe, n, Fe, 2 * Fe, 2 * Fe);
        if (g.gate_exps)  // dWg [Fe, C] += dgᵀ · x
            gemm(true, false, Fe, C, n, 1.0f, dpe, 2 * Fe, xe, C, 1.0f, g.gate_exps + e * Fe * C,
                 C);
        if (g.up_exps)
            gemm(true, false, Fe, C, n, 1.0f, dpe + Fe, 2 * Fe, xe, C, 1.0f, g.up_exps + e * Fe * C,
                 C);
        gemm(false, false, n, C, Fe, 1.0f, dpe, 2 * Fe, wg, C, 0.0f, xe, C);       // dxs = dg·Wg
        gemm(false, false, n, C, Fe, 1.0f, dpe + Fe, 2 * Fe, wu, C, 1.0f, xe, C);  //     + du·Wu
    }

    // dx = shared'(dy) + Σ_slots dxs
    if (Fs > 0)
        swiglu_mlp_backward(dx, g.gate_shexp, g.up_shexp, g.down_shexp, dy, x_, w.gate_shexp,
                            w.up_shexp, w.down_shexp, N, C, Fs, shared_cache_, false);
    else
        std::memset(dx, 0, sizeof(float) * N * C);
    moe_gather_backward(dx, xs_.data(), buckets_, N, k, C);

    // router: through the routing weights (and the aux loss) into the logits
    float* dlogits = logits_.data();  // [N, E]
    moe_route_backward(dlogits, dweights_.data(), scores_.data(), ids_.data(), weights_.data(), N,
                       rc);
    if (cfg.aux_loss_alpha > 0) {
        ensure(dscores_, N * E);
        std::memset(dscores_.data(), 0, sizeof(float) * N * E);
        moe_seq_aux_loss(dscores_.data(), scores_.data(), ids_.data(), B_, T_, rc,
                         cfg.aux_loss_alpha * aux_scale);
        moe_gating_backward_add(dlogits, dscores_.data(), scores_.data(), N, rc);
    }
    linear_backward(dx, g.gate_inp, nullptr, dlogits, x_, w.gate_inp, N, C, E, true);
    x_ = nullptr;  // the forward state has been consumed (buffers now hold gradients)
}

}  // namespace r1
