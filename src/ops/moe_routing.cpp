// MoE routing (gating, group-limited top-k, weight normalisation), its backward, token
// dispatch (bucket / gather / weighted scatter) and the DeepSeek-V3 sequence-wise aux loss.
//
// Contracts worth knowing (see ops/moe_routing.h for the maths):
// - Top-k ties are broken by the LOWER expert index (and group ties by the lower group
//   index), so routing is a pure function of its inputs. ids come out in descending order of
//   the biased score.
// - Group score: sum of the top-2 biased scores of the group for sigmoid gating (V3
//   `noaux_tc`), max biased score for softmax gating (V2 `group_limited_greedy`; V2 has no
//   bias, so this is the max score there). Experts of dropped groups are excluded outright
//   (HF's reference fills them with 0.0 instead, which differs only when every remaining
//   biased score is negative).
// - norm_topk divides by (Σ selected scores + 1e-20) like the HF DeepSeek code; route_scale
//   is applied afterwards in both cases (V3 / llama.cpp convention).
// - Dispatch is deterministic: buckets are a stable counting sort of slots t*k + j by expert,
//   and scatter/gather-backward iterate OUTPUT rows (through the inverse map `slot`), adding
//   a row's k contributions in kpos order — no atomics, no thread-count dependence.
// The routing work is O(N·E·k) and tiny next to the expert GEMMs, so it is scalar code
// parallelised over tokens; ref:: is a separate sort-based plain loop used as the oracle.
#include "ops/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace {

constexpr float kNormEps = 1e-20f;

void check_cfg(const RouterConfig& c, const char* where) {
    R1_CHECK(c.n_expert > 0, "[", where, "] n_expert must be > 0");
    R1_CHECK(c.n_expert_used > 0 && c.n_expert_used <= c.n_expert, "[", where,
             "] n_expert_used must be in 1..n_expert (got ", c.n_expert_used, ")");
    R1_CHECK(c.n_group >= 1 && c.n_expert % c.n_group == 0, "[", where,
             "] n_group must divide n_expert (n_group=", c.n_group, ")");
    R1_CHECK(c.topk_group >= 1 && c.topk_group <= c.n_group, "[", where,
             "] topk_group must be in 1..n_group");
    R1_CHECK(c.topk_group * (c.n_expert / c.n_group) >= c.n_expert_used, "[", where,
             "] topk_group groups hold fewer than n_expert_used experts");
}

void gating(float* s, const float* l, int64_t E, GatingFunc g) {
    if (g == GatingFunc::softmax) {
        float m = l[0];
        for (int64_t e = 1; e < E; e++) m = std::max(m, l[e]);
        float sum = 0;
        for (int64_t e = 0; e < E; e++) {
            s[e] = std::exp(l[e] - m);
            sum += s[e];
        }
        const float inv = 1.0f / sum;
        for (int64_t e = 0; e < E; e++) s[e] *= inv;
    } else {
        for (int64_t e = 0; e < E; e++) s[e] = 1.0f / (1.0f + std::exp(-l[e]));
    }
}

// Per-token scratch: biased scores [E], eligibility [E], group scores [G], group kept [G].
struct RouteScratch {
    std::vector<float> biased, gscore;
    std::vector<char> eligible, gkeep;
    explicit RouteScratch(const RouterConfig& c)
        : biased(c.n_expert), gscore(c.n_group), eligible(c.n_expert), gkeep(c.n_group) {}
};

