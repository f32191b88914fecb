// Built-in synthetic reasoning corpus: multi-digit arithmetic in DeepSeek-R1 chat format,
// generated deterministically from (seed, index) — nothing to download, any example can be
// regenerated on its own (so a data-loader cursor is just an index).
//
// One example (prompt + completion, '\n' shown as line breaks):
//   <｜begin▁of▁sentence｜><｜User｜>What is 47+38?<｜Assistant｜><think>
//   Let me work it out.
//   47+38: add the digits right to left.
//   7+8=15, write 5, carry 1.
//   4+3+1=8, write 8.
//   So 47+38=85.
//   </think>
//   <answer>85</answer><｜end▁of▁sentence｜>
// The prompt is everything up to and including "<think>\n" (the R1 generation prompt).
//
// Three trace styles, mixed with configurable probabilities, so that a small base model
// trained on it ends up mediocre (RL then has room to improve it):
//   careful   "Let me work it out." then column arithmetic digit by digit with carries/borrows (+ and −), partial
//             products then their sum (×). Always correct; every "x op y=z" in it is true.
//   careless  one short line jumping to an answer ("Quick: 47+38=85."); wrong with
//             probability careless_wrong (off by one/ten, dropped carry, swapped digits).
//   check     careful work followed by "check: 85-38=47 ✓"; with probability check_recover it
//             first states a careless wrong answer, then "Wait, let me recheck: 75-38=37, not
//             47 ✗." and redoes the work carefully. Always ends with the correct answer.
//
// Problems: a+b, a−b (a >= b, so answers are non-negative), a×b; operand digit counts are
// uniform in the configured ranges (a d-digit number is uniform in [10^(d-1), 10^d), or
// [0, 10) for d = 1). About 1/8 of all problems (by a hash of op, a, b) are HELD OUT: the
// training stream never contains them; heldout_problem() draws only from them, so evaluation
// measures generalisation, not recall.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/rng.h"

namespace r1 {

enum class ArithOp { add, sub, mul };
enum class TraceStyle { careful, careless, check };

struct SyntheticOptions {
    // operand digits for + and −
    int min_digits = 1;
    int max_digits = 2;
    // operand digits for ×: a in [1, mul_digits_a], b in [1, mul_digits_b]
    int mul_digits_a = 2;
    int mul_digits_b = 1;
    // relative weights of the operations
    double w_add = 0.4, w_sub = 0.35, w_mul = 0.25;
    // relative weights of the trace styles
    double p_careful = 0.5, p_careless = 0.35, p_check = 0.15;
    double careless_wrong = 0.6;  // P(careless answer is wrong)
    double check_recover = 0.5;   // P(check trace starts with a wrong answer and corrects it)
    // How many phrasings careless lines use (1..5; the first n of "Quick: {e}={r}.", "Easy,
    // {e} is {r}.", ...). Greedy decoding follows the most likely FIRST token, so with five
    // phrasings a careless majority is still outvoted by the single "Let me work it out."
    // opening; with one, the style mix decides what a greedy base does.
    int careless_phrases = 5;

    void validate() const;  // throws r1::Error naming the field
};

struct Problem {
    ArithOp op = ArithOp::add;
    int64_t a = 0, b = 0;

    int64_t result() const;
    std::string expr() const;      // "47+38"
    std::string question() const;  // "What is 47+38?"
    std::string gold() const;      // "85"
};

struct SyntheticExample {
    Problem problem;
    TraceStyle style = TraceStyle::careful;
    std::string prompt;      // BOS, User, question, Assistant, "<think>\n"
    std::string completion;  // trace, "\n</think>\n<answer>X</answer>", EOS
    std::string answer;      // X as written in <answer>
    bool correct = false;    // answer == problem.gold()
};

// R1 chat prompt for a question: "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜><think>\n".
std::string chat_prompt(std::string_view question);
// Content of the first <answer>…</answer> in a completion; nullopt if absent/unclosed.
std::optional<std::string> extract_answer(std::string_view completion);

// True for the ~1/8 of problems reserved for evaluation.
bool is_heldout(const Problem& p);
// Problem i of the training (non-held-out) or held-out stream for a seed.
Problem train_problem(uint64_t seed, uint64_t index, const SyntheticOptions& opt);
Problem heldout_problem(uint64_t seed, uint64_t index, const SyntheticOptions& opt);
// Example i of the training / held-out corpus: problem + trace in a style drawn from the mix.
SyntheticExample train_example(uint64_t seed, uint64_t index, const SyntheticOptions& opt);
SyntheticExample heldout_example(uint64_t seed, uint64_t index, const SyntheticOptions& opt);
// A trace of the given style for p (rng drives phrasing and mistakes).
SyntheticExample make_example(const Problem& p, TraceStyle style, Rng& rng,
                              const SyntheticOptions& opt);

const char* style_name(TraceStyle s);

}  // namespace r1
