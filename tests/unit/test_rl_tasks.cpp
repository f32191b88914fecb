// Tasks and verifiers (src/rl/): format rule, answer normalisation, countdown expressions,
// adversarial outputs, determinism, held-out disjointness, jsonl datasets and their errors,
// metrics.jsonl reading for r1 plot.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "core/error.h"
#include "rl/countdown.h"
#include "rl/plot.h"
#include "rl/task.h"
#include "rl/tasks.h"
#include "rl/verify.h"
#include "train/synthetic.h"

namespace {
using namespace r1::rl;
namespace fs = std::filesystem;

struct Scratch {
    std::string dir;
    explicit Scratch(const std::string& name) {
        const char* base = std::getenv("R1_TEST_TMP");
        fs::path p = fs::path(base && *base ? base : "/tmp") / ("rl_" + name + "_" + std::to_string(::getpid()));
        fs::remove_all(p);
        fs::create_directories(p);
        dir = p.string();
    }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string p = dir + "/" + name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::string err_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const r1::Error& e) {
        return e.what();
    }
    return "";
}

TEST(RlFormat, Table) {
    struct Case {
        const char* text;
        bool formatted;
        const char* answer;  // nullptr: nothing extracted
    };
    const Case cases[] = {
        {"7+8=15.\n</think>\n<answer>15</answer>", true, "15"},
        {"x</think><answer>15</answer>\n  ", true, "15"},
        {"x</think>summary<answer>15</answer>", true, "15"},
        {"x</think><answer>15</answer><｜end▁of▁sentence｜>", true, "15"},
        {"x</think><answer>  </answer>", false, nullptr},           // empty answer
        {"x</think><answer></answer>", false, nullptr},
        {"x</think><answer>1</answer><answer>2</answer>", false, nullptr},  // two blocks
        {"<answer>1</answer></think><answer>2</answer>", false, nullptr},
        {"<answer>15</answer></think>", false, nullptr},            // answer before </think>
        {"no think close <answer>15</answer>", false, "15"},        // right but unformatted
        {"a</think>b</think><answer>15</answer>", false, "15"},     // two </think>
        {"x</think><answer>15</answer> trailing text", false, "15"},
        {"x</think><answer>15", false, nullptr},                    // unclosed
        {"x</think>15</answer>", false, nullptr},
        {"x</think></answer>15<answer>", false, nullptr},
        {"x</think><think>y<answer>15</answer>", false, "15"},
        {"", false, nullptr},
    };
    for (const Case& c : cases) {
        const AnswerParse p = parse_completion(c.text);
        EXPECT_EQ(p.formatted, c.formatted) << c.text;
        if (c.answer) {
            ASSERT_TRUE(p.answer.has_value()) << c.text;
            EXPECT_EQ(trim(*p.answer), c.answer) << c.text;
        } else {
            EXPECT_FALSE(p.answer.has_value()) << c.text;
        }
    }
}

TEST(RlNumbers, ParseTable) {
    struct Case {
        const char* text;
        const char* value;  // Rational::str(), or nullptr: not a number
    };
    const Case cases[] = {
        {"42", "42"}, {" 42 ", "42"}, {"-7", "-7"}, {"+7", "7"}, {"\xE2\x88\x92" "7", "-7"},
        {"1,234", "1234"}, {"1,234,567", "1234567"}, {"12,34", nullptr}, {"1,2345", nullptr},
        {"3/4", "3/4"}, {"6/8", "3/4"}, {"-3/4", "-3/4"}, {"3 / -4", "-3/4"}, {"1/0", nullptr},
        {"0.5", "1/2"}, {".5", "1/2"}, {"-0.25", "-1/4"}, {"2.50", "5/2"}, {"42.", "42"},
        {"\\frac{3}{4}", "3/4"}, {"\\dfrac{3}{4}", "3/4"}, {"\\tfrac12", "1/2"}, {"-\\frac{1}{2}", "-1/2"},
        {"\\frac{-6}{4}", "-3/2"}, {"\\frac{1}{0}", nullptr}, {"\\frac{1}", nullptr},
        {"\\boxed{72}", "72"}, {"$72$", "72"}, {"\\(72\\)", "72"}, {"$\\boxed{\\frac{1}{3}}$", "1/3"},
        {"$18", "18"}, {"-$18", "-18"}, {"\\$18.00", "18"}, {"50%", "50"}, {"50\\%", "50"},
        {"12 apples", "12"}, {"5 \\text{cm}", "5"}, {"90^\\circ", "90"}, {"x = 5", "5"},
        {"The answer is 42", "42"}, {"Answer: -3", "-3"}, {"1{,}000", "1000"},
        {"5x", nullptr}, {"2pi", nullptr}, {"3+4", nullptr}, {"2^10", nullptr}, {"abc", nullptr},
        {"", nullptr}, {"-", nullptr}, {".", nullptr}, {"1.2.3", nullptr}, {"--5", nullptr},
        {"99999999999999999999", nullptr},  // > int64
        {"9223372036854775807", "9223372036854775807"},
        {"0.000000000000000000000000000001", nullptr},  // 10^30 denominator
    };
    for (const Case& c : cases) {
        const auto v = parse_number(c.text);
        if (c.value) {
            ASSERT_TRUE(v.has_value()) << c.text;
            EXPECT_EQ(v->str(), c.value) << c.text;
        } else {
            EXPECT_FALSE(v.has_value()) << c.text << " -> " << (v ? v->str() : "");
        }
    }
}