// Routes one token: scores s [E] from logits l, then ids/weights [k].
void route_token(int32_t* ids, float* w, float* s, const float* l, const float* bias,
                 const RouterConfig& c, RouteScratch& sc) {
    const int64_t E = c.n_expert, k = c.n_expert_used, G = c.n_group, gs = E / G;
    gating(s, l, E, c.gating);
    float* b = sc.biased.data();
    for (int64_t e = 0; e < E; e++) b[e] = bias ? s[e] + bias[e] : s[e];
    char* el = sc.eligible.data();
    if (G > 1 && c.topk_group < G) {
        for (int64_t g = 0; g < G; g++) {
            const float* bg = b + g * gs;
            float gsc;
            if (c.gating == GatingFunc::sigmoid) {
                // sum of the top-2 (or the only one when groups have one expert)
                float m1 = -INFINITY, m2 = -INFINITY;
                for (int64_t i = 0; i < gs; i++) {
                    if (bg[i] > m1)
                        m2 = m1, m1 = bg[i];
                    else if (bg[i] > m2)
                        m2 = bg[i];
                }
                gsc = gs >= 2 ? m1 + m2 : m1;
            } else {
                gsc = bg[0];
                for (int64_t i = 1; i < gs; i++) gsc = std::max(gsc, bg[i]);
            }
            sc.gscore[g] = gsc;
            sc.gkeep[g] = 0;
        }
        for (int64_t r = 0; r < c.topk_group; r++) {
            int64_t best = -1;
            for (int64_t g = 0; g < G; g++)
                if (!sc.gkeep[g] && (best < 0 || sc.gscore[g] > sc.gscore[best])) best = g;
            sc.gkeep[best] = 1;
        }
        for (int64_t e = 0; e < E; e++) el[e] = sc.gkeep[e / gs];
    } else {
        std::memset(el, 1, E);
    }
    float sum = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        for (int64_t e = 0; e < E; e++)
            if (el[e] && (best < 0 || b[e] > b[best])) best = e;  // strict >: lower index wins ties
        el[best] = 0;
        ids[j] = (int32_t)best;
        w[j] = s[best];
        sum += s[best];
    }
    const float f = c.norm_topk ? c.route_scale / (sum + kNormEps) : c.route_scale;
    for (int64_t j = 0; j < k; j++) w[j] *= f;
}

// <a, b> with 8 independent partial sums: without -ffast-math a single running sum is one
// long dependency chain; this form is SLP-vectorised and ~8x shorter in latency.
float dot_rows(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
        for (int i = 0; i < 8; i++) acc[i] += a[c + i] * b[c + i];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}

// d loss / d scores for the selected experts of one token, from dweights (see header).
// ds [k] aligned with ids.
void dweights_to_dsel(float* ds, const float* dw, const float* s, const int32_t* ids, int64_t k,
                      const RouterConfig& c) {
    if (c.norm_topk) {
        float S = 0, dot = 0;
        for (int64_t j = 0; j < k; j++) S += s[ids[j]];
        S += kNormEps;
        for (int64_t j = 0; j < k; j++) dot += dw[j] * s[ids[j]];
        for (int64_t j = 0; j < k; j++) ds[j] = c.route_scale * (dw[j] / S - dot / (S * S));
    } else {
        for (int64_t j = 0; j < k; j++) ds[j] = c.route_scale * dw[j];
    }
}

}  // namespace

void moe_route_forward(int32_t* ids, float* weights, float* scores, const float* logits,
                       const float* sel_bias, int64_t N, const RouterConfig& cfg) {
    check_cfg(cfg, "moe_route_forward");
    const int64_t E = cfg.n_expert, k = cfg.n_expert_used;
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            RouteScratch sc(cfg);
            for (int64_t t = t0; t < t1; t++)
                route_token(ids + t * k, weights + t * k, scores + t * E, logits + t * E, sel_bias,
                            cfg, sc);
        },
        64);
}

