// Evaluation of a model on a Task: n problems of Split::eval, each answered once greedily
// (samples = 1) or `samples` times with temperature sampling (pass@k), all through the
// batched Generator (generate/engine.h) — the library function behind `r1 eval`, and what
// GRPO, distill and the demo call to measure a model.
//
// Metrics: accuracy = mean correctness over every completion (pass@1 when sampling);
// pass_at_k = share of problems with at least one correct completion of the k (= accuracy
// when k = 1); format_rate, reflection_rate and mean_length (generated tokens, the stop token
// included) are over every completion; mean_reward is the Task's total reward.
// Determinism: sample j of problem i uses seed + i·samples + j (sampling only); problems are
// task.problem(Split::eval, seed, i).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "generate/infer_model.h"
#include "generate/model_loader.h"
#include "rl/task.h"

namespace r1::rl {

struct EvalOptions {
    int64_t n = 100;            // problems (a finite task with fewer eval rows uses them all)
    uint64_t seed = 0;          // problems + sampling
    int64_t max_tokens = 256;   // per completion (clamped to the model's context)
    int samples = 1;            // k; 1 = greedy
    float temperature = 0.6f;   // used when samples > 1
    float top_p = 0.95f;        // used when samples > 1
    int64_t batch = 16;         // generator slots (sequences decoded together)
    Split split = Split::eval;
    // Called after each finished completion with (done, total) completions; may be empty.
    std::function<void(int64_t, int64_t)> on_progress;
};

struct EvalSample {
    std::string completion;     // decoded, stop token removed
    Reward reward;
    int64_t length = 0;         // generated tokens (stop token included)
    std::string finish_reason;  // "stop" | "length"
};

struct EvalRow {
    uint64_t index = 0;         // problem index in the split
    TaskProblem problem;
    std::vector<EvalSample> samples;  // [k]
    int64_t n_correct = 0;
};

struct EvalResult {
    std::vector<EvalRow> rows;
    int64_t n = 0, samples = 1;
    double accuracy = 0, pass_at_k = 0, format_rate = 0, reflection_rate = 0;
    double mean_length = 0, mean_reward = 0;
    int64_t generated_tokens = 0;
    double seconds = 0;
};

// The `r1 eval --dump` format: one JSON line per problem with index, prompt, gold and the
// first sample's completion, extracted, correct, formatted, reflection, reward, length,
// finish_reason; with samples > 1 also n_correct and every sample under "samples".
std::string eval_dump_jsonl(const EvalResult& r);

// Throws r1::Error for bad options or a prompt that does not fit the model's context.
EvalResult evaluate(const InferenceModel& model, const TextCodec& codec, const Task& task,
                    const EvalOptions& opt);

}  // namespace r1::rl
