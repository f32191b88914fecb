// Tasks with verifiable rewards — the interface GRPO (`r1 grpo`), evaluation (`r1 eval`) and
// rejection-sampling distillation (`r1 distill`) share.
//
// A Task produces problems (a chat-formatted prompt plus a gold answer), deterministically
// from (split, seed, index) so any problem can be regenerated on its own (a cursor is an
// index), and scores a completion with rule-based rewards only — DeepSeek-R1-Zero's recipe:
//   correctness   the answer extracted from the completion equals the gold answer
//   format        "<think>…</think>" then exactly one non-empty "<answer>…</answer>" (two
//                 answer blocks or an empty one earn nothing: a known reward hack)
// combined with RewardWeights. score() is called on raw model output: it never throws, never
// hangs and never recurses without bound, whatever the text (bounded expression size and
// evaluation work in the verifiers).
//
// Completions are the text generated AFTER the prompt; prompts end with the R1 generation
// prompt "<｜Assistant｜><think>\n", so the "<think>" is pre-filled and a completion only has
// to close it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace r1::rl {

enum class Split { train, eval };  // eval problems never appear in the train stream

struct TaskProblem {
    std::string prompt;    // full prompt text (BOS, <｜User｜>, question, <｜Assistant｜><think>\n)
    std::string question;  // the user message alone
    std::string gold;      // reference answer, normalised as the verifier compares it
};

struct RewardWeights {
    double correct = 1.0;  // added when the extracted answer is correct
    double format = 0.1;   // added when the completion is well formed
};

struct Reward {
    double total = 0;        // weights.correct·correct + weights.format·formatted
    bool correct = false;
    bool formatted = false;
    bool reflection = false; // contains a self-verification marker (task-defined, e.g. "check:",
                             // "Wait, let me recheck") — reported as the reflection rate
    std::string extracted;   // the answer the verifier extracted, normalised ("" if none)
};

struct TaskOptions {
    std::string spec = "arithmetic";  // "arithmetic" | "countdown" | "jsonl:PATH"
    int difficulty = 1;               // task-defined levels (arithmetic: operand digits …)
    RewardWeights weights;
};

class Task {
public:
    virtual ~Task() = default;
    virtual std::string name() const = 0;
    // Problem `index` of a split, a pure function of (split, seed, index).
    virtual TaskProblem problem(Split split, uint64_t seed, uint64_t index) const = 0;
    // Number of problems in a split (finite datasets); 0 = unbounded (generated tasks).
    virtual uint64_t size(Split split) const { (void)split; return 0; }
    // Rule-based reward of a completion; total, never throws.
    virtual Reward score(const TaskProblem& p, std::string_view completion) const = 0;
};

// Builds the task named by opt.spec; throws r1::Error for an unknown name or an unreadable /
// malformed dataset (naming the file, line and field).
std::unique_ptr<Task> make_task(const TaskOptions& opt);

}  // namespace r1::rl
