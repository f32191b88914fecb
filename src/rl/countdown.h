// Countdown (the TinyZero / R1-Zero reproduction task): given numbers and a target, write an
// arithmetic expression with + − × ÷ and parentheses that uses every given number exactly
// once and evaluates to the target.
//
// Generation (always solvable by construction): n = difficulty + 2 numbers (3..7) uniform in
// [1, 99]; a random binary expression tree over them in random order with random operators
// is evaluated exactly; the first tree (of up to 64 tries) whose value is an integer in
// [1, 999] gives the target, else the sum of the numbers does. Held-out split: 1/8 of
// problems by a hash of (sorted numbers, target); the train stream never contains them.
//
// Verification (eval_countdown): the expression is the answer text up to an optional "="
// (so "25+3*7 = 46" is accepted; what follows "=" is ignored). Bounded recursive-descent
// parse: at most kMaxExprBytes bytes, kMaxExprDepth nested parentheses, kMaxExprNumbers
// numbers, each a non-negative integer of at most 12 digits; operators + - * / and the
// Unicode × ÷ − ; no unary minus (the game has none). Exact rational evaluation with
// overflow checks; division by zero, overflow or a parse error is simply incorrect.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rl/rational.h"

namespace r1::rl {

inline constexpr size_t kMaxExprBytes = 512;
inline constexpr int kMaxExprDepth = 32;
inline constexpr size_t kMaxExprNumbers = 16;

struct CountdownProblem {
    std::vector<int64_t> numbers;
    int64_t target = 0;
    std::string question() const;  // "Using the numbers [3, 7, 25], make 46. ..."
};

// Problem `index` of a split; n_numbers in [2, 7].
CountdownProblem countdown_problem(bool heldout, uint64_t seed, uint64_t index, int n_numbers);
bool countdown_is_heldout(const CountdownProblem& p);

struct ExprValue {
    Rational value;
    std::vector<int64_t> numbers;  // the literals used, in order
};
// Parses and evaluates an expression; nullopt on any error (see above).
std::optional<ExprValue> eval_expression(std::string_view expr);
// True iff expr uses exactly p.numbers (as a multiset) and equals p.target.
bool eval_countdown(const CountdownProblem& p, std::string_view answer);

}  // namespace r1::rl
