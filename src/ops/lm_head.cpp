// Fused LM head + cross-entropy (contract in lm_head.h). Rows are processed in chunks of
// `chunk` rows so memory is O(chunk × V), never O(N × V):
//   L[n, V]   = h_chunk · Wᵀ                         (oneDNN GEMM)
//   per row:    m = max L, e = exp(L − m), lse = m + log Σe, logp = L[t] − lse,
//               entropy = lse − Σ p·L = log Σe − Σ e·(L − m) / Σe
//   coef_r    = grad_scale, or row_coef(r, logp) (called on the calling thread, in row order,
//               so callbacks need not be thread-safe; not called in forward-only mode,
//               dh == null); rows with target −1 get coef 0
//   L        ← coef · (softmax − onehot)              (in place: L becomes dlogits)
//   dh_chunk  = dlogits · W,   dW += dlogitsᵀ · h_chunk   (GEMMs; beta 1 for dW)
// Deterministic: per-row work is independent, the loss is summed in row order, and each
// GEMM's partition depends only on shapes and thread count.
// ref:: materialises all [N, V] logits in double and loops plainly.
#include "ops/lm_head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/attention_kernels.h"
#include "core/buffer.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "ops/matmul.h"

namespace r1 {
namespace {

void validate(const int32_t* targets, int64_t N, int64_t C, int64_t V, const float* dh,
              const float* dW, const char* who) {
    R1_CHECK(N >= 0 && C >= 1 && V >= 1, "[", who, "] bad sizes N=", N, " C=", C, " V=", V);
    R1_CHECK(targets || N == 0, "[", who, "] targets is null");
    for (int64_t r = 0; r < N; r++)
        R1_CHECK(targets[r] >= -1 && targets[r] < V, "[", who, "] targets[", r,
                 "]=", targets[r], " outside [-1, ", V, ")");
    R1_CHECK(!dW || dh, "[", who, "] dW given without dh (backward needs both or neither)");
}

// Rows per chunk: ~8 MB of logits, at least 32 rows (GEMM efficiency), at most 1024 (fewer
// parallel regions per call; the dW GEMM's inner dimension is the chunk).
int64_t chunk_rows(int64_t V) { return std::clamp<int64_t>((int64_t{1} << 21) / V, 32, 1024); }

}  // namespace

LmHeadResult lm_head_xent(float* dh, float* dW, float* logp_out, float* entropy_out,
                          const float* h, const float* W, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, float grad_scale, const RowCoefFn* row_coef) {
    validate(targets, N, C, V, dh, dW, "lm_head_xent");
    const Isa isa = active_isa();
    const cpu::ExpRowMomFn exp_mom = isa == Isa::avx512 ? cpu::exp_row_mom_avx512
                                     : isa == Isa::avx2 ? cpu::exp_row_mom_avx2
                                                        : cpu::exp_row_mom_portable;
    const cpu::MaxRowFn max_row = isa == Isa::avx512 ? cpu::max_row_avx512
                                  : isa == Isa::avx2 ? cpu::max_row_avx2
                                                     : cpu::max_row_portable;

    const int64_t CH = std::min<int64_t>(chunk_rows(V), std::max<int64_t>(N, 1));
    Buffer<float> L(CH * V);                               // [CH, V] logits → dlogits
    std::vector<float> lse(CH), inv_sum(CH), logp(CH), coef(CH);
    LmHeadResult res;
    for (int64_t r0 = 0; r0 < N; r0 += CH) {
        const int64_t n = std::min(CH, N - r0);
        const float* hc = h + r0 * C;                      // [n, C]
        gemm(false, true, n, V, C, 1.0f, hc, C, W, C, 0.0f, L.data(), V);  // [n, V]
        parallel_for(
            n,
            [&](int64_t a, int64_t b) {
                for (int64_t i = a; i < b; i++) {
                    float* Li = L.data() + i * V;
                    const int32_t t = targets[r0 + i];
                    const float tl = t >= 0 ? Li[t] : 0.0f;
                    const float mx = max_row(Li, V);
                    float sum_ex = 0;
                    const float sum = exp_mom(Li, V, mx, &sum_ex);  // Li ← exp(L − mx)
                    const float log_sum = std::log(sum);
                    lse[i] = mx + log_sum;
                    inv_sum[i] = 1.0f / sum;
                    logp[i] = t >= 0 ? tl - lse[i] : 0.0f;
                    if (entropy_out) entropy_out[r0 + i] = log_sum - sum_ex / sum;
                }
            },
            8);
        for (int64_t i = 0; i < n; i++) {  // serial: loss order and callbacks are fixed
            const int64_t r = r0 + i;
            if (logp_out) logp_out[r] = logp[i];
            if (targets[r] < 0) {
                coef[i] = 0;
                continue;
            }
            res.loss_sum -= logp[i];
            res.n_valid++;
            coef[i] = row_coef && dh ? (*row_coef)(r, logp[i]) : grad_scale;
        }
        if (!dh) continue;
        parallel_for(
            n,
            [&](int64_t a, int64_t b) {
                for (int64_t i = a; i < b; i++) {
                    float* Li = L.data() + i * V;
                    const float c = coef[i], s = c * inv_sum[i];
                    if (c == 0.0f) {
                        std::memset(Li, 0, sizeof(float) * V);
                        continue;
                    }
                    for (int64_t j = 0; j < V; j++) Li[j] *= s;  // coef · softmax
                    Li[targets[r0 + i]] -= c;                      // − coef · onehot
                }
            },
            8);
        gemm(false, false, n, C, V, 1.0f, L.data(), V, W, C, 0.0f, dh + r0 * C, C);  // [n, C]
        if (dW) gemm(true, false, V, C, n, 1.0f, L.data(), V, hc, C, 1.0f, dW, C);   // [V, C]
    }
    return res;
}

namespace ref {

LmHeadResult lm_head_xent(float* dh, float* dW, float* logp_out, float* entropy_out,
                          const float* h, const float* W, const int32_t* targets, int64_t N,
                          int64_t C, int64_t V, float grad_scale, const RowCoefFn* row_coef) {
    validate(targets, N, C, V, dh, dW, "ref::lm_head_xent");
    std::vector<double> logits(N * V), dl(N * V, 0.0);  // [N, V]
    for (int64_t r = 0; r < N; r++)
        for (int64_t v = 0; v < V; v++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (double)h[r * C + c] * W[v * C + c];
            logits[r * V + v] = s;
        }
    LmHeadResult res;
    for (int64_t r = 0; r < N; r++) {
        const double* l = &logits[r * V];
        double mx = l[0];
        for (int64_t v = 1; v < V; v++) mx = std::max(mx, l[v]);
        double sum = 0;
        for (int64_t v = 0; v < V; v++) sum += std::exp(l[v] - mx);
        const double lse = mx + std::log(sum);
        double ent = 0;
        for (int64_t v = 0; v < V; v++) ent -= std::exp(l[v] - lse) * (l[v] - lse);
        if (entropy_out) entropy_out[r] = (float)ent;
        const int32_t t = targets[r];
        const double lp = t >= 0 ? l[t] - lse : 0.0;
        if (logp_out) logp_out[r] = (float)lp;
        if (t < 0) continue;
        res.loss_sum -= lp;
        res.n_valid++;
        const double coef = row_coef && dh ? (*row_coef)(r, (float)lp) : grad_scale;
        for (int64_t v = 0; v < V; v++)
            dl[r * V + v] = coef * (std::exp(l[v] - lse) - (v == t ? 1.0 : 0.0));
    }
    if (dh)
        for (int64_t r = 0; r < N; r++)
            for (int64_t c = 0; c < C; c++) {
                double s = 0;
                for (int64_t v = 0; v < V; v++) s += dl[r * V + v] * W[v * C + c];
                dh[r * C + c] = (float)s;
            }
    if (dW)
        for (int64_t v = 0; v < V; v++)
            for (int64_t c = 0; c < C; c++) {
                double s = 0;
                for (int64_t r = 0; r < N; r++) s += dl[r * V + v] * h[r * C + c];
                dW[v * C + c] += (float)s;
            }
    return res;
}

}  // namespace ref
}  // namespace r1
