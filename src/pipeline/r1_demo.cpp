// See r1_demo.h. The stages read top to bottom in run_r1_demo(); budgets are in Budget.
#include "pipeline/r1_demo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "core/threads.h"
#include "generate/model_loader.h"
#include "io/gguf_export.h"
#include "model/config.h"
#include "pipeline/stages.h"
#include "rl/distill.h"
#include "rl/evaluate.h"
#include "rl/grpo.h"
#include "rl/plot.h"
#include "rl/tasks.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kTeacherPreset = "tiny-moe";
constexpr const char* kStudentPreset = "tiny-dense";
constexpr int kDifficulty = 1;

// Compute budgets of the two modes. The full budget is sized for ≤ 10 minutes on 2 cores;
// the quick one only checks that every stage runs and connects (its accuracies are noise).
struct Budget {
    int64_t pretrain_steps, student_pretrain_steps, pretrain_batch;
    int64_t grpo_steps, grpo_prompts, grpo_group, grpo_max_tokens;
    int64_t distill_prompts, distill_k, distill_steps;
    int64_t eval_n;
};

Budget budget_for(const DemoOptions& o) {
    Budget b = o.quick ? Budget{150, 150, 4, 3, 4, 4, 160, 8, 4, 20, 16}
                       : Budget{6000, 3000, 8, 16, 16, 8, 160, 512, 8, 300, 200};
    if (o.pretrain_steps > 0) b.pretrain_steps = o.pretrain_steps;
    if (o.student_pretrain_steps > 0) b.student_pretrain_steps = o.student_pretrain_steps;
    if (o.grpo_steps > 0) b.grpo_steps = o.grpo_steps;
    if (o.eval_n > 0) b.eval_n = o.eval_n;
    if (o.distill_prompts > 0) b.distill_prompts = o.distill_prompts;
    return b;
}

// The pretraining mix: careful column arithmetic, careless one-line guesses ("Quick: 47+38=
// 85.", wrong 70% of the time) and self-checking traces. Careless lines use one phrasing, so
// the guess is the single most likely opening and a greedy base guesses (and is mostly wrong)
// although it has seen — and can carry out — careful work. RL with a correctness reward has to
// discover that working it out pays; response length grows as it does (R1-Zero's "thinking
// longer" dynamic, in miniature).
SyntheticOptions demo_corpus() {
    SyntheticOptions s = rl::arithmetic_options(kDifficulty);
    s.p_careful = 0.40;
    s.p_careless = 0.45;
    s.p_check = 0.15;
    s.careless_wrong = 0.7;
    s.check_recover = 0.5;
    s.careless_phrases = 1;
    return s;
}

json corpus_json(const SyntheticOptions& s) {
    return {{"min_digits", s.min_digits}, {"max_digits", s.max_digits},
            {"mul_digits_a", s.mul_digits_a}, {"mul_digits_b", s.mul_digits_b},
            {"p_careful", s.p_careful}, {"p_careless", s.p_careless}, {"p_check", s.p_check},
            {"careless_wrong", s.careless_wrong}, {"check_recover", s.check_recover},
            {"careless_phrases", s.careless_phrases}};
}

void stop_if_interrupted(bool interrupted, const char* stage) {
    if (interrupted)
        throw DemoInterrupted(std::string("stage ") + stage + " interrupted (checkpoint saved)");
}

// Stage: next-token pretraining of a preset on the demo corpus.
json pretrain(const std::string& preset, const std::string& dir, int64_t steps, const Budget& b,
              const DemoOptions& d) {
    TrainOptions o;
    o.model = preset;
    o.config = ModelConfig::preset(preset);
    o.data = "builtin";
    o.data_opt.synthetic = demo_corpus();
    o.data_opt.seed = d.seed;
    o.out_dir = dir;
    o.steps = steps;
    o.batch = b.pretrain_batch;
    o.seq = 128;
    o.lr = 3e-3f;
    o.min_lr = 3e-4f;
    o.warmup = std::min<int64_t>(20, o.steps / 10);
    o.seed = d.seed;
    o.eval_batches = 2;
    o.eval_every = std::max<int64_t>(1, o.steps / 4);
    o.log_every = 0;
    o.progress = d.progress;
    o.resume = fs::exists(fs::path(dir) / "ckpt.r1");
    const TrainResult r = train(o);
    stop_if_interrupted(r.interrupted, preset.c_str());
    return {{"checkpoint", r.checkpoint}, {"final_loss", r.final_loss},
            {"eval_loss", r.eval_loss}, {"n_params", o.config.n_params()},
            {"n_params_active", o.config.n_params_active()}, {"steps", o.steps},
            {"tokens", o.steps * o.batch * o.seq}};
}

