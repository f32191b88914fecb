// Causal attention, flash-attention style on CPU (Dao et al., FlashAttention-2 algorithm):
//   forward  — per (b, h, block of BR queries): walk key tiles of BC keys up to the diagonal,
//              S = Q·Kᵀ on the tile, online softmax (running max m and sum l, rescaling the
//              output accumulator), O += P·V; save lse = m + log l. Memory per thread is
//              O(BR·BC + BR·hd), never T×T.
//   backward — per (b, kv head g): one task owns dK/dV of that kv head (and dQ of the q heads
//              that read it), walks key tiles outer and query blocks inner, recomputes
//              P = exp(scale·Q·Kᵀ − lse), and uses D_i = rowsum(dO_i ∘ O_i):
//                dV += Pᵀ·dO,  dS = P ∘ (dO·Vᵀ − D) · scale,  dQ += dS·K,  dK += dSᵀ·Q.
//              No two tasks write the same element, and each sum runs in a fixed order, so
//              results do not depend on the thread count.
// Tile products use the small kernels in backend/cpu/attention_kernels.h (AVX-512, AVX2 or
// portable, chosen by active_isa()). ref:: is the plain-loop oracle with an explicit T×T
// probability matrix and double accumulation.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/attention_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {
namespace {

constexpr int64_t BR = 64;  // queries per block
constexpr int64_t BC = 64;  // keys per tile

void validate(const AttnShape& s, const char* who) {
    R1_CHECK(s.B >= 0 && s.T >= 0, "[", who, "] bad B=", s.B, " T=", s.T);
    R1_CHECK(s.n_head >= 1 && s.n_head_kv >= 1 && s.n_head % s.n_head_kv == 0, "[", who,
             "] n_head=", s.n_head, " must be a multiple of n_head_kv=", s.n_head_kv);
    R1_CHECK(s.hd_qk >= 1 && s.hd_v >= 1, "[", who, "] bad head dims hd_qk=", s.hd_qk,
             " hd_v=", s.hd_v);
    R1_CHECK(s.q_stride >= s.n_head * s.hd_qk, "[", who, "] q_stride=", s.q_stride,
             " < n_head*hd_qk");
    R1_CHECK(s.k_stride >= s.n_head_kv * s.hd_qk, "[", who, "] k_stride=", s.k_stride,
             " < n_head_kv*hd_qk");
    R1_CHECK(s.v_stride >= s.n_head_kv * s.hd_v, "[", who, "] v_stride=", s.v_stride,
             " < n_head_kv*hd_v");
    R1_CHECK(s.out_stride >= s.n_head * s.hd_v, "[", who, "] out_stride=", s.out_stride,
             " < n_head*hd_v");
    R1_CHECK(s.scale > 0 && std::isfinite(s.scale), "[", who, "] scale=", s.scale,
             " (set it, usually 1/sqrt(hd_qk))");
}

struct Kernels {
    cpu::TileGemmFn gemm;
    cpu::ExpRowFn exp_row;
    cpu::MaxRowFn max_row;
    cpu::TransposeFn transpose;
};

Kernels pick_kernels() {
    if (active_isa() == Isa::avx512)
        return {cpu::tile_gemm_avx512, cpu::exp_row_avx512, cpu::max_row_avx512,
                cpu::transpose_avx512};
    if (active_isa() == Isa::avx2)
        return {cpu::tile_gemm_avx2, cpu::exp_row_avx2, cpu::max_row_avx2, cpu::transpose_portable};
    return {cpu::tile_gemm_portable, cpu::exp_row_portable, cpu::max_row_portable,
            cpu::transpose_portable};
}

// Σ a[i]·b[i] with 8 independent partial sums (vectorisable, fixed order, no long
// dependency chain of scalar adds).
float dot(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int u = 0; u < 8; u++) acc[u] += a[i + u] * b[i + u];
    for (; i < n; i++) acc[i & 7] += a[i] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}