TEST(RlNumbers, MatchAndFinalAnswer) {
    EXPECT_TRUE(answers_match("0.75", "3/4"));
    EXPECT_TRUE(answers_match("\\frac{3}{4}", "0.750"));
    EXPECT_TRUE(answers_match("1,234", "1234"));
    EXPECT_TRUE(answers_match("$1,234.00", "1234"));
    EXPECT_FALSE(answers_match("1234", "1235"));
    EXPECT_FALSE(answers_match("0.1", "1/9"));
    EXPECT_TRUE(answers_match(" (A) ", "(a)"));
    EXPECT_FALSE(answers_match("", ""));
    EXPECT_FALSE(answers_match("12", "12x"));
    EXPECT_EQ(final_answer("She sold 48/2 = 24 clips.\n#### 72"), "72");
    EXPECT_EQ(final_answer("so \\boxed{\\frac{1}{2}} and \\boxed{3}"), "3");
    EXPECT_EQ(final_answer("\\boxed{\\frac{a}{\\sqrt{b}}}"), "\\frac{a}{\\sqrt{b}}");
    EXPECT_EQ(final_answer("\\boxed{unclosed"), "\\boxed{unclosed");
    EXPECT_EQ(final_answer("  17 "), "17");
}

TEST(RlRational, CheckedArithmetic) {
    const auto big = Rational::integer(INT64_MAX);
    EXPECT_FALSE(mul(big, Rational::integer(2)).has_value());
    EXPECT_FALSE(add(big, Rational::integer(1)).has_value());
    EXPECT_FALSE(div(Rational::integer(1), Rational::integer(0)).has_value());
    EXPECT_EQ(add(*Rational::make(1, 10), *Rational::make(2, 10))->str(), "3/10");
    EXPECT_EQ(sub(Rational::integer(INT64_MIN + 1), Rational::integer(1))->num, INT64_MIN);
    EXPECT_FALSE(Rational::make(1, 0).has_value());
    EXPECT_EQ(Rational::make(4, -6)->str(), "-2/3");
}

TEST(RlCountdown, ExpressionTable) {
    CountdownProblem p;
    p.numbers = {3, 7, 25};
    p.target = 46;
    EXPECT_TRUE(eval_countdown(p, "25+3*7"));
    EXPECT_TRUE(eval_countdown(p, " (7 * 3) + 25 "));
    EXPECT_TRUE(eval_countdown(p, "25 + 3 \xC3\x97 7 = 46"));  // ×, "= target" suffix
    EXPECT_FALSE(eval_countdown(p, "25+21"));                  // wrong numbers
    EXPECT_FALSE(eval_countdown(p, "25+3*7+0"));               // extra number
    EXPECT_FALSE(eval_countdown(p, "25+3*7*1"));
    EXPECT_FALSE(eval_countdown(p, "25*3+7"));                 // wrong value
    EXPECT_FALSE(eval_countdown(p, "25+7*3/(3-3)"));           // division by zero (and extra 3)
    EXPECT_FALSE(eval_countdown(p, "-25+3*7"));                // no unary minus
    EXPECT_FALSE(eval_countdown(p, "25+3*7)"));
    EXPECT_FALSE(eval_countdown(p, "(25+3*7"));
    EXPECT_FALSE(eval_countdown(p, ""));
    EXPECT_FALSE(eval_countdown(p, "46"));
    CountdownProblem q;
    q.numbers = {1, 2, 8};
    q.target = 16;
    EXPECT_TRUE(eval_countdown(q, "8/(1/2)"));   // rational intermediates are exact
    EXPECT_TRUE(eval_countdown(q, "8 \xC3\xB7 (1 / 2)"));
    q.numbers = {4, 4};
    q.target = 0;
    EXPECT_TRUE(eval_countdown(q, "4-4"));       // duplicates count as a multiset
    EXPECT_FALSE(eval_countdown(q, "4"));
    const auto v = eval_expression("((1))");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->value.str(), "1");
    EXPECT_FALSE(eval_expression("999999999999*999999999999*999999999999").has_value());  // overflow
}

