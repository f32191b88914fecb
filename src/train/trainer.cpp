// The training loop (contract in trainer.h). Reads top to bottom: setup (model, optimiser,
// data, resume), then the step loop, then the final checkpoint and summary.
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/signals.h"
#include "core/progress.h"
#include "core/rng.h"
#include "dist/data_parallel.h"
#include "dist/zero.h"
#include "model/model.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"
#include "train/grad.h"

namespace r1 {

// ---- options ------------------------------------------------------------------------------

void TrainOptions::validate() const {
    R1_CHECK(!out_dir.empty(), "[train] --out is required");
    R1_CHECK(steps >= 1, "[train] --steps must be >= 1, got ", steps);
    R1_CHECK(batch >= 1, "[train] --batch must be >= 1, got ", batch);
    R1_CHECK(seq >= 1, "[train] --seq must be >= 1, got ", seq);
    R1_CHECK(seq <= config.n_ctx, "[train] --seq ", seq, " exceeds the model context n_ctx = ",
             config.n_ctx);
    R1_CHECK(accum >= 1, "[train] --accum must be >= 1, got ", accum);
    R1_CHECK(zero == 0 || zero == 1, "[train] --zero must be 0 or 1 (ZeRO stage), got ", zero);
    R1_CHECK(clip >= 0, "[train] --clip must be >= 0, got ", clip);
    R1_CHECK(ckpt_every >= 0 && eval_every >= 0 && eval_batches >= 0 && log_every >= 0,
             "[train] --ckpt-every/--eval-every/--eval-batches/--log-every must be >= 0");
    R1_CHECK(config.n_vocab >= ByteTokenizer::n_vocab(), "[train] model n_vocab ",
             config.n_vocab, " is smaller than the byte tokenizer's ", ByteTokenizer::n_vocab());
    LrSchedule{schedule, lr, min_lr, warmup, steps}.validate();
}

void to_json(nlohmann::json& j, const TrainOptions& o) {
    const auto& s = o.data_opt.synthetic;
    j = {{"model", o.model},
         {"data", o.data},
         {"data_seed", o.data_opt.seed},
         {"mask_prompt", o.data_opt.mask_prompt},
         {"whole_file", o.data_opt.whole_file},
         {"synthetic",
          {{"min_digits", s.min_digits}, {"max_digits", s.max_digits},
           {"mul_digits_a", s.mul_digits_a}, {"mul_digits_b", s.mul_digits_b},
           {"w_add", s.w_add}, {"w_sub", s.w_sub}, {"w_mul", s.w_mul},
           {"p_careful", s.p_careful}, {"p_careless", s.p_careless}, {"p_check", s.p_check},
           {"careless_wrong", s.careless_wrong}, {"check_recover", s.check_recover},
           {"careless_phrases", s.careless_phrases}}},
         {"steps", o.steps},
         {"batch", o.batch},
         {"seq", o.seq},
         {"accum", o.accum},
         {"schedule", lr_kind_name(o.schedule)},
         {"lr", o.lr},
         {"min_lr", o.min_lr},
         {"warmup", o.warmup},
         {"beta1", o.adamw.beta1},
         {"beta2", o.adamw.beta2},
         {"eps", o.adamw.eps},
         {"weight_decay", o.adamw.weight_decay},
         {"clip", o.clip},
         {"seed", o.seed},
         {"ckpt_every", o.ckpt_every},
         {"eval_every", o.eval_every},
         {"eval_batches", o.eval_batches},
         {"log_every", o.log_every},
         {"init", o.init}};
}

void from_json(const nlohmann::json& j, TrainOptions& o) {
    auto get = [&](const char* k, auto& v) {
        if (j.contains(k)) j.at(k).get_to(v);
    };
    get("model", o.model);
    get("data", o.data);
    get("data_seed", o.data_opt.seed);
    get("mask_prompt", o.data_opt.mask_prompt);
    get("whole_file", o.data_opt.whole_file);
    if (j.contains("synthetic")) {
        const auto& sj = j.at("synthetic");
        auto& s = o.data_opt.synthetic;
        auto sget = [&](const char* k, auto& v) {
            if (sj.contains(k)) sj.at(k).get_to(v);
        };
        sget("min_digits", s.min_digits);
        sget("max_digits", s.max_digits);
        sget("mul_digits_a", s.mul_digits_a);
        sget("mul_digits_b", s.mul_digits_b);
        sget("w_add", s.w_add);
        sget("w_sub", s.w_sub);
        sget("w_mul", s.w_mul);
        sget("p_careful", s.p_careful);
        sget("p_careless", s.p_careless);
        sget("p_check", s.p_check);
        sget("careless_wrong", s.careless_wrong);
        sget("check_recover", s.check_recover);
        sget("careless_phrases", s.careless_phrases);
    }
    get("steps", o.steps);
    get("batch", o.batch);
    get("seq", o.seq);
    get("accum", o.accum);
    if (j.contains("schedule")) o.schedule = parse_lr_kind(j.at("schedule").get<std::string>());
    get("lr", o.lr);
    get("min_lr", o.min_lr);
    get("warmup", o.warmup);
    get("beta1", o.adamw.beta1);
    get("beta2", o.adamw.beta2);
    get("eps", o.adamw.eps);
    get("weight_decay", o.adamw.weight_decay);
    get("clip", o.clip);
    get("seed", o.seed);
    get("ckpt_every", o.ckpt_every);
    get("eval_every", o.eval_every);
    get("eval_batches", o.eval_batches);
    get("log_every", o.log_every);
    get("init", o.init);
}

ModelConfig resolve_model_config(const std::string& model) {
    if (model.size() > 5 && model.compare(model.size() - 5, 5, ".json") == 0) {
        std::ifstream f(model);
        R1_CHECK(f.good(), "[train] ", model, ": cannot open model config");
        nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
        R1_CHECK(!j.is_discarded(), "[train] ", model, ": not valid JSON");
        ModelConfig c;
        try {
            c = j.get<ModelConfig>();
        } catch (const Error& e) {
            fail(model, ": ", e.what());
        } catch (const nlohmann::json::exception& e) {
            fail(model, ": ", e.what());
        }
        c.validate();
        return c;
    }
    return ModelConfig::preset(model);
}

namespace {

std::string fmt_num(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", x);
    return buf;
}

// Keeps metrics lines with step <= max_step (resume: the steps after the checkpoint are
// recomputed and appended again).
void truncate_metrics(const std::string& path, int64_t max_step) {
    std::ifstream in(path);
    if (!in.good()) return;
    std::vector<std::string> keep;
    std::string line;
    while (std::getline(in, line)) {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
            j["step"].get<int64_t>() <= max_step)
            keep.push_back(line);
    }
    in.close();
    std::ofstream out(path, std::ios::trunc);
    for (auto& l : keep) out << l << "\n";
}

double eval_loss(Model& model, const Corpus& corpus, const TrainOptions& o,
                 std::vector<int32_t>& tok, std::vector<int32_t>& tgt, dist::DataParallel& dp) {
    // Data parallel: eval batches of ranks x batch rows, each rank its own rows, sums reduced
    // (the same eval as one process with the global batch).
    BatchLoader ev(corpus, Split::eval, o.seed, /*shuffle=*/false);
    const int64_t R = dp.size(), B = o.batch, T = o.seq;
    double acc[2] = {0, 0};   // sum of loss x tokens, tokens
    for (int64_t i = 0; i < o.eval_batches; i++) {
        if (ev.next(tok.data(), tgt.data(), R * B, T) == 0) continue;
        const int32_t* tk = tok.data() + (size_t)(dp.rank() * B * T);
        const int32_t* tg = tgt.data() + (size_t)(dp.rank() * B * T);
        if (R > 1 && std::none_of(tg, tg + B * T, [](int32_t t) { return t >= 0; })) continue;
        const StepStats s = model.loss(tk, tg, B, T);
        acc[0] += s.loss * (double)s.n_tokens;
        acc[1] += (double)s.n_tokens;
    }
    dp.sum(acc, 2);
    return acc[1] > 0 ? acc[0] / acc[1] : 0.0;
}

}  // namespace

