// r1 distill — rejection-sampling distillation (DeepSeek-R1 §2.4) with optional logit KD:
// the teacher samples K completions per task prompt, the verifier keeps the correct and well
// formed ones (OUT/traces.jsonl), and the student is fine-tuned on them (OUT/student/ckpt.r1).
// Everything is in src/rl/distill.h; this file maps flags to DistillOptions and prints.
// Under mpirun every rank runs this command: sampling split by prompts, data-parallel SFT
// (rank 0 prints and writes; docs/distributed.md).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "dist_cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/comm.h"
#include "rl/distill.h"

namespace {

struct Cli {
    r1::rl::DistillOptions o;
    std::string kd = "none";
    bool json = false, no_progress = false;
    r1::cli::DistOptions dist;
};

// The last training loss recorded in DIR/metrics.jsonl (a resumed run that had nothing left
// to train reports the loss it ended with); -1 if none.
double last_metrics_loss(const std::string& dir) {
    std::ifstream f(std::filesystem::path(dir) / "metrics.jsonl");
    double loss = -1;
    for (std::string line; std::getline(f, line);) {
        const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("loss") && j["loss"].is_number()) loss = j["loss"].get<double>();
    }
    return loss;
}

int run_distill_on(Cli& c, r1::dist::Comm& comm) {
    r1::rl::DistillOptions o = c.o;
    const int ranks = comm.size();
    const bool root = comm.rank() == 0;  // only rank 0 prints
    if (ranks > 1) o.comm = &comm;
    o.kd.mode = r1::parse_kd_mode(c.kd.c_str(), "--kd");
    o.progress = !c.json && !c.no_progress;
    if (c.json) o.log_every = 0;
    if (!c.json && root && ranks > 1)
        std::printf("data parallel: %d ranks (%s): prompts split over ranks, SFT global batch %lld "
                    "= %d x %lld\n", ranks, comm.backend(), (long long)o.batch, ranks,
                    (long long)(o.batch / ranks));
    if (!c.json && root)
        std::printf("distill: teacher %s -> student %s on %s (%lld prompts x %d samples, kd %s) -> %s\n",
                    o.teacher.c_str(), o.student.c_str(), o.task.spec.c_str(),
                    (long long)o.n_prompts, o.k, r1::kd_mode_name(o.kd.mode), o.out_dir.c_str());
    std::fflush(stdout);
    const r1::rl::DistillResult r = r1::rl::distill(o);
    if (!root) return r.interrupted ? 130 : 0;
    const auto& s = r.sampling;
    const std::string sdir = (std::filesystem::path(o.out_dir) / "student").string();
    const double final_loss = !r.trained ? -1
                              : r.train.end_step > r.train.start_step ? r.train.final_loss
                                                                      : last_metrics_loss(sdir);
    if (c.json) {
        nlohmann::json j = {{"n_prompts", s.n_prompts},
                            {"n_sampled", s.n_sampled},
                            {"n_passed", s.n_passed},
                            {"n_accepted", s.n_accepted},
                            {"n_duplicates", s.n_duplicates},
                            {"n_truncated", s.n_truncated},
                            {"n_prompts_covered", s.n_prompts_covered},
                            {"acceptance_rate", s.acceptance_rate()},
                            {"sampling_seconds", s.seconds},
                            {"sampling_skipped", r.sampling_skipped},
                            {"traces", r.traces_path},
                            {"kd", r1::kd_mode_name(o.kd.mode)},
                            {"interrupted", r.interrupted},
                            {"ranks", ranks}};
        if (r.trained) {
            j["final_loss"] = final_loss;
            j["start_step"] = r.train.start_step;
            j["end_step"] = r.train.end_step;
            j["train_seconds"] = r.train.elapsed;
            j["student_checkpoint"] = r.student_ckpt;
            if (r.train.eval_loss >= 0) j["eval_loss"] = r.train.eval_loss;
            if (r.kd_ce >= 0) j["kd_ce"] = r.kd_ce, j["kd_kl"] = r.kd_kl;
        }
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("sampling%s: %lld/%lld completions accepted (%.1f%%; %lld passed, %lld "
                    "duplicates, %lld truncated), %lld/%lld prompts covered -> %s\n",
                    r.sampling_skipped ? " (done before, skipped)" : "", (long long)s.n_accepted,
                    (long long)s.n_sampled, 100.0 * s.acceptance_rate(), (long long)s.n_passed,
                    (long long)s.n_duplicates, (long long)s.n_truncated,
                    (long long)s.n_prompts_covered, (long long)s.n_prompts, r.traces_path.c_str());
        if (r.trained) {
            std::printf("student: steps %lld -> %lld, final loss %.4f", (long long)r.train.start_step,
                        (long long)r.train.end_step, final_loss);
            if (r.kd_ce >= 0) std::printf(" (CE %.4f, KL %.4f)", r.kd_ce, r.kd_kl);
            if (r.train.eval_loss >= 0) std::printf(", eval loss %.4f", r.train.eval_loss);
            std::printf("\n  checkpoint: %s\n", r.student_ckpt.c_str());
        }
    }
    if (r.interrupted) {
        std::fprintf(stderr, "interrupted: state saved in %s\nresume with the same command plus --resume\n",
                     o.out_dir.c_str());
        return 130;
    }
    return 0;
}