TEST(RlCountdown, SolvableDeterministicDisjoint) {
    auto task = make_task({"countdown", 2, {}});
    std::set<std::string> train_q;
    for (uint64_t i = 0; i < 300; i++) train_q.insert(task->problem(Split::train, 1, i).question);
    for (uint64_t i = 0; i < 100; i++) {
        const TaskProblem e = task->problem(Split::eval, 1, i);
        EXPECT_EQ(train_q.count(e.question), 0u) << e.question;
        EXPECT_EQ(task->problem(Split::eval, 1, i).prompt, e.prompt);  // pure function
    }
    // every generated problem is solvable: a brute-force search finds an expression
    for (uint64_t i = 0; i < 40; i++) {
        const CountdownProblem p = countdown_problem(i % 2 == 0, 7, i, 4);
        EXPECT_EQ(p.numbers.size(), 4u);
        EXPECT_GE(p.target, 1);
        EXPECT_LE(p.target, 999);
        // search over all (a op b) merges with rationals
        std::function<bool(std::vector<Rational>)> solve = [&](std::vector<Rational> v) -> bool {
            if (v.size() == 1) return v[0] == Rational::integer(p.target);
            for (size_t a = 0; a < v.size(); a++)
                for (size_t b = 0; b < v.size(); b++) {
                    if (a == b) continue;
                    for (int op = 0; op < 4; op++) {
                        std::optional<Rational> r = op == 0 ? add(v[a], v[b]) : op == 1 ? sub(v[a], v[b])
                                                  : op == 2 ? mul(v[a], v[b]) : div(v[a], v[b]);
                        if (!r) continue;
                        std::vector<Rational> w;
                        for (size_t k = 0; k < v.size(); k++)
                            if (k != a && k != b) w.push_back(v[k]);
                        w.push_back(*r);
                        if (solve(w)) return true;
                    }
                }
            return false;
        };
        std::vector<Rational> start;
        for (int64_t n : p.numbers) start.push_back(Rational::integer(n));
        EXPECT_TRUE(solve(start)) << p.question();
    }
    // the task scores a correct expression as correct
    const TaskProblem t = task->problem(Split::eval, 3, 0);
    EXPECT_FALSE(task->score(t, "</think><answer>1+1</answer>").correct);
    EXPECT_TRUE(task->score(t, "</think><answer>1+1</answer>").formatted);
}

