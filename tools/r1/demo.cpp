// r1 demo — the whole DeepSeek-R1 pipeline in miniature (pipeline/r1_demo.h): pretrain a MoE
// base → GRPO (R1-Zero) → rejection sampling → distil into a dense student, against GRPO on
// the same student → evaluate all → export GGUF. `make demo` runs it; `--quick` is the
// smoke test `make test` runs.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "pipeline/r1_demo.h"

namespace {

struct Cli {
    r1::DemoOptions o;
    bool json = false, no_progress = false;
};

int run_demo(Cli& c) {
    r1::DemoOptions o = c.o;
    o.progress = !c.no_progress;
    if (!c.json)
        std::printf("r1 demo: the R1 pipeline in miniature%s, %d threads, output in %s\n"
                    "(Ctrl-C is safe: re-run the same command to resume)\n\n",
                    o.quick ? " (--quick)" : "", r1::num_threads(), o.out_dir.c_str());
    nlohmann::json s;
    try {
        s = r1::run_r1_demo(o);
    } catch (const r1::DemoInterrupted& e) {
        std::fprintf(stderr, "\n%s; resume with the same command: r1 demo --out %s%s\n", e.what(),
                     o.out_dir.c_str(), o.quick ? " --quick" : "");
        return 130;
    }
    if (c.json) {
        std::printf("%s\n", s.dump().c_str());
        return 0;
    }
    auto pct = [](const nlohmann::json& v) { return 100.0 * v.get<double>(); };
    std::printf("\n  held-out accuracy (%lld problems, greedy)\n"
                "  MoE base              %5.1f%%\n"
                "  MoE + GRPO            %5.1f%%   (%+.1f points)\n"
                "  student, pretrained   %5.1f%%\n"
                "  student + distill     %5.1f%%\n"
                "  student + GRPO        %5.1f%%\n\n"
                "  wall time %.0f s; report: %s\n\n"
                "Chat with the distilled student:\n"
                "  r1 chat --model %s\n"
                "or in llama.cpp:\n"
                "  llama-cli -m %s -p 'What is 47+38?'\n",
                (long long)s["eval_n"].get<int64_t>(), pct(s["base_accuracy"]), pct(s["rl_accuracy"]),
                100.0 * s["rl_gain"].get<double>(), pct(s["student_base_accuracy"]),
                pct(s["distilled_student_accuracy"]), pct(s["rl_student_accuracy"]),
                s["wall_seconds"].get<double>(), s["report"].get<std::string>().c_str(),
                s["gguf"]["distilled_student"].get<std::string>().c_str(),
                s["gguf"]["distilled_student"].get<std::string>().c_str());
    return 0;
}

r1::cli::Register reg("demo",
                      "The R1 pipeline in miniature: pretrain MoE -> GRPO -> rejection sampling -> "
                      "distil -> evaluate -> GGUF",
                      [](CLI::App& app) {
    auto c = std::make_shared<Cli>();
    app.add_option("--out", c->o.out_dir, "output directory (report.md, summary.json, models)")
        ->capture_default_str();
    app.add_flag("--quick", c->o.quick, "smoke-test budgets (about a minute; accuracies are noise)");
    app.add_option("--seed", c->o.seed, "seed of everything (init, data, sampling, problems)")
        ->capture_default_str();
    app.add_option("--pretrain-steps", c->o.pretrain_steps, "override: pretraining steps of the MoE teacher");
    app.add_option("--student-pretrain-steps", c->o.student_pretrain_steps,
                   "override: pretraining steps of the dense student");
    app.add_option("--grpo-steps", c->o.grpo_steps, "override: GRPO steps per model");
    app.add_option("--eval-n", c->o.eval_n, "override: held-out problems per evaluation");
    app.add_option("--distill-prompts", c->o.distill_prompts, "override: prompts to rejection-sample");
    app.add_flag("--json", c->json, "print the summary as one JSON line");
    app.add_flag("--no-progress", c->no_progress, "no progress bars");
    return [c] { return run_demo(*c); };
});

}  // namespace
