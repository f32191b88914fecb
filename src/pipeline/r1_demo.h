// The DeepSeek-R1 recipe in miniature — what `r1 demo` (and `make demo`) runs, on the
// built-in synthetic arithmetic task, with nothing to download:
//
//   1. pretrain_teacher   a small DeepSeekMoE "base" (tiny-moe) on the synthetic corpus, in
//                         which careful column arithmetic, careless one-line guesses and
//                         self-checks all appear (so the base is mediocre: RL has room)
//   2. grpo_teacher       R1-Zero: GRPO from the base, rewards = correctness + format only
//   3. pretrain_student   a smaller dense student (tiny-dense), same corpus, same steps
//   4. distill            rejection-sample traces from the RL teacher (correct + well formed
//                         only), SFT the pretrained student on them
//   5. grpo_student       the baseline: GRPO on the pretrained student alone, same budget as 2
//   6. eval_*             every model greedily on the same held-out problems (r1 eval --dump)
//   7. export             the students (dense: llama.cpp runs them) as Q8_0 GGUF
//   8. report             OUT/report.md, OUT/summary.json, PNG curves under OUT/plots/
//
// Every stage is recorded in OUT/pipeline.json when it completes (pipeline/stages.h), so
// re-running the command skips finished stages; the training stages resume from their own
// checkpoints after Ctrl-C. Results depend only on --seed and the thread count.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace r1 {

struct DemoOptions {
    std::string out_dir = "runs/demo";
    bool quick = false;      // smoke-test budgets (about a minute on 2 cores)
    uint64_t seed = 1;
    bool progress = true;    // progress bars of the stages on stderr
    // Budgets; 0 = the default of the mode (see r1_demo.cpp: full / quick).
    int64_t pretrain_steps = 0;          // the MoE teacher's
    int64_t student_pretrain_steps = 0;  // the dense student's
    int64_t grpo_steps = 0;
    int64_t eval_n = 0;
    int64_t distill_prompts = 0;
};

// Thrown when Ctrl-C stopped a stage: its checkpoint is saved, re-running resumes.
struct DemoInterrupted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs (or resumes) the pipeline; returns the summary also written to OUT/summary.json.
nlohmann::json run_r1_demo(const DemoOptions& opt);

}  // namespace r1
