// r1 train — pretrain / SFT a model on the built-in synthetic corpus, a text file or JSONL.
// Writes OUT/metrics.jsonl (one JSON line per step) and OUT/ckpt.r1; --resume continues from
// OUT/ckpt.r1 bit-identically (options not given on the command line come from the checkpoint).
// Under mpirun every rank runs this command: data-parallel training (docs/distributed.md).
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
#include "dist/zero.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace {

struct Cli {
    r1::TrainOptions o;
    std::string schedule = "cosine";
    bool json = false;
    bool no_progress = false;
    bool no_overlap = false;
    r1::cli::DistOptions dist;
};

int run_train_on(CLI::App& app, Cli& c, r1::dist::Comm& comm) {
    r1::TrainOptions o = c.o;
    const int ranks = comm.size();
    if (ranks > 1) o.comm = &comm;
    o.schedule = r1::parse_lr_kind(c.schedule);
    r1::ModelConfig resume_config;
    if (o.resume) {
        // Options not given explicitly come from the checkpoint, so `--out DIR --resume` is
        // enough to continue a run.
        const std::string path = (std::filesystem::path(o.out_dir) / "ckpt.r1").string();
        R1_CHECK(std::filesystem::exists(path), "[train] --resume: no checkpoint at ", path);
        const r1::Checkpoint ck = r1::read_checkpoint(path);
        resume_config = ck.meta.config;
        r1::TrainOptions base;
        from_json(ck.meta.train_options, base);
        auto given = [&](const char* flag) { return app.count(flag) > 0; };
        if (!given("--model")) o.model = base.model;
        if (!given("--data")) o.data = base.data;
        if (!given("--data-seed")) o.data_opt.seed = base.data_opt.seed;
        if (!given("--mask-prompt")) o.data_opt.mask_prompt = base.data_opt.mask_prompt;
        if (!given("--whole-file")) o.data_opt.whole_file = base.data_opt.whole_file;
        if (!given("--max-digits")) o.data_opt.synthetic.max_digits = base.data_opt.synthetic.max_digits;
        if (!given("--p-careful")) o.data_opt.synthetic.p_careful = base.data_opt.synthetic.p_careful;
        if (!given("--p-careless")) o.data_opt.synthetic.p_careless = base.data_opt.synthetic.p_careless;
        if (!given("--p-check")) o.data_opt.synthetic.p_check = base.data_opt.synthetic.p_check;
        if (!given("--careless-wrong")) o.data_opt.synthetic.careless_wrong = base.data_opt.synthetic.careless_wrong;
        if (!given("--check-recover")) o.data_opt.synthetic.check_recover = base.data_opt.synthetic.check_recover;
        if (!given("--careless-phrases")) o.data_opt.synthetic.careless_phrases = base.data_opt.synthetic.careless_phrases;
        if (!given("--steps")) o.steps = base.steps;
        if (!given("--batch")) {
            // The checkpoint fixes the global batch; this run splits it over its own ranks.
            const int64_t gb = ck.meta.train_options.value("global_batch", base.batch);
            R1_CHECK(gb % ranks == 0, "[train] --resume: the global batch ", gb, " of ", path,
                     " does not split over ", ranks, " ranks; pass --batch");
            o.batch = gb / ranks;
        }
        if (!given("--seq")) o.seq = base.seq;
        if (!given("--accum")) o.accum = base.accum;
        if (!given("--schedule")) o.schedule = base.schedule;
        if (!given("--lr")) o.lr = base.lr;
        if (!given("--min-lr")) o.min_lr = base.min_lr;
        if (!given("--warmup")) o.warmup = base.warmup;
        if (!given("--beta1")) o.adamw.beta1 = base.adamw.beta1;
        if (!given("--beta2")) o.adamw.beta2 = base.adamw.beta2;
        if (!given("--wd")) o.adamw.weight_decay = base.adamw.weight_decay;
        o.adamw.eps = base.adamw.eps;
        if (!given("--clip")) o.clip = base.clip;
        if (!given("--seed")) o.seed = base.seed;
        if (!given("--ckpt-every")) o.ckpt_every = base.ckpt_every;
        if (!given("--eval-every")) o.eval_every = base.eval_every;
        if (!given("--eval-batches")) o.eval_batches = base.eval_batches;
        if (!given("--log-every")) o.log_every = base.log_every;
        if (!given("--init")) o.init = base.init;
        // Same synthetic mix details that have no flags.
        const auto keep = o.data_opt.synthetic;
        o.data_opt.synthetic = base.data_opt.synthetic;
        o.data_opt.synthetic.max_digits = keep.max_digits;
        o.data_opt.synthetic.p_careful = keep.p_careful;
        o.data_opt.synthetic.p_careless = keep.p_careless;
        o.data_opt.synthetic.p_check = keep.p_check;
    }
    // Resuming without --model uses the checkpoint's own config (works even if the run was
    // started from a config.json that is no longer where it was).
    if (o.resume && !app.count("--model")) {
        o.config = resume_config;
    } else if (!o.init.empty() && !app.count("--model")) {
        // --init without --model: the architecture is the initial checkpoint's.
        const r1::Checkpoint ck = r1::read_checkpoint(o.init);
        o.config = ck.meta.config;
        o.model = ck.meta.train_options.value("model", std::string("init"));
    } else {
        o.config = r1::resolve_model_config(o.model);
    }
    if (c.json) o.log_every = 0;
    o.progress = !c.json && !c.no_progress;
    o.overlap = !c.no_overlap;
    const bool root = comm.rank() == 0;   // only rank 0 prints

    if (!c.json && root && ranks > 1) {
        // AdamW m + v per rank (the largest slice with ZeRO-1), against the unsharded size.
        const int64_t n = o.config.n_params();
        const int64_t full = r1::dist::optimizer_state_bytes(n, ranks, false);
        const int64_t mine = r1::dist::optimizer_state_bytes(n, ranks, o.zero == 1);
        std::printf("data parallel: %d ranks (%s) x batch %lld = global batch %lld; gradient "
                    "all-reduce %s the backward\n",
                    ranks, comm.backend(), (long long)o.batch, (long long)o.batch * ranks,
                    o.overlap ? "overlapped with" : "after");
        if (o.zero == 1)
            std::printf("ZeRO-1: AdamW state %lld bytes per rank (%.2f MiB; %lld bytes = "
                        "%.2f MiB without ZeRO)\n",
                        (long long)mine, (double)mine / 1048576.0, (long long)full,
                        (double)full / 1048576.0);
        else
            std::printf("AdamW state %lld bytes per rank (%.2f MiB; --zero 1 shards it over "
                        "the ranks)\n",
                        (long long)mine, (double)mine / 1048576.0);
    }
    if (!c.json && root && ranks == 1 && o.zero == 1)
        std::printf("ZeRO-1: one rank, nothing to shard (the AdamW state stays whole)\n");
    if (!c.json && root)
        std::printf("training %s (%lld params) on %s: %lld steps, batch %lldx%lld, accum %lld, "
                    "%d threads -> %s\n",
                    o.model.c_str(), (long long)o.config.n_params(), o.data.c_str(),
                    (long long)o.steps, (long long)o.batch, (long long)o.seq, (long long)o.accum,
                    r1::num_threads(), o.out_dir.c_str());
    std::fflush(stdout);
    const r1::TrainResult r = r1::train(o);

    if (!root) return r.interrupted ? 130 : 0;
    if (c.json) {
        nlohmann::json j = {{"model", o.model},           {"data", o.data},
                            {"out", o.out_dir},           {"start_step", r.start_step},
                            {"end_step", r.end_step},     {"steps", o.steps},
                            {"first_loss", r.first_loss}, {"final_loss", r.final_loss},
                            {"tok_s", r.tok_s},           {"elapsed_s", r.elapsed},
                            {"n_params", r.n_params},     {"checkpoint", r.checkpoint},
                            {"interrupted", r.interrupted}, {"threads", r1::num_threads()},
                            {"ranks", ranks}};
        if (r.eval_loss >= 0) j["eval_loss"] = r.eval_loss;
        j["zero"] = o.zero;
        j["optimizer_state_bytes_per_rank"] =   // AdamW m + v on the largest rank
            r1::dist::optimizer_state_bytes(r.n_params, ranks, o.zero == 1);
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("%s: steps %lld -> %lld in %.1f s, loss %.4f -> %.4f",
                    r.interrupted ? "stopped" : "done", (long long)r.start_step,
                    (long long)r.end_step, r.elapsed, r.first_loss, r.final_loss);
        if (r.eval_loss >= 0) std::printf(", eval loss %.4f", r.eval_loss);
        std::printf(", %.0f tok/s\n  checkpoint: %s\n  metrics:    %s/metrics.jsonl\n", r.tok_s,
                    r.checkpoint.c_str(), o.out_dir.c_str());
    }
    if (r.interrupted) {
        std::fprintf(stderr,
                     "interrupted at step %lld: checkpoint saved to %s\n"
                     "resume with: r1 train --out %s --resume\n",
                     (long long)r.end_step, r.checkpoint.c_str(), o.out_dir.c_str());
        return 130;
    }
    return 0;
}