void moe_route_backward(float* dlogits, const float* dweights, const float* scores,
                        const int32_t* ids, const float* weights, int64_t N,
                        const RouterConfig& cfg) {
    check_cfg(cfg, "moe_route_backward");
    const int64_t E = cfg.n_expert, k = cfg.n_expert_used;
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            std::vector<float> ds(k);
            for (int64_t t = t0; t < t1; t++) {
                const float* s = scores + t * E;
                const int32_t* id = ids + t * k;
                float* dl = dlogits + t * E;
                dweights_to_dsel(ds.data(), dweights + t * k, s, id, k, cfg);
                std::fill(dl, dl + E, 0.0f);
                if (cfg.gating == GatingFunc::sigmoid) {
                    for (int64_t j = 0; j < k; j++) {
                        const float sj = s[id[j]];
                        dl[id[j]] = ds[j] * sj * (1.0f - sj);
                    }
                } else {
                    // softmax Jacobian over ALL experts: dl_e = s_e (ds_e − Σ_j ds_j s_j)
                    float dot = 0;
                    for (int64_t j = 0; j < k; j++) dot += ds[j] * s[id[j]];
                    for (int64_t e = 0; e < E; e++) dl[e] = -s[e] * dot;
                    for (int64_t j = 0; j < k; j++) dl[id[j]] += s[id[j]] * ds[j];
                }
            }
        },
        64);
}

void moe_gating_backward_add(float* dlogits, const float* dscores, const float* scores, int64_t N,
                             const RouterConfig& cfg) {
    const int64_t E = cfg.n_expert;
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const float* s = scores + t * E;
                const float* ds = dscores + t * E;
                float* dl = dlogits + t * E;
                if (cfg.gating == GatingFunc::sigmoid) {
                    for (int64_t e = 0; e < E; e++) dl[e] += ds[e] * s[e] * (1.0f - s[e]);
                } else {
                    float dot = 0;
                    for (int64_t e = 0; e < E; e++) dot += ds[e] * s[e];
                    for (int64_t e = 0; e < E; e++) dl[e] += s[e] * (ds[e] - dot);
                }
            }
        },
        64);
}

void moe_bucket(ExpertBuckets& b, const int32_t* ids, int64_t N, int64_t k, int64_t n_expert) {
    const int64_t S = N * k;
    b.offsets.assign(n_expert + 1, 0);
    b.rows.resize(S);
    b.kpos.resize(S);
    b.slot.resize(S);
    int64_t* off = b.offsets.data();
    for (int64_t i = 0; i < S; i++) {
        const int32_t e = ids[i];
        R1_CHECK(e >= 0 && e < n_expert, "[moe_bucket] expert id ", e, " at slot ", i,
                 " out of range 0..", n_expert - 1);
        off[e]++;
    }
    // off[e] = start of e (exclusive prefix), used as the fill cursor; afterwards it holds the
    // end of e = start of e+1, so shifting by one gives the offsets. No scratch allocation.
    for (int64_t e = 0, acc = 0; e < n_expert; e++) {
        const int64_t c = off[e];
        off[e] = acc;
        acc += c;
    }
    for (int64_t i = 0; i < S; i++) {  // slot order: stable
        const int64_t pos = off[ids[i]]++;
        b.rows[pos] = (int32_t)(i / k);
        b.kpos[pos] = (int32_t)(i % k);
        b.slot[i] = (int32_t)pos;
    }
    for (int64_t e = n_expert; e > 0; e--) off[e] = off[e - 1];
    off[0] = 0;
}

void moe_gather(float* xs, const float* x, const ExpertBuckets& b, int64_t C) {
    const int64_t S = (int64_t)b.rows.size();
    parallel_for(
        S,
        [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; i++)
                std::memcpy(xs + i * C, x + (int64_t)b.rows[i] * C, C * sizeof(float));
        },
        64);
}

void moe_scatter_add(float* y, const float* ys, const float* weights, int64_t k,
                     const ExpertBuckets& b, int64_t C) {
    const int64_t N = (int64_t)b.slot.size() / k;
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                float* yr = y + t * C;
                for (int64_t j = 0; j < k; j++) {
                    const float w = weights[t * k + j];
                    const float* src = ys + (int64_t)b.slot[t * k + j] * C;
                    for (int64_t c = 0; c < C; c++) yr[c] += w * src[c];
                }
            }
        },
        16);
}

