// Gradient utilities over the flat ParamSet gradient buffer: global L2 norm, clipping, and a
// NaN/Inf scan that names the offending tensor.
//
// The norm is deterministic independent of the thread count: squares are summed in double
// over fixed 4096-float blocks (each block in order), then the block sums are added in order.
#pragma once
#include <cstdint>
#include <string>

#include "model/params.h"

namespace r1 {

// sqrt(sum g²) over all tensors (trainable or not: non-trainable grads are zero anyway).
double grad_norm(const ParamSet& params);
double l2_norm(const float* x, int64_t n);

// torch.nn.utils.clip_grad_norm_: if norm > max_norm, scales every gradient by
// max_norm / (norm + 1e-6). Returns the norm before clipping (pass it in if already known,
// < 0 to compute). max_norm <= 0 disables clipping.
double clip_grad_norm(ParamSet& params, double max_norm, double norm = -1.0);

// First tensor (layout order) whose gradient holds a NaN or Inf: its name and which
// ("NaN" or "Inf"); empty name when all are finite.
struct NonFinite {
    std::string name;
    const char* what = "";
    int64_t index = -1;  // element within the tensor
    explicit operator bool() const { return !name.empty(); }
};
NonFinite find_nonfinite_grad(const ParamSet& params);
NonFinite find_nonfinite_param(const ParamSet& params);

}  // namespace r1
