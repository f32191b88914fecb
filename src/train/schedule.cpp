// Learning-rate schedules (see schedule.h). Computed in double, rounded once.
#include "train/schedule.h"

#include <cmath>

#include "core/error.h"

namespace r1 {

float LrSchedule::at(int64_t it) const {
    if (kind == LrKind::constant) return lr;
    if (it < warmup) return (float)((double)lr * (double)(it + 1) / (double)(warmup + 1));
    if (it > decay_steps || decay_steps <= warmup) return min_lr;
    const double ratio = (double)(it - warmup) / (double)(decay_steps - warmup);
    const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
    return (float)((double)min_lr + coeff * ((double)lr - (double)min_lr));
}

void LrSchedule::validate() const {
    R1_CHECK(lr > 0 && std::isfinite(lr), "[train] lr must be > 0, got ", lr);
    R1_CHECK(min_lr >= 0 && min_lr <= lr, "[train] min_lr must be in [0, lr], got ", min_lr);
    R1_CHECK(warmup >= 0, "[train] warmup must be >= 0, got ", warmup);
    R1_CHECK(decay_steps >= 0, "[train] decay steps must be >= 0, got ", decay_steps);
}

LrKind parse_lr_kind(const std::string& s) {
    if (s == "cosine") return LrKind::cosine;
    if (s == "constant") return LrKind::constant;
    fail("[train] unknown lr schedule '", s, "' (expected cosine or constant)");
}

const char* lr_kind_name(LrKind k) { return k == LrKind::cosine ? "cosine" : "constant"; }

}  // namespace r1