void moe_scatter_add_backward(float* dys, float* dweights, const float* dy, const float* ys,
                              const float* weights, int64_t k, const ExpertBuckets& b, int64_t C) {
    const int64_t N = (int64_t)b.slot.size() / k;
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const float* g = dy + t * C;
                for (int64_t j = 0; j < k; j++) {
                    const int64_t sl = b.slot[t * k + j];
                    const float w = weights[t * k + j];
                    const float* src = ys + sl * C;
                    float* dst = dys + sl * C;
                    dweights[t * k + j] = dot_rows(g, src, C);  // read before write:
                                                                 // dys may alias ys
                    for (int64_t c = 0; c < C; c++) dst[c] = w * g[c];
                }
            }
        },
        16);
}

void moe_gather_backward(float* dx, const float* dxs, const ExpertBuckets& b, int64_t N, int64_t k,
                         int64_t C) {
    R1_ASSERT((int64_t)b.slot.size() == N * k);
    parallel_for(
        N,
        [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                float* d = dx + t * C;
                for (int64_t j = 0; j < k; j++) {
                    const float* src = dxs + (int64_t)b.slot[t * k + j] * C;
                    for (int64_t c = 0; c < C; c++) d[c] += src[c];
                }
            }
        },
        16);
}

float moe_seq_aux_loss(float* dscores, const float* scores, const int32_t* ids, int64_t B,
                       int64_t T, const RouterConfig& cfg, float alpha) {
    const int64_t E = cfg.n_expert, k = cfg.n_expert_used;
    double total = 0;
    std::vector<double> f(E), P(E);
    std::vector<float> g(E);
    for (int64_t bi = 0; bi < B; bi++) {
        std::fill(f.begin(), f.end(), 0.0);
        std::fill(P.begin(), P.end(), 0.0);
        for (int64_t t = bi * T; t < (bi + 1) * T; t++) {
            for (int64_t j = 0; j < k; j++) f[ids[t * k + j]] += 1.0;
            const float* s = scores + t * E;
            double Z = 0;
            for (int64_t e = 0; e < E; e++) Z += s[e];
            for (int64_t e = 0; e < E; e++) P[e] += s[e] / Z;
        }
        double L = 0;
        for (int64_t e = 0; e < E; e++) {
            f[e] *= (double)E / ((double)k * T);
            P[e] /= T;
            L += f[e] * P[e];
        }
        total += alpha * L;
        if (!dscores) continue;
        // dL/ds'_{t,e} = alpha/B · f_e/T, then through s' = s/Z: ds_j = (g_j − Σ_e g_e s'_e)/Z
        for (int64_t e = 0; e < E; e++) g[e] = (float)(alpha * f[e] / ((double)T * B));
        for (int64_t t = bi * T; t < (bi + 1) * T; t++) {
            const float* s = scores + t * E;
            float* d = dscores + t * E;
            double Z = 0, dot = 0;
            for (int64_t e = 0; e < E; e++) Z += s[e];
            for (int64_t e = 0; e < E; e++) dot += g[e] * (s[e] / Z);
            for (int64_t e = 0; e < E; e++) d[e] += (float)((g[e] - dot) / Z);
        }
    }
    return B > 0 ? (float)(total / B) : 0.0f;
}