rl::TaskOptions demo_task() {
    rl::TaskOptions t;
    t.spec = "arithmetic";
    t.difficulty = kDifficulty;
    return t;
}

// Stage: GRPO (R1-Zero) from a checkpoint. The same options for teacher and student, so the
// student baseline gets the teacher's RL budget.
rl::GrpoOptions grpo_options(const std::string& init, const std::string& dir, const Budget& b,
                             const DemoOptions& d) {
    rl::GrpoOptions o;
    o.init = init;
    o.out_dir = dir;
    o.task = demo_task();
    o.seed = d.seed;
    o.steps = b.grpo_steps;
    o.prompts = b.grpo_prompts;
    o.group = b.grpo_group;
    o.max_tokens = b.grpo_max_tokens;
    o.temperature = 1.0f;
    o.lr = 3e-4f;  // 1e-3 collapses the policy; 3e-4 flips the opening in ~5 steps
    o.warmup = 0;
    o.eval_every = 0;
    o.log_every = 0;
    o.progress = d.progress;
    return o;
}

json grpo_stage(rl::GrpoOptions o) {
    o.resume = fs::exists(fs::path(o.out_dir) / "ckpt.r1");  // after the stage's cleanup
    const rl::GrpoResult r = rl::grpo_train(o);
    stop_if_interrupted(r.interrupted, "grpo");
    return {{"checkpoint", r.checkpoint}, {"first_reward", r.first_reward},
            {"final_reward", r.final_reward}, {"steps", r.end_step}};
}

json grpo_fingerprint(const rl::GrpoOptions& o) {
    json j;
    to_json(j, o);
    j.erase("resume");
    j.erase("progress");
    j.erase("log_every");
    j.erase("handle_signals");
    return j;
}

// Stage: greedy evaluation on the held-out split; writes the r1 eval --dump rows.
json eval_stage(const std::string& ckpt, const std::string& dump_path, const Budget& b,
                const DemoOptions& d) {
    const auto model = load_model_for_inference(ckpt);
    const auto task = rl::make_task(demo_task());
    rl::EvalOptions e;
    e.n = b.eval_n;
    e.seed = d.seed + 1000;  // its own stream of held-out problems, the same for every model
    e.max_tokens = 200;
    e.batch = 32;
    const rl::EvalResult r = rl::evaluate(model->model(), model->codec(), *task, e);
    write_text_atomic(dump_path, rl::eval_dump_jsonl(r));
    return {{"accuracy", r.accuracy}, {"format_rate", r.format_rate},
            {"reflection_rate", r.reflection_rate}, {"mean_length", r.mean_length},
            {"n", r.n}, {"dump", dump_path}, {"checkpoint", ckpt}};
}

// Stage: Q8_0 GGUF of a dense checkpoint, with the byte tokenizer in its metadata.
std::string export_q8(const std::string& ckpt, const std::string& path) {
    const Checkpoint ck = read_checkpoint(ckpt);
    ParamSet params(ck.meta.config);
    apply_checkpoint(ck, params, nullptr);
    export_gguf(ck.meta.config, params, path, DType::q8_0, byte_tokenizer_gguf_meta(ck.meta.config.n_vocab));
    return path;
}

std::string pct(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * x);
    return buf;
}

std::string fmt(const char* f, double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, x);
    return buf;
}

