// ZeRO stage 1 (Rajbhandari et al. 2020, DeepSpeed's "optimizer state partitioning") for the
// flat ParamSet: with N ranks, each rank keeps AdamW's m and v for one contiguous slice of
// the flat parameters only (optimiser memory per rank drops by N), updates only that slice
// after the gradient all-reduce, and the updated slices are all-gathered so that every rank
// holds the full weights again for the next forward. Weights and gradients stay replicated
// (that would be stages 3 and 2).
//
// What this file owns: the slice arithmetic, the parameter all-gather, and the two
// conversions that keep ONE checkpoint format: gathering the m/v slices to rank 0 before it
// writes (the file is byte-for-byte what an unsharded run writes), and reading one rank's
// slice of m/v from any checkpoint (written with or without ZeRO, by any rank count).
#pragma once
#include <cstdint>
#include <memory>

#include "dist/comm.h"
#include "model/params.h"
#include "train/adamw.h"
#include "train/checkpoint.h"

namespace r1::dist {

// A contiguous float range [begin, end) of the flat parameters.
struct Shard {
    int64_t begin = 0, end = 0;
    int64_t size() const { return end - begin; }
    bool operator==(const Shard&) const = default;
};

// Rank r's slice of n floats over `ranks`: S = n / ranks floats each, [r·S, (r+1)·S), and the
// last rank also takes the n mod ranks remainder. Slices are contiguous, in rank order, cover
// [0, n) exactly once and differ in size by < ranks floats. Chosen so that the parameter
// all-gather is one in-place equal-piece collective over the first ranks·S floats (NCCL's
// ncclAllGather needs equal pieces) plus a broadcast of the < ranks tail floats.
// Throws r1::Error for n < 0, ranks < 1 or rank outside [0, ranks).
Shard zero_shard(int64_t n, int ranks, int rank);

// AdamW state bytes (m and v, f32) the largest rank holds: 8·n without ZeRO, 8·(largest
// slice) with it.
int64_t optimizer_state_bytes(int64_t n, int ranks, bool zero);

// Every rank's slice of buf[0, n) to every rank, in place (each rank's own slice is the one
// it updated). Collective: every rank calls it with the same n.
void allgather_shards(Comm& comm, float* buf, int64_t n);

// Gathers the m/v slices of `shard` (this rank's ZeRO optimiser, built with
// zero_shard(params.size(), comm.size(), comm.rank())) into an unsharded AdamW on rank
// `root`, which save_checkpoint() writes in the usual format; other ranks get nullptr.
// Collective; moves the slices in chunks of chunk_floats per rank so that non-root ranks
// only need a chunk-sized buffer (rank 0 needs the full m and v while it writes).
std::unique_ptr<AdamW> gather_optimizer(Comm& comm, const ParamSet& params, const AdamW& shard,
                                        int root = 0, int64_t chunk_floats = int64_t(1) << 20);

// Reads the slice [shard.shard_begin(), shard.shard_end()) of the checkpoint's m and v, and
// t, into `shard`. Works for any checkpoint with optimizer state (ZeRO or not, any rank
// count: the file format is the same). Validates every touched tensor (present, shape,
// size) before anything is changed; throws r1::Error naming the file and tensor.
void load_optimizer_shard(const Checkpoint& ck, const ParamSet& params, AdamW& shard);

}  // namespace r1::dist
