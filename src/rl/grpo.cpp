// The GRPO training loop (contract and step outline in grpo.h). Reads top to bottom:
// options, the rollout (sample → score → advantages → dynamic sampling), the packed
// policy batches, compute_gradients / optimizer_step, then grpo_train (setup, resume, the
// step loop, checkpoints). Shape legend: model/model.h.
#include "rl/grpo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/signals.h"
#include "core/progress.h"
#include "dist/data_parallel.h"
#include "dist/gather.h"
#include "generate/engine.h"
#include "generate/infer_model.h"
#include "generate/model_loader.h"
#include "model/model.h"
#include "rl/evaluate.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"
#include "train/grad.h"

namespace r1::rl {

// ---- options --------------------------------------------------------------------------------

Overlong parse_overlong(const std::string& s) {
    if (s == "none") return Overlong::none;
    if (s == "filter") return Overlong::filter;
    if (s == "soft") return Overlong::soft;
    fail("[grpo] --overlong: unknown mode '", s, "' (known: none, filter, soft)");
}

const char* overlong_name(Overlong o) {
    switch (o) {
        case Overlong::none: return "none";
        case Overlong::filter: return "filter";
        case Overlong::soft: return "soft";
    }
    return "?";
}

void GrpoOptions::validate() const {
    R1_CHECK(!out_dir.empty(), "[grpo] --out is required");
    R1_CHECK(resume || !init.empty(), "[grpo] --init BASE/ckpt.r1 is required (or --resume)");
    R1_CHECK(steps >= 1, "[grpo] --steps must be >= 1, got ", steps);
    R1_CHECK(prompts >= 1, "[grpo] --prompts must be >= 1, got ", prompts);
    R1_CHECK(group >= 2, "[grpo] --group must be >= 2 (advantages are relative to the group), got ",
             group);
    R1_CHECK(max_tokens >= 1, "[grpo] --max-tokens must be >= 1, got ", max_tokens);
    R1_CHECK(std::isfinite(temperature) && temperature > 0,
             "[grpo] --temperature must be > 0 (rollouts sample), got ", temperature);
    R1_CHECK(std::isfinite(top_p) && top_p > 0 && top_p <= 1, "[grpo] --top-p must be in (0, 1], got ",
             top_p);
    loss.validate();
    R1_CHECK(inner_epochs >= 1, "[grpo] --inner-epochs must be >= 1, got ", inner_epochs);
    R1_CHECK(mini_batches >= 1, "[grpo] --mini-batches must be >= 1, got ", mini_batches);
    R1_CHECK(ref_reset >= 0, "[grpo] --ref-reset must be >= 0, got ", ref_reset);
    R1_CHECK(dynamic_rounds >= 0, "[grpo] --dynamic-rounds must be >= 0, got ", dynamic_rounds);
    R1_CHECK(overlong_buffer >= 0 && overlong_buffer <= max_tokens,
             "[grpo] --overlong-buffer must be in [0, --max-tokens], got ", overlong_buffer);
    R1_CHECK(std::isfinite(overlong_penalty) && overlong_penalty >= 0,
             "[grpo] --overlong-penalty must be >= 0, got ", overlong_penalty);
    R1_CHECK(std::isfinite(lr) && lr > 0, "[grpo] --lr must be > 0, got ", lr);
    R1_CHECK(warmup >= 0, "[grpo] --warmup must be >= 0, got ", warmup);
    R1_CHECK(clip >= 0, "[grpo] --clip must be >= 0, got ", clip);
    R1_CHECK(eval_every >= 0 && eval_n >= 1 && ckpt_every >= 0 && slots >= 0 && log_every >= 0,
             "[grpo] --eval-every/--ckpt-every/--slots/--log-every must be >= 0 and --eval-n >= 1");
    R1_CHECK(adamw.weight_decay >= 0, "[grpo] --weight-decay must be >= 0");
}

void to_json(nlohmann::json& j, const GrpoOptions& o) {
    j = {{"kind", "grpo"},
         {"init", o.init},
         {"task", o.task.spec},
         {"difficulty", o.task.difficulty},
         {"w_correct", o.task.weights.correct},
         {"w_format", o.task.weights.format},
         {"seed", o.seed},
         {"steps", o.steps},
         {"prompts", o.prompts},
         {"group", o.group},
         {"max_tokens", o.max_tokens},
         {"temperature", o.temperature},
         {"top_p", o.top_p},
         {"advantage", advantage_kind_name(o.advantage)},
         {"loss_agg", loss_agg_name(o.loss_agg)},
         {"eps_low", o.loss.eps_low},
         {"eps_high", o.loss.eps_high},
         {"beta", o.loss.beta},
         {"inner_epochs", o.inner_epochs},
         {"mini_batches", o.mini_batches},
         {"ref_reset", o.ref_reset},
         {"dynamic_sampling", o.dynamic_sampling},
         {"dynamic_rounds", o.dynamic_rounds},
         {"overlong", overlong_name(o.overlong)},
         {"overlong_buffer", o.overlong_buffer},
         {"overlong_penalty", o.overlong_penalty},
         {"lr", o.lr},
         {"warmup", o.warmup},
         {"beta1", o.adamw.beta1},
         {"beta2", o.adamw.beta2},
         {"adam_eps", o.adamw.eps},
         {"weight_decay", o.adamw.weight_decay},
         {"clip", o.clip},
         {"eval_every", o.eval_every},
         {"eval_n", o.eval_n},
         {"ckpt_every", o.ckpt_every},
         {"slots", o.slots}};
}

void from_json(const nlohmann::json& j, GrpoOptions& o) {
    auto get = [&](const char* k, auto& v) {
        if (j.contains(k)) j.at(k).get_to(v);
    };
    get("init", o.init);
    get("task", o.task.spec);
    get("difficulty", o.task.difficulty);
    get("w_correct", o.task.weights.correct);
    get("w_format", o.task.weights.format);
    get("seed", o.seed);
    get("steps", o.steps);
    get("prompts", o.prompts);
    get("group", o.group);
    get("max_tokens", o.max_tokens);
    get("temperature", o.temperature);
    get("top_p", o.top_p);
    if (j.contains("advantage")) o.advantage = parse_advantage_kind(j.at("advantage").get<std::string>());
    if (j.contains("loss_agg")) o.loss_agg = parse_loss_agg(j.at("loss_agg").get<std::string>());
    get("eps_low", o.loss.eps_low);
    get("eps_high", o.loss.eps_high);
    get("beta", o.loss.beta);
    get("inner_epochs", o.inner_epochs);
    get("mini_batches", o.mini_batches);
    get("ref_reset", o.ref_reset);
    get("dynamic_sampling", o.dynamic_sampling);
    get("dynamic_rounds", o.dynamic_rounds);
    if (j.contains("overlong")) o.overlong = parse_overlong(j.at("overlong").get<std::string>());
    get("overlong_buffer", o.overlong_buffer);
    get("overlong_penalty", o.overlong_penalty);
    get("lr", o.lr);
    get("warmup", o.warmup);
    get("beta1", o.adamw.beta1);
    get("beta2", o.adamw.beta2);
    get("adam_eps", o.adamw.eps);
    get("weight_decay", o.adamw.weight_decay);
    get("clip", o.clip);
    get("eval_every", o.eval_every);
    get("eval_n", o.eval_n);
    get("ckpt_every", o.ckpt_every);
    get("slots", o.slots);
}

namespace {

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser: per-request sampler seeds
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// ---- rollout ---------------------------------------------------------------------------------

struct Sample {
    std::vector<int32_t> completion;  // generated ids, stop token included
    bool truncated = false;           // finish_reason "length"
    Reward reward;
    double r = 0;                     // reward used for advantages (after overlong shaping)
    double adv = 0;
};

struct Group {
    uint64_t index = 0;               // problem index in the train split
    TaskProblem problem;
    std::vector<int32_t> prompt;      // encoded prompt
    std::vector<Sample> samples;      // [G]
    bool zero_var = false;
};

struct RolloutStats {
    int64_t generated = 0;
    double seconds = 0;
};

// G completions for each of n problems starting at `cursor`, scored; adds to `out`.
void rollout(Model& policy, const Task& task, const GrpoOptions& o, uint64_t cursor, int64_t n,
             std::vector<Group>& out, RolloutStats& rs) {
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig& cfg = policy.config();
    const InferenceModel im = InferenceModel::from_params(cfg, policy.params());  // zero copy
    GeneratorOptions go;
    go.n_slots = o.slots > 0 ? o.slots : n * o.group;
    Generator gen(im, go);
    const size_t first = out.size();
    for (int64_t i = 0; i < n; i++) {
        Group g;
        g.index = cursor + (uint64_t)i;
        g.problem = task.problem(Split::train, o.seed, g.index);
        g.prompt = ByteTokenizer::encode(g.problem.prompt);
        R1_CHECK((int64_t)g.prompt.size() + 1 < cfg.n_ctx, "[grpo] task '", task.name(),
                 "' problem ", g.index, ": prompt of ", g.prompt.size(),
                 " tokens leaves no room in the model context n_ctx = ", cfg.n_ctx);
        for (int64_t k = 0; k < o.group; k++) {
            GenRequest req;
            req.prompt = g.prompt;
            req.max_tokens = std::min<int64_t>(o.max_tokens, cfg.n_ctx - (int64_t)g.prompt.size());
            req.sampler.temperature = o.temperature;
            req.sampler.top_p = o.top_p;
            req.sampler.seed = mix64(o.seed ^ mix64(g.index * 0x10001ull + (uint64_t)k));
            req.stop_ids = {ByteTokenizer::kEos};
            req.vocab_limit = ByteTokenizer::n_vocab();
            gen.add(std::move(req));
        }
        out.push_back(std::move(g));
    }
    std::vector<GenResult> res = gen.run();  // sorted by id = group-major order
    R1_CHECK((int64_t)res.size() == n * o.group, "[grpo] generator returned ", res.size(),
             " completions, expected ", n * o.group);
    const int64_t buffer = o.overlong_buffer > 0 ? o.overlong_buffer : std::max<int64_t>(1, o.max_tokens / 4);
    for (int64_t i = 0; i < n; i++) {
        Group& g = out[first + (size_t)i];
        g.samples.resize((size_t)o.group);
        std::vector<double> rewards((size_t)o.group);
        for (int64_t k = 0; k < o.group; k++) {
            GenResult& r = res[(size_t)(i * o.group + k)];
            Sample& s = g.samples[(size_t)k];
            s.completion = std::move(r.tokens);
            s.truncated = r.finish_reason == "length";
            rs.generated += (int64_t)s.completion.size();
            std::vector<int32_t> text_ids = s.completion;
            if (!text_ids.empty() && text_ids.back() == ByteTokenizer::kEos) text_ids.pop_back();
            s.reward = task.score(g.problem, ByteTokenizer::decode(text_ids));
            s.r = s.reward.total;
            if (o.overlong == Overlong::soft) {
                // DAPO soft overlong punishment: 0 up to max − buffer, then a linear ramp to
                // −penalty at max_tokens
                const int64_t len = (int64_t)s.completion.size(), lim = o.max_tokens - buffer;
                if (len > lim)
                    s.r -= o.overlong_penalty * (double)(len - lim) / (double)buffer;
            }
            rewards[(size_t)k] = s.r;
        }
        std::vector<double> adv((size_t)o.group);
        compute_advantages(adv.data(), rewards.data(), 1, o.group, o.advantage);
        for (int64_t k = 0; k < o.group; k++) g.samples[(size_t)k].adv = adv[(size_t)k];
        g.zero_var = zero_variance_group(rewards.data(), o.group);
    }
    rs.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- the step's global table -------------------------------------------------------------------

// What the metrics, dynamic sampling and the loss normalisers read of every sample of every
// group sampled in a step. Data parallel: rank r fills the rows of its groups, the others
// stay 0, and one all-reduce (x + 0 + ... = x exactly) gives every rank the whole step's
// table — the same numbers in the same order as one process, hence the same decisions and
// bit-identical metrics. With one rank the sum is a no-op.
struct TableSample {
    double r = 0, correct = 0, formatted = 0, reflection = 0, truncated = 0, len = 0;
};
struct TableGroup {
    bool zero_var = false;
    std::vector<TableSample> s;  // [G]
};
constexpr int64_t kTableCols = 6;

std::vector<TableGroup> step_table(const std::vector<Group>& mine, uint64_t cursor0, int64_t n_groups,
                                   int64_t G, dist::DataParallel& dp) {
    const int64_t W = 1 + kTableCols * G;
    std::vector<double> v((size_t)(n_groups * W), 0.0);
    for (const Group& g : mine) {
        const int64_t gi = (int64_t)(g.index - cursor0);
        R1_CHECK(gi >= 0 && gi < n_groups, "[grpo] internal: group ", g.index, " outside the step");
        double* row = v.data() + gi * W;
        row[0] = g.zero_var ? 1.0 : 0.0;
        for (int64_t k = 0; k < G; k++) {
            const Sample& s = g.samples[(size_t)k];
            double* c = row + 1 + kTableCols * k;
            c[0] = s.r, c[1] = s.reward.correct, c[2] = s.reward.formatted;
            c[3] = s.reward.reflection, c[4] = s.truncated, c[5] = (double)s.completion.size();
        }
    }
    dp.sum(v);
    std::vector<TableGroup> t((size_t)n_groups);
    for (int64_t gi = 0; gi < n_groups; gi++) {
        const double* row = v.data() + gi * W;
        t[(size_t)gi].zero_var = row[0] > 0.5;
        t[(size_t)gi].s.resize((size_t)G);
        for (int64_t k = 0; k < G; k++) {
            const double* c = row + 1 + kTableCols * k;
            t[(size_t)gi].s[(size_t)k] = {c[0], c[1], c[2], c[3], c[4], c[5]};
        }
    }
    return t;
}

// A zero expert load shaped like the model's (a rank with no rows in a mini-batch).
ExpertLoad zero_expert_load(const ModelConfig& cfg) {
    ExpertLoad l;
    l.counts.assign((size_t)cfg.n_layer, {});
    for (int64_t il = 0; il < cfg.n_layer; il++)
        if (cfg.is_moe_layer(il)) l.counts[(size_t)il].assign((size_t)cfg.n_expert, 0);
    return l;
}

void copy_weights(Model& dst, const Model& src) {  // same config; pointers stay valid
    std::copy_n(src.params().data().data(), src.params().data().size(), dst.params().data().data());
}

}  // namespace

// ---- policy batches ---------------------------------------------------------------------------

std::pair<int64_t, int64_t> rank_slice(int64_t n, int r, int R) {
    R1_CHECK(R >= 1 && r >= 0 && r < R && n >= 0, "[grpo] rank_slice: bad rank ", r, " of ", R);
    return {n * r / R, n * (r + 1) / R};
}

AggNorm agg_norm(const std::vector<PackSeq>& seqs) {
    AggNorm a;
    for (const PackSeq& q : seqs)
        if (!q.masked) a.n_seqs++, a.n_tokens += (int64_t)q.completion->size();
    return a;
}

// One row per sequence: tokens = prompt + completion without its last token (a target only),
// right-padded; row positions [P−1, P+L−2] predict the L completion tokens. The weights
// follow the aggregation over the whole mini-batch `norm` describes (each optimiser step
// sees a normalised loss; data parallel: over every rank's part of it).
PolicyBatch pack_policy_batch(const std::vector<PackSeq>& seqs, const AggNorm& norm, LossAgg agg,
                              int64_t max_tokens) {
    PolicyBatch b;
    b.B = (int64_t)seqs.size();
    int64_t T = 1;
    for (const PackSeq& q : seqs)
        T = std::max<int64_t>(T, (int64_t)(q.prompt->size() + q.completion->size()) - 1);
    b.T = T;
    const int64_t N = b.B * T;
    b.tokens.assign((size_t)N, ByteTokenizer::kPad);
    b.targets.assign((size_t)N, -1);
    b.adv.assign((size_t)N, 0.0f);
    b.weight.assign((size_t)N, 0.0f);
    for (int64_t i = 0; i < b.B; i++) {
        const PackSeq& q = seqs[(size_t)i];
        const int64_t P = (int64_t)q.prompt->size(), L = (int64_t)q.completion->size();
        int32_t* row = b.tokens.data() + i * T;
        std::copy(q.prompt->begin(), q.prompt->end(), row);
        for (int64_t t = 0; t + 1 < L; t++) row[P + t] = (*q.completion)[(size_t)t];
        if (q.masked) continue;  // DAPO overlong filter: no loss
        const float w = agg_weight(agg, L, norm.n_seqs, norm.n_tokens, max_tokens);
        for (int64_t t = 0; t < L; t++) {
            const int64_t r = i * T + P - 1 + t;
            b.targets[(size_t)r] = (*q.completion)[(size_t)t];
            b.adv[(size_t)r] = (float)q.adv;
            b.weight[(size_t)r] = w;
        }
    }
    return b;
}

// ---- one gradient / one optimiser step (kept apart: a data-parallel all-reduce goes between) --

PolicyStats compute_gradients(Model& policy, const PolicyBatch& batch, const PolicyLossConfig& cfg,
                              float* logp_out) {
    PolicyStats st;
    policy.params().zero_grad();
    policy.forward_backward_head(batch.tokens.data(), batch.B, batch.T,
                                 policy_head_loss(batch, cfg, &st, logp_out), 1.0f);
    return st;
}

double optimizer_step(Model& policy, AdamW& opt, float lr, float clip, int64_t step,
                      const ExpertLoad* load) {
    ParamSet& P = policy.params();
    const double gnorm = grad_norm(P);
    if (!std::isfinite(gnorm)) {
        const NonFinite bad = find_nonfinite_grad(P);
        if (bad) fail("[grpo] step ", step, ": gradient of '", bad.name, "' is ", bad.what);
        fail("[grpo] step ", step, ": gradient norm is not finite");
    }
    clip_grad_norm(P, clip, gnorm);
    opt.step(P, lr);
    if (policy.config().n_expert > 0 && policy.config().expert_sel_bias) {
        if (load) policy.update_selection_bias(*load);
        else policy.update_selection_bias();
    }
    return gnorm;
}

// ---- the loop --------------------------------------------------------------------------------

GrpoResult grpo_train(const GrpoOptions& o_in, const GrpoCallback& on_step) {
    namespace fs = std::filesystem;
    GrpoOptions o = o_in;
    o.validate();
    dist::DataParallel dp(o.comm);  // one rank unless o.comm says otherwise
    const int R = dp.size();
    const bool root = dp.is_root();
    fs::create_directories(o.out_dir);
    const std::string ckpt_path = (fs::path(o.out_dir) / "ckpt.r1").string();
    const std::string metrics_path = (fs::path(o.out_dir) / "metrics.jsonl").string();

    // Policy weights: the run's own checkpoint when resuming, else the base model. Every rank
    // reads the file (put --out on a shared filesystem); rank 0's copy is broadcast anyway.
    const std::string src = o.resume ? ckpt_path : o.init;
    R1_CHECK(fs::exists(src), "[grpo] ", o.resume ? "--resume: no checkpoint at " : "--init: no checkpoint at ", src);
    const Checkpoint ck = read_checkpoint(src);
    const ModelConfig cfg = ck.meta.config;
    R1_CHECK(cfg.n_vocab >= ByteTokenizer::n_vocab(), "[grpo] ", src, ": model n_vocab ",
             cfg.n_vocab, " is smaller than the byte tokenizer's ", ByteTokenizer::n_vocab());
    Model policy(cfg);
    AdamW opt(policy.params(), o.adamw);
    std::unique_ptr<Model> ref;  // frozen reference (beta > 0 only), the same on every rank
    int64_t step = 0;
    uint64_t cursor = 0;         // next train problem index (global: rank-count independent)
    if (o.resume) {
        const nlohmann::json& have = ck.meta.train_options;
        R1_CHECK(have.value("kind", "") == "grpo", "[grpo] --resume: ", ckpt_path,
                 " is not a GRPO checkpoint (written by r1 train?)");
        const nlohmann::json want = o;
        for (const char* k : {"task", "difficulty", "seed", "prompts", "group", "beta"})
            if (have.contains(k) && have[k] != want[k])
                fail("[grpo] --resume: ", k, " is ", have[k].dump(), " in ", ckpt_path, ", ",
                     want[k].dump(), " requested (resuming needs the same problem stream)");
        apply_checkpoint(ck, policy.params(), &opt);
        step = ck.meta.step;
        cursor = ck.meta.extra.value("task_cursor", (uint64_t)0);
        R1_CHECK(step <= o.steps, "[grpo] --resume: the checkpoint is at step ", step,
                 ", beyond --steps ", o.steps);
    } else {
        apply_checkpoint(ck, policy.params(), nullptr);
    }
    dp.broadcast_params(policy.params(), &opt);  // every rank starts from rank 0's state
    if (o.loss.beta > 0) {
        ref = std::make_unique<Model>(cfg);
        if (o.resume) {
            const std::string rf = ck.meta.extra.value("ref", std::string());
            R1_CHECK(!rf.empty(), "[grpo] --resume: ", ckpt_path, " has no reference weights");
            const std::string rp = (fs::path(o.out_dir) / rf).string();
            apply_checkpoint(read_checkpoint(rp, &cfg), ref->params(), nullptr);
            dp.broadcast_params(ref->params());
        } else {
            copy_weights(*ref, policy);
        }
    }
    const std::shared_ptr<const Task> task =
        o.task_object ? o.task_object : std::shared_ptr<const Task>(make_task(o.task));

    // metrics.jsonl (rank 0 only) keeps the lines up to the checkpoint's step on resume
    std::ofstream metrics;
    if (root) {
        std::vector<std::string> keep;
        if (o.resume) {
            std::ifstream in(metrics_path);
            std::string line;
            while (std::getline(in, line)) {
                nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
                if (j.is_object() && j.value("step", (int64_t)-1) <= step) keep.push_back(line);
            }
        }
        {
            std::ofstream out(metrics_path, std::ios::trunc);
            R1_CHECK(out.good(), "[grpo] ", metrics_path, ": cannot open for writing");
            for (auto& l : keep) out << l << "\n";
        }
        metrics.open(metrics_path, std::ios::app);
    }
    auto write_line = [&](const nlohmann::json& line) {
        if (!root) return;
        metrics << line.dump() << "\n";
        metrics.flush();
    };

    int64_t ref_step = step;  // step at which the reference weights were taken
    if (o.resume && ref) ref_step = ck.meta.extra.value("ref_step", step);
    std::string last_ckpt = o.resume ? ckpt_path : "";
    auto save = [&](int64_t at) {
        last_ckpt = ckpt_path;
        if (!root) return;  // rank 0 writes; the state is the same on every rank
        CheckpointMeta meta;
        meta.config = cfg;
        meta.step = at;
        meta.train_options = o;
        meta.extra = {{"task_cursor", cursor}, {"world_size", R}};
        std::string ref_name;
        if (ref) {
            // the reference goes first, under a step-unique name; ckpt.r1 then points at it,
            // so a crash between the two leaves the previous pair intact
            ref_name = "ref-" + std::to_string(at) + ".r1";
            CheckpointMeta rm;
            rm.config = cfg;
            rm.step = ref_step;
            save_checkpoint((fs::path(o.out_dir) / ref_name).string(), rm, ref->params(), nullptr);
            meta.extra["ref"] = ref_name;
            meta.extra["ref_step"] = ref_step;
        }
        save_checkpoint(ckpt_path, meta, policy.params(), &opt);
        for (const auto& e : fs::directory_iterator(o.out_dir)) {  // older references
            const std::string n = e.path().filename().string();
            if (n.rfind("ref-", 0) == 0 && n.size() > 3 && n.compare(n.size() - 3, 3, ".r1") == 0 &&
                n != ref_name)
                fs::remove(e.path());
        }
    };

    // Greedy eval: every rank runs the same (deterministic) eval, so none waits in a
    // collective meanwhile; rank 0's number is broadcast so all agree bit for bit.
    auto run_eval = [&]() {
        EvalOptions eo;
        eo.n = o.eval_n;
        eo.seed = o.seed;
        eo.max_tokens = o.max_tokens;
        eo.batch = std::max<int64_t>(16, o.prompts * o.group);
        const InferenceModel im = InferenceModel::from_params(cfg, policy.params());
        double acc = evaluate(im, TextCodec::byte(), *task, eo).accuracy;
        if (R > 1) dp.comm().broadcast(&acc, sizeof acc, 0);
        return acc;
    };

    GrpoResult res;
    res.start_step = step;
    StopSignals signals(o.handle_signals);
    const auto t0 = std::chrono::steady_clock::now();
    if (o.eval_every > 0 && !o.resume) {  // the base model's accuracy, as step 0
        res.first_eval = run_eval();
        nlohmann::json line = {{"step", 0}, {"eval_accuracy", res.first_eval}, {"elapsed", 0.0}};
        if (R > 1) line["ranks"] = R;
        write_line(line);
    }
    Progress bar("grpo", o.steps, "step", o.progress && root);
    bar.set_start(step);
    int64_t saved_at = o.resume ? step : -1;
    const bool sel_bias = cfg.n_expert > 0 && cfg.expert_sel_bias;
    const int64_t G = o.group;

    while (step < o.steps) {
        const int64_t this_step = step + 1;
        if (ref && o.ref_reset > 0 && step > 0 && step % o.ref_reset == 0 && ref_step != step) {
            copy_weights(*ref, policy);
            ref_step = step;
        }
        const float lr = (float)((double)o.lr * std::min(1.0, (double)(step + 1) / (double)(o.warmup + 1)));
        GrpoMetrics m;
        m.step = this_step;
        m.lr = lr;

        // 1-4. rollouts, rewards, advantages, dynamic sampling. Each round's problems are
        // split over the ranks in contiguous slices of whole groups; the counts that decide
        // the next round are global.
        std::vector<Group> groups;  // this rank's, in problem-index order
        RolloutStats rs;
        const uint64_t cursor0 = cursor;
        auto sample = [&](int64_t n) {
            const auto [lo, hi] = rank_slice(n, dp.rank(), R);
            if (hi > lo) rollout(policy, *task, o, cursor + (uint64_t)lo, hi - lo, groups, rs);
            cursor += (uint64_t)n;
        };
        sample(o.prompts);
        if (o.dynamic_sampling)
            for (int64_t round = 0; round < o.dynamic_rounds; round++) {
                double live = (double)std::count_if(groups.begin(), groups.end(),
                                                    [](const Group& g) { return !g.zero_var; });
                dp.sum(&live, 1);
                if ((int64_t)live >= o.prompts) break;
                sample(o.prompts - (int64_t)live);
            }
        const int64_t n_groups = (int64_t)(cursor - cursor0);
        const std::vector<TableGroup> table = step_table(groups, cursor0, n_groups, G, dp);

        // metrics over every rollout of the step (the global table, in problem order)
        double rsum = 0, rsq = 0;
        int64_t n_all = 0, n_zero = 0;
        for (const TableGroup& g : table) {
            n_zero += g.zero_var;
            for (const TableSample& s : g.s) {
                n_all++;
                rsum += s.r, rsq += s.r * s.r;
                m.accuracy += s.correct;
                m.format_rate += s.formatted;
                m.reflection_rate += s.reflection;
                m.truncated_frac += s.truncated;
                m.response_len_mean += s.len;
                m.response_len_max = std::max(m.response_len_max, s.len);
            }
        }
        m.rollouts = n_all;
        m.reward_mean = rsum / (double)n_all;
        m.reward_std = std::sqrt(std::max(0.0, rsq / (double)n_all - m.reward_mean * m.reward_mean));
        m.accuracy /= (double)n_all, m.format_rate /= (double)n_all;
        m.reflection_rate /= (double)n_all, m.truncated_frac /= (double)n_all;
        m.response_len_mean /= (double)n_all;
        m.zero_var_frac = (double)n_zero / (double)n_groups;
        {
            // throughput of the whole job: tokens of every rank over the slowest rank's time
            double gen = (double)rs.generated;
            dp.sum(&gen, 1);
            const double secs = R > 1 ? dist::max_over_ranks(dp.comm(), rs.seconds) : rs.seconds;
            m.rollout_tok_s = secs > 0 ? gen / secs : 0;
        }

        // 5-6. sequences to train on: every group, or (dynamic sampling) the informative
        // ones, at most P groups — chosen on the global table, so every rank agrees. Global
        // sequence q is sample q % G of the (q / G)-th trained group.
        const auto tt = std::chrono::steady_clock::now();
        std::vector<int64_t> trained;  // positions in the step's groups
        for (int64_t gi = 0; gi < n_groups; gi++) {
            if (o.dynamic_sampling && table[(size_t)gi].zero_var) continue;
            if (o.dynamic_sampling && m.groups_trained >= o.prompts) break;
            m.groups_trained++;
            trained.push_back(gi);
        }
        std::vector<const Group*> mine((size_t)n_groups, nullptr);
        for (const Group& g : groups) mine[(size_t)(g.index - cursor0)] = &g;
        const int64_t n_seqs = (int64_t)trained.size() * G;
        const int64_t n_mb = std::min<int64_t>(o.mini_batches, std::max<int64_t>(n_seqs, 1));
        std::vector<PolicyBatch> mbs;  // this rank's part of each global mini-batch (may be empty)
        for (int64_t b = 0; b < n_mb && n_seqs > 0; b++) {
            const int64_t lo = n_seqs * b / n_mb, hi = n_seqs * (b + 1) / n_mb;
            AggNorm norm;  // of the whole mini-batch, from the global table
            std::vector<PackSeq> local;
            for (int64_t q = lo; q < hi; q++) {
                const int64_t gi = trained[(size_t)(q / G)], k = q % G;
                const TableSample& ts = table[(size_t)gi].s[(size_t)k];
                const bool masked = o.overlong == Overlong::filter && ts.truncated > 0.5;
                if (!masked) norm.n_seqs++, norm.n_tokens += (int64_t)ts.len;
                if (const Group* g = mine[(size_t)gi])
                    local.push_back({&g->prompt, &g->samples[(size_t)k].completion,
                                     g->samples[(size_t)k].adv, masked});
            }
            if (norm.n_tokens == 0) continue;  // no target anywhere: skipped by every rank
            mbs.push_back(pack_policy_batch(local, norm, o.loss_agg, o.max_tokens));
        }
        int64_t train_tokens = 0;
        // old log-probs at the rollout weights: the first mini-batch's come from its own first
        // update (on-policy, ratio 1, see PolicyBatch::old_logp); the others need a forward
        // before any update. Reference log-probs likewise, once per step.
        for (size_t b = 0; b < mbs.size(); b++) {
            PolicyBatch& pb = mbs[b];
            const int64_t N = pb.B * pb.T;
            if (N == 0) continue;
            if (b > 0) {
                pb.old_logp.assign((size_t)N, 0.0f);
                policy.forward_head(pb.tokens.data(), pb.B, pb.T, logprob_head(pb.targets, pb.old_logp.data()));
                train_tokens += N;
            }
            if (ref) {
                pb.ref_logp.assign((size_t)N, 0.0f);
                ref->forward_head(pb.tokens.data(), pb.B, pb.T, logprob_head(pb.targets, pb.ref_logp.data()));
                train_tokens += N;
            }
        }
        PolicyStats acc;
        double gsum = 0, lsum = 0;
        int64_t n_updates = 0;
        for (int64_t e = 0; e < o.inner_epochs; e++)
            for (size_t b = 0; b < mbs.size(); b++) {
                PolicyBatch& pb = mbs[b];
                const int64_t N = pb.B * pb.T;
                PolicyStats st;
                if (N > 0) {
                    std::vector<float> captured;
                    const bool capture = pb.old_logp.empty();
                    if (capture) captured.assign((size_t)N, 0.0f);
                    st = compute_gradients(policy, pb, o.loss, capture ? captured.data() : nullptr);
                    if (capture) pb.old_logp = std::move(captured);  // later epochs: fixed old policy
                    train_tokens += N;
                } else {
                    policy.params().zero_grad();  // no rows here: contributes nothing
                }
                // Data parallel: the loss and statistics are sums over ranks (each rank's loss
                // already carries the global weights), then the gradients likewise.
                double red[5] = {st.loss, st.kl_sum, st.entropy_sum, (double)st.n_tokens,
                                 (double)st.n_clipped};
                dp.sum(red, 5);
                if (!std::isfinite(red[0]))
                    fail("[grpo] step ", this_step, ": loss is not finite; ",
                         last_ckpt.empty() ? "no checkpoint was written yet" : "last good checkpoint kept at " + last_ckpt);
                dp.allreduce_grads(policy.params());
                ExpertLoad load;
                const ExpertLoad* loadp = nullptr;
                if (R > 1 && sel_bias) {
                    load = dp.sum_expert_load(N > 0 ? policy.expert_load() : zero_expert_load(cfg));
                    loadp = &load;
                }
                gsum += optimizer_step(policy, opt, lr, o.clip, this_step, loadp);
                lsum += red[0];
                n_updates++;
                acc.kl_sum += red[1], acc.entropy_sum += red[2];
                acc.n_tokens += (int64_t)red[3], acc.n_clipped += (int64_t)red[4];
            }
        if (o.check_sync) dp.check_sync(policy.params(), &opt, this_step);
        const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - tt).count();
        if (acc.n_tokens > 0) {
            m.kl = acc.kl_sum / (double)acc.n_tokens;
            m.entropy = acc.entropy_sum / (double)acc.n_tokens;
            m.clip_frac = (double)acc.n_clipped / (double)acc.n_tokens;
        }
        if (n_updates > 0) m.grad_norm = gsum / (double)n_updates, m.loss = lsum / (double)n_updates;
        {
            double tok = (double)train_tokens;
            dp.sum(&tok, 1);
            const double secs = R > 1 ? dist::max_over_ranks(dp.comm(), train_s) : train_s;
            m.train_tok_s = secs > 0 ? tok / secs : 0;
        }
        step = this_step;

        // 7. metrics, eval, checkpoint
        const bool last = step == o.steps;
        if (o.eval_every > 0 && (step % o.eval_every == 0 || last)) {
            m.eval_accuracy = run_eval();
            res.final_eval = m.eval_accuracy;
        }
        m.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        nlohmann::json line = {
            {"step", m.step},
            {"reward_mean", m.reward_mean},
            {"reward_std", m.reward_std},
            {"accuracy", m.accuracy},
            {"format_rate", m.format_rate},
            {"response_len_mean", m.response_len_mean},
            {"response_len_max", m.response_len_max},
            {"zero_var_frac", m.zero_var_frac},
            {"kl", m.kl},
            {"clip_frac", m.clip_frac},
            {"entropy", m.entropy},
            {"reflection_rate", m.reflection_rate},
            {"truncated_frac", m.truncated_frac},
            {"rollout_tok_s", m.rollout_tok_s},
            {"train_tok_s", m.train_tok_s},
            {"lr", m.lr},
            {"grad_norm", m.grad_norm},
            {"loss", m.loss},
            {"groups_trained", m.groups_trained},
            {"rollouts", m.rollouts},
            {"elapsed", m.elapsed}};
        if (m.eval_accuracy >= 0) line["eval_accuracy"] = m.eval_accuracy;
        if (R > 1) line["ranks"] = R;
        write_line(line);
        if (step == res.start_step + 1) res.first_reward = m.reward_mean;
        res.final_reward = m.reward_mean;
        if (o.ckpt_every > 0 && step % o.ckpt_every == 0) {
            save(step);
            saved_at = step;
        }
        if (on_step) on_step(m);
        char buf[256];
        std::snprintf(buf, sizeof buf, "reward %.3f acc %.2f len %.0f", m.reward_mean, m.accuracy,
                      m.response_len_mean);
        if (root && o.log_every > 0 && (step % o.log_every == 0 || last)) {
            bar.clear();
            std::printf("step %lld/%lld | %s | fmt %.2f | zero-var %.2f | kl %.4f | clip %.3f | ent %.3f | "
                        "%.0f rollout tok/s%s\n",
                        (long long)step, (long long)o.steps, buf, m.format_rate, m.zero_var_frac,
                        m.kl, m.clip_frac, m.entropy, m.rollout_tok_s,
                        m.eval_accuracy >= 0 ? (" | eval " + std::to_string(m.eval_accuracy)).c_str() : "");
            std::fflush(stdout);
        }
        bar.update(step, buf);
        // a signal on any rank stops every rank after this same step
        if (dp.any(StopSignals::pending() != 0)) {
            res.interrupted = true;
            break;
        }
    }
    if (saved_at != step) save(step);
    bar.finish();
    res.end_step = step;
    res.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.checkpoint = last_ckpt;
    return res;
}

}  // namespace r1::rl
