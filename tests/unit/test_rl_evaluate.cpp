// rl::evaluate on a tiny random model with the byte tokenizer: rows and metrics agree with
// re-scoring the completions, greedy results do not depend on the batch size, pass@k
// sampling is seeded, finite tasks clamp n, bad options throw.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/error.h"
#include "generate/model_loader.h"
#include "model/model.h"
#include "rl/evaluate.h"
#include "rl/tasks.h"
#include "tokenizer/byte_tokenizer.h"

namespace {
using namespace r1::rl;

r1::ModelConfig tiny_cfg() {
    r1::ModelConfig c = r1::ModelConfig::preset("tiny-moe");
    c.n_vocab = r1::ByteTokenizer::n_vocab();
    c.n_embd = 32, c.n_layer = 2, c.n_ctx = 256, c.n_head = 4, c.n_head_kv = 4, c.head_dim = 8;
    c.n_ff = 48, c.n_expert = 4, c.n_expert_used = 2, c.n_ff_exp = 16, c.n_expert_shared = 1;
    c.n_layer_dense_lead = 1;
    c.validate();
    return c;
}

struct Fixture {
    r1::ModelConfig cfg = tiny_cfg();
    r1::Model model{cfg};
    std::unique_ptr<r1::InferenceModel> im;
    r1::TextCodec codec = r1::TextCodec::byte();
    Fixture() {
        model.init_weights(7);
        im = std::make_unique<r1::InferenceModel>(r1::InferenceModel::from_params(cfg, model.params()));
    }
};

TEST(RlEvaluate, RowsAndMetrics) {
    Fixture f;
    auto task = make_task({"arithmetic", 1, {}});
    EvalOptions o;
    o.n = 5;
    o.max_tokens = 10;
    o.batch = 5;
    o.seed = 2;
    int64_t calls = 0;
    o.on_progress = [&](int64_t done, int64_t total) {
        calls++;
        EXPECT_EQ(total, 5);
        EXPECT_EQ(done, calls);
    };
    const EvalResult r = evaluate(*f.im, f.codec, *task, o);
    EXPECT_EQ(calls, 5);
    ASSERT_EQ(r.rows.size(), 5u);
    int64_t correct = 0, formatted = 0, len = 0;
    for (size_t i = 0; i < r.rows.size(); i++) {
        const EvalRow& row = r.rows[i];
        EXPECT_EQ(row.problem.prompt, task->problem(Split::eval, 2, i).prompt);
        ASSERT_EQ(row.samples.size(), 1u);
        const EvalSample& s = row.samples[0];
        EXPECT_GE(s.length, 1);
        EXPECT_LE(s.length, 10);
        EXPECT_TRUE(s.finish_reason == "stop" || s.finish_reason == "length");
        const Reward again = task->score(row.problem, s.completion);
        EXPECT_EQ(again.correct, s.reward.correct);
        EXPECT_EQ(again.extracted, s.reward.extracted);
        correct += s.reward.correct;
        formatted += s.reward.formatted;
        len += s.length;
    }
    EXPECT_DOUBLE_EQ(r.accuracy, correct / 5.0);
    EXPECT_DOUBLE_EQ(r.pass_at_k, r.accuracy);
    EXPECT_DOUBLE_EQ(r.format_rate, formatted / 5.0);
    EXPECT_DOUBLE_EQ(r.mean_length, len / 5.0);
    EXPECT_EQ(r.generated_tokens, len);

    // greedy decoding: the same completions with one slot as with five
    EvalOptions o1 = o;
    o1.batch = 1;
    o1.on_progress = nullptr;
    const EvalResult r1b = evaluate(*f.im, f.codec, *task, o1);
    for (size_t i = 0; i < r.rows.size(); i++)
        EXPECT_EQ(r1b.rows[i].samples[0].completion, r.rows[i].samples[0].completion) << i;
}

TEST(RlEvaluate, PassAtKSeededAndClamped) {
    Fixture f;
    auto task = make_task({"countdown", 1, {}});
    EvalOptions o;
    o.n = 3;
    o.max_tokens = 6;
    o.samples = 3;
    o.temperature = 1.0f;
    o.top_p = 1.0f;
    const EvalResult a = evaluate(*f.im, f.codec, *task, o), b = evaluate(*f.im, f.codec, *task, o);
    ASSERT_EQ(a.rows.size(), 3u);
    EXPECT_EQ(a.samples, 3);
    bool differ = false;
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ(a.rows[i].samples.size(), 3u);
        for (size_t j = 0; j < 3; j++) EXPECT_EQ(a.rows[i].samples[j].completion, b.rows[i].samples[j].completion);
        differ |= a.rows[i].samples[0].completion != a.rows[i].samples[1].completion;
    }
    EXPECT_TRUE(differ) << "samples of one problem should differ at temperature 1";
    EXPECT_GE(a.pass_at_k, a.accuracy);

    // a finite task clamps n to its eval rows
    const char* base = std::getenv("R1_TEST_TMP");
    const std::string path = std::string(base && *base ? base : "/tmp") + "/rl_eval_" + std::to_string(::getpid()) + ".jsonl";
    std::ofstream(path) << "{\"prompt\": \"1+1?\", \"answer\": 2}\n{\"prompt\": \"2+2?\", \"answer\": 4}\n";
    auto jt = make_task({"jsonl:" + path, 1, {}});
    EvalOptions oj;
    oj.n = 50;
    oj.max_tokens = 4;
    EXPECT_EQ(evaluate(*f.im, f.codec, *jt, oj).n, 2);
    std::filesystem::remove(path);

    EvalOptions bad = o;
    bad.samples = 0;
    EXPECT_THROW(evaluate(*f.im, f.codec, *task, bad), r1::Error);
    bad = o;
    bad.temperature = 0;
    EXPECT_THROW(evaluate(*f.im, f.codec, *task, bad), r1::Error);
}

}  // namespace