std::string write_report(const std::string& out, const json& s) {
    const json& ev = s["evals"];
    std::ostringstream md;
    md << "# r1 demo report\n\n"
       << "The DeepSeek-R1 recipe in miniature on the built-in arithmetic task (seed "
       << s["seed"].get<uint64_t>() << (s["quick"].get<bool>() ? ", --quick: smoke-test budgets, accuracies are noise" : "")
       << "). Every model answers the same " << s["eval_n"].get<int64_t>()
       << " held-out problems greedily (problems never seen in pretraining or RL).\n\n"
       << "| model | params | accuracy | format | reflection | mean length (tokens) |\n"
       << "|---|---|---|---|---|---|\n";
    const std::pair<const char*, const char*> rows[] = {
        {"base", "MoE base (pretrained)"}, {"rl", "MoE + GRPO (R1-Zero)"},
        {"student_base", "dense student (pretrained)"},
        {"distilled_student", "dense student + distillation"},
        {"rl_student", "dense student + GRPO"}};
    for (const auto& [key, label] : rows) {
        const json& e = ev[key];
        md << "| " << label << " | " << fmt("%.2fM", e["n_params"].get<double>() / 1e6) << " | "
           << pct(e["accuracy"]) << " | " << pct(e["format_rate"]) << " | "
           << pct(e["reflection_rate"]) << " | " << fmt("%.1f", e["mean_length"]) << " |\n";
    }
    const double base = s["base_accuracy"], rl = s["rl_accuracy"];
    const double dist = s["distilled_student_accuracy"], rls = s["rl_student_accuracy"];
    md << "\n## What happened\n\n"
       << "- **RL on the MoE base** moved held-out accuracy from " << pct(base) << " to "
       << pct(rl) << " (" << fmt("%+.1f", 100 * (rl - base)) << " points; target +20). "
       << "Mean response length went from " << fmt("%.1f", ev["base"]["mean_length"]) << " to "
       << fmt("%.1f", ev["rl"]["mean_length"]) << " tokens and the reflection rate from "
       << pct(ev["base"]["reflection_rate"]) << " to " << pct(ev["rl"]["reflection_rate"]) << ".\n"
       << "- **Rejection sampling** kept " << s["distill"]["n_accepted"].get<int64_t>() << " of "
       << s["distill"]["n_sampled"].get<int64_t>() << " teacher completions ("
       << pct(s["distill"]["acceptance_rate"]) << " correct and well formed).\n"
       << "- **Small student**: distillation reached " << pct(dist) << ", GRPO alone on the same "
       << "pretrained student reached " << pct(rls) << ". ";
    if (dist > rls + 0.02)
        md << "Distillation beat RL for the small model by " << fmt("%.1f", 100 * (dist - rls))
           << " points, the paper's finding.\n";
    else if (rls > dist + 0.02)
        md << "Here RL beat distillation by " << fmt("%.1f", 100 * (rls - dist))
           << " points — the opposite of the paper's finding at this scale and budget.\n";
    else
        md << "The two are within 2 points: no clear winner at this scale and budget.\n";
    md << "\n## Wall time per stage\n\n| stage | seconds |\n|---|---|\n";
    for (const auto& st : s["stages"])
        md << "| " << st["name"].get<std::string>() << " | " << fmt("%.1f", st["seconds"]) << " |\n";
    md << "| **total** | " << fmt("%.1f", s["wall_seconds"]) << " |\n";
    md << "\n## Files\n\n- curves: `plots/` (pretraining loss, GRPO reward / length / reflection)\n"
       << "- per-problem evaluations: `eval/*.jsonl` (r1 eval --dump format)\n"
       << "- GGUF (Q8_0): `gguf/` — chat with `r1 chat --model " << s["gguf"]["distilled_student"].get<std::string>()
       << "`\n";
    const std::string path = out + "/report.md";
    write_text_atomic(path, md.str());
    return path;
}

}  // namespace