int run_train(CLI::App& app, Cli& c) {
    return r1::cli::run_data_parallel(app, c.dist,
                                      [&](r1::dist::Comm& comm) { return run_train_on(app, c, comm); });
}

r1::cli::Register reg("train", "Train (pretrain or SFT) a model; checkpoints with exact resume",
                      [](CLI::App& app) {
    auto c = std::make_shared<Cli>();
    r1::TrainOptions& o = c->o;
    app.footer(
        "Data: 'builtin' = synthetic arithmetic with <think> traces (no download); FILE.txt =\n"
        "documents separated by blank lines; FILE.jsonl = {\"text\": ...} or {\"prompt\": ...,\n"
        "\"completion\": ...} per line (loss on the completion only).\n"
        "Outputs: OUT/metrics.jsonl (step, loss, lr, grad_norm, tok_s, imbalance, eval_loss) and\n"
        "OUT/ckpt.r1. Ctrl-C saves a checkpoint and exits 130; continue with --out OUT --resume.\n"
        "Example: r1 train --model tiny-moe --data builtin --out runs/tiny --steps 300\n"
        "Data parallel: mpirun -np 4 r1 train ... (--batch is per rank; --zero 1 shards AdamW;\n"
        "docs/distributed.md)");
    app.add_option("--model", o.model, "preset (tiny-moe, tiny-dense, bench-dense, bench-moe) or config.json")
        ->capture_default_str();
    app.add_option("--data", o.data, "builtin | FILE.txt | FILE.jsonl")->capture_default_str();
    app.add_option("--out", o.out_dir, "output directory (metrics.jsonl, ckpt.r1)")->required();
    app.add_option("--steps", o.steps, "optimiser steps in total")->capture_default_str();
    app.add_option("--batch", o.batch, "sequences per micro-batch (B)")->capture_default_str();
    app.add_option("--seq", o.seq, "tokens per sequence (T, <= n_ctx)")->capture_default_str();
    app.add_option("--accum", o.accum, "gradient accumulation micro-batches per step")->capture_default_str();
    app.add_option("--schedule", c->schedule, "learning-rate schedule: cosine | constant")->capture_default_str();
    app.add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
    app.add_option("--min-lr", o.min_lr, "final learning rate of the cosine decay")->capture_default_str();
    app.add_option("--warmup", o.warmup, "linear warmup steps")->capture_default_str();
    app.add_option("--wd", o.adamw.weight_decay, "AdamW weight decay (matrices only)")->capture_default_str();
    app.add_option("--beta1", o.adamw.beta1, "AdamW beta1")->capture_default_str();
    app.add_option("--beta2", o.adamw.beta2, "AdamW beta2")->capture_default_str();
    app.add_option("--clip", o.clip, "clip the global gradient norm to this (0 = off)")->capture_default_str();
    app.add_option("--seed", o.seed, "seed for init and data order")->capture_default_str();
    app.add_option("--data-seed", o.data_opt.seed, "seed of the synthetic corpus")->capture_default_str();
    app.add_option("--max-digits", o.data_opt.synthetic.max_digits, "builtin: max digits of + and - operands")->capture_default_str();
    app.add_option("--p-careful", o.data_opt.synthetic.p_careful, "builtin: weight of careful traces")->capture_default_str();
    app.add_option("--p-careless", o.data_opt.synthetic.p_careless, "builtin: weight of careless traces")->capture_default_str();
    app.add_option("--p-check", o.data_opt.synthetic.p_check, "builtin: weight of self-checking traces")->capture_default_str();
    app.add_option("--careless-wrong", o.data_opt.synthetic.careless_wrong, "builtin: probability that a careless answer is wrong")->capture_default_str();
    app.add_option("--careless-phrases", o.data_opt.synthetic.careless_phrases, "builtin: phrasings careless lines use (1-5)")->capture_default_str();
    app.add_option("--check-recover", o.data_opt.synthetic.check_recover, "builtin: probability that a self-check trace starts wrong and recovers")->capture_default_str();
    app.add_flag("--mask-prompt", o.data_opt.mask_prompt, "builtin: no loss on the question");
    app.add_flag("--whole-file", o.data_opt.whole_file, "text file: one document (no blank-line split)");
    app.add_option("--ckpt-every", o.ckpt_every, "checkpoint every N steps (0 = only at the end)")->capture_default_str();
    app.add_option("--eval-every", o.eval_every, "held-out eval every N steps (0 = only at the end)")->capture_default_str();
    app.add_option("--eval-batches", o.eval_batches, "held-out batches per eval (0 = no eval)")->capture_default_str();
    app.add_option("--log-every", o.log_every, "print a log line every N steps (0 = quiet)")->capture_default_str();
    app.add_option("--init", o.init, "start from this ckpt.r1's weights (fresh optimiser, step 0; "
                   "the model is the checkpoint's unless --model is given)");
    app.add_flag("--resume", o.resume, "continue from OUT/ckpt.r1");
    app.add_flag("--no-progress", c->no_progress, "no progress bar");
    r1::cli::add_dist_options(app, c->dist, c->o.check_sync,
                              "data parallel: compare weight hashes across ranks after every step");
    app.add_option("--zero", c->o.zero,
                   "data parallel: 1 = ZeRO-1, shard the AdamW state over the ranks (same "
                   "results and checkpoint format; give it again on --resume)")
        ->check(CLI::IsMember({0, 1}))
        ->capture_default_str();
    app.add_flag("--no-overlap", c->no_overlap,
                 "data parallel: all-reduce the gradients after the backward instead of "
                 "during it (same results; for measuring)");
    app.add_flag("--json", c->json, "print one JSON summary line (no logs)");
    CLI::App* appp = &app;
    return [c, appp] { return run_train(*appp, *c); };
});

}  // namespace
