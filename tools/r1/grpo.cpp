// r1 grpo — reinforcement learning with verifiable rewards (GRPO / Dr. GRPO / DAPO / RLOO)
// from a base checkpoint on a built-in task. Writes OUT/metrics.jsonl and OUT/ckpt.r1;
// --resume continues bit-identically (options not given come from the checkpoint).
// Algorithm, options and metric definitions: docs/grpo.md. Under mpirun every rank runs this
// command: data-parallel GRPO (prompts split over ranks, gradients all-reduced; rank 0
// prints and writes; docs/distributed.md).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "dist_cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "dist/comm.h"
#include "rl/grpo.h"
#include "train/checkpoint.h"

namespace {

struct Cli {
    r1::rl::GrpoOptions o;
    std::string advantage = "grpo", loss_agg = "seq", overlong = "none";
    bool json = false, no_progress = false;
    r1::cli::DistOptions dist;
};

int run_grpo_on(CLI::App& app, Cli& c, r1::dist::Comm& comm) {
    namespace rl = r1::rl;
    rl::GrpoOptions o = c.o;
    const int ranks = comm.size();
    const bool root = comm.rank() == 0;  // only rank 0 prints
    o.advantage = rl::parse_advantage_kind(c.advantage);
    o.loss_agg = rl::parse_loss_agg(c.loss_agg);
    o.overlong = rl::parse_overlong(c.overlong);
    if (o.resume) {
        // `--out DIR --resume` is enough: options not given come from the checkpoint.
        const std::string path = (std::filesystem::path(o.out_dir) / "ckpt.r1").string();
        R1_CHECK(std::filesystem::exists(path), "[grpo] --resume: no checkpoint at ", path);
        const r1::Checkpoint ck = r1::read_checkpoint(path);
        rl::GrpoOptions base;
        from_json(ck.meta.train_options, base);
        rl::GrpoOptions given_o = o;
        o = base;
        o.out_dir = given_o.out_dir;
        o.resume = true;
        o.check_sync = given_o.check_sync;  // run-time switches, not in the checkpoint
        // re-apply what the command line did give
        for (const CLI::Option* opt : app.get_options()) {
            if (opt->count() == 0) continue;
            const std::string n = opt->get_name();
            if (n == "--steps") o.steps = given_o.steps;
            else if (n == "--eval-every") o.eval_every = given_o.eval_every;
            else if (n == "--eval-n") o.eval_n = given_o.eval_n;
            else if (n == "--ckpt-every") o.ckpt_every = given_o.ckpt_every;
            else if (n == "--lr") o.lr = given_o.lr;
            else if (n == "--log-every") o.log_every = given_o.log_every;
            else if (n == "--slots") o.slots = given_o.slots;
            // stream options: taken as given, so the trainer's resume check can refuse a
            // change instead of silently ignoring it
            else if (n == "--task") o.task.spec = given_o.task.spec;
            else if (n == "--difficulty") o.task.difficulty = given_o.task.difficulty;
            else if (n == "--seed") o.seed = given_o.seed;
            else if (n == "--prompts") o.prompts = given_o.prompts;
            else if (n == "--group") o.group = given_o.group;
            else if (n == "--beta") o.loss.beta = given_o.loss.beta;
        }
    }
    o.progress = !c.json && !c.no_progress;
    if (c.json) o.log_every = 0;
    if (ranks > 1) o.comm = &comm;
    if (!c.json && root && ranks > 1)
        std::printf("data parallel: %d ranks (%s), %lld prompts per step split into slices of "
                    "%lld-%lld prompts x %lld completions\n",
                    ranks, comm.backend(), (long long)o.prompts, (long long)(o.prompts / ranks),
                    (long long)((o.prompts + ranks - 1) / ranks), (long long)o.group);
    if (!c.json && root)
        std::printf("grpo on task %s from %s: %lld steps x %lld prompts x %lld completions "
                    "(max %lld tokens), advantage %s, loss-agg %s, beta %g, %d threads -> %s\n",
                    o.task.spec.c_str(), o.resume ? "(resume)" : o.init.c_str(),
                    (long long)o.steps, (long long)o.prompts, (long long)o.group,
                    (long long)o.max_tokens, rl::advantage_kind_name(o.advantage),
                    rl::loss_agg_name(o.loss_agg), (double)o.loss.beta, r1::num_threads(),
                    o.out_dir.c_str());
    std::fflush(stdout);
    const rl::GrpoResult r = rl::grpo_train(o);
    if (!root) return r.interrupted ? 130 : 0;
    if (c.json) {
        nlohmann::json j = {{"task", o.task.spec},          {"out", o.out_dir},
                            {"start_step", r.start_step},   {"end_step", r.end_step},
                            {"steps", o.steps},             {"first_reward", r.first_reward},
                            {"final_reward", r.final_reward}, {"elapsed_s", r.elapsed},
                            {"checkpoint", r.checkpoint},   {"interrupted", r.interrupted},
                            {"threads", r1::num_threads()}, {"ranks", ranks}};
        if (r.first_eval >= 0) j["first_eval_accuracy"] = r.first_eval;
        if (r.final_eval >= 0) j["final_eval_accuracy"] = r.final_eval;
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("%s: steps %lld -> %lld in %.1f s, reward %.3f -> %.3f",
                    r.interrupted ? "stopped" : "done", (long long)r.start_step,
                    (long long)r.end_step, r.elapsed, r.first_reward, r.final_reward);
        if (r.first_eval >= 0) std::printf(", eval accuracy %.3f ->", r.first_eval);
        if (r.final_eval >= 0) std::printf(" %.3f", r.final_eval);
        std::printf("\n  checkpoint: %s\n  metrics:    %s/metrics.jsonl\n", r.checkpoint.c_str(),
                    o.out_dir.c_str());
    }
    if (r.interrupted) {
        std::fprintf(stderr,
                     "interrupted at step %lld: checkpoint saved to %s\n"
                     "resume with: r1 grpo --out %s --resume\n",
                     (long long)r.end_step, r.checkpoint.c_str(), o.out_dir.c_str());
        return 130;
    }
    return 0;
}

int run_grpo(CLI::App& app, Cli& c) {
    return r1::cli::run_data_parallel(app, c.dist,
                                      [&](r1::dist::Comm& comm) { return run_grpo_on(app, c, comm); });
}

r1::cli::Register reg("grpo", "Reinforcement learning with verifiable rewards (GRPO, Dr. GRPO, DAPO, RLOO)",
                      [](CLI::App& app) {
    auto c = std::make_shared<Cli>();
    r1::rl::GrpoOptions& o = c->o;
    app.footer(
        "One step: P prompts -> G sampled completions each (batched engine, the policy's own\n"
        "weights) -> rule-based rewards (correct + format) -> group-relative advantages ->\n"
        "clipped policy-gradient update(s). Outputs: OUT/metrics.jsonl (reward_mean, accuracy,\n"
        "format_rate, response_len_mean, zero_var_frac, kl, clip_frac, entropy, reflection_rate,\n"
        "rollout_tok_s, train_tok_s, eval_accuracy, ...) and OUT/ckpt.r1. Ctrl-C saves and exits\n"
        "130; continue with --out OUT --resume. See docs/grpo.md.\n"
        "Data parallel: mpirun -np N r1 grpo ... (--prompts is the global P, split over the\n"
        "ranks; same rollouts and updates as one process; docs/distributed.md).\n"
        "Example: r1 grpo --init runs/moe/ckpt.r1 --task arithmetic --out runs/grpo --steps 40 --eval-every 10");
    app.add_option("--init", o.init, "base checkpoint (ckpt.r1 from r1 train)");
    app.add_option("--task", o.task.spec, "arithmetic | countdown | jsonl:PATH")->capture_default_str();
    app.add_option("--difficulty", o.task.difficulty, "task difficulty level")->capture_default_str();
    app.add_option("--w-correct", o.task.weights.correct, "reward for a correct answer")->capture_default_str();
    app.add_option("--w-format", o.task.weights.format, "reward for a well-formed completion")->capture_default_str();
    app.add_option("--out", o.out_dir, "output directory (metrics.jsonl, ckpt.r1)")->required();
    app.add_option("--steps", o.steps, "GRPO steps (rollout batches)")->capture_default_str();
    app.add_option("--prompts", o.prompts, "prompts per step (P)")->capture_default_str();
    app.add_option("--group", o.group, "completions per prompt (G, >= 2)")->capture_default_str();
    app.add_option("--max-tokens", o.max_tokens, "max completion tokens")->capture_default_str();
    app.add_option("--temperature", o.temperature, "rollout sampling temperature")->capture_default_str();
    app.add_option("--top-p", o.top_p, "rollout nucleus sampling (1 = off)")->capture_default_str();
    app.add_option("--lr", o.lr, "AdamW learning rate (constant after warmup)")->capture_default_str();
    app.add_option("--warmup", o.warmup, "linear warmup steps")->capture_default_str();
    app.add_option("--wd", o.adamw.weight_decay, "AdamW weight decay")->capture_default_str();
    app.add_option("--advantage", c->advantage, "grpo | dr_grpo | rloo")->capture_default_str();
    app.add_option("--loss-agg", c->loss_agg, "seq (GRPO) | token (DAPO) | const (Dr. GRPO: / max-tokens)")
        ->capture_default_str();
    app.add_option("--eps-low", o.loss.eps_low, "clip range below 1")->capture_default_str();
    app.add_option("--eps-high", o.loss.eps_high, "clip range above 1 (clip-higher)")->capture_default_str();
    app.add_option("--beta", o.loss.beta, "k3 KL weight to the reference (0 = no reference)")->capture_default_str();
    app.add_option("--ref-reset", o.ref_reset, "beta > 0: reference := policy every N steps (0 = never)")
        ->capture_default_str();
    app.add_option("--inner-epochs", o.inner_epochs, "passes over each rollout batch (mu)")->capture_default_str();
    app.add_option("--mini-batches", o.mini_batches, "optimiser steps per pass")->capture_default_str();
    app.add_flag("--dynamic-sampling", o.dynamic_sampling, "drop zero-variance groups and resample (DAPO)");
    app.add_option("--dynamic-rounds", o.dynamic_rounds, "extra sampling rounds per step")->capture_default_str();
    app.add_option("--overlong", c->overlong, "none | filter (no loss on truncated) | soft (length penalty)")
        ->capture_default_str();
    app.add_option("--overlong-buffer", o.overlong_buffer, "soft: ramp length (0 = max-tokens/4)")->capture_default_str();
    app.add_option("--overlong-penalty", o.overlong_penalty, "soft: penalty at max-tokens")->capture_default_str();
    app.add_option("--clip", o.clip, "clip the global gradient norm (0 = off)")->capture_default_str();
    app.add_option("--seed", o.seed, "seed of the problem stream and sampling")->capture_default_str();
    app.add_option("--eval-every", o.eval_every, "greedy eval on held-out problems every N steps (0 = off)")
        ->capture_default_str();
    app.add_option("--eval-n", o.eval_n, "held-out problems per eval")->capture_default_str();
    app.add_option("--ckpt-every", o.ckpt_every, "checkpoint every N steps (0 = at the end)")->capture_default_str();
    app.add_option("--slots", o.slots, "generator slots per rank (0 = its prompts x group)")->capture_default_str();
    app.add_option("--log-every", o.log_every, "print a log line every N steps (0 = quiet)")->capture_default_str();
    app.add_flag("--resume", o.resume, "continue from OUT/ckpt.r1");
    app.add_flag("--no-progress", c->no_progress, "no progress bar");
    r1::cli::add_dist_options(app, c->dist, o.check_sync,
                              "data parallel: compare weight hashes across ranks after every step");
    app.add_flag("--json", c->json, "print one JSON summary line (no logs)");
    CLI::App* appp = &app;
    return [c, appp] { return run_grpo(*appp, *c); };
});

}  // namespace