TEST(RlArithmetic, MatchesSyntheticCorpus) {
    // difficulty 1 is the built-in corpus's default distribution
    const r1::SyntheticOptions d1 = arithmetic_options(1), def;
    EXPECT_EQ(d1.min_digits, def.min_digits);
    EXPECT_EQ(d1.max_digits, def.max_digits);
    EXPECT_EQ(d1.mul_digits_a, def.mul_digits_a);
    EXPECT_EQ(d1.mul_digits_b, def.mul_digits_b);
    EXPECT_EQ(d1.w_add, def.w_add);
    EXPECT_EQ(d1.p_careful, def.p_careful);
    for (int d = 2; d <= kMaxDifficulty; d++) EXPECT_NO_THROW(arithmetic_options(d).validate());
    EXPECT_NE(err_of([] { arithmetic_options(0); }).find("difficulty"), std::string::npos);
    EXPECT_NE(err_of([] { make_task({"arithmetic", 9, {}}); }).find("difficulty"), std::string::npos);

    auto task = make_task({"arithmetic", 1, {}});
    for (uint64_t i = 0; i < 50; i++) {
        const r1::Problem p = r1::heldout_problem(5, i, def);
        const TaskProblem t = task->problem(Split::eval, 5, i);
        EXPECT_EQ(t.question, p.question());
        EXPECT_EQ(t.gold, p.gold());
        EXPECT_EQ(t.prompt, r1::chat_prompt(p.question()));
        EXPECT_TRUE(r1::is_heldout(p));
        EXPECT_FALSE(r1::is_heldout(r1::train_problem(5, i, def)));
        EXPECT_EQ(task->problem(Split::train, 5, i).question, r1::train_problem(5, i, def).question());
    }
    // the corpus's own completions score as the corpus says they are
    int n_reflect = 0;
    for (uint64_t i = 0; i < 200; i++) {
        const r1::SyntheticExample ex = r1::train_example(9, i, def);
        TaskProblem t;
        t.question = ex.problem.question();
        t.prompt = ex.prompt;
        t.gold = ex.problem.gold();
        const Reward r = task->score(t, ex.completion);
        EXPECT_EQ(r.correct, ex.correct) << ex.completion;
        EXPECT_TRUE(r.formatted) << ex.completion;
        EXPECT_EQ(r.extracted, ex.answer);
        EXPECT_DOUBLE_EQ(r.total, (ex.correct ? 1.0 : 0.0) + 0.1);
        EXPECT_EQ(r.reflection, ex.style == r1::TraceStyle::check) << ex.completion;
        n_reflect += r.reflection;
    }
    EXPECT_GT(n_reflect, 0);
}

TEST(RlTasks, RewardWeightsAndUnknownTask) {
    TaskOptions o;
    o.weights.correct = 2.0;
    o.weights.format = 0.5;
    auto task = make_task(o);
    const TaskProblem t = task->problem(Split::eval, 0, 0);
    const Reward good = task->score(t, "work</think>\n<answer>" + t.gold + "</answer>");
    EXPECT_TRUE(good.correct && good.formatted);
    EXPECT_DOUBLE_EQ(good.total, 2.5);
    const Reward lazy = task->score(t, "<answer>" + t.gold + "</answer>");
    EXPECT_TRUE(lazy.correct);
    EXPECT_FALSE(lazy.formatted);
    EXPECT_DOUBLE_EQ(lazy.total, 2.0);
    const Reward hack = task->score(t, "</think><answer>" + t.gold + "</answer><answer>0</answer>");
    EXPECT_FALSE(hack.correct || hack.formatted);
    EXPECT_DOUBLE_EQ(hack.total, 0.0);
    EXPECT_NE(err_of([] { make_task({"chess", 1, {}}); }).find("unknown task 'chess'"), std::string::npos);
}

