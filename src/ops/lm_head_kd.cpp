// Fused LM head + CE/KD loss (contract in lm_head_kd.h). Rows are processed in chunks so
// memory is O(chunk × V), never O(N × V) for the student:
//   Z[n, V]  = h_chunk · Wᵀ                                   (oneDNN GEMM)
//   per row (independent, parallel): CE from log softmax(Z); log q = log softmax(Z/τ),
//            log p = log softmax(t/τ) from the teacher row; KL; then Z ← dL/dZ in place:
//            grad_scale · [(1 − α)(softmax(Z) − onehot) + α·τ·g],  g = q − p (forward) or
//            q ⊙ (log q − log p − KL) (reverse)
//   dh_chunk = dZ · W,   dW += dZᵀ · h_chunk                     (GEMMs; beta 1 for dW)
// Log-probabilities are formed as differences (z/τ − lse), never log(exp(..)), so rows where
// p or q underflow to 0 stay finite (0 · finite = 0). Row sums are accumulated in double.
// Deterministic: per-row work is independent and the loss is summed in row order.
// ref:: materialises [N, V] in double and loops plainly.
#include "ops/lm_head_kd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"
#include "core/threads.h"
#include "ops/matmul.h"

namespace r1 {

KdMode parse_kd_mode(const char* s, const char* what) {
    const std::string v = s ? s : "";
    if (v == "none") return KdMode::none;
    if (v == "forward") return KdMode::forward;
    if (v == "reverse") return KdMode::reverse;
    fail("[", what, "] unknown KD mode '", v, "' (expected none, forward or reverse)");
}

const char* kd_mode_name(KdMode m) {
    switch (m) {
        case KdMode::none: return "none";
        case KdMode::forward: return "forward";
        case KdMode::reverse: return "reverse";
    }
    return "?";
}

namespace {

void validate(const int32_t* targets, const float* teacher, int64_t N, int64_t C, int64_t V,
              const float* dh, const float* dW, const KdOptions& o, const char* who) {
    R1_CHECK(N >= 0 && C >= 1 && V >= 1, "[", who, "] bad sizes N=", N, " C=", C, " V=", V);
    R1_CHECK(targets || N == 0, "[", who, "] targets is null");
    R1_CHECK(teacher || N == 0 || o.mode == KdMode::none, "[", who, "] teacher logits are null");
    R1_CHECK(o.alpha >= 0.0f && o.alpha <= 1.0f, "[", who, "] alpha (KD weight) must be in [0, 1], got ", o.alpha);
    R1_CHECK(o.tau > 0.0f && std::isfinite(o.tau), "[", who, "] tau (KD temperature) must be > 0, got ", o.tau);
    for (int64_t r = 0; r < N; r++)
        R1_CHECK(targets[r] >= -1 && targets[r] < V, "[", who, "] targets[", r, "]=", targets[r],
                 " outside [-1, ", V, ")");
    R1_CHECK(!dW || dh, "[", who, "] dW given without dh (backward needs both or neither)");
}

int64_t chunk_rows(int64_t V) { return std::clamp<int64_t>((int64_t{1} << 21) / V, 32, 1024); }

// log Σ_v exp(x_v · s) for a row, given its max m (computed stably around m·s).
template <typename T>
double lse_scaled(const T* x, int64_t V, double m, double s) {
    double sum = 0;
    for (int64_t v = 0; v < V; v++) sum += std::exp(((double)x[v] - m) * s);
    return m * s + std::log(sum);
}

}  // namespace

LmHeadKdResult lm_head_kd(float* dh, float* dW, const float* h, const float* W,
                          const float* teacher_logits, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, const KdOptions& o, float grad_scale) {
    validate(targets, teacher_logits, N, C, V, dh, dW, o, "lm_head_kd");
    const bool kd = o.mode != KdMode::none;
    const double alpha = kd ? o.alpha : 0.0, tau = o.tau, inv_tau = 1.0 / tau;
    const int64_t CH = std::min<int64_t>(chunk_rows(V), std::max<int64_t>(N, 1));
    Buffer<float> Z(CH * V);  // [CH, V] student logits → dlogits
    std::vector<double> ce(CH), kl(CH);
    LmHeadKdResult res;
    for (int64_t r0 = 0; r0 < N; r0 += CH) {
        const int64_t n = std::min(CH, N - r0);
        const float* hc = h + r0 * C;  // [n, C]
        gemm(false, true, n, V, C, 1.0f, hc, C, W, C, 0.0f, Z.data(), V);  // [n, V]
        parallel_for(
            n,
            [&](int64_t a, int64_t b) {
                for (int64_t i = a; i < b; i++) {
                    float* z = Z.data() + i * V;  // [V]
                    const int32_t t = targets[r0 + i];
                    ce[i] = kl[i] = 0;
                    if (t < 0) {
                        if (dh) std::memset(z, 0, sizeof(float) * V);
                        continue;
                    }
                    const double mz = *std::max_element(z, z + V);
                    const double lse1 = lse_scaled(z, V, mz, 1.0);  // CE at temperature 1
                    ce[i] = lse1 - z[t];
                    double lseq = 0, lsep = 0, k = 0;
                    const float* tl = kd ? teacher_logits + (r0 + i) * V : nullptr;  // [V]
                    if (kd) {
                        lseq = lse_scaled(z, V, mz, inv_tau);
                        lsep = lse_scaled(tl, V, (double)*std::max_element(tl, tl + V), inv_tau);
                        for (int64_t v = 0; v < V; v++) {
                            const double lq = z[v] * inv_tau - lseq, lp = tl[v] * inv_tau - lsep;
                            k += o.mode == KdMode::forward ? std::exp(lp) * (lp - lq)
                                                           : std::exp(lq) * (lq - lp);
                        }
                        kl[i] = k;
                    }
                    if (!dh) continue;
                    const double s = grad_scale;
                    for (int64_t v = 0; v < V; v++) {
                        double g = (1.0 - alpha) * std::exp((double)z[v] - lse1);
                        if (kd) {
                            const double lq = z[v] * inv_tau - lseq, lp = tl[v] * inv_tau - lsep;
                            const double q = std::exp(lq);
                            const double gk = o.mode == KdMode::forward ? q - std::exp(lp)
                                                                        : q * (lq - lp - k);
                            g += alpha * tau * gk;
                        }
                        z[v] = (float)(s * g);
                    }
                    z[t] -= (float)(s * (1.0 - alpha));
                }
            },
            4);
        for (int64_t i = 0; i < n; i++) {  // serial: fixed summation order
            if (targets[r0 + i] < 0) continue;
            res.ce_sum += ce[i];
            res.kl_sum += kl[i];
            res.loss_sum += (1.0 - alpha) * ce[i] + alpha * tau * tau * kl[i];
            res.n_valid++;
        }
        if (!dh) continue;
        gemm(false, false, n, C, V, 1.0f, Z.data(), V, W, C, 0.0f, dh + r0 * C, C);  // [n, C]
        if (dW) gemm(true, false, V, C, n, 1.0f, Z.data(), V, hc, C, 1.0f, dW, C);   // [V, C]
    }
    return res;
}

namespace ref {

LmHeadKdResult lm_head_kd(float* dh, float* dW, const float* h, const float* W,
                          const float* teacher_logits, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, const KdOptions& o, float grad_scale) {
    validate(targets, teacher_logits, N, C, V, dh, dW, o, "ref::lm_head_kd");
    const bool kd = o.mode != KdMode::none;
    const double alpha = kd ? o.alpha : 0.0, tau = o.tau;
    std::vector<double> z(N * V), dz(N * V, 0.0);  // [N, V]
    for (int64_t r = 0; r < N; r++)
        for (int64_t v = 0; v < V; v++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (double)h[r * C + c] * W[v * C + c];
            z[r * V + v] = s;
        }
    // log softmax(x / temp) of one row
    auto log_softmax = [&](const auto* x, double temp) {
        std::vector<double> out(V);
        double mx = -INFINITY;
        for (int64_t v = 0; v < V; v++) mx = std::max(mx, (double)x[v] / temp);
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += std::exp((double)x[v] / temp - mx);
        for (int64_t v = 0; v < V; v++) out[v] = (double)x[v] / temp - mx - std::log(sum);
        return out;
    };
    LmHeadKdResult res;
    for (int64_t r = 0; r < N; r++) {
        const int32_t t = targets[r];
        if (t < 0) continue;
        const double* zr = &z[r * V];
        const std::vector<double> ls = log_softmax(zr, 1.0);
        double ce = -ls[t], k = 0;
        std::vector<double> lq, lp;
        if (kd) {
            lq = log_softmax(zr, tau);
            lp = log_softmax(teacher_logits + r * V, tau);
            for (int64_t v = 0; v < V; v++)
                k += o.mode == KdMode::forward ? std::exp(lp[v]) * (lp[v] - lq[v])
                                               : std::exp(lq[v]) * (lq[v] - lp[v]);
        }
        res.ce_sum += ce;
        res.kl_sum += k;
        res.loss_sum += (1 - alpha) * ce + alpha * tau * tau * k;
        res.n_valid++;
        for (int64_t v = 0; v < V; v++) {
            double g = (1 - alpha) * (std::exp(ls[v]) - (v == t ? 1.0 : 0.0));
            if (kd) {
                const double q = std::exp(lq[v]);
                g += alpha * tau *
                     (o.mode == KdMode::forward ? q - std::exp(lp[v]) : q * (lq[v] - lp[v] - k));
            }
            dz[r * V + v] = grad_scale * g;
        }
    }
    if (dh)
        for (int64_t r = 0; r < N; r++)
            for (int64_t c = 0; c < C; c++) {
                double s = 0;
                for (int64_t v = 0; v < V; v++) s += dz[r * V + v] * W[v * C + c];
                dh[r * C + c] = (float)s;
            }
    if (dW)
        for (int64_t v = 0; v < V; v++)
            for (int64_t c = 0; c < C; c++) {
                double s = 0;
                for (int64_t r = 0; r < N; r++) s += dz[r * V + v] * h[r * C + c];
                dW[v * C + c] += (float)s;
            }
    return res;
}

}  // namespace ref
}  // namespace r1