json run_r1_demo(const DemoOptions& d) {
    const Budget b = budget_for(d);
    const std::string out = d.out_dir;
    fs::create_directories(out + "/eval");
    fs::create_directories(out + "/gguf");
    StageLog log(out);
    const json common = {{"seed", d.seed}, {"corpus", corpus_json(demo_corpus())},
                         {"threads", num_threads()}};
    int stage_no = 0;
    const int n_stages = 12;
    auto banner = [&](const std::string& what) {
        std::fprintf(stderr, "[%2d/%d] %s\n", ++stage_no, n_stages, what.c_str());
    };
    // dir: the stage's own output folder. Unless the stage is resuming an interrupted run of
    // itself (same fingerprint), whatever is there came from other options and is removed, so
    // its checkpoints are not "resumed" into a run they do not belong to.
    auto run = [&](const std::string& name, json fp, const std::string& what,
                   const std::string& dir, const std::function<json()>& fn) {
        banner(what);
        fp["common"] = common;
        json r = log.run(name, fp, [&] {
            if (!dir.empty() && !log.resuming()) fs::remove_all(dir);
            return fn();
        });
        if (log.last_skipped())
            std::fprintf(stderr, "       done before (%.1f s), skipped\n", r.value("wall_seconds", 0.0));
        return r;
    };

    // 1. pretrain the MoE base
    const std::string base_dir = out + "/base";
    const json base = run("pretrain_teacher",
                          {{"preset", kTeacherPreset}, {"steps", b.pretrain_steps}, {"batch", b.pretrain_batch}},
                          std::string("pretrain the MoE base (") + kTeacherPreset + ")", base_dir,
                          [&] { return pretrain(kTeacherPreset, base_dir, b.pretrain_steps, b, d); });
    const std::string base_ckpt = base["checkpoint"];

    // 2. R1-Zero: GRPO on the base
    const rl::GrpoOptions g_teacher = grpo_options(base_ckpt, out + "/rl", b, d);
    const json rl_t = run("grpo_teacher", grpo_fingerprint(g_teacher),
                          "GRPO on the MoE base (R1-Zero)", g_teacher.out_dir, [&] { return grpo_stage(g_teacher); });
    const std::string rl_ckpt = rl_t["checkpoint"];

    // 3. pretrain the dense student
    const std::string sbase_dir = out + "/student_base";
    const json sbase = run("pretrain_student",
                           {{"preset", kStudentPreset}, {"steps", b.student_pretrain_steps}, {"batch", b.pretrain_batch}},
                           std::string("pretrain the dense student (") + kStudentPreset + ")", sbase_dir,
                           [&] { return pretrain(kStudentPreset, sbase_dir, b.student_pretrain_steps, b, d); });
    const std::string sbase_ckpt = sbase["checkpoint"];

    // 4. rejection sampling from the RL teacher + SFT of the student
    rl::DistillOptions dopt;
    dopt.teacher = rl_ckpt;
    dopt.student = sbase_ckpt;
    dopt.out_dir = out + "/distill";
    dopt.task = demo_task();
    dopt.n_prompts = b.distill_prompts;
    dopt.k = (int)b.distill_k;
    dopt.temperature = 0.7f;
    dopt.max_tokens = b.grpo_max_tokens;
    dopt.max_per_prompt = 2;
    dopt.seed = d.seed;
    dopt.steps = b.distill_steps;
    dopt.batch = 8;
    dopt.seq = 192;
    dopt.lr = 1e-3f;
    dopt.min_lr = 1e-4f;
    dopt.log_every = 0;
    dopt.progress = d.progress;
    const json dist = run("distill",
                          {{"teacher", rl_ckpt}, {"n_prompts", dopt.n_prompts}, {"k", dopt.k},
                           {"temperature", dopt.temperature}, {"steps", dopt.steps}, {"lr", dopt.lr},
                           {"seq", dopt.seq}, {"max_per_prompt", dopt.max_per_prompt}},
                          "rejection-sample the RL teacher, distil into the student", dopt.out_dir, [&] {
                              rl::DistillOptions o = dopt;
                              o.resume = fs::exists(o.out_dir);  // after the stage's cleanup
                              const rl::DistillResult r = rl::distill(o);
                              stop_if_interrupted(r.interrupted, "distill");
                              json j = to_json(r.sampling);
                              j["acceptance_rate"] = r.sampling.acceptance_rate();
                              j["checkpoint"] = r.student_ckpt;
                              j["traces"] = r.traces_path;
                              j["final_loss"] = r.train.final_loss;
                              return j;
                          });

    // 5. baseline: GRPO on the pretrained student, the teacher's RL budget
    const rl::GrpoOptions g_student = grpo_options(sbase_ckpt, out + "/rl_student", b, d);
    const json rl_s = run("grpo_student", grpo_fingerprint(g_student),
                          "GRPO on the dense student (baseline)", g_student.out_dir, [&] { return grpo_stage(g_student); });

    // 6. evaluate everything on the same held-out problems
    const std::pair<std::string, std::string> models[] = {
        {"base", base_ckpt}, {"rl", rl_ckpt}, {"student_base", sbase_ckpt},
        {"distilled_student", dist["checkpoint"]}, {"rl_student", rl_s["checkpoint"]}};
    json evals, dumps;
    for (const auto& [key, ckpt] : models) {
        const std::string dump = out + "/eval/" + key + ".jsonl";
        json e = run("eval_" + key, {{"checkpoint", ckpt}, {"n", b.eval_n}},
                     "evaluate " + key + " on " + std::to_string(b.eval_n) + " held-out problems", "",
                     [&] { return eval_stage(ckpt, dump, b, d); });
        e["n_params"] = read_checkpoint(ckpt).meta.config.n_params();
        evals[key] = e;
        if (key != "student_base") dumps[key] = dump;
        std::fprintf(stderr, "       accuracy %s, mean length %.1f, reflection %s\n",
                     pct(e["accuracy"]).c_str(), e["mean_length"].get<double>(),
                     pct(e["reflection_rate"]).c_str());
    }

    // 7. export the students for llama.cpp / r1 chat
    const json gguf = run("export", {{"distilled", dist["checkpoint"]}, {"rl_student", rl_s["checkpoint"]}},
                          "export the students to GGUF (Q8_0)", "", [&] {
                              return json{{"distilled_student", export_q8(dist["checkpoint"], out + "/gguf/distilled_student-q8_0.gguf")},
                                          {"rl_student", export_q8(rl_s["checkpoint"], out + "/gguf/rl_student-q8_0.gguf")}};
                          });

    // 8. curves, summary, report (always regenerated: cheap, and reflects the record)
    banner("plots, summary.json, report.md");
    std::vector<std::string> plots;
    try {
        rl::PlotOptions po;
        po.out_dir = out + "/plots/grpo";
        plots = rl::plot_metrics({out + "/rl/metrics.jsonl", out + "/rl_student/metrics.jsonl"}, po);
        po.out_dir = out + "/plots/pretrain";
        for (auto& p : rl::plot_metrics({base_dir + "/metrics.jsonl", sbase_dir + "/metrics.jsonl"}, po))
            plots.push_back(p);
    } catch (const Error& e) {
        std::fprintf(stderr, "       no plots: %s\n", e.what());  // gnuplot missing: not fatal
    }
    json stages = json::array();  // in pipeline order
    for (const auto& st : log.record()["stages"])
        stages.push_back({{"name", st["name"]}, {"seconds", st["result"].value("wall_seconds", 0.0)}});
    json s = {{"seed", d.seed},
              {"quick", d.quick},
              {"eval_n", b.eval_n},
              {"base_accuracy", evals["base"]["accuracy"]},
              {"rl_accuracy", evals["rl"]["accuracy"]},
              {"student_base_accuracy", evals["student_base"]["accuracy"]},
              {"distilled_student_accuracy", evals["distilled_student"]["accuracy"]},
              {"rl_student_accuracy", evals["rl_student"]["accuracy"]},
              {"rl_gain", evals["rl"]["accuracy"].get<double>() - evals["base"]["accuracy"].get<double>()},
              {"wall_seconds", log.total_wall_seconds()},
              {"stages", stages},
              {"evals", evals},
              {"eval_dumps", dumps},
              {"distill", dist},
              {"gguf", gguf},
              {"plots", plots},
              {"teacher", {{"preset", kTeacherPreset}, {"n_params", base["n_params"]}, {"n_params_active", base["n_params_active"]}}},
              {"student", {{"preset", kStudentPreset}, {"n_params", sbase["n_params"]}}},
              {"threads", num_threads()}};
    s["report"] = write_report(out, s);
    write_text_atomic(out + "/summary.json", s.dump(2) + "\n");
    return s;
}

}  // namespace r1