// Verifiers never throw and finish fast on hostile outputs.
TEST(RlTasks, AdversarialOutputs) {
    Scratch s("adv");
    std::string rows;
    for (int i = 0; i < 20; i++)
        rows += "{\"prompt\": \"q" + std::to_string(i) + "\", \"answer\": \"#### " + std::to_string(i) + "\"}\n";
    const std::string jl = s.write("d.jsonl", rows);
    std::vector<std::unique_ptr<Task>> tasks;
    tasks.push_back(make_task({"arithmetic", 1, {}}));
    tasks.push_back(make_task({"countdown", 1, {}}));
    tasks.push_back(make_task({"jsonl:" + jl, 1, {}}));

    const std::string digits(1 << 20, '9');
    std::vector<std::string> outs = {
        "</think><answer>" + digits + "</answer>",
        "</think><answer>" + std::string(1000000, '(') + "1" + std::string(1000000, ')') + "</answer>",
        "</think><answer>" + std::string(300, '(') + "1+2" + std::string(300, ')') + "</answer>",
        "</think><answer>\\boxed{" + std::string(100000, '{') + "</answer>",
        "</think><answer>\\frac{" + std::string(100000, '{') + "}{2}</answer>",
        "</think><answer>\xff\xfe\x80\xc3</answer>",                    // invalid UTF-8
        "</think><answer>1e308</answer>", "</think><answer>nan</answer>", "</think><answer>inf</answer>",
        "</think><answer>9223372036854775807*9223372036854775807</answer>",
        "</think><answer>1/0</answer>", "</think><answer>0/0</answer>",
        "</think><answer>1</answer><answer>2</answer>", "<answer>1</answer></think>",
        "</think><answer></answer>", std::string(1 << 20, '<'), std::string("\0\0\0", 3),
        "</think><answer>" + std::string(100000, '-') + "1</answer>",
        "</think><answer>" + std::string(50000, ',') + "</answer>",
        "</think><answer>1" + std::string(100000, '/') + "2</answer>",
        "</think><answer>#### " + std::string(100000, '#') + "</answer>",
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& task : tasks) {
        const TaskProblem p = task->problem(Split::eval, 0, 0);
        for (const std::string& o : outs) {
            Reward r;
            EXPECT_NO_THROW(r = task->score(p, o)) << task->name() << " " << o.substr(0, 60);
            EXPECT_FALSE(r.correct) << task->name() << " " << o.substr(0, 60);
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 20.0);  // generous (shared 2-core machine); each call is a linear scan
    // the unicode minus parses as a negative number
    EXPECT_EQ(normalize_answer("\xE2\x88\x92" "5"), "-5");
}

TEST(RlJsonl, ParsingAndSplit) {
    Scratch s("jsonl");
    std::string rows;
    for (int i = 0; i < 200; i++)
        rows += "{\"prompt\": \"question " + std::to_string(i) + "\", \"answer\": \"work\\n#### " +
                std::to_string(1000 + i) + "\"}\n\n";
    rows += "{\"prompt\": \"frac\", \"answer\": \"\\\\boxed{\\\\dfrac{3}{4}}\"}\n";
    rows += "{\"prompt\": \"num\", \"answer\": -12}\n";
    rows += "{\"prompt\": \"text\", \"answer\": \"Paris\"}\n";
    const std::string path = s.write("gsm.jsonl", rows);
    auto task = make_task({"jsonl:" + path, 1, {}});
    const uint64_t ne = task->size(Split::eval), nt = task->size(Split::train);
    EXPECT_EQ(ne + nt, 203u);
    EXPECT_GT(ne, 5u);
    EXPECT_LT(ne, 60u);  // ~1/8
    std::set<std::string> tq, eq;
    for (uint64_t i = 0; i < nt; i++) tq.insert(task->problem(Split::train, 3, i).question);
    for (uint64_t i = 0; i < ne; i++) eq.insert(task->problem(Split::eval, 3, i).question);
    EXPECT_EQ(tq.size(), nt);  // one epoch is a permutation
    EXPECT_EQ(eq.size(), ne);
    for (const auto& q : eq) EXPECT_EQ(tq.count(q), 0u) << q;
    EXPECT_EQ(task->problem(Split::train, 3, 5).question, task->problem(Split::train, 3, 5).question);
    EXPECT_NE(task->problem(Split::train, 3, 0).question + task->problem(Split::train, 3, 1).question,
              task->problem(Split::train, 4, 0).question + task->problem(Split::train, 4, 1).question);
    // golds are normalised; answers compare as numbers
    std::map<std::string, TaskProblem> byq;
    for (uint64_t i = 0; i < nt; i++) {
        TaskProblem t = task->problem(Split::train, 0, i);
        byq[t.question] = t;
    }
    for (uint64_t i = 0; i < ne; i++) {
        TaskProblem t = task->problem(Split::eval, 0, i);
        byq[t.question] = t;
    }
    EXPECT_EQ(byq["frac"].gold, "3/4");
    EXPECT_EQ(byq["num"].gold, "-12");
    EXPECT_EQ(byq["text"].gold, "paris");
    EXPECT_EQ(byq["question 7"].gold, "1007");
    EXPECT_TRUE(task->score(byq["frac"], "</think><answer>0.75</answer>").correct);
    EXPECT_TRUE(task->score(byq["frac"], "</think><answer>$\\boxed{\\frac34}$</answer>").correct);
    EXPECT_TRUE(task->score(byq["num"], "</think><answer>\xE2\x88\x92" "12</answer>").correct);
    EXPECT_TRUE(task->score(byq["question 7"], "</think><answer>1,007 dollars</answer>").correct);
    EXPECT_TRUE(task->score(byq["text"], "</think><answer> paris. </answer>").correct);
    EXPECT_FALSE(task->score(byq["question 7"], "</think><answer>1008</answer>").correct);
    EXPECT_EQ(task->score(byq["frac"], "</think><answer>0.75</answer>").extracted, "3/4");

    // small files: every row in both splits
    const std::string small = s.write("small.jsonl", "{\"prompt\": \"a\", \"answer\": \"1\"}\n");
    auto st = make_task({"jsonl:" + small, 1, {}});
    EXPECT_EQ(st->size(Split::eval), 1u);
    EXPECT_EQ(st->size(Split::train), 1u);
    EXPECT_EQ(st->problem(Split::eval, 0, 5).gold, "1");
}

TEST(RlJsonl, Errors) {
    Scratch s("jsonl_err");
    auto err = [&](const std::string& text) {
        const std::string p = s.write("bad.jsonl", text);
        return err_of([&] { make_task({"jsonl:" + p, 1, {}}); });
    };
    const std::string ok = "{\"prompt\": \"a\", \"answer\": \"1\"}\n";
    EXPECT_NE(err(ok + "{not json\n").find("bad.jsonl:2: not valid JSON"), std::string::npos);
    EXPECT_NE(err(ok + ok + "[1,2]\n").find("bad.jsonl:3: expected a JSON object"), std::string::npos);
    EXPECT_NE(err("{\"answer\": \"1\"}\n").find("bad.jsonl:1: field 'prompt'"), std::string::npos);
    EXPECT_NE(err("{\"prompt\": 3, \"answer\": \"1\"}\n").find("field 'prompt'"), std::string::npos);
    EXPECT_NE(err(ok + "\n{\"prompt\": \"b\"}\n").find("bad.jsonl:3: field 'answer' is missing"), std::string::npos);
    EXPECT_NE(err("{\"prompt\": \"b\", \"answer\": [1]}\n").find("field 'answer' must be"), std::string::npos);
    EXPECT_NE(err("{\"prompt\": \"b\", \"answer\": \"  \"}\n").find("field 'answer'"), std::string::npos);
    EXPECT_NE(err("\n\n").find("holds no rows"), std::string::npos);
    EXPECT_NE(err_of([] { make_task({"jsonl:/nonexistent/x.jsonl", 1, {}}); }).find("/nonexistent/x.jsonl"),
              std::string::npos);
    EXPECT_NE(err_of([] { make_task({"jsonl:", 1, {}}); }).find("needs a path"), std::string::npos);
}

TEST(RlPlot, ReadMetrics) {
    Scratch s("plot");
    const std::string p = s.write("m.jsonl",
        "{\"step\": 1, \"loss\": 2.5, \"acc\": 0.1, \"name\": \"x\", \"ok\": true, \"v\": [1], \"ev\": {\"acc\": 0.5}}\n"
        "\n{\"step\": 2, \"loss\": 2.0, \"acc\": 0.2, \"ok\": false}\n{\"loss\": 1.0}\n");
    const MetricsSeries m = read_metrics_jsonl(p);
    EXPECT_EQ(m.rows, 3);
    ASSERT_EQ(m.metrics.count("loss"), 1u);
    EXPECT_EQ(m.metrics.count("name"), 0u);
    EXPECT_EQ(m.metrics.count("v"), 0u);
    EXPECT_EQ(m.metrics.count("step"), 0u);
    EXPECT_EQ(m.metrics.at("loss").size(), 3u);
    EXPECT_EQ(m.metrics.at("loss")[2].first, 2.0);  // no step: row number
    EXPECT_EQ(m.metrics.at("ok")[1].second, 0.0);
    ASSERT_EQ(m.metrics.count("ev.acc"), 1u);
    EXPECT_EQ(m.metrics.at("ev.acc")[0].second, 0.5);
    EXPECT_NE(err_of([&] { read_metrics_jsonl(s.write("b.jsonl", "{\"step\": 1}\nnope\n")); }).find("b.jsonl:2"),
              std::string::npos);
    EXPECT_NE(err_of([&] { read_metrics_jsonl(s.write("c.jsonl", "{\"step\": \"one\"}\n")); }).find("'step'"),
              std::string::npos);
    EXPECT_NE(err_of([&] { read_metrics_jsonl(s.write("e.jsonl", "")); }).find("no rows"), std::string::npos);
    PlotOptions po;
    po.out_dir = s.dir + "/out";
    po.gnuplot = s.dir + "/no-such-gnuplot";
    EXPECT_NE(err_of([&] { plot_metrics({p}, po); }).find("gnuplot not found"), std::string::npos);
}

}  // namespace