int run_distill(CLI::App& app, Cli& c) {
    return r1::cli::run_data_parallel(app, c.dist,
                                      [&](r1::dist::Comm& comm) { return run_distill_on(c, comm); });
}

r1::cli::Register reg("distill", "Rejection-sampling distillation (teacher traces -> student SFT, optional logit KD)",
                      [](CLI::App& app) {
    auto c = std::make_shared<Cli>();
    r1::rl::DistillOptions& o = c->o;
    app.footer(
        "Stages: (i) the teacher samples --k completions for each of --prompts train problems;\n"
        "the task verifier keeps correct, well-formed completions that stopped (deduplicated,\n"
        "at most --max-per-prompt each) -> OUT/traces.jsonl, OUT/sampling.json; (ii) the\n"
        "student is fine-tuned on them (loss on completion tokens) -> OUT/student/ckpt.r1;\n"
        "(iii) --kd forward|reverse adds a*tau^2*KL to the teacher's distribution (same\n"
        "tokenizer: ckpt.r1 teacher and student). Ctrl-C saves; rerun with --resume (finished\n"
        "sampling is skipped).\n"
        "Example: r1 distill --teacher runs/moe/ckpt.r1 --student tiny-dense --out runs/distill\n"
        "Data parallel: mpirun -np N r1 distill ... (prompts split over ranks; --batch is the\n"
        "global SFT batch and must divide by N; docs/distributed.md)");
    app.add_option("--teacher", o.teacher, "teacher model: ckpt.r1 or .gguf")->required();
    app.add_option("--student", o.student, "student: a ckpt.r1 to start from, or a preset / config.json (fresh)")->required();
    app.add_option("--out", o.out_dir, "output directory")->required();
    app.add_option("--task", o.task.spec, "arithmetic | countdown | jsonl:PATH")->capture_default_str();
    app.add_option("--difficulty", o.task.difficulty, "task difficulty level")->capture_default_str();
    app.add_option("--prompts", o.n_prompts, "train-split prompts to sample")->capture_default_str();
    app.add_option("--k", o.k, "completions per prompt")->capture_default_str();
    app.add_option("--temperature", o.temperature, "teacher sampling temperature")->capture_default_str();
    app.add_option("--top-p", o.top_p, "teacher nucleus sampling threshold (1 = off)")->capture_default_str();
    app.add_option("--max-tokens", o.max_tokens, "max tokens per completion (longer = rejected)")->capture_default_str();
    app.add_option("--max-per-prompt", o.max_per_prompt, "keep at most this many distinct traces per prompt (0 = all)")->capture_default_str();
    app.add_option("--slots", o.n_slots, "sequences decoded together")->capture_default_str();
    app.add_option("--steps", o.steps, "student SFT optimiser steps")->capture_default_str();
    app.add_option("--batch", o.batch, "SFT sequences per batch (global: split over MPI ranks)")->capture_default_str();
    app.add_option("--seq", o.seq, "SFT tokens per sequence")->capture_default_str();
    app.add_option("--lr", o.lr, "SFT peak learning rate")->capture_default_str();
    app.add_option("--min-lr", o.min_lr, "SFT final learning rate (cosine)")->capture_default_str();
    app.add_option("--warmup", o.warmup, "SFT warmup steps")->capture_default_str();
    app.add_option("--kd", c->kd, "logit distillation: none | forward (KL(teacher||student)) | reverse")->capture_default_str();
    app.add_option("--kd-weight", o.kd.alpha, "a in (1-a)*CE + a*tau^2*KL")->capture_default_str();
    app.add_option("--kd-temp", o.kd.tau, "KD temperature tau")->capture_default_str();
    app.add_option("--seed", o.seed, "seed: task problems, sampling, student init and data order")->capture_default_str();
    app.add_flag("--resume", o.resume, "continue OUT (skip finished sampling, resume the student)");
    app.add_flag("--no-progress", c->no_progress, "no progress bars");
    r1::cli::add_dist_options(app, c->dist, o.check_sync,
                              "data parallel: compare student weight hashes across ranks every SFT step");
    app.add_flag("--json", c->json, "print one JSON summary line (no logs)");
    CLI::App* appp = &app;
    return [c, appp] { return run_distill(*appp, *c); };
});

}  // namespace