// Causal tiles. Query row r of a block (index i0 + r) sees key column c of a tile (index
// j0 + c) iff c <= r + off, off = i0 - j0 >= 0. On diagonal tiles the products below skip
// blocks that are entirely masked, in groups of G rows (a multiple of the 6-row AVX-512
// micro-tile). Masked entries inside a computed block must be 0 in P / dS; entries past a
// row group's last visible key may be left unwritten in query-major outputs, so callers
// read a score row r only below its visible count.
static_assert(BR == BC, "diagonal-tile logic assumes square tiles");
constexpr int64_t G = 12;

// Query-major product over a tile: C[nr, ·] (+)= A[nr, ·] · B, where the keys are the
// output columns (N = nc; scores) or the reduction dimension (Kd = nc; P·V, dS·K).
void gemm_query_rows(const Kernels& K, int64_t off, bool keys_are_cols, int64_t nr, int64_t N,
                     int64_t Kd, const float* A, int64_t a_rs, const float* B, int64_t ldb,
                     float* C, int64_t ldc, bool acc) {
    const int64_t nkeys = keys_are_cols ? N : Kd;
    if (off + 1 >= nkeys) {  // row 0 already sees every key of the tile
        K.gemm(nr, N, Kd, A, a_rs, 1, B, ldb, C, ldc, acc);
        return;
    }
    for (int64_t r0 = 0; r0 < nr; r0 += G) {
        const int64_t r1 = std::min(nr, r0 + G), kl = std::min(nkeys, r1 + off);
        K.gemm(r1 - r0, keys_are_cols ? kl : N, keys_are_cols ? Kd : kl, A + r0 * a_rs, a_rs, 1,
               B, ldb, C + r0 * ldc, ldc, acc);
    }
}

