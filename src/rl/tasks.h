// The built-in tasks behind make_task (task.h) and the helpers demos and tests need:
//
//   arithmetic   the built-in synthetic corpus's problems (train/synthetic.h): a+b, a−b, a×b.
//                Split::train -> train_problem, Split::eval -> heldout_problem (the ~1/8
//                held out by hash), so evaluation never sees a training problem. Difficulty
//                levels (arithmetic_options): 1 = the default SyntheticOptions the built-in
//                corpus uses (1–2 digit ±, 2×1 digit ×) ... 5 (4–6 digit ±, 4×3 digit ×).
//                Reflection markers: "check:", "wait, let me recheck" (the corpus's own
//                self-check phrases) plus the generic ones (verify.h).
//   countdown    countdown.h; difficulty d = d + 2 numbers (1..5 -> 3..7 numbers).
//   jsonl:PATH   one {"prompt": "...", "answer": "..." | number} object per line (blank lines
//                skipped). The gold answer is final_answer(answer) normalised (so GSM8K's
//                "… #### 72" and "\boxed{72}" work). Eval split: rows whose FNV-1a hash of
//                the prompt is 0 mod 8; the rest are train. Files with fewer than 16 rows (or
//                whose hash split leaves a side empty) use every row for both splits — too
//                small to hold anything out; the eval numbers then measure recall.
//                Order: problem(split, seed, i) is row perm_{seed, i / n}[i mod n] of the
//                split's n rows (a fresh seeded shuffle per epoch).
// All tasks share the format rule and answer extraction of verify.h; reward total =
// weights.correct·correct + weights.format·formatted.
#pragma once
#include <string>
#include <vector>

#include "rl/task.h"
#include "train/synthetic.h"

namespace r1::rl {

inline constexpr int kMaxDifficulty = 5;

// SyntheticOptions of an arithmetic difficulty level (1..5); throws r1::Error otherwise.
// A demo pretrains on train_example(..., arithmetic_options(d)) and evaluates task d.
SyntheticOptions arithmetic_options(int difficulty);

const std::vector<std::string>& arithmetic_reflection_markers();

}  // namespace r1::rl
