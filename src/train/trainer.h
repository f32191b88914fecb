// Pretraining / SFT loop (llm.c train_gpt2.c shape, nanoGPT schedule):
//   for step in [start, steps):
//     zero grads → accum × Model::forward_backward(micro-batch, grad_scale = 1/accum)
//     → loss / gradient NaN-Inf check → clip → AdamW(lr = schedule(step))
//     → Model::update_selection_bias() (MoE with aux-loss-free bias)
//     → metrics line in OUT/metrics.jsonl → eval every N → checkpoint every N and at the end
//
// Guarantees:
// * Resume (OUT/ckpt.r1) continues bit-identically: weights, AdamW m/v/t, step, data cursor
//   and RNG state are restored, so the following losses equal an uninterrupted run's with
//   the same thread count. metrics.jsonl keeps the lines up to the checkpoint's step.
// * A NaN/Inf loss or gradient stops the run with an r1::Error naming the step (and the
//   first offending tensor); the last good checkpoint is never overwritten.
// * Data parallel (opt.comm with N ranks, dist/data_parallel.h): every step equals a
//   single-process step on the global batch N x batch (up to float summation order);
//   rank 0 alone writes metrics and checkpoints; checkpoints do not depend on N. The
//   gradient all-reduce overlaps the last micro-batch's backward (overlap) and the AdamW
//   state may be sharded (zero = 1): both leave every number bit-identical, and a ZeRO run
//   writes the same checkpoint format (m/v gathered to rank 0), so any run resumes any other.
// * SIGINT/SIGTERM: the current step finishes, a checkpoint is saved, train() returns with
//   interrupted = true (the CLI exits 130 and prints how to resume).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/config.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/data.h"
#include "train/schedule.h"

namespace r1::dist {
class Comm;
}

namespace r1 {

// Gradient of one micro-batch (tokens, targets [B, T]) ADDED to model.params().grad() with
// weight grad_scale; returns its stats. Default (empty): Model::forward_backward (mean CE).
// Distillation plugs its KD loss in here; clipping, the optimiser step, checkpoints and
// resume stay the trainer's. Not recorded in checkpoints (the caller records what it means).
// At most ONE backward of `model` per call: data parallel, the last micro-batch's backward
// reports finished gradient ranges to the overlapped all-reduce (model.h GradsReadyFn), and
// a second backward would add to ranges already sent (DataParallel::grads_ready throws).
using MicroBatchFn = std::function<StepStats(Model& model, const int32_t* tokens,
                                             const int32_t* targets, int64_t B, int64_t T,
                                             float grad_scale)>;

struct TrainOptions {
    std::string model = "tiny-moe";   // preset name or config JSON path (recorded in ckpts)
    ModelConfig config;               // resolved config (resolve_model_config(model))
    std::string data = "builtin";     // "builtin" | FILE.txt | FILE.jsonl
    DataOptions data_opt;
    std::string out_dir;              // metrics.jsonl and ckpt.r1 go here
    int64_t steps = 200;              // total optimiser steps
    int64_t batch = 8;                // B (per micro-batch)
    int64_t seq = 128;                // T
    int64_t accum = 1;                // micro-batches per step
    LrKind schedule = LrKind::cosine;
    float lr = 1e-3f, min_lr = 1e-4f;
    int64_t warmup = 10;
    AdamWConfig adamw;                // betas, eps, weight decay
    float clip = 1.0f;                // global grad-norm clip (0 = off)
    uint64_t seed = 1337;             // init + data order
    int64_t ckpt_every = 0;           // 0: only at the end (and on interrupt)
    int64_t eval_every = 0;           // 0: only at the end when eval_batches > 0
    int64_t eval_batches = 4;
    int64_t log_every = 10;           // stdout log line every N steps (0 = silent)
    bool resume = false;
    std::string init;                 // ckpt.r1 whose weights start a fresh run (fresh
                                      // optimiser, step 0; its config must equal `config`);
                                      // ignored when resuming (the run's own ckpt wins)
    MicroBatchFn micro_batch;         // custom micro-batch loss (see above); empty = CE
    bool progress = true;             // progress bar on stderr
    bool handle_signals = true;       // install SIGINT/SIGTERM handlers during train()
    dist::Comm* comm = nullptr;       // data-parallel ranks (docs/distributed.md); nullptr:
                                      // this process alone. batch is per rank: the
                                      // global batch is batch x ranks
    bool check_sync = false;          // data parallel: compare weight hashes every step
    bool overlap = true;              // data parallel: all-reduce gradient buckets during the
                                      // last micro-batch's backward (bit-identical either way)
    int zero = 0;                     // 1: ZeRO-1, AdamW m/v sharded over the ranks
                                      // (dist/zero.h); same results and checkpoints as 0

    void validate() const;            // throws r1::Error naming the option
};

// The options a checkpoint records (and the resume check compares).
void to_json(nlohmann::json& j, const TrainOptions& o);
// Overrides o's fields from j (used by `r1 train --resume` for options not given).
void from_json(const nlohmann::json& j, TrainOptions& o);

// A preset name, or a path to a config JSON (ModelConfig JSON, strict).
ModelConfig resolve_model_config(const std::string& model);

struct StepMetrics {
    int64_t step = 0;
    double loss = 0, lr = 0, grad_norm = 0, tok_s = 0, elapsed = 0;
    double imbalance = 0;      // MoE: max/mean expert load (0 for dense)
    double grad_sync_s = 0;    // data parallel: seconds spent after the backward waiting for
                               // the gradient all-reduce (what overlap hides)
    double eval_loss = -1;     // >= 0 when evaluated at this step
};

struct TrainResult {
    int64_t start_step = 0, end_step = 0;
    double final_loss = 0;     // last step's training loss
    double eval_loss = -1;     // last eval loss (-1: none)
    double first_loss = 0;     // first step's loss in this invocation
    double tok_s = 0;          // mean over this invocation
    double elapsed = 0;        // seconds in this invocation
    int64_t n_params = 0;
    bool interrupted = false;
    std::string checkpoint;    // path of the last checkpoint written ("" if none)
};

using StepCallback = std::function<void(const StepMetrics&)>;

TrainResult train(const TrainOptions& opt, const StepCallback& on_step = {});

}  // namespace r1
