// Group-relative advantages for GRPO-family RL: G completions of the same prompt form a
// group, and each completion's advantage is its reward relative to its group — no value
// network (DeepSeekMath §4.1.2).
//   grpo     A_i = (r_i − mean) / (std + eps)   std with Bessel's correction (torch.std, as
//            TRL and veRL compute it); a zero-variance group gets A = 0 everywhere
//   dr_grpo  A_i = r_i − mean                   (Dr. GRPO, Liu et al. 2025: dividing by std
//                                                over-weights too-easy/too-hard prompts)
//   rloo     A_i = r_i − mean_{j≠i} r_j = G/(G−1)·(r_i − mean)   (Ahmadian et al. 2024:
//                                                leave-one-out baseline, unbiased)
// Rewards are laid out group after group: [n_groups · G].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1::rl {

enum class AdvantageKind { grpo, dr_grpo, rloo };

AdvantageKind parse_advantage_kind(const std::string& s);  // "grpo" | "dr_grpo" | "rloo"
const char* advantage_kind_name(AdvantageKind k);

// adv, rewards: [n_groups · G]. G >= 1 (rloo: G >= 2). Throws r1::Error on bad sizes.
void compute_advantages(double* adv, const double* rewards, int64_t n_groups, int64_t G,
                        AdvantageKind kind, double eps = 1e-4);
std::vector<double> compute_advantages(const std::vector<double>& rewards, int64_t G,
                                       AdvantageKind kind, double eps = 1e-4);

// True when every reward of group g is equal (the group carries no learning signal:
// every advantage is 0). Exact comparison: rewards are sums of a few fixed weights.
bool zero_variance_group(const double* rewards, int64_t G);

}  // namespace r1::rl