// Key-major product: C[nc, ·] += Xᵀ · B with X[nr, BC] a P or dS tile (queries × keys) and
// B[nr, ·] query rows; key c only gathers queries r >= c − off.
void gemm_key_rows(const Kernels& K, int64_t off, int64_t nc, int64_t N, int64_t nr,
                   const float* X, const float* B, int64_t ldb, float* C, int64_t ldc) {
    if (off + 1 >= nc) {
        K.gemm(nc, N, nr, X, 1, BC, B, ldb, C, ldc, true);
        return;
    }
    for (int64_t c0 = 0; c0 < nc; c0 += G) {
        const int64_t c1 = std::min(nc, c0 + G), qs = std::max<int64_t>(0, c0 - off);
        if (qs >= nr) continue;
        K.gemm(c1 - c0, N, nr - qs, X + qs * BC + c0, 1, BC, B + qs * ldb, ldb, C + c0 * ldc,
               ldc, true);
    }
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttnShape& s) {
    validate(s, "attention_forward");
    const int64_t T = s.T, H = s.n_head, rep = s.n_head / s.n_head_kv;
    const int64_t dq_ = s.hd_qk, dv_ = s.hd_v;
    if (T == 0) return;
    const Kernels K = pick_kernels();
    const int64_t n_qb = (T + BR - 1) / BR;
    const float ninf = -std::numeric_limits<float>::infinity();

    parallel_for(s.B * H * n_qb, [&](int64_t t0, int64_t t1) {
        // Kᵀ of the current (b, kv head), [hd_qk, T]: tasks of one thread come in (b, h, qb)
        // order, so each key tile is transposed once per (b, h) and reused by later blocks.
        std::vector<float> Kt(dq_ * T), S(BR * BC), O(BR * dv_), m(BR), l(BR);
        int64_t kt_b = -1, kt_g = -1, kt_done = 0;  // which keys Kt holds: [0, kt_done)
        for (int64_t task = t0; task < t1; task++) {
            const int64_t qb = task % n_qb, bh = task / n_qb, h = bh % H, b = bh / H;
            const int64_t g = h / rep, i0 = qb * BR, nr = std::min(BR, T - i0);
            const float* qi = q + (b * T + i0) * s.q_stride + h * dq_;
            if (b != kt_b || g != kt_g) kt_b = b, kt_g = g, kt_done = 0;
            std::fill(m.begin(), m.end(), ninf);
            std::fill(l.begin(), l.end(), 0.0f);
            std::fill(O.begin(), O.end(), 0.0f);
            const int64_t kend = i0 + nr;  // keys [0, kend) are visible to some query here
            for (int64_t j0 = 0; j0 < kend; j0 += BC) {
                const int64_t nc = std::min(BC, kend - j0);
                if (j0 + nc > kt_done) {
                    K.transpose(Kt.data() + kt_done, T,
                                k + (b * T + kt_done) * s.k_stride + g * dq_, s.k_stride,
                                j0 + nc - kt_done, dq_);
                    kt_done = j0 + nc;
                }
                const int64_t off = i0 - j0;
                gemm_query_rows(K, off, true, nr, nc, dq_, qi, s.q_stride, Kt.data() + j0, T,
                                S.data(), BC, false);
                for (int64_t r = 0; r < nr; r++) {
                    float* Sr = S.data() + r * BC;
                    const int64_t nv = std::min(nc, i0 + r - j0 + 1);  // causal: keys ≤ query
                    if (nv <= 0) {
                        std::fill(Sr, Sr + nc, 0.0f);
                        continue;
                    }
                    const float m_new = std::max(m[r], K.max_row(Sr, nv) * s.scale);
                    const float sum = K.exp_row(Sr, nv, s.scale, m_new);
                    std::fill(Sr + nv, Sr + nc, 0.0f);
                    const float alpha = std::exp(m[r] - m_new);  // exp(-inf) = 0 on first tile
                    if (alpha != 1.0f) {
                        float* Or = O.data() + r * dv_;
                        for (int64_t d = 0; d < dv_; d++) Or[d] *= alpha;
                    }
                    l[r] = l[r] * alpha + sum;
                    m[r] = m_new;
                }
                // O[nr, dv] += P[nr, nc] · V_tile[nc, dv]
                gemm_query_rows(K, off, false, nr, dv_, nc, S.data(), BC,
                                v + (b * T + j0) * s.v_stride + g * dv_, s.v_stride, O.data(),
                                dv_, true);
            }
            for (int64_t r = 0; r < nr; r++) {
                float* o = out + (b * T + i0 + r) * s.out_stride + h * dv_;
                const float inv = 1.0f / l[r];
                for (int64_t d = 0; d < dv_; d++) o[d] = O[r * dv_ + d] * inv;
                if (lse) lse[(b * H + h) * T + i0 + r] = m[r] + std::log(l[r]);
            }
        }
    });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const AttnShape& s) {
    validate(s, "attention_backward");
    R1_CHECK(lse, "[attention_backward] lse is null (run attention_forward with lse)");
    const int64_t T = s.T, H = s.n_head, rep = s.n_head / s.n_head_kv;
    const int64_t dq_ = s.hd_qk, dv_ = s.hd_v;
    if (T == 0) return;
    const Kernels K = pick_kernels();

    parallel_for(s.B * s.n_head_kv, [&](int64_t t0, int64_t t1) {
        std::vector<float> Kt(dq_ * BC), Vt(dv_ * BC), P(BR * BC), dS(BR * BC);
        std::vector<float> dKa(BC * dq_), dVa(BC * dv_), D(rep * T);
        for (int64_t task = t0; task < t1; task++) {
            const int64_t g = task % s.n_head_kv, b = task / s.n_head_kv;
            // dQ of this group's heads is accumulated tile by tile: start from zero.
            // D[hh][t] = Σ_d dO ∘ O for each query row.
            for (int64_t t = 0; t < T; t++)
                for (int64_t hh = 0; hh < rep; hh++) {
                    const int64_t h = g * rep + hh;
                    std::memset(dq + (b * T + t) * s.q_stride + h * dq_, 0, sizeof(float) * dq_);
                    const float* o = out + (b * T + t) * s.out_stride + h * dv_;
                    const float* d_o = dout + (b * T + t) * s.out_stride + h * dv_;
                    D[hh * T + t] = dot(o, d_o, dv_);
                }
            for (int64_t j0 = 0; j0 < T; j0 += BC) {
                const int64_t nc = std::min(BC, T - j0);
                const float* kj = k + (b * T + j0) * s.k_stride + g * dq_;
                const float* vj = v + (b * T + j0) * s.v_stride + g * dv_;
                K.transpose(Kt.data(), BC, kj, s.k_stride, nc, dq_);  // [hd_qk, BC]
                K.transpose(Vt.data(), BC, vj, s.v_stride, nc, dv_);  // [hd_v, BC]
                std::fill(dKa.begin(), dKa.end(), 0.0f);
                std::fill(dVa.begin(), dVa.end(), 0.0f);
                for (int64_t hh = 0; hh < rep; hh++) {
                    const int64_t h = g * rep + hh;
                    const float* lse_h = lse + (b * H + h) * T;
                    for (int64_t i0 = (j0 / BR) * BR; i0 < T; i0 += BR) {
                        const int64_t nr = std::min(BR, T - i0);
                        const float* qi = q + (b * T + i0) * s.q_stride + h * dq_;
                        const float* doi = dout + (b * T + i0) * s.out_stride + h * dv_;
                        float* dqi = dq + (b * T + i0) * s.q_stride + h * dq_;
                        // P[nr, nc] = exp(scale·Q_i·K_jᵀ − lse), zero above the diagonal
                        const int64_t off = i0 - j0;
                        gemm_query_rows(K, off, true, nr, nc, dq_, qi, s.q_stride, Kt.data(), BC,
                                        P.data(), BC, false);
                        for (int64_t r = 0; r < nr; r++) {
                            float* Pr = P.data() + r * BC;
                            const int64_t nv = std::clamp<int64_t>(i0 + r - j0 + 1, 0, nc);
                            if (nv > 0) K.exp_row(Pr, nv, s.scale, lse_h[i0 + r]);
                            std::fill(Pr + nv, Pr + nc, 0.0f);
                        }
                        // dV_j[nc, dv] += Pᵀ · dO_i
                        gemm_key_rows(K, off, nc, dv_, nr, P.data(), doi, s.out_stride,
                                      dVa.data(), dv_);
                        // dP[nr, nc] = dO_i · V_jᵀ ;  dS = P ∘ (dP − D) · scale
                        gemm_query_rows(K, off, true, nr, nc, dv_, doi, s.out_stride, Vt.data(),
                                        BC, dS.data(), BC, false);
                        for (int64_t r = 0; r < nr; r++) {
                            const float Dr = D[hh * T + i0 + r];
                            float* dSr = dS.data() + r * BC;
                            const float* Pr = P.data() + r * BC;
                            const int64_t nv = std::clamp<int64_t>(r + off + 1, 0, nc);
                            for (int64_t c = 0; c < nv; c++)
                                dSr[c] = Pr[c] * (dSr[c] - Dr) * s.scale;
                            std::fill(dSr + nv, dSr + nc, 0.0f);  // masked (may be unwritten)
                        }
                        // dQ_i[nr, dqk] += dS · K_j ;  dK_j[nc, dqk] += dSᵀ · Q_i
                        gemm_query_rows(K, off, false, nr, dq_, nc, dS.data(), BC, kj,
                                        s.k_stride, dqi, s.q_stride, true);
                        gemm_key_rows(K, off, nc, dq_, nr, dS.data(), qi, s.q_stride, dKa.data(),
                                      dq_);
                    }
                }
                for (int64_t c = 0; c < nc; c++) {
                    std::memcpy(dk + (b * T + j0 + c) * s.k_stride + g * dq_, dKa.data() + c * dq_,
                                sizeof(float) * dq_);
                    std::memcpy(dv + (b * T + j0 + c) * s.v_stride + g * dv_, dVa.data() + c * dv_,
                                sizeof(float) * dv_);
                }
            }
        }
    });
}

