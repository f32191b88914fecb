// Learning-rate schedules. Cosine is nanoGPT's get_lr(it): linear warmup over `warmup` steps
// (lr·(it+1)/(warmup+1)), then cosine decay from lr to min_lr until `decay_steps`, min_lr
// after that. Steps are 0-based optimiser iterations.
#pragma once
#include <cstdint>
#include <string>

namespace r1 {

enum class LrKind { cosine, constant };

struct LrSchedule {
    LrKind kind = LrKind::cosine;
    float lr = 1e-3f;
    float min_lr = 1e-4f;
    int64_t warmup = 0;
    int64_t decay_steps = 0;  // usually the total number of steps

    float at(int64_t step) const;
    void validate() const;  // throws r1::Error naming the field
};

LrKind parse_lr_kind(const std::string& s);  // "cosine" | "constant"
const char* lr_kind_name(LrKind k);

}  // namespace r1
