// Countdown problems and their verifier (see countdown.h): generation that is solvable by
// construction, and a bounded recursive-descent parser with exact, overflow-checked
// rational evaluation.
#include "rl/countdown.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"

namespace r1::rl {

namespace {

// splitmix64 finaliser over (h, v): a well-mixed 64-bit hash chain.
uint64_t mix(uint64_t h, uint64_t v) {
    uint64_t z = h ^ (v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    std::optional<ExprValue> run() {
        auto v = expr(0);
        skip();
        if (!v || failed_ || i_ != s_.size()) return std::nullopt;
        return ExprValue{*v, std::move(numbers_)};
    }

private:
    // expr := term (('+' | '-') term)*
    std::optional<Rational> expr(int depth) {
        auto v = term(depth);
        while (v) {
            skip();
            bool plus;
            if (eat("+")) plus = true;
            else if (eat("-") || eat("\xE2\x88\x92")) plus = false;
            else break;
            auto r = term(depth);
            if (!r) return std::nullopt;
            v = plus ? add(*v, *r) : sub(*v, *r);
        }
        if (!v) failed_ = true;
        return v;
    }
    // term := factor (('*' | '/') factor)*
    std::optional<Rational> term(int depth) {
        auto v = factor(depth);
        while (v) {
            skip();
            bool times;
            if (eat("*") || eat("\xC3\x97")) times = true;         // ×
            else if (eat("/") || eat("\xC3\xB7")) times = false;   // ÷
            else break;
            auto r = factor(depth);
            if (!r) return std::nullopt;
            v = times ? mul(*v, *r) : div(*v, *r);  // div: nullopt on division by zero
        }
        if (!v) failed_ = true;
        return v;
    }
    // factor := integer | '(' expr ')'
    std::optional<Rational> factor(int depth) {
        skip();
        if (failed_ || i_ >= s_.size()) return std::nullopt;
        if (s_[i_] == '(') {
            if (depth + 1 > kMaxExprDepth) return fail();
            i_++;
            auto v = expr(depth + 1);
            skip();
            if (!v || !eat(")")) return fail();
            return v;
        }
        if (s_[i_] < '0' || s_[i_] > '9') return fail();
        int64_t n = 0;
        int digits = 0;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
            if (++digits > 12) return fail();
            n = n * 10 + (s_[i_++] - '0');
        }
        if (numbers_.size() >= kMaxExprNumbers) return fail();
        numbers_.push_back(n);
        return Rational::integer(n);
    }

    std::optional<Rational> fail() {
        failed_ = true;
        return std::nullopt;
    }
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) i_++;
    }
    bool eat(std::string_view tok) {
        if (s_.substr(i_, tok.size()) != tok) return false;
        i_ += tok.size();
        return true;
    }

    std::string_view s_;
    size_t i_ = 0;
    bool failed_ = false;
    std::vector<int64_t> numbers_;
};

// One random expression over nums (all used once); its value, or nullopt (division by 0).
std::optional<Rational> random_tree_value(std::vector<int64_t> nums, Rng& rng) {
    std::vector<Rational> vals;
    for (int64_t n : nums) vals.push_back(Rational::integer(n));
    while (vals.size() > 1) {
        const size_t i = (size_t)rng.below(vals.size());
        size_t j = (size_t)rng.below(vals.size() - 1);
        if (j >= i) j++;
        std::optional<Rational> r;
        switch (rng.below(4)) {
            case 0: r = add(vals[i], vals[j]); break;
            case 1: r = sub(vals[i], vals[j]); break;
            case 2: r = mul(vals[i], vals[j]); break;
            default: r = div(vals[i], vals[j]); break;
        }
        if (!r) return std::nullopt;
        vals[i] = *r;
        vals.erase(vals.begin() + (std::ptrdiff_t)j);
    }
    return vals[0];
}

CountdownProblem generate(uint64_t seed, int n_numbers) {
    Rng rng(seed);
    CountdownProblem p;
    for (int k = 0; k < n_numbers; k++) p.numbers.push_back(1 + (int64_t)rng.below(99));
    for (int attempt = 0; attempt < 64; attempt++) {
        const auto v = random_tree_value(p.numbers, rng);
        if (v && v->is_integer() && v->num >= 1 && v->num <= 999) {
            p.target = v->num;
            return p;
        }
    }
    p.target = 0;
    for (int64_t n : p.numbers) p.target += n;
    return p;
}

}  // namespace

std::string CountdownProblem::question() const {
    std::string s = "Using the numbers [";
    for (size_t i = 0; i < numbers.size(); i++) s += (i ? ", " : "") + std::to_string(numbers[i]);
    s += "], create an equation that equals " + std::to_string(target) +
         ". Use each number exactly once, with + - * / and parentheses.";
    return s;
}

bool countdown_is_heldout(const CountdownProblem& p) {
    std::vector<int64_t> sorted = p.numbers;
    std::sort(sorted.begin(), sorted.end());
    uint64_t h = 0xC0DE;
    for (int64_t n : sorted) h = mix(h, (uint64_t)n);
    h = mix(h, (uint64_t)p.target);
    return h % 8 == 0;
}

CountdownProblem countdown_problem(bool heldout, uint64_t seed, uint64_t index, int n_numbers) {
    R1_CHECK(n_numbers >= 2 && n_numbers <= 7, "[countdown] numbers per problem must be in [2, 7], got ",
             n_numbers);
    const uint64_t base = mix(mix(mix(0xC0FFEEull, seed), index), (uint64_t)n_numbers);
    for (uint64_t attempt = 0;; attempt++) {  // 1/8 (eval) or 7/8 (train) accept: ends fast
        CountdownProblem p = generate(mix(base, attempt), n_numbers);
        if (countdown_is_heldout(p) == heldout) return p;
    }
}

std::optional<ExprValue> eval_expression(std::string_view expr) {
    if (expr.size() > kMaxExprBytes) return std::nullopt;
    return Parser(expr).run();
}

bool eval_countdown(const CountdownProblem& p, std::string_view answer) {
    const size_t eq = answer.find('=');
    if (eq != std::string_view::npos) answer = answer.substr(0, eq);
    const auto v = eval_expression(answer);
    if (!v) return false;
    std::vector<int64_t> used = v->numbers, given = p.numbers;
    std::sort(used.begin(), used.end());
    std::sort(given.begin(), given.end());
    return used == given && v->value == Rational::integer(p.target);
}

}  // namespace r1::rl
