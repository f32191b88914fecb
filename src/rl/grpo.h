// GRPO trainer: reinforcement learning with verifiable rewards on the policy's own weights,
// trainer and sampler in one process (per rank) — the rollout engine (generate/engine.h)
// reads the trainer's ParamSet through InferenceModel::from_params (zero copy), so there is
// no weight sync and no server.
//
// One step (reads top to bottom in grpo.cpp, run_step):
//   1. rollout   P prompts from the task's train split (cursor = problem index), G sampled
//                completions each (temperature / top-p), one batched Generator
//   2. reward    Task::score (correctness + format), soft overlong penalty (DAPO) if on
//   3. advantage per group: grpo (r−mean)/(std+eps) | dr_grpo r−mean | rloo leave-one-out
//   4. dynamic sampling (DAPO, optional): groups whose rewards are all equal carry no signal;
//                drop them and sample more prompts, up to `dynamic_rounds` extra rounds
//   5. old log-probs: the training forward at the rollout weights (so ratio == 1 exactly
//                at the first inner update); reference log-probs when beta > 0
//   6. μ = inner_epochs passes over `mini_batches` mini-batches, each: compute_gradients
//                (clipped surrogate, policy_loss.h) → optimizer_step (NaN check, clip,
//                AdamW, MoE selection-bias update). Kept separate so a data-parallel
//                all-reduce can go between them.
//   7. metrics   one JSON line in OUT/metrics.jsonl; greedy eval every eval_every steps
// Simplifications: one sequence per batch row (right padding), no sequence packing; the
// reference model, when used, is a full copy of the weights.
//
// Data parallel (GrpoOptions::comm with R ranks, docs/distributed.md): the P prompts of a
// step are split into contiguous slices of whole groups (rank r: prompts [P·r/R, P·(r+1)/R)
// of the step), each rank samples, scores and computes the advantages of ITS groups (a
// group never spans ranks); the per-sample rewards and lengths are then summed into one
// global table (one all-reduce), so dynamic sampling, the metrics and the loss normalisers
// (n_seqs, Σ|o_i| of each mini-batch) are the single-process ones; each rank's gradient of
// its rows with those global weights sums over ranks to the single-process gradient, which
// is all-reduced before the identical clip + AdamW on every rank. Sampler seeds hash the
// GLOBAL problem index, so the rollouts do not depend on the rank count (up to the float
// rounding of batched products, generate/engine.h). Rank 0 writes metrics and checkpoints.
//
// Guarantees (as r1 train): deterministic for a seed and thread count; OUT/ckpt.r1 (atomic)
// holds weights, AdamW state, step, task cursor and options (+ OUT/ref-STEP.r1 with the
// reference weights when beta > 0), and --resume continues bit-identically; a NaN/Inf loss
// or gradient stops with an error naming the step; SIGINT/SIGTERM finish the step, save and
// return interrupted = true (the CLI exits 130).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/model.h"
#include "rl/advantage.h"
#include "rl/policy_loss.h"
#include "rl/task.h"
#include "train/adamw.h"

namespace r1::dist {
class Comm;
}

namespace r1::rl {

enum class Overlong { none, filter, soft };
Overlong parse_overlong(const std::string& s);  // "none" | "filter" | "soft"
const char* overlong_name(Overlong o);

struct GrpoOptions {
    std::string init;                 // base checkpoint (ckpt.r1 from r1 train); required
    std::string out_dir;              // metrics.jsonl, ckpt.r1
    TaskOptions task;                 // spec, difficulty, reward weights
    std::shared_ptr<const Task> task_object;  // if set, used instead of make_task(task)
                                      // (library users' own tasks, tests); not checkpointed:
                                      // a resume must pass the same object again
    uint64_t seed = 1;                // task stream + sampling
    int64_t steps = 50;               // GRPO steps (rollout batches)
    int64_t prompts = 8;              // P prompts per step
    int64_t group = 16;               // G completions per prompt
    int64_t max_tokens = 200;         // completion length cap (clamped to the context)
    float temperature = 1.0f;
    float top_p = 1.0f;
    AdvantageKind advantage = AdvantageKind::grpo;
    LossAgg loss_agg = LossAgg::seq;
    PolicyLossConfig loss;            // eps_low, eps_high, beta
    int64_t inner_epochs = 1;         // μ: passes over each rollout batch
    int64_t mini_batches = 1;         // optimiser steps per pass
    int64_t ref_reset = 0;            // beta > 0: copy the policy into the reference every N
                                      // steps (0 = never)
    bool dynamic_sampling = false;
    int64_t dynamic_rounds = 2;       // extra sampling rounds when groups are dropped
    Overlong overlong = Overlong::none;
    int64_t overlong_buffer = 0;      // soft: penalty ramps over the last N tokens
                                      // (0 = max_tokens / 4)
    float overlong_penalty = 1.0f;    // soft: penalty at max_tokens
    float lr = 2e-4f;
    int64_t warmup = 0;               // linear warmup steps, then constant
    AdamWConfig adamw{0.9f, 0.99f, 1e-8f, 0.0f};
    float clip = 1.0f;                // global grad-norm clip (0 = off)
    int64_t eval_every = 0;           // greedy eval on the eval split every N steps (0 = off;
                                      // also at the end when > 0)
    int64_t eval_n = 64;              // eval problems
    int64_t ckpt_every = 0;           // 0: only at the end (and on interrupt)
    int64_t slots = 0;                // generator slots (per rank); 0 = the rank's prompts x G
    bool resume = false;
    bool progress = true;
    bool handle_signals = true;
    int64_t log_every = 1;            // stdout line every N steps (0 = silent)
    dist::Comm* comm = nullptr;       // data-parallel ranks (see above); nullptr = one process
    bool check_sync = false;          // data parallel: compare weight hashes every step