namespace ref {

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttnShape& s) {
    validate(s, "ref::attention_forward");
    const int64_t T = s.T, H = s.n_head, rep = s.n_head / s.n_head_kv;
    std::vector<double> P(T * T);
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t g = h / rep;
            for (int64_t i = 0; i < T; i++) {
                const float* qi = q + (b * T + i) * s.q_stride + h * s.hd_qk;
                double mx = -1e300;
                for (int64_t j = 0; j <= i; j++) {
                    const float* kj = k + (b * T + j) * s.k_stride + g * s.hd_qk;
                    double dot = 0;
                    for (int64_t d = 0; d < s.hd_qk; d++) dot += (double)qi[d] * kj[d];
                    P[i * T + j] = dot * s.scale;
                    mx = std::max(mx, P[i * T + j]);
                }
                double sum = 0;
                for (int64_t j = 0; j <= i; j++) sum += (P[i * T + j] = std::exp(P[i * T + j] - mx));
                for (int64_t j = 0; j <= i; j++) P[i * T + j] /= sum;
                if (lse) lse[(b * H + h) * T + i] = (float)(mx + std::log(sum));
                float* o = out + (b * T + i) * s.out_stride + h * s.hd_v;
                for (int64_t d = 0; d < s.hd_v; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j <= i; j++)
                        acc += P[i * T + j] * v[(b * T + j) * s.v_stride + g * s.hd_v + d];
                    o[d] = (float)acc;
                }
            }
        }
}

