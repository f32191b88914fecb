// AdamW exactly as torch.optim.AdamW (single-tensor path, amsgrad=False, maximize=False):
//   θ ← θ · (1 − lr·wd)                                (decay tensors only; torch applies it
//                                                        per param group — ours is per tensor)
//   m ← m·β1 + (1−β1)·g
//   v ← v·β2 + (1−β2)·g·g
//   θ ← θ − (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
// Scalars (bias corrections, step size) are computed in double like Python does and rounded
// to float once, then every element update is plain float arithmetic in torch's operation
// order, so results match PyTorch to the last ulp or two (no FMA contraction in base code).
//
// Instead of a per-element decay mask we walk the ParamInfo table: runs of adjacent tensors
// with the same (trainable, decay) flags are merged into contiguous ranges and each range is
// split across threads by r1::parallel_for (static partition: deterministic).
#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/threads.h"

namespace r1 {

AdamW::AdamW(const ParamSet& params, const AdamWConfig& cfg)
    : AdamW(params, cfg, 0, params.size()) {}

AdamW::AdamW(const ParamSet& params, const AdamWConfig& cfg, int64_t shard_begin,
             int64_t shard_end)
    : cfg_(cfg), n_params_(params.size()), shard_begin_(shard_begin), shard_end_(shard_end) {
    R1_CHECK(0 <= shard_begin && shard_begin <= shard_end && shard_end <= params.size(),
             "[adamw] shard [", shard_begin, ", ", shard_end, ") is outside the ",
             params.size(), " parameters");
    R1_CHECK(cfg.beta1 >= 0 && cfg.beta1 < 1, "[adamw] beta1 must be in [0, 1), got ", cfg.beta1);
    R1_CHECK(cfg.beta2 >= 0 && cfg.beta2 < 1, "[adamw] beta2 must be in [0, 1), got ", cfg.beta2);
    R1_CHECK(cfg.eps > 0, "[adamw] eps must be > 0, got ", cfg.eps);
    R1_CHECK(cfg.weight_decay >= 0, "[adamw] weight_decay must be >= 0, got ", cfg.weight_decay);
    m_.resize((size_t)(shard_end - shard_begin));
    v_.resize((size_t)(shard_end - shard_begin));
    // Merge adjacent tensors with equal flags into ranges (layouts are mostly long runs),
    // each clipped to the shard.
    for (const ParamInfo& p : params.infos()) {
        const int64_t b = std::max(p.offset, shard_begin), e = std::min(p.offset + p.numel, shard_end);
        if (!p.trainable || e <= b) continue;
        if (!ranges_.empty() && ranges_.back().decay == p.decay && ranges_.back().end == b) {
            ranges_.back().end = e;
        } else {
            ranges_.push_back({b, e, p.decay});
        }
    }
}

namespace {
// One contiguous range; `decay_mul` is 1 for tensors without decay (multiplying by 1 is exact).
// Kept branch-free and restrict-qualified so the loop vectorises.
void adamw_range(float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, int64_t n, float decay_mul, bool decay, float beta1,
                 float one_minus_beta1, float beta2, float one_minus_beta2, float bc2_sqrt,
                 float eps, float neg_step_size) {
    if (decay) {
        for (int64_t i = 0; i < n; i++) p[i] = p[i] * decay_mul;
    }
    for (int64_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = m[i] * beta1 + one_minus_beta1 * gi;
        const float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = std::sqrt(vi) / bc2_sqrt + eps;
        p[i] = p[i] + neg_step_size * mi / denom;
    }
}
}  // namespace

void AdamW::step(ParamSet& params, float lr) {
    R1_CHECK(params.size() == n_params_ && (int64_t)m_.size() == shard_end_ - shard_begin_,
             "[adamw] optimizer state is for ", n_params_, " parameters but the model has ",
             params.size());
    t_ += 1;
    // Python-double scalars, rounded to float once (as torch's Scalar → float kernels do).
    const double b1 = cfg_.beta1, b2 = cfg_.beta2;
    const double bc1 = 1.0 - std::pow(b1, (double)t_);
    const double bc2 = 1.0 - std::pow(b2, (double)t_);
    const float step_size = (float)((double)lr / bc1);
    const float bc2_sqrt = (float)std::sqrt(bc2);
    const float decay_mul = (float)(1.0 - (double)lr * (double)cfg_.weight_decay);
    const float beta1 = cfg_.beta1, beta2 = cfg_.beta2;
    const float omb1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
    const float eps = cfg_.eps;
    const bool any_decay = cfg_.weight_decay != 0.0f;

    float* P = params.data().data();
    const float* G = params.grad().data();
    float* M = m_.data();   // M[i − shard_begin] belongs to parameter float i
    float* V = v_.data();
    for (const Range& r : ranges_) {
        const bool decay = r.decay && any_decay;
        parallel_for(
            r.end - r.begin,
            [&](int64_t b, int64_t e) {
                const int64_t o = r.begin + b;
                const int64_t so = o - shard_begin_;
                adamw_range(P + o, G + o, M + so, V + so, e - b, decay_mul, decay, beta1, omb1,
                            beta2, omb2, bc2_sqrt, eps, -step_size);
            },
            1 << 14);
    }
}

}  // namespace r1
