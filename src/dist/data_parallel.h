// Data parallelism for trainers over a flat ParamSet (PyTorch DDP semantics, by hand):
//   * every rank holds the full model and optimiser; rank 0's weights are broadcast at start,
//   * each rank runs forward/backward on its shard of the global batch, with its gradients
//     pre-scaled so that their SUM over ranks is the single-process gradient of the global
//     batch (trainers scale by n_local / n_global tokens, see train/trainer.cpp),
//   * allreduce_grads() sums the flat gradient buffer over ranks in fixed buckets (all
//     started, then waited in order: several collectives in flight pipeline in MPI),
//   * identical gradients + identical optimiser maths ⇒ identical weights on every rank;
//     check_sync() verifies that with a hash (debug mode `r1 train --check-sync`).
// With one rank (or comm == nullptr) every call is a no-op or a copy, so single-process
// training takes exactly the same code path and produces bit-identical results.
//
// Not (yet) overlapped with the backward: Model::forward_backward computes all gradients in
// one call, and a per-layer ready hook would have to go into the model's backward. The
// bucket API is the seam for that: start a bucket as soon as its layers are done.
#pragma once
#include <cstdint>
#include <vector>

#include "dist/comm.h"
#include "model/model.h"
#include "model/params.h"
#include "train/adamw.h"

namespace r1::dist {

class DataParallel {
public:
    // comm == nullptr: a private local communicator (one rank).
    explicit DataParallel(Comm* comm);

    Comm& comm() { return *comm_; }
    int rank() const { return comm_->rank(); }
    int size() const { return comm_->size(); }
    bool is_root() const { return comm_->rank() == 0; }

    // Rank 0's weights (and AdamW m/v/t if opt) to every rank.
    void broadcast_params(ParamSet& params, AdamW* opt = nullptr);
    // Sums params.grad() over ranks in place (buckets of bucket_floats).
    void allreduce_grads(ParamSet& params);
    int64_t bucket_floats = int64_t(1) << 20;   // 4 MiB of f32 per bucket

    // In-place sum of small host values over ranks.
    void sum(double* v, int64_t n) { if (size() > 1) comm_->allreduce_sum(v, n); }
    void sum(std::vector<double>& v) { sum(v.data(), (int64_t)v.size()); }
    // True on every rank if flag is true on any rank (coordinated stop).
    bool any(bool flag);
    // MoE expert loads summed over ranks (what one process would count on the global batch).
    ExpertLoad sum_expert_load(const ExpertLoad& local);

    // Hash of weights (+ AdamW m/v) compared across ranks; throws r1::Error naming the step
    // and the ranks that differ. Every rank gets the same verdict (the hashes are gathered).
    void check_sync(const ParamSet& params, const AdamW* opt, int64_t step);

private:
    std::unique_ptr<Comm> own_;
    Comm* comm_;
};

// FNV-1a 64 hash of weights and, if opt, AdamW moments (what check_sync compares).
uint64_t state_hash(const ParamSet& params, const AdamW* opt);

}  // namespace r1::dist
