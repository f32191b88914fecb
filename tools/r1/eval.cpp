// r1 eval — accuracy of a model (ckpt.r1 or .gguf) on a task's held-out problems, greedy or
// pass@k with sampling, through the batched engine (rl/evaluate.h). Prints a summary (or one
// JSON object with --json); --dump writes one JSONL row per problem: prompt, completion,
// extracted, gold, correct (+ formatted, reflection, reward, length, finish_reason, and with
// --samples K > 1 every sample's completion/extracted/correct under "samples").
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/progress.h"
#include "generate/model_loader.h"
#include "rl/evaluate.h"
#include "rl/task.h"

namespace {

struct EvalCli {
    std::string model, dump;
    r1::rl::TaskOptions task;
    r1::rl::EvalOptions ev;
    bool json = false, no_progress = false;
};

int run_eval(EvalCli& c) {
    const auto task = r1::rl::make_task(c.task);
    std::ofstream dump;
    if (!c.dump.empty()) {
        dump.open(c.dump, std::ios::binary | std::ios::trunc);
        R1_CHECK(dump.good(), "[eval] --dump: cannot write '", c.dump, "'");
    }
    const auto lm = r1::load_model_for_inference(c.model);

    const uint64_t avail = task->size(c.ev.split);
    const int64_t total = (avail ? std::min<int64_t>(c.ev.n, (int64_t)avail) : c.ev.n) * c.ev.samples;
    r1::Progress bar("eval " + task->name(), total, "completions", !c.no_progress);
    c.ev.on_progress = [&](int64_t done, int64_t) { bar.update(done); };
    const r1::rl::EvalResult r = r1::rl::evaluate(lm->model(), lm->codec(), *task, c.ev);
    bar.finish();

    if (dump.is_open()) {
        dump << r1::rl::eval_dump_jsonl(r);
        R1_CHECK(dump.good(), "[eval] --dump: write to '", c.dump, "' failed");
    }

    const double tps = r.seconds > 0 ? (double)r.generated_tokens / r.seconds : 0.0;
    if (c.json) {
        nlohmann::json j = {{"task", task->name()},
                            {"model", c.model},
                            {"n", r.n},
                            {"samples", r.samples},
                            {"seed", c.ev.seed},
                            {"accuracy", r.accuracy},
                            {"pass_at_k", r.pass_at_k},
                            {"k", r.samples},
                            {"format_rate", r.format_rate},
                            {"reflection_rate", r.reflection_rate},
                            {"mean_length", r.mean_length},
                            {"mean_reward", r.mean_reward},
                            {"generated_tokens", r.generated_tokens},
                            {"seconds", r.seconds},
                            {"tok_per_s", tps}};
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("task %s  n %lld  samples %lld  seed %llu\n", task->name().c_str(), (long long)r.n,
                    (long long)r.samples, (unsigned long long)c.ev.seed);
        std::printf("accuracy        %.4f\n", r.accuracy);
        if (r.samples > 1) std::printf("pass@%-10lld %.4f\n", (long long)r.samples, r.pass_at_k);
        std::printf("format rate     %.4f\n", r.format_rate);
        std::printf("reflection rate %.4f\n", r.reflection_rate);
        std::printf("mean length     %.1f tokens\n", r.mean_length);
        std::printf("mean reward     %.4f\n", r.mean_reward);
        std::printf("[%lld tokens in %.2f s, %.1f tok/s]\n", (long long)r.generated_tokens, r.seconds, tps);
    }
    return 0;
}

r1::cli::Register reg("eval", "Accuracy of a model (ckpt.r1 or .gguf) on a task's held-out problems",
                      [](CLI::App& app) {
    auto c = std::make_shared<EvalCli>();
    app.add_option("--model", c->model, "model: a ckpt.r1 written by r1 train/grpo, or a .gguf file")->required();
    app.add_option("--task", c->task.spec, "arithmetic | countdown | jsonl:PATH (docs/rl_tasks.md)")
        ->capture_default_str();
    app.add_option("--difficulty", c->task.difficulty, "task difficulty level (1..5)")
        ->capture_default_str()->check(CLI::Range(1, 5));
    app.add_option("--n", c->ev.n, "problems to evaluate")->capture_default_str()
        ->check(CLI::Range((int64_t)1, (int64_t)1 << 24));
    app.add_option("--seed", c->ev.seed, "problem (and sampling) seed")->capture_default_str();
    app.add_option("--max-tokens", c->ev.max_tokens, "tokens per completion")->capture_default_str()
        ->check(CLI::Range((int64_t)1, (int64_t)1 << 20));
    app.add_option("--samples", c->ev.samples, "completions per problem: 1 = greedy, K > 1 = pass@K sampling")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--temperature", c->ev.temperature, "sampling temperature when --samples > 1")
        ->capture_default_str()->check(CLI::Range(0.0f, 100.0f));
    app.add_option("--top-p", c->ev.top_p, "nucleus threshold when --samples > 1")
        ->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--batch", c->ev.batch, "sequences decoded together")->capture_default_str()
        ->check(CLI::Range((int64_t)1, (int64_t)4096));
    app.add_option("--dump", c->dump, "write one JSONL row per problem (prompt, completion, extracted, gold, correct)");
    app.add_flag("--json", c->json, "print one JSON object: accuracy, n, format_rate, mean_length, reflection_rate, pass_at_k, ...");
    app.add_flag("--no-progress", c->no_progress, "no progress bar on stderr");
    return [c] { return run_eval(*c); };
});

}  // namespace
