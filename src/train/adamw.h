// AdamW (Loshchilov & Hutter: decoupled weight decay), exactly as torch.optim.AdamW:
//   m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²
//   θ -= lr · wd · θ        (only tensors with ParamInfo::decay)
//   θ -= lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps)
// State is two flat buffers mirroring ParamSet (or one contiguous slice of it: ZeRO-1, see
// dist/zero.h), so checkpoints and sharding are slices.
#pragma once
#include <cstdint>
#include <vector>

#include "core/buffer.h"
#include "model/params.h"

namespace r1 {

struct AdamWConfig {
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    float weight_decay = 0.1f;
};

class AdamW {
public:
    AdamW() = default;
    AdamW(const ParamSet& params, const AdamWConfig& cfg);
    // ZeRO-1 shard: owns m/v for the flat float range [shard_begin, shard_end) of params only
    // (m()/v() then hold shard_end − shard_begin floats, index 0 = float shard_begin), and
    // step() updates only that range. Each element's update is the same float arithmetic as
    // the unsharded optimiser's, so the slice is bit-identical to a full step's.
    AdamW(const ParamSet& params, const AdamWConfig& cfg, int64_t shard_begin, int64_t shard_end);

    // One update of every trainable tensor (of the shard) with gradients params.grad(); lr for
    // this step. Non-trainable tensors (ParamInfo::trainable == false) are left untouched.
    void step(ParamSet& params, float lr);

    int64_t shard_begin() const { return shard_begin_; }
    int64_t shard_end() const { return shard_end_; }
    bool sharded() const { return shard_begin_ != 0 || shard_end_ != n_params_; }

    const AdamWConfig& config() const { return cfg_; }
    int64_t t() const { return t_; }        // steps taken
    Buffer<float>& m() { return m_; }
    Buffer<float>& v() { return v_; }
    const Buffer<float>& m() const { return m_; }
    const Buffer<float>& v() const { return v_; }
    void set_t(int64_t t) { t_ = t; }        // checkpoint restore

private:
    AdamWConfig cfg_;
    int64_t t_ = 0;
    int64_t n_params_ = 0, shard_begin_ = 0, shard_end_ = 0;
    Buffer<float> m_, v_;
    // Contiguous float ranges of trainable tensors with one decay flag (from ParamInfo runs).
    struct Range {
        int64_t begin, end;
        bool decay;
    };
    std::vector<Range> ranges_;
};

}  // namespace r1