// Independent of out and lse: recomputes the softmax and uses dS = P ∘ (dP − rowsum(P ∘ dP)).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const AttnShape& s) {
    validate(s, "ref::attention_backward");
    const int64_t T = s.T, H = s.n_head, rep = s.n_head / s.n_head_kv;
    const int64_t Dq = s.hd_qk, Dv = s.hd_v;
    std::vector<double> dK(s.B * s.n_head_kv * T * Dq, 0.0), dV(s.B * s.n_head_kv * T * Dv, 0.0);
    std::vector<double> P(T * T), dS(T * T);
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t g = h / rep;
            auto Q = [&](int64_t t, int64_t d) { return (double)q[(b * T + t) * s.q_stride + h * Dq + d]; };
            auto Kx = [&](int64_t t, int64_t d) { return (double)k[(b * T + t) * s.k_stride + g * Dq + d]; };
            auto Vx = [&](int64_t t, int64_t d) { return (double)v[(b * T + t) * s.v_stride + g * Dv + d]; };
            auto dO = [&](int64_t t, int64_t d) { return (double)dout[(b * T + t) * s.out_stride + h * Dv + d]; };
            for (int64_t i = 0; i < T; i++) {
                double mx = -1e300;
                for (int64_t j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int64_t d = 0; d < Dq; d++) dot += Q(i, d) * Kx(j, d);
                    P[i * T + j] = dot * s.scale;
                    mx = std::max(mx, P[i * T + j]);
                }
                double sum = 0;
                for (int64_t j = 0; j <= i; j++) sum += (P[i * T + j] = std::exp(P[i * T + j] - mx));
                for (int64_t j = 0; j <= i; j++) P[i * T + j] /= sum;
                double rs = 0;
                for (int64_t j = 0; j <= i; j++) {
                    double dp = 0;
                    for (int64_t d = 0; d < Dv; d++) dp += dO(i, d) * Vx(j, d);
                    dS[i * T + j] = dp;
                    rs += P[i * T + j] * dp;
                }
                for (int64_t j = 0; j <= i; j++) dS[i * T + j] = P[i * T + j] * (dS[i * T + j] - rs);
            }
            for (int64_t i = 0; i < T; i++)
                for (int64_t d = 0; d < Dq; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j <= i; j++) acc += dS[i * T + j] * Kx(j, d);
                    dq[(b * T + i) * s.q_stride + h * Dq + d] = (float)(acc * s.scale);
                }
            for (int64_t j = 0; j < T; j++) {
                double* dKj = &dK[((b * s.n_head_kv + g) * T + j) * Dq];
                double* dVj = &dV[((b * s.n_head_kv + g) * T + j) * Dv];
                for (int64_t i = j; i < T; i++) {
                    for (int64_t d = 0; d < Dq; d++) dKj[d] += dS[i * T + j] * Q(i, d) * s.scale;
                    for (int64_t d = 0; d < Dv; d++) dVj[d] += P[i * T + j] * dO(i, d);
                }
            }
        }
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t g = 0; g < s.n_head_kv; g++)
            for (int64_t j = 0; j < T; j++) {
                for (int64_t d = 0; d < Dq; d++)
                    dk[(b * T + j) * s.k_stride + g * Dq + d] = (float)dK[((b * s.n_head_kv + g) * T + j) * Dq + d];
                for (int64_t d = 0; d < Dv; d++)
                    dv[(b * T + j) * s.v_stride + g * Dv + d] = (float)dV[((b * s.n_head_kv + g) * T + j) * Dv + d];
            }
}

}  // namespace ref
}  // namespace r1
