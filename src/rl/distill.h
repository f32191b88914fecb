// Distillation — DeepSeek-R1 §2.4: a strong teacher's reasoning is transferred to a small
// student by (i) rejection sampling and (ii) supervised fine-tuning on what survived, with
// (iii) optional logit knowledge distillation when both share a tokenizer.
//
//   (i)   sample   the teacher (ckpt.r1 or .gguf, any architecture: MoE included) generates
//                  K completions for each of N train-split prompts of a task with the batched
//                  engine; the task's rule-based verifier keeps completions that are CORRECT
//                  and WELL FORMED and ended on the stop token (a completion cut at
//                  --max-tokens is rejected: the student must learn to stop). Identical
//                  completions of one prompt are kept once; at most M per prompt (0 = all).
//                  Output: OUT/traces.jsonl, one {"prompt", "completion", reward fields}
//                  per line, and OUT/sampling.json (acceptance statistics).
//   (ii)  SFT      the student (a ckpt.r1 to start from, or a preset / config.json for a
//                  fresh model) is trained by src/train/trainer on traces.jsonl with the loss
//                  on completion tokens only (the jsonl corpus masks prompts) → OUT/student/.
//   (iii) KD       with kd != none the micro-batch loss becomes
//                  (1 − a)·CE + a·τ²·KL(teacher ‖ student)  (forward) or KL(student ‖ teacher)
//                  (reverse) over the full vocabulary on the same completion tokens, the
//                  teacher's distribution recomputed by a teacher forward on every batch
//                  (ops/lm_head_kd.h; never the full [N, V] student logits). Needs a ckpt.r1
//                  teacher with the student's vocabulary (the byte tokenizer).
//
// Stages resume: OUT/traces.jsonl present (written atomically at the end of sampling) →
// sampling is skipped; an interrupted sampling continues from OUT/traces.partial.jsonl at
// the last finished chunk of prompts; the SFT stage resumes OUT/student/ckpt.r1 exactly as
// `r1 train --resume`. SIGINT/SIGTERM: the current chunk / step finishes, state is saved,
// and the result says interrupted. Resuming with different sampling options is an error
// naming the option (OUT/distill.json records them).
//
// Data parallel (DistillOptions::comm with R ranks, `mpirun -np R r1 distill`): each chunk of
// prompts is split into contiguous per-rank slices; every rank samples and verifies its
// slice with its own copy of the teacher, the accepted rows are gathered to every rank in
// rank order (= prompt order = the single-process file, since sampler seeds hash the global
// prompt index) and rank 0 writes the files. The SFT runs through the trainer's data-parallel
// path (TrainOptions::comm): --batch is the GLOBAL batch, split over the ranks (it must
// divide), so the run and its resume do not depend on the rank count; KD runs the teacher
// forward per rank on that rank's rows.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "ops/lm_head_kd.h"
#include "rl/task.h"
#include "train/trainer.h"

namespace r1::rl {

struct DistillOptions {
    std::string teacher;             // ckpt.r1 or .gguf
    std::string student;             // ckpt.r1 (init) or preset name / config.json (fresh)
    std::string out_dir;
    TaskOptions task;                // --task (arithmetic | countdown | jsonl:PATH)
    // (i) rejection sampling
    int64_t n_prompts = 64;          // train-split problems 0 .. n_prompts-1 of the task seed
    int k = 8;                       // completions per prompt
    float temperature = 0.8f;
    float top_p = 1.0f;
    int64_t max_tokens = 256;        // per completion
    int max_per_prompt = 0;          // keep at most this many distinct traces (0 = all)
    int64_t n_slots = 32;            // sequences the engine decodes together
    uint64_t seed = 1;               // task problems, sampling seeds, student init/data order
    // (ii) SFT (the rest of the trainer's options keep their defaults)
    int64_t steps = 100;
    int64_t batch = 8;
    int64_t seq = 128;
    float lr = 1e-3f;
    float min_lr = 1e-4f;
    int64_t warmup = 10;
    // (iii) KD
    KdOptions kd{KdMode::none, 0.5f, 1.0f};

    bool resume = false;
    bool progress = true;
    bool handle_signals = true;
    int64_t log_every = 10;          // trainer log lines (0 = quiet)
    dist::Comm* comm = nullptr;      // data-parallel ranks (see above); nullptr = one process
    bool check_sync = false;         // data parallel SFT: compare weight hashes every step

    void validate() const;           // throws r1::Error naming the option
};

struct SamplingStats {
    int64_t n_prompts = 0;           // prompts sampled
    int64_t n_sampled = 0;           // completions generated (n_prompts · k)
    int64_t n_correct = 0;           // verifier: correct answer
    int64_t n_formatted = 0;         // verifier: well formed
    int64_t n_truncated = 0;         // hit --max-tokens (rejected)
    int64_t n_passed = 0;            // correct ∧ formatted ∧ stopped
    int64_t n_duplicates = 0;        // passed but identical to an earlier trace of its prompt
    int64_t n_capped = 0;            // passed, distinct, beyond max_per_prompt
    int64_t n_accepted = 0;          // rows in traces.jsonl
    int64_t n_prompts_covered = 0;   // prompts with >= 1 accepted trace
    int64_t n_reflection = 0;        // accepted traces with a self-verification marker
    int64_t generated_tokens = 0;
    double seconds = 0;
    double acceptance_rate() const { return n_sampled ? (double)n_passed / n_sampled : 0.0; }
};
nlohmann::json to_json(const SamplingStats& s);
SamplingStats sampling_stats_from_json(const nlohmann::json& j);

struct DistillResult {
    SamplingStats sampling;
    bool sampling_skipped = false;   // traces.jsonl was already complete (resume)
    bool interrupted = false;        // Ctrl-C: state saved, resume with resume = true
    TrainResult train;               // the SFT stage (unset when interrupted during sampling)
    bool trained = false;
    double kd_ce = -1, kd_kl = -1;   // last step's mean CE / KL with KD on (-1: off)
    std::string traces_path, student_ckpt;
};

// The KD micro-batch loss used in stage (iii), exposed for tests and other trainers: for
// tokens/targets [B, T] it runs teacher.forward_head (final hidden states h_t [N, Ct]), then
// the student's forward_backward_head with lm_head_kd on chunks of rows whose teacher logits
// h_t · W_tᵀ are formed on the fly; the per-token mean over targets >= 0, times grad_scale,
// is differentiated. teacher must outlive the function; *last (optional) receives the last
// call's mean CE and KL.
struct KdStats {
    double ce = -1, kl = -1;
    int64_t n_tokens = 0;            // targets of that call (data parallel: to weigh ranks)
};
MicroBatchFn make_kd_micro_batch(Model& teacher, const KdOptions& kd, KdStats* last = nullptr);

// Stage (i) alone: samples (or continues sampling) into out_dir; returns its statistics.
// Sets *interrupted when a signal stopped it (the partial state is saved).
SamplingStats sample_traces(const DistillOptions& opt, bool* interrupted);

// All stages.
DistillResult distill(const DistillOptions& opt);

}  // namespace r1::rl
