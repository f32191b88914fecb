// Variable-size gathers for the RL trainers under data parallelism (r1 grpo / r1 distill):
// dist::Comm only gathers fixed-size values (NCCL-shaped), so a string of any length goes
// as two fixed-size allgathers: the lengths, then every piece padded to the longest. Small
// payloads only (traces of one sampling chunk, per-rank counters), not gradients.
// Kept apart from data_parallel.{h,cpp} (the trainer's gradient path) on purpose.
#pragma once
#include <string>
#include <vector>

#include "dist/comm.h"

namespace r1::dist {

// Every rank's `mine`, in rank order, on every rank. One rank: {mine}.
std::vector<std::string> allgather_strings(Comm& comm, const std::string& mine);

// The maximum of v over ranks, on every rank.
double max_over_ranks(Comm& comm, double v);

}  // namespace r1::dist