    void validate() const;            // throws r1::Error naming the option
};

void to_json(nlohmann::json& j, const GrpoOptions& o);
void from_json(const nlohmann::json& j, GrpoOptions& o);

struct GrpoMetrics {
    int64_t step = 0;
    double reward_mean = 0, reward_std = 0, accuracy = 0, format_rate = 0;
    double response_len_mean = 0, response_len_max = 0, zero_var_frac = 0;
    double kl = 0, clip_frac = 0, entropy = 0, reflection_rate = 0, truncated_frac = 0;
    double rollout_tok_s = 0, train_tok_s = 0, lr = 0, grad_norm = 0, loss = 0, elapsed = 0;
    int64_t groups_trained = 0, rollouts = 0;
    double eval_accuracy = -1;        // >= 0 when evaluated at this step
};

struct GrpoResult {
    int64_t start_step = 0, end_step = 0;
    double first_reward = 0, final_reward = 0;    // reward_mean of first / last step run
    double first_eval = -1, final_eval = -1;      // eval accuracy (−1: none)
    double elapsed = 0;
    bool interrupted = false;
    std::string checkpoint;
};

// One policy-gradient computation: zeroes the gradients, then ADDS those of the clipped
// surrogate on `batch` (logp_out [N]: the current log-probs, optional). No weight change.
PolicyStats compute_gradients(Model& policy, const PolicyBatch& batch, const PolicyLossConfig& cfg,
                              float* logp_out = nullptr);
// NaN/Inf check (error names the step and tensor), global-norm clip, AdamW at lr, MoE
// selection-bias update (from `load` when given — data parallel: the load summed over ranks
// — else from the policy's last forward). Returns the gradient norm before clipping.
double optimizer_step(Model& policy, AdamW& opt, float lr, float clip, int64_t step,
                      const ExpertLoad* load = nullptr);

// One sequence for pack_policy_batch: prompt + completion (the completion's last token is a
// target only), its advantage, and masked = no loss (DAPO overlong filter).
struct PackSeq {
    const std::vector<int32_t>* prompt = nullptr;
    const std::vector<int32_t>* completion = nullptr;
    double adv = 0;
    bool masked = false;
};
// The aggregation normalisers of a WHOLE mini-batch: its unmasked sequences and their
// completion tokens. Data parallel: summed over every rank's part of the mini-batch, so
// that each rank's weights are the single-process ones (see agg_weight).
struct AggNorm {
    int64_t n_seqs = 0, n_tokens = 0;
};
AggNorm agg_norm(const std::vector<PackSeq>& seqs);
// One row per sequence, right-padded: row positions [P−1, P+L−2] predict the L completion
// tokens with the aggregation weight agg_weight(agg, L, norm.n_seqs, norm.n_tokens,
// max_tokens). An empty `seqs` gives B = 0.
PolicyBatch pack_policy_batch(const std::vector<PackSeq>& seqs, const AggNorm& norm, LossAgg agg,
                              int64_t max_tokens);

// Rank r's contiguous slice [first, second) of n items split over R ranks (rank order =
// item order; sizes differ by at most one).
std::pair<int64_t, int64_t> rank_slice(int64_t n, int r, int R);

using GrpoCallback = std::function<void(const GrpoMetrics&)>;

GrpoResult grpo_train(const GrpoOptions& opt, const GrpoCallback& on_step = {});

}  // namespace r1::rl