// ---- the loop -------------------------------------------------------------------------------

TrainResult train(const TrainOptions& o, const StepCallback& on_step) {
    o.validate();
    namespace fs = std::filesystem;
    dist::DataParallel dp(o.comm);   // one rank unless o.comm says otherwise
    const int64_t R = dp.size();
    const bool root = dp.is_root();
    fs::create_directories(o.out_dir);
    const std::string ckpt_path = (fs::path(o.out_dir) / "ckpt.r1").string();
    const std::string metrics_path = (fs::path(o.out_dir) / "metrics.jsonl").string();

    // Model, optimiser, data. ZeRO-1: this rank's AdamW holds m/v of its slice only.
    Model model(o.config);
    model.init_weights(o.seed);
    const bool sharded = o.zero == 1 && R > 1;
    const dist::Shard shard = sharded ? dp.zero_shard(model.params().size())
                                      : dist::Shard{0, model.params().size()};
    AdamW opt(model.params(), o.adamw, shard.begin, shard.end);
    const LrSchedule sched{o.schedule, o.lr, o.min_lr, o.warmup, o.steps};
    std::unique_ptr<Corpus> corpus = open_corpus(o.data, o.data_opt);
    BatchLoader loader(*corpus, Split::train, o.seed);
    // Reserved for stochastic training features; saved and restored so resume stays exact.
    Rng rng(o.seed ^ 0x5452414e4eull);
    int64_t step = 0;
    std::string last_ckpt;

    if (o.resume) {
        R1_CHECK(fs::exists(ckpt_path), "[train] --resume: no checkpoint at ", ckpt_path);
        const Checkpoint ck = read_checkpoint(ckpt_path, &o.config);
        // Batches after the checkpoint are only the same if the stream is the same.
        const nlohmann::json have = ck.meta.train_options, want = o;
        for (const char* k : {"data", "data_seed", "mask_prompt", "whole_file", "synthetic",
                              "seq", "accum", "seed"}) {
            if (have.contains(k) && have[k] != want[k])
                fail("[train] --resume: ", k, " is ", have[k].dump(), " in ", ckpt_path, ", ",
                     want[k].dump(), " requested (resuming needs the same data stream)");
        }
        // The global batch must match; how it is split over ranks may change.
        const int64_t have_gb = have.value("global_batch", have.value("batch", o.batch));
        R1_CHECK(have_gb == o.batch * R, "[train] --resume: the global batch is ", have_gb, " in ",
                 ckpt_path, ", ", o.batch * R, " requested (", R, " ranks x --batch ", o.batch,
                 "; resuming needs the same data stream)");
        // The file format does not depend on ZeRO or the rank count: a sharded optimiser
        // reads its slice of m/v.
        apply_checkpoint(ck, model.params(), sharded ? nullptr : &opt);
        if (sharded) dist::load_optimizer_shard(ck, model.params(), opt);
        step = ck.meta.step;
        loader.set_cursor(ck.meta.data);
        if (auto it = ck.meta.rngs.find("train"); it != ck.meta.rngs.end()) rng.set_state(it->second);
        last_ckpt = ckpt_path;
        R1_CHECK(step <= o.steps, "[train] --resume: the checkpoint is at step ", step,
                 ", beyond --steps ", o.steps);
        if (root) truncate_metrics(metrics_path, step);
    } else {
        if (!o.init.empty()) {
            // --init: weights from another run (SFT / distillation start), optimiser fresh.
            R1_CHECK(fs::exists(o.init), "[train] --init: no checkpoint at ", o.init);
            apply_checkpoint(read_checkpoint(o.init, &o.config), model.params(), nullptr);
        }
        if (root) std::ofstream(metrics_path, std::ios::trunc);
    }
    // Rank 0 writes metrics and checkpoints; the other ranks hold the same state silently.
    std::ofstream metrics;
    if (root) {
        metrics.open(metrics_path, std::ios::app);
        R1_CHECK(metrics.good(), "[train] ", metrics_path, ": cannot open for writing");
    }
    dp.broadcast_params(model.params());   // every rank starts from rank 0's weights

    auto save = [&](int64_t at_step) {
        // ZeRO-1: the m/v slices go to rank 0 first (collective: every rank is here), which
        // then writes exactly the unsharded file.
        std::unique_ptr<AdamW> gathered =
            sharded ? dist::gather_optimizer(dp.comm(), model.params(), opt) : nullptr;
        if (!root) {   // rank 0 writes; the file is the same for everyone
            last_ckpt = ckpt_path;
            return;
        }
        CheckpointMeta meta;
        meta.config = o.config;
        meta.step = at_step;
        meta.data = loader.cursor();
        meta.rngs["train"] = rng.state();
        meta.train_options = o;
        meta.train_options["world_size"] = R;            // informative
        meta.train_options["global_batch"] = o.batch * R;  // what a resume must match
        meta.train_options["zero"] = sharded ? 1 : 0;      // informative
        save_checkpoint(ckpt_path, meta, model.params(), sharded ? gathered.get() : &opt);
        last_ckpt = ckpt_path;
    };
    auto kept = [&]() {
        return last_ckpt.empty() ? std::string("no checkpoint was written yet")
                                 : "last good checkpoint kept at " + last_ckpt;
    };

    TrainResult res;
    res.start_step = step;
    res.n_params = model.params().size();
    const int64_t B = o.batch, T = o.seq;
    std::vector<int32_t> tok((size_t)(R * B * T)), tgt((size_t)(R * B * T));  // global batch
    const bool moe = o.config.n_expert > 0;
    const double tokens_per_step = (double)(B * T * o.accum * R);
    // Overlap: the last micro-batch's backward reports finished gradient ranges and the
    // all-reduce of each bucket starts as soon as its range is complete (dist/data_parallel.h).
    const bool overlap = o.overlap && R > 1;
    const GradsReadyFn on_grads_ready = [&dp](int64_t off, int64_t n) { dp.grads_ready(off, n); };

    StopSignals signals(o.handle_signals);
    Progress bar("train", o.steps, "step", o.progress && root);
    bar.set_start(step);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t saved_at = o.resume ? step : -1;

    while (step < o.steps) {
        const auto ts = std::chrono::steady_clock::now();
        const float lr = sched.at(step);
        ParamSet& P = model.params();
        P.zero_grad();
        double loss = 0;
        const float scale = 1.0f / (float)o.accum;
        int64_t counted = 0;
        if (overlap) dp.overlap_begin(P);
        for (int64_t a = 0; a < o.accum; a++) {
            // A micro-batch of prompt tokens only (long SFT prompts) has no loss: skip it
            // rather than ask the model for a mean over zero targets.
            // Data parallel: every rank reads the whole global batch [R*B, T] (the cursor
            // stays global, so checkpoints do not depend on R) and trains on its rows
            // [rank*B, (rank+1)*B) weighted by its share of the global targets: the sum over
            // ranks is then the single-process gradient (and loss) of the global batch.
            const int64_t n_global = loader.next(tok.data(), tgt.data(), R * B, T);
            if (n_global == 0) continue;
            counted++;
            const int32_t* tok_r = tok.data() + (size_t)(dp.rank() * B * T);
            const int32_t* tgt_r = tgt.data() + (size_t)(dp.rank() * B * T);
            const int64_t n_local = R == 1 ? n_global
                                           : std::count_if(tgt_r, tgt_r + B * T,
                                                           [](int32_t t) { return t >= 0; });
            if (n_local == 0) continue;
            const double share = (double)n_local / (double)n_global;
            // Only the last micro-batch's backward finalises gradients: only it overlaps.
            if (overlap && a == o.accum - 1) model.set_grads_ready_hook(on_grads_ready);
            const StepStats s =
                o.micro_batch ? o.micro_batch(model, tok_r, tgt_r, B, T, scale * (float)share)
                              : model.forward_backward(tok_r, tgt_r, B, T, scale * (float)share);
            if (overlap) model.set_grads_ready_hook({});
            loss += s.loss * share;
        }
        // Data parallel: the gradient all-reduce (started during the backward when
        // overlapping: finish it first, so every rank issues the same collectives in the same
        // order), then one small all-reduce for the loss and the stop flag (a signal on any
        // rank stops every rank after this same step).
        const auto tsync = std::chrono::steady_clock::now();
        if (overlap)
            dp.overlap_finish();
        else
            dp.allreduce_grads(P);
        const double grad_sync_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - tsync).count();
        double red[2] = {loss, StopSignals::pending() ? 1.0 : 0.0};
        dp.sum(red, 2);
        loss = red[0];
        const bool stop_all = red[1] > 0;
        loss = counted > 0 ? loss / (double)counted : 0.0;
        const int64_t this_step = step + 1;
        if (!std::isfinite(loss)) {
            bar.clear();
            fail("step ", this_step, ": loss is ", std::isnan(loss) ? "NaN" : "Inf", "; ", kept());
        }
        const double gnorm = grad_norm(P);
        if (!std::isfinite(gnorm)) {
            const NonFinite bad = find_nonfinite_grad(P);
            bar.clear();
            if (bad)
                fail("step ", this_step, ": gradient of '", bad.name, "' is ", bad.what, "; ", kept());
            fail("step ", this_step, ": gradient norm is not finite; ", kept());
        }
        clip_grad_norm(P, o.clip, gnorm);
        opt.step(P, lr);                       // ZeRO-1: this rank's slice only,
        if (sharded) dp.allgather_params(P);   // then every rank gets every slice
        // MoE: the expert load of the global batch (summed over ranks) drives the bias.
        const ExpertLoad load = moe ? dp.sum_expert_load(model.expert_load()) : ExpertLoad{};
        if (moe && o.config.expert_sel_bias) model.update_selection_bias(load);
        // ZeRO-1: every rank holds different moments; the weights are what must agree.
        if (o.check_sync) dp.check_sync(P, sharded ? nullptr : &opt, this_step);
        step = this_step;

        const auto te = std::chrono::steady_clock::now();
        StepMetrics m;
        m.step = step;
        m.loss = loss;
        m.lr = lr;
        m.grad_norm = gnorm;
        m.tok_s = tokens_per_step / std::max(1e-9, std::chrono::duration<double>(te - ts).count());
        m.elapsed = std::chrono::duration<double>(te - t0).count();
        if (moe) m.imbalance = load.imbalance();
        m.grad_sync_s = grad_sync_s;
        const bool last = step == o.steps;
        if (o.eval_batches > 0 && ((o.eval_every > 0 && step % o.eval_every == 0) || last)) {
            m.eval_loss = eval_loss(model, *corpus, o, tok, tgt, dp);
            res.eval_loss = m.eval_loss;
        }
        nlohmann::json line = {{"step", m.step},          {"loss", m.loss},
                               {"lr", m.lr},              {"grad_norm", m.grad_norm},
                               {"tok_s", m.tok_s},        {"elapsed", m.elapsed}};
        if (moe) line["imbalance"] = m.imbalance;
        if (m.eval_loss >= 0) line["eval_loss"] = m.eval_loss;
        if (R > 1) {
            line["ranks"] = R;
            line["grad_sync_s"] = m.grad_sync_s;
        }
        if (root) {
            metrics << line.dump() << "\n";
            metrics.flush();
        }

        if (step == res.start_step + 1) res.first_loss = loss;
        res.final_loss = loss;
        if (o.ckpt_every > 0 && step % o.ckpt_every == 0) {
            save(step);
            saved_at = step;
        }
        if (on_step) on_step(m);
        if (root && o.log_every > 0 && (step % o.log_every == 0 || last || step == res.start_step + 1)) {
            bar.clear();
            std::string s = "step " + std::to_string(step) + "/" + std::to_string(o.steps) +
                            " | loss " + fmt_num(loss);
            if (m.eval_loss >= 0) s += " | eval " + fmt_num(m.eval_loss);
            char buf[128];
            std::snprintf(buf, sizeof buf, " | lr %.2e | grad %.3f | %.0f tok/s", m.lr,
                          m.grad_norm, m.tok_s);
            s += buf;
            if (moe) s += " | imbalance " + fmt_num(m.imbalance);
            std::printf("%s\n", s.c_str());
            std::fflush(stdout);
        }
        bar.update(step, "loss " + fmt_num(loss));
        if (R > 1 ? stop_all : StopSignals::pending() != 0) {
            res.interrupted = true;
            break;
        }
    }
    if (saved_at != step) save(step);
    bar.finish();
    res.end_step = step;
    res.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.tok_s = res.elapsed > 0 ? tokens_per_step * (double)(step - res.start_step) / res.elapsed : 0;
    res.checkpoint = last_ckpt;
    return res;
}

}  // namespace r1
