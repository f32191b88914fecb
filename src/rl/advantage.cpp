// Group-relative advantages (definitions in advantage.h). Sums in double, in index order.
#include "rl/advantage.h"

#include <cmath>

#include "core/error.h"

namespace r1::rl {

AdvantageKind parse_advantage_kind(const std::string& s) {
    if (s == "grpo") return AdvantageKind::grpo;
    if (s == "dr_grpo" || s == "dr-grpo") return AdvantageKind::dr_grpo;
    if (s == "rloo") return AdvantageKind::rloo;
    fail("[grpo] --advantage: unknown kind '", s, "' (known: grpo, dr_grpo, rloo)");
}

const char* advantage_kind_name(AdvantageKind k) {
    switch (k) {
        case AdvantageKind::grpo: return "grpo";
        case AdvantageKind::dr_grpo: return "dr_grpo";
        case AdvantageKind::rloo: return "rloo";
    }
    return "?";
}

bool zero_variance_group(const double* rewards, int64_t G) {
    for (int64_t i = 1; i < G; i++)
        if (rewards[i] != rewards[0]) return false;
    return true;
}

void compute_advantages(double* adv, const double* rewards, int64_t n_groups, int64_t G,
                        AdvantageKind kind, double eps) {
    R1_CHECK(n_groups >= 0 && G >= 1, "[advantage] bad shape: ", n_groups, " groups of ", G);
    R1_CHECK(kind != AdvantageKind::rloo || G >= 2,
             "[advantage] rloo needs a group size >= 2 (leave-one-out), got ", G);
    R1_CHECK(eps >= 0, "[advantage] eps must be >= 0, got ", eps);
    for (int64_t g = 0; g < n_groups; g++) {
        const double* r = rewards + g * G;
        double* a = adv + g * G;
        double mean = 0;
        for (int64_t i = 0; i < G; i++) mean += r[i];
        mean /= (double)G;
        if (zero_variance_group(r, G)) {  // exact zeros (no rounding residue from mean)
            for (int64_t i = 0; i < G; i++) a[i] = 0.0;
            continue;
        }
        switch (kind) {
            case AdvantageKind::grpo: {
                double ss = 0;
                for (int64_t i = 0; i < G; i++) ss += (r[i] - mean) * (r[i] - mean);
                const double sd = G > 1 ? std::sqrt(ss / (double)(G - 1)) : 0.0;
                for (int64_t i = 0; i < G; i++) a[i] = (r[i] - mean) / (sd + eps);
                break;
            }
            case AdvantageKind::dr_grpo:
                for (int64_t i = 0; i < G; i++) a[i] = r[i] - mean;
                break;
            case AdvantageKind::rloo: {
                double sum = mean * (double)G;
                for (int64_t i = 0; i < G; i++)
                    a[i] = r[i] - (sum - r[i]) / (double)(G - 1);
                break;
            }
        }
    }
}

std::vector<double> compute_advantages(const std::vector<double>& rewards, int64_t G,
                                       AdvantageKind kind, double eps) {
    R1_CHECK(G >= 1 && (int64_t)rewards.size() % G == 0, "[advantage] ", rewards.size(),
             " rewards do not split into groups of ", G);
    std::vector<double> adv(rewards.size());
    compute_advantages(adv.data(), rewards.data(), (int64_t)rewards.size() / G, G, kind, eps);
    return adv;
}

}  // namespace r1::rl
