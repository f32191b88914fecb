// Gradient norm / clipping / NaN scan (see grad.h).
#include "train/grad.h"

#include <cmath>
#include <vector>

#include "core/threads.h"

namespace r1 {
namespace {
constexpr int64_t kBlock = 4096;

NonFinite scan(const ParamSet& params, const float* base) {
    for (const ParamInfo& p : params.infos()) {
        const float* x = base + p.offset;
        // Fast check first: any non-finite element makes the sum non-finite.
        float acc = 0;
        for (int64_t i = 0; i < p.numel; i++) acc += x[i] * 0.0f;
        if (acc == 0.0f) continue;
        for (int64_t i = 0; i < p.numel; i++)
            if (!std::isfinite(x[i])) return {p.name, std::isnan(x[i]) ? "NaN" : "Inf", i};
    }
    return {};
}
}  // namespace

double l2_norm(const float* x, int64_t n) {
    const int64_t nb = (n + kBlock - 1) / kBlock;
    std::vector<double> part((size_t)nb);
    parallel_for(
        nb,
        [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; b++) {
                const int64_t lo = b * kBlock, hi = std::min(n, lo + kBlock);
                double s = 0;
                for (int64_t i = lo; i < hi; i++) s += (double)x[i] * (double)x[i];
                part[(size_t)b] = s;
            }
        },
        8);
    double s = 0;
    for (double v : part) s += v;
    return std::sqrt(s);
}

double grad_norm(const ParamSet& params) {
    return l2_norm(params.grad().data(), (int64_t)params.grad().size());
}

double clip_grad_norm(ParamSet& params, double max_norm, double norm) {
    if (norm < 0) norm = grad_norm(params);
    if (max_norm <= 0 || !(norm > max_norm)) return norm;
    const float coef = (float)(max_norm / (norm + 1e-6));
    float* g = params.grad().data();
    parallel_for(
        (int64_t)params.grad().size(),
        [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; i++) g[i] *= coef;
        },
        1 << 14);
    return norm;
}

NonFinite find_nonfinite_grad(const ParamSet& params) { return scan(params, params.grad().data()); }
NonFinite find_nonfinite_param(const ParamSet& params) { return scan(params, params.data().data()); }

}  // namespace r1
