// make_task and the three built-in tasks (arithmetic, countdown, jsonl datasets); the rules
// are documented in tasks.h, the shared verifier pieces live in verify.h / countdown.h.
#include "rl/tasks.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "core/rng.h"
#include "rl/countdown.h"
#include "rl/verify.h"

namespace r1::rl {

namespace {

// Correctness + format + reflection of a completion against a gold answer, with the answer
// compared by `match` (content of the single answer block -> correct?).
template <typename Match>
Reward score_with(const RewardWeights& w, std::string_view completion,
                  const std::vector<std::string>& markers, Match match) {
    Reward r;
    const AnswerParse ap = parse_completion(completion);
    r.formatted = ap.formatted;
    if (ap.answer) {
        r.extracted = normalize_answer(final_answer(*ap.answer));
        r.correct = match(*ap.answer);
    }
    r.reflection = contains_marker(completion, markers);
    r.total = w.correct * (r.correct ? 1.0 : 0.0) + w.format * (r.formatted ? 1.0 : 0.0);
    return r;
}

void check_difficulty(const char* task, int d) {
    R1_CHECK(d >= 1 && d <= kMaxDifficulty, "[task] ", task, ": --difficulty must be in [1, ",
             kMaxDifficulty, "], got ", d);
}

class ArithmeticTask : public Task {
public:
    explicit ArithmeticTask(const TaskOptions& o) : w_(o.weights), opt_(arithmetic_options(o.difficulty)) {}
    std::string name() const override { return "arithmetic"; }
    TaskProblem problem(Split split, uint64_t seed, uint64_t index) const override {
        const Problem p = split == Split::train ? train_problem(seed, index, opt_)
                                                : heldout_problem(seed, index, opt_);
        TaskProblem t;
        t.question = p.question();
        t.prompt = chat_prompt(t.question);
        t.gold = p.gold();
        return t;
    }
    Reward score(const TaskProblem& p, std::string_view c) const override {
        return score_with(w_, c, arithmetic_reflection_markers(),
                          [&](const std::string& a) { return answers_match(final_answer(a), p.gold); });
    }

private:
    RewardWeights w_;
    SyntheticOptions opt_;
};

// The numbers of a countdown question ("Using the numbers [3, 7, 25], ...").
std::optional<CountdownProblem> parse_countdown_question(const TaskProblem& t) {
    const size_t a = t.question.find('['), b = t.question.find(']');
    if (a == std::string::npos || b == std::string::npos || b < a) return std::nullopt;
    CountdownProblem p;
    int64_t cur = -1;
    for (size_t i = a + 1; i <= b; i++) {
        const char c = t.question[i];
        if (c >= '0' && c <= '9') {
            if (cur > 1000000) return std::nullopt;
            cur = (cur < 0 ? 0 : cur * 10) + (c - '0');
        } else if (cur >= 0) {
            p.numbers.push_back(cur);
            cur = -1;
        }
    }
    const auto target = parse_number(t.gold);
    if (p.numbers.empty() || !target || !target->is_integer()) return std::nullopt;
    p.target = target->num;
    return p;
}

class CountdownTask : public Task {
public:
    explicit CountdownTask(const TaskOptions& o) : w_(o.weights), n_numbers_(o.difficulty + 2) {
        check_difficulty("countdown", o.difficulty);
    }
    std::string name() const override { return "countdown"; }
    TaskProblem problem(Split split, uint64_t seed, uint64_t index) const override {
        const CountdownProblem p = countdown_problem(split == Split::eval, seed, index, n_numbers_);
        TaskProblem t;
        t.question = p.question();
        t.prompt = chat_prompt(t.question);
        t.gold = std::to_string(p.target);
        return t;
    }
    Reward score(const TaskProblem& t, std::string_view c) const override {
        const auto p = parse_countdown_question(t);
        Reward r = score_with(w_, c, generic_reflection_markers(), [&](const std::string& a) {
            return p && eval_countdown(*p, trim(a));
        });
        // the extracted answer of countdown is the expression itself (whitespace dropped)
        if (auto ap = parse_completion(c); ap.answer) {
            std::string e;
            for (char ch : trim(*ap.answer).substr(0, 4096))
                if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') e.push_back(ch);
            r.extracted = e;
        }
        return r;
    }

private:
    RewardWeights w_;
    int n_numbers_;
};

uint64_t fnv1a(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

class JsonlTask : public Task {
public:
    JsonlTask(const TaskOptions& o, const std::string& path) : w_(o.weights), path_(path) {
        std::ifstream f(path, std::ios::binary);
        R1_CHECK(f.good(), "[task] jsonl: cannot open '", path, "'");
        std::string line;
        std::vector<TaskProblem> all;
        for (int64_t ln = 1; std::getline(f, line); ln++) {
            if (trim(line).empty()) continue;
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(line);
            } catch (const std::exception& e) {
                fail("[task] ", path, ":", ln, ": not valid JSON (", e.what(), ")");
            }
            R1_CHECK(j.is_object(), "[task] ", path, ":", ln, ": expected a JSON object {\"prompt\", \"answer\"}");
            R1_CHECK(j.contains("prompt") && j["prompt"].is_string(), "[task] ", path, ":", ln,
                     ": field 'prompt' is missing or not a string");
            R1_CHECK(j.contains("answer"), "[task] ", path, ":", ln, ": field 'answer' is missing");
            const auto& a = j["answer"];
            std::string ans;
            if (a.is_string()) ans = a.get<std::string>();
            else if (a.is_number_integer() || a.is_number_unsigned()) ans = a.dump();
            else if (a.is_number_float()) ans = a.dump();
            else fail("[task] ", path, ":", ln, ": field 'answer' must be a string or a number");
            TaskProblem t;
            t.question = j["prompt"].get<std::string>();
            R1_CHECK(!trim(t.question).empty(), "[task] ", path, ":", ln, ": field 'prompt' is empty");
            t.prompt = chat_prompt(t.question);
            t.gold = normalize_answer(final_answer(ans));
            R1_CHECK(!t.gold.empty(), "[task] ", path, ":", ln, ": field 'answer' has no answer in it");
            all.push_back(std::move(t));
        }
        R1_CHECK(!all.empty(), "[task] jsonl: '", path, "' holds no rows");
        for (TaskProblem& t : all) (fnv1a(t.question) % 8 == 0 ? eval_ : train_).push_back(t);
        if (all.size() < 16 || eval_.empty() || train_.empty()) {  // too small to split
            train_ = all;
            eval_ = all;
        }
    }
    std::string name() const override { return "jsonl:" + path_; }
    uint64_t size(Split split) const override { return rows(split).size(); }
    TaskProblem problem(Split split, uint64_t seed, uint64_t index) const override {
        const std::vector<TaskProblem>& r = rows(split);
        const uint64_t n = r.size(), epoch = index / n;
        std::vector<uint32_t> perm(n);
        std::iota(perm.begin(), perm.end(), 0u);
        Rng rng(seed * 0x9E3779B97F4A7C15ull + epoch * 0xBF58476D1CE4E5B9ull + (split == Split::eval));
        for (uint64_t i = n; i > 1; i--) std::swap(perm[i - 1], perm[rng.below(i)]);
        return r[perm[index % n]];
    }
    Reward score(const TaskProblem& p, std::string_view c) const override {
        return score_with(w_, c, generic_reflection_markers(),
                          [&](const std::string& a) { return answers_match(final_answer(a), p.gold); });
    }

private:
    const std::vector<TaskProblem>& rows(Split s) const { return s == Split::eval ? eval_ : train_; }
    RewardWeights w_;
    std::string path_;
    std::vector<TaskProblem> train_, eval_;
};

}  // namespace

SyntheticOptions arithmetic_options(int difficulty) {
    check_difficulty("arithmetic", difficulty);
    SyntheticOptions o;  // level 1: the built-in corpus's defaults, unchanged
    switch (difficulty) {
        case 2: o.min_digits = 1; o.max_digits = 3; o.mul_digits_a = 2; o.mul_digits_b = 2; break;
        case 3: o.min_digits = 2; o.max_digits = 4; o.mul_digits_a = 3; o.mul_digits_b = 2; break;
        case 4: o.min_digits = 3; o.max_digits = 5; o.mul_digits_a = 3; o.mul_digits_b = 3; break;
        case 5: o.min_digits = 4; o.max_digits = 6; o.mul_digits_a = 4; o.mul_digits_b = 3; break;
        default: break;
    }
    o.validate();
    return o;
}

const std::vector<std::string>& arithmetic_reflection_markers() {
    static const std::vector<std::string> m = [] {
        std::vector<std::string> v = {"check:", "wait, let me recheck"};
        const auto& g = generic_reflection_markers();
        v.insert(v.end(), g.begin(), g.end());
        return v;
    }();
    return m;
}

std::unique_ptr<Task> make_task(const TaskOptions& opt) {
    const std::string& s = opt.spec;
    if (s == "arithmetic") return std::make_unique<ArithmeticTask>(opt);
    if (s == "countdown") return std::make_unique<CountdownTask>(opt);
    if (s.rfind("jsonl:", 0) == 0) {
        R1_CHECK(s.size() > 6, "[task] 'jsonl:' needs a path: --task jsonl:PATH");
        return std::make_unique<JsonlTask>(opt, s.substr(6));
    }
    fail("[task] unknown task '", s, "' (known: arithmetic, countdown, jsonl:PATH)");
}

}  // namespace r1::rl
