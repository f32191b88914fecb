// GRPO trainer end to end on a tiny model and a toy task defined here (the real tasks are
// src/rl/tasks.*): reward rises within a few steps, two runs with one seed are identical, a
// run interrupted by its step budget and resumed equals an uninterrupted one (weights, AdamW
// state, reference weights, task cursor, metrics), and bad options are refused by name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "model/config.h"
#include "model/model.h"
#include "rl/grpo.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using namespace r1::rl;

std::string grpo_tmp(const std::string& name) {
    const char* base = std::getenv("R1_TEST_TMP");
    fs::path p = fs::path(base ? base : fs::temp_directory_path().string()) / ("grpo_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// Toy task: reward = share of completion bytes that are lowercase ASCII letters (a random
// policy scores ~26/265 ≈ 0.1); "correct" when at least half are. Rewards vary within every
// group, so each one carries signal.
class LetterTask : public Task {
public:
    std::string name() const override { return "letters"; }
    TaskProblem problem(Split split, uint64_t seed, uint64_t index) const override {
        TaskProblem p;
        p.question = std::string(1, (char)('0' + (index + seed + (split == Split::eval ? 5 : 0)) % 10));
        p.prompt = r1::ByteTokenizer::special_text(r1::ByteTokenizer::kBos) + p.question;
        p.gold = "letters";
        return p;
    }
    Reward score(const TaskProblem&, std::string_view c) const override {
        Reward r;
        if (c.empty()) return r;
        int64_t n = 0;
        for (char ch : c) n += ch >= 'a' && ch <= 'z';
        r.total = (double)n / (double)c.size();
        r.correct = 2 * n >= (int64_t)c.size();
        r.formatted = true;
        r.reflection = c.find("re") != std::string_view::npos;
        r.extracted = std::string(c);
        return r;
    }
};

r1::ModelConfig toy_config() {
    r1::ModelConfig c = r1::ModelConfig::preset("tiny-dense");
    c.n_embd = 32, c.n_layer = 1, c.n_head = 2, c.n_head_kv = 1, c.head_dim = 16, c.n_ff = 64;
    c.n_ctx = 32;
    c.validate();
    return c;
}

std::string make_base(const std::string& dir) {
    r1::Model m(toy_config());
    m.init_weights(7);
    r1::CheckpointMeta meta;
    meta.config = m.config();
    const std::string path = dir + "/base.r1";
    r1::save_checkpoint(path, meta, m.params(), nullptr);
    return path;
}

GrpoOptions toy_options(const std::string& base, const std::string& out) {
    GrpoOptions o;
    o.init = base;
    o.out_dir = out;
    o.task_object = std::make_shared<LetterTask>();
    o.prompts = 4, o.group = 6, o.max_tokens = 8;
    o.lr = 1e-2f;
    o.progress = false, o.handle_signals = false, o.log_every = 0;
    o.seed = 3;
    return o;
}

std::vector<nlohmann::json> read_metrics(const std::string& dir) {
    std::vector<nlohmann::json> v;
    std::ifstream f(dir + "/metrics.jsonl");
    std::string line;
    while (std::getline(f, line)) v.push_back(nlohmann::json::parse(line));
    return v;
}

// metrics without wall-clock fields
nlohmann::json stable(nlohmann::json j) {
    for (const char* k : {"elapsed", "rollout_tok_s", "train_tok_s"}) j.erase(k);
    return j;
}

// One thread: on a loaded 2-core machine OpenMP barriers cost more than these tiny models'
// work (the thread count is part of the determinism contract either way).
struct OneThread {
    int saved = r1::num_threads();
    OneThread() { r1::set_num_threads(1); }
    ~OneThread() { r1::set_num_threads(saved); }
};

}  // namespace

TEST(RlGrpo, ToyTaskRewardImproves) {
    OneThread one;
    const std::string dir = grpo_tmp("improve");
    GrpoOptions o = toy_options(make_base(dir), dir + "/run");
    o.steps = 10;
    o.lr = 0.1f, o.max_tokens = 6;
    std::vector<GrpoMetrics> ms;
    const GrpoResult r = grpo_train(o, [&](const GrpoMetrics& m) { ms.push_back(m); });
    ASSERT_EQ(ms.size(), 10u);
    EXPECT_EQ(r.end_step, 10);
    const double first = (ms[0].reward_mean + ms[1].reward_mean + ms[2].reward_mean) / 3;
    const double last = (ms[7].reward_mean + ms[8].reward_mean + ms[9].reward_mean) / 3;
    EXPECT_GT(last, first + 0.3) << "reward " << first << " -> " << last;  // seen: 0.20 -> 0.89
    for (const auto& m : ms) {
        EXPECT_EQ(m.rollouts, 24);
        EXPECT_EQ(m.clip_frac, 0.0);  // one on-policy update per rollout batch: ratio == 1
        EXPECT_GT(m.entropy, 0.0);
        EXPECT_LE(m.response_len_max, 6.0);
        EXPECT_TRUE(std::isfinite(m.grad_norm) && m.grad_norm > 0);
    }
    const auto lines = read_metrics(o.out_dir);
    ASSERT_EQ(lines.size(), 10u);
    for (const char* k : {"step", "reward_mean", "reward_std", "accuracy", "format_rate",
                          "response_len_mean", "response_len_max", "zero_var_frac", "kl",
                          "clip_frac", "entropy", "reflection_rate", "rollout_tok_s",
                          "train_tok_s", "lr", "grad_norm", "elapsed"})
        EXPECT_TRUE(lines.back().contains(k)) << k;
    EXPECT_TRUE(fs::exists(o.out_dir + "/ckpt.r1"));
}

TEST(RlGrpo, DeterministicAndExactResume) {
    // every optional path at once: KL reference with a reset, two mini-batches x two epochs
    // (clipping active), dynamic sampling, soft overlong penalty, token-level loss, RLOO
    OneThread one;
    const std::string dir = grpo_tmp("resume");
    const std::string base = make_base(dir);
    auto opts = [&](const std::string& out, int64_t steps) {
        GrpoOptions o = toy_options(base, dir + "/" + out);
        o.steps = steps;
        o.loss.beta = 0.05f, o.ref_reset = 2;
        o.mini_batches = 2, o.inner_epochs = 2;
        o.dynamic_sampling = true;
        o.overlong = Overlong::soft;
        o.loss_agg = LossAgg::token;
        o.advantage = AdvantageKind::rloo;
        return o;
    };
    grpo_train(opts("a", 4));
    grpo_train(opts("b", 3));  // stops at step 3 (checkpoint at the end) ...
    GrpoOptions rb = opts("b", 4);
    rb.resume = true;
    const GrpoResult r = grpo_train(rb);  // ... and continues to 4
    EXPECT_EQ(r.start_step, 3);
    EXPECT_EQ(r.end_step, 4);

    const auto ma = read_metrics(dir + "/a"), mb = read_metrics(dir + "/b");
    ASSERT_EQ(ma.size(), 4u);
    ASSERT_EQ(mb.size(), 4u);
    bool clipped = false, kl = false;
    for (size_t i = 0; i < ma.size(); i++) {
        EXPECT_EQ(stable(ma[i]).dump(), stable(mb[i]).dump()) << "step " << i + 1;
        clipped |= ma[i]["clip_frac"].get<double>() > 0;
        kl |= ma[i]["kl"].get<double>() > 0;
    }
    EXPECT_TRUE(clipped);
    EXPECT_TRUE(kl);
    const r1::Checkpoint ca = r1::read_checkpoint(dir + "/a/ckpt.r1");
    const r1::Checkpoint cb = r1::read_checkpoint(dir + "/b/ckpt.r1");
    r1::Model pa(ca.meta.config), pb(cb.meta.config);
    r1::AdamW oa(pa.params(), {}), ob(pb.params(), {});
    r1::apply_checkpoint(ca, pa.params(), &oa);
    r1::apply_checkpoint(cb, pb.params(), &ob);
    const size_t n = pa.params().data().size();
    EXPECT_EQ(0, std::memcmp(pa.params().data().data(), pb.params().data().data(), n * 4));
    EXPECT_EQ(0, std::memcmp(oa.m().data(), ob.m().data(), n * 4));
    EXPECT_EQ(0, std::memcmp(oa.v().data(), ob.v().data(), n * 4));
    EXPECT_EQ(ca.meta.extra["task_cursor"], cb.meta.extra["task_cursor"]);
    EXPECT_EQ(ca.meta.extra["ref_step"], cb.meta.extra["ref_step"]);
    // exactly one reference file, the one ckpt.r1 names
    const std::string ref = ca.meta.extra["ref"].get<std::string>();
    EXPECT_TRUE(fs::exists(dir + "/a/" + ref));
    int n_ref = 0;
    for (const auto& e : fs::directory_iterator(dir + "/b"))
        n_ref += e.path().filename().string().rfind("ref-", 0) == 0;
    EXPECT_EQ(n_ref, 1);
}

TEST(RlGrpo, RejectsBadOptions) {
    OneThread one;
    const std::string dir = grpo_tmp("bad");
    const std::string base = make_base(dir);
    auto err = [&](const std::function<void(GrpoOptions&)>& edit) {
        GrpoOptions o = toy_options(base, dir + "/run");
        o.steps = 1;
        edit(o);
        try {
            grpo_train(o);
        } catch (const r1::Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(err([](GrpoOptions& o) { o.group = 1; }).find("--group"), std::string::npos);
    EXPECT_NE(err([](GrpoOptions& o) { o.loss.eps_low = 1.5f; }).find("--eps-low"), std::string::npos);
    EXPECT_NE(err([](GrpoOptions& o) { o.temperature = 0; }).find("--temperature"), std::string::npos);
    EXPECT_NE(err([](GrpoOptions& o) { o.init = "/nonexistent/ckpt.r1"; }).find("/nonexistent/ckpt.r1"),
              std::string::npos);
    EXPECT_NE(err([](GrpoOptions& o) { o.resume = true; }).find("--resume"), std::string::npos);
    EXPECT_THROW(parse_overlong("cut"), r1::Error);
}