// ---------------------------------------------------------------------------------------
// Reference: plain loops, sort-based selection (stable sort = lower index wins ties).
namespace ref {

void moe_route_forward(int32_t* ids, float* weights, float* scores, const float* logits,
                       const float* sel_bias, int64_t N, const RouterConfig& cfg) {
    check_cfg(cfg, "ref::moe_route_forward");
    const int64_t E = cfg.n_expert, k = cfg.n_expert_used, G = cfg.n_group, gs = E / G;
    for (int64_t t = 0; t < N; t++) {
        const float* l = logits + t * E;
        float* s = scores + t * E;
        if (cfg.gating == GatingFunc::softmax) {
            float m = -INFINITY;
            for (int64_t e = 0; e < E; e++) m = std::max(m, l[e]);
            float sum = 0;
            for (int64_t e = 0; e < E; e++) sum += std::exp(l[e] - m);
            for (int64_t e = 0; e < E; e++) s[e] = std::exp(l[e] - m) / sum;
        } else {
            for (int64_t e = 0; e < E; e++) s[e] = 1.0f / (1.0f + std::exp(-l[e]));
        }
        std::vector<float> b(E);
        for (int64_t e = 0; e < E; e++) b[e] = s[e] + (sel_bias ? sel_bias[e] : 0.0f);
        std::vector<char> eligible(E, 1);
        if (G > 1 && cfg.topk_group < G) {
            std::vector<float> gscore(G);
            for (int64_t g = 0; g < G; g++) {
                std::vector<float> v(b.begin() + g * gs, b.begin() + (g + 1) * gs);
                std::sort(v.begin(), v.end(), std::greater<float>());
                gscore[g] =
                    cfg.gating == GatingFunc::sigmoid ? v[0] + (gs >= 2 ? v[1] : 0.0f) : v[0];
            }
            std::vector<int64_t> order(G);
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](int64_t a, int64_t c) { return gscore[a] > gscore[c]; });
            std::fill(eligible.begin(), eligible.end(), 0);
            for (int64_t r = 0; r < cfg.topk_group; r++)
                for (int64_t i = 0; i < gs; i++) eligible[order[r] * gs + i] = 1;
        }
        std::vector<int64_t> cand;
        for (int64_t e = 0; e < E; e++)
            if (eligible[e]) cand.push_back(e);
        std::stable_sort(cand.begin(), cand.end(),
                         [&](int64_t a, int64_t c) { return b[a] > b[c]; });
        float sum = 0;
        for (int64_t j = 0; j < k; j++) sum += s[cand[j]];
        for (int64_t j = 0; j < k; j++) {
            ids[t * k + j] = (int32_t)cand[j];
            float w = s[cand[j]];
            if (cfg.norm_topk) w /= (sum + kNormEps);
            weights[t * k + j] = w * cfg.route_scale;
        }
    }
}

void moe_route_backward(float* dlogits, const float* dweights, const float* scores,
                        const int32_t* ids, const float* weights, int64_t N,
                        const RouterConfig& cfg) {
    const int64_t E = cfg.n_expert, k = cfg.n_expert_used;
    for (int64_t t = 0; t < N; t++) {
        const float* s = scores + t * E;
        const int32_t* id = ids + t * k;
        const float* dw = dweights + t * k;
        // dL/ds over all experts (zero for the unselected), via the full chain rule
        std::vector<double> ds(E, 0.0);
        double S = kNormEps;
        for (int64_t j = 0; j < k; j++) S += s[id[j]];
        for (int64_t j = 0; j < k; j++) {  // w_j depends on s_i for every selected i
            for (int64_t i = 0; i < k; i++) {
                double dwj_dsi;
                if (cfg.norm_topk)
                    dwj_dsi = cfg.route_scale * ((i == j ? 1.0 / S : 0.0) - s[id[j]] / (S * S));
                else
                    dwj_dsi = i == j ? cfg.route_scale : 0.0;
                ds[id[i]] += dw[j] * dwj_dsi;
            }
        }
        for (int64_t e = 0; e < E; e++) {
            double acc = 0;
            for (int64_t m = 0; m < E; m++) {  // ds_m/dl_e
                double J;
                if (cfg.gating == GatingFunc::softmax)
                    J = s[m] * ((m == e ? 1.0 : 0.0) - s[e]);
                else
                    J = m == e ? s[e] * (1.0 - s[e]) : 0.0;
                acc += ds[m] * J;
            }
            dlogits[t * E + e] = (float)acc;
        }
    }
}

}  // namespace ref

}  // namespace r1
