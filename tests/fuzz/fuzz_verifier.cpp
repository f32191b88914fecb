// libFuzzer target for the rule-based verifiers (src/rl/verify.cpp, countdown.cpp,
// rational.cpp, tasks.cpp), built and run by scripts/fuzz_verifier.sh with
// -fsanitize=fuzzer,address,undefined.
//
// Contract under test (task.h): score() never throws, never hangs, never recurses without
// bound, whatever the completion. The input is used as a completion for each built-in task
// (arithmetic, countdown) and as raw text for the number / expression parsers; invariants:
// no exception escapes, Reward::total is one of the four weight combinations and agrees
// with `correct`, and a parsed number re-parses to itself from its canonical string.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rl/countdown.h"
#include "rl/task.h"
#include "rl/verify.h"

namespace {
using namespace r1::rl;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_verifier: invariant broken: %s\n", what);
    std::abort();
}

struct Tasks {
    std::unique_ptr<Task> arith = make_task({"arithmetic", 1, {}});
    std::unique_ptr<Task> count = make_task({"countdown", 1, {}});
    TaskProblem pa = arith->problem(Split::eval, 0, 0);
    TaskProblem pc = count->problem(Split::eval, 0, 0);
};

void check_reward(const Reward& r) {
    const double w = r.total;
    if (w != 0.0 && w != 0.1 && w != 1.0 && w != 1.1) finding("reward total is not a weight combination");
    if ((w >= 1.0) != r.correct) finding("total disagrees with correct");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Tasks t;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        check_reward(t.arith->score(t.pa, text));
        const Reward rc = t.count->score(t.pc, text);
        check_reward(rc);
        // the input as an answer block too (most fuzz inputs have no tags)
        const std::string wrapped = "</think><answer>" + std::string(text) + "</answer>";
        check_reward(t.arith->score(t.pa, wrapped));
        check_reward(t.count->score(t.pc, wrapped));
        if (auto v = parse_number(text)) {
            const auto again = parse_number(v->str());
            if (!again || !(*again == *v)) finding("canonical number does not re-parse to itself");
        }
        if (auto e = eval_expression(text)) {
            if (e->numbers.size() > kMaxExprNumbers) finding("too many numbers accepted");
        }
        (void)answers_match(text, "42");
        (void)normalize_answer(text);
        (void)final_answer(text);
    } catch (...) {
        finding("a verifier threw");
    }
    return 0;
}
