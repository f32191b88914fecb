// Data parallelism for trainers over a flat ParamSet (PyTorch DDP semantics, by hand):
//   * every rank holds the full model and optimiser; rank 0's weights are broadcast at start,
//   * each rank runs forward/backward on its shard of the global batch, with its gradients
//     pre-scaled so that their SUM over ranks is the single-process gradient of the global
//     batch (trainers scale by n_local / n_global tokens, see train/trainer.cpp),
//   * allreduce_grads() sums the flat gradient buffer over ranks in fixed buckets (all
//     started, then waited in order: several collectives in flight pipeline in MPI); or,
//     overlapped with the backward (DDP's reducer): overlap_begin(), the model's
//     grads-ready hook → grads_ready() starts each bucket as soon as the backward has
//     finished its range, overlap_finish() waits. Same buckets, same per-element sums: the
//     result is bit-identical to allreduce_grads(),
//   * ZeRO-1 (dist/zero.h): each rank updates only its slice with its slice of AdamW m/v,
//     then allgather_params() gives every rank the full weights again,
//   * identical gradients + identical optimiser maths ⇒ identical weights on every rank;
//     check_sync() verifies that with a hash (debug mode `r1 train --check-sync`).
// With one rank (or comm == nullptr) every call is a no-op or a copy, so single-process
// training takes exactly the same code path and produces bit-identical results.
#pragma once
#include <cstdint>
#include <vector>

#include "dist/comm.h"
#include "dist/zero.h"
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

    // ---- the same all-reduce overlapped with the backward ----------------------------------
    // overlap_begin(params): arm; bucket k = [k·bucket_floats, ...) as in allreduce_grads.
    // grads_ready(offset, count): the gradients of that range are final (Model's
    // GradsReadyFn: adjacent ranges from the end of the buffer down, r1::Error otherwise);
    // starts every bucket that lies entirely in the ready region (highest first) and polls
    // the ones in flight (Work::test) so that MPI progresses during the backward.
    // overlap_finish(): starts the buckets not started yet (a rank whose last micro-batch had
    // no backward starts them all here, in the same highest-first order as everyone else:
    // every rank issues the same collectives in the same order), waits for all. Call it
    // before any other collective of the step. With one rank all three are no-ops.
    void overlap_begin(ParamSet& params);
    void grads_ready(int64_t offset, int64_t count);
    void overlap_finish();
    // Collectives the overlapped path started inside grads_ready (vs in overlap_finish) in
    // the last step: 0 means nothing overlapped (tests, the measurement in the docs).
    int64_t overlapped_buckets() const { return overlapped_; }

    // ---- ZeRO-1 -------------------------------------------------------------------------------
    // This rank's slice of the flat parameters (dist/zero.h zero_shard) and the all-gather of
    // the updated slices after a sharded AdamW step (no-op with one rank).
    Shard zero_shard(int64_t n) const;
    void allgather_params(ParamSet& params);

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
    // overlap state (overlap_begin .. overlap_finish)
    float* ov_grad_ = nullptr;
    int64_t ov_n_ = 0, ov_ready_ = 0, ov_next_ = -1, overlapped_ = 0;
    std::vector<WorkPtr> ov_inflight_;
    void start_bucket(int64_t k);
};

// FNV-1a 64 hash of weights and, if opt, AdamW moments (what check_sync compares). With a
// ZeRO-sharded opt every rank holds different moments: pass nullptr (weights only).
uint64_t state_hash(const ParamSet& params, const AdamW* opt);

}  // namespace r1::dist
