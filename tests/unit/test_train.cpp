// Training infrastructure: AdamW, schedules, gradient clipping / NaN scan, checkpoints,
// byte tokenizer, synthetic corpus, data loader, and a tiny end-to-end trainer run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "model/config.h"
#include "model/params.h"
#include "testing.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/grad.h"
#include "train/schedule.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace r1;

namespace {

std::string tmp_dir(const std::string& name) {
    const char* base = std::getenv("R1_TEST_TMP");
    fs::path p = fs::path(base ? base : fs::temp_directory_path().string()) / ("train_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// Expects `fn` to throw r1::Error whose message contains `needle`.
template <typename F>
void expect_error(F&& fn, const std::string& needle) {
    try {
        fn();
        ADD_FAILURE() << "expected an r1::Error containing: " << needle;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << needle;
    }
}

// A small hand-built ParamSet: a decayed matrix, a non-decayed vector, a frozen vector.
ParamSet small_params() {
    ParamSet ps;
    ps.add("w", {3, 4}, true);
    ps.add("b", {5}, false);
    ps.add("frozen", {2}, false, /*trainable=*/false);
    ps.allocate();
    auto x = r1::testing::randn((size_t)ps.size(), 1);
    auto g = r1::testing::randn((size_t)ps.size(), 2);
    for (int64_t i = 0; i < ps.size(); i++) ps.data()[i] = x[i], ps.grad()[i] = g[i];
    return ps;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}
void spit(const std::string& path, const std::string& s) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << s;
}

}  // namespace

// ---- AdamW ----------------------------------------------------------------------------------

TEST(TrainAdamW, MatchesHandComputedSteps) {
    ParamSet ps = small_params();
    AdamWConfig cfg{0.9f, 0.95f, 1e-8f, 0.1f};
    AdamW opt(ps, cfg);
    const size_t n = (size_t)ps.size();
    std::vector<double> p(ps.data().begin(), ps.data().end()), m(n, 0), v(n, 0);
    const float lrs[3] = {1e-2f, 5e-3f, 2e-3f};
    for (int t = 1; t <= 3; t++) {
        // new gradients each step
        auto g = r1::testing::randn(n, 10 + t);
        for (size_t i = 0; i < n; i++) ps.grad()[i] = g[i];
        opt.step(ps, lrs[t - 1]);
        const double lr = lrs[t - 1];
        for (size_t i = 0; i < n; i++) {
            if (i >= 17) continue;  // frozen tensor
            const bool decay = i < 12;
            if (decay) p[i] *= 1 - lr * 0.1;
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.95 * v[i] + 0.05 * (double)g[i] * g[i];
            const double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.95, t));
            p[i] -= lr * mh / (std::sqrt(vh) + 1e-8);
        }
    }
    EXPECT_EQ(opt.t(), 3);
    for (size_t i = 0; i < n; i++)
        EXPECT_NEAR(ps.data()[i], p[i], 2e-6 * (1 + std::fabs(p[i]))) << "element " << i;
    // the frozen tensor is untouched, its moments stay zero
    auto x0 = r1::testing::randn(n, 1);
    EXPECT_EQ(ps.data()[17], x0[17]);
    EXPECT_EQ(ps.data()[18], x0[18]);
    EXPECT_EQ(opt.m()[17], 0.0f);
}

TEST(TrainAdamW, FirstStepMovesEachWeightByLr) {
    // With bias correction, step 1 moves every weight by lr·sign(g) (|g| >> eps), plus decay.
    ParamSet ps = small_params();
    AdamW opt(ps, {0.9f, 0.999f, 1e-8f, 0.0f});
    std::vector<float> before(ps.data().begin(), ps.data().end());
    opt.step(ps, 0.01f);
    for (int64_t i = 0; i < 17; i++) {
        const float g = ps.grad()[i];
        EXPECT_NEAR(ps.data()[i] - before[i], g > 0 ? -0.01f : 0.01f, 1e-6f) << i;
    }
}

// ---- schedule -------------------------------------------------------------------------------

TEST(TrainSchedule, CosineWarmupValues) {
    LrSchedule s{LrKind::cosine, 1e-3f, 1e-4f, 10, 110};
    EXPECT_FLOAT_EQ(s.at(0), 1e-3f * 1 / 11);
    EXPECT_FLOAT_EQ(s.at(9), 1e-3f * 10 / 11);
    EXPECT_FLOAT_EQ(s.at(10), 1e-3f);
    EXPECT_FLOAT_EQ(s.at(60), 0.5f * (1e-3f + 1e-4f));
    EXPECT_FLOAT_EQ(s.at(110), 1e-4f);
    EXPECT_FLOAT_EQ(s.at(500), 1e-4f);
    for (int i = 11; i < 110; i++) EXPECT_LE(s.at(i), s.at(i - 1));
    LrSchedule c{LrKind::constant, 3e-4f, 0, 0, 100};
    EXPECT_FLOAT_EQ(c.at(0), 3e-4f);
    EXPECT_FLOAT_EQ(c.at(99), 3e-4f);
    expect_error([] { LrSchedule{LrKind::cosine, 1e-3f, 1e-2f, 0, 10}.validate(); }, "min_lr");
    expect_error([] { parse_lr_kind("linear"); }, "unknown lr schedule 'linear'");
}

// ---- gradients ------------------------------------------------------------------------------

TEST(TrainGrad, NormAndClip) {
    ParamSet ps = small_params();
    ps.zero_grad();
    ps.grad()[0] = 3;
    ps.grad()[13] = 4;
    EXPECT_DOUBLE_EQ(grad_norm(ps), 5.0);
    EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 10.0), 5.0);  // below: untouched
    EXPECT_EQ(ps.grad()[0], 3.0f);
    EXPECT_DOUBLE_EQ(clip_grad_norm(ps, 1.0), 5.0);
    EXPECT_NEAR(ps.grad()[0], 0.6f, 1e-6f);
    EXPECT_NEAR(ps.grad()[13], 0.8f, 1e-6f);
    EXPECT_NEAR(grad_norm(ps), 1.0, 1e-6);
}

TEST(TrainGrad, NormIndependentOfThreadCount) {
    const int saved = num_threads();
    auto x = r1::testing::randn(100003, 7);
    set_num_threads(1);
    const double a = l2_norm(x.data(), (int64_t)x.size());
    set_num_threads(2);
    const double b = l2_norm(x.data(), (int64_t)x.size());
    set_num_threads(saved);
    EXPECT_EQ(a, b);
    double ref = 0;
    for (float v : x) ref += (double)v * v;
    EXPECT_NEAR(a, std::sqrt(ref), 1e-9 * std::sqrt(ref));
}

TEST(TrainGrad, NonFiniteNamesTheTensor) {
    ParamSet ps = small_params();
    EXPECT_FALSE(find_nonfinite_grad(ps));
    ps.grad()[14] = NAN;
    NonFinite bad = find_nonfinite_grad(ps);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad.name, "b");
    EXPECT_STREQ(bad.what, "NaN");
    EXPECT_EQ(bad.index, 2);
    ps.grad()[5] = -INFINITY;
    bad = find_nonfinite_grad(ps);
    EXPECT_EQ(bad.name, "w");
    EXPECT_STREQ(bad.what, "Inf");
    EXPECT_FALSE(std::isfinite(grad_norm(ps)));
}

// ---- checkpoints ----------------------------------------------------------------------------

namespace {
struct CkptFixture {
    ModelConfig cfg = ModelConfig::preset("tiny-dense");
    ParamSet ps{cfg};
    AdamW opt{ps, AdamWConfig{}};
    CheckpointMeta meta;
    CkptFixture() {
        auto x = r1::testing::randn((size_t)ps.size(), 3);
        auto g = r1::testing::randn((size_t)ps.size(), 4);
        std::copy(x.begin(), x.end(), ps.data().begin());
        std::copy(g.begin(), g.end(), ps.grad().begin());
        opt.step(ps, 1e-3f);
        opt.step(ps, 1e-3f);
        meta.config = cfg;
        meta.step = 42;
        meta.data = {1, 7, 13};
        Rng r(9);
        r.normal();  // leaves a cached spare
        meta.rngs["train"] = r.state();
        meta.train_options = {{"batch", 4}, {"lr", 0.001}};
    }
};
}  // namespace

TEST(TrainCheckpoint, RoundTripIsBitwise) {
    CkptFixture f;
    const std::string path = tmp_dir("ckpt_rt") + "/ckpt.r1";
    save_checkpoint(path, f.meta, f.ps, &f.opt);
    EXPECT_FALSE(fs::exists(path + ".tmp"));

    ParamSet ps2(f.cfg);
    AdamW opt2(ps2, AdamWConfig{});
    const Checkpoint ck = read_checkpoint(path, &f.cfg);
    apply_checkpoint(ck, ps2, &opt2);
    ASSERT_EQ(ps2.size(), f.ps.size());
    EXPECT_EQ(0, std::memcmp(ps2.data().data(), f.ps.data().data(), ps2.size() * 4));
    EXPECT_EQ(0, std::memcmp(opt2.m().data(), f.opt.m().data(), ps2.size() * 4));
    EXPECT_EQ(0, std::memcmp(opt2.v().data(), f.opt.v().data(), ps2.size() * 4));
    EXPECT_EQ(opt2.t(), 2);
    EXPECT_EQ(ck.meta.step, 42);
    EXPECT_EQ(ck.meta.data, (DataCursor{1, 7, 13}));
    const Rng::State a = ck.meta.rngs.at("train"), b = f.meta.rngs.at("train");
    EXPECT_EQ(a.s, b.s);
    EXPECT_EQ(a.has_spare, b.has_spare);
    EXPECT_EQ(std::memcmp(&a.spare, &b.spare, 4), 0);
    EXPECT_EQ(ck.meta.train_options, f.meta.train_options);
    EXPECT_EQ(nlohmann::json(ck.meta.config), nlohmann::json(f.cfg));
    // Saving the loaded state again gives the identical file.
    const std::string path2 = tmp_dir("ckpt_rt2") + "/ckpt.r1";
    save_checkpoint(path2, ck.meta, ps2, &opt2);
    EXPECT_EQ(slurp(path), slurp(path2));
}

TEST(TrainCheckpoint, CorruptFilesAreRejectedWithClearErrors) {
    CkptFixture f;
    const std::string dir = tmp_dir("ckpt_bad");
    const std::string path = dir + "/ckpt.r1";
    save_checkpoint(path, f.meta, f.ps, &f.opt);
    const std::string good = slurp(path);
    const std::string bad = dir + "/bad.r1";

    spit(bad, good.substr(0, good.size() / 2));
    expect_error([&] { read_checkpoint(bad); },
                 "[ckpt] " + bad + ": truncated: expected " + std::to_string(good.size()) +
                     " bytes, found " + std::to_string(good.size() / 2));
    spit(bad, good.substr(0, 20));
    expect_error([&] { read_checkpoint(bad); }, ": truncated: expected at least");

    std::string s = good;
    s[0] = 'X';
    spit(bad, s);
    expect_error([&] { read_checkpoint(bad); }, ": bad magic");

    s = good;
    s[s.size() - 100] ^= 0x10;  // one bit in the last tensor
    spit(bad, s);
    expect_error([&] { read_checkpoint(bad); }, "[ckpt] " + bad + ": bad checksum");

    s = good;
    s[40] ^= 0x01;  // one bit in the JSON header
    spit(bad, s);
    expect_error([&] { read_checkpoint(bad); }, ": bad checksum");

    expect_error([&] { read_checkpoint(dir + "/missing.r1"); }, ": cannot open");

    // A failed apply leaves the live model untouched.
    ParamSet ps2(f.cfg);
    ps2.data()[0] = 123.0f;
    spit(bad, good.substr(0, good.size() - 1));
    EXPECT_THROW(apply_checkpoint(read_checkpoint(bad), ps2, nullptr), Error);
    EXPECT_EQ(ps2.data()[0], 123.0f);
}

TEST(TrainCheckpoint, MismatchedModelIsRejected) {
    CkptFixture f;
    const std::string path = tmp_dir("ckpt_mm") + "/ckpt.r1";
    save_checkpoint(path, f.meta, f.ps, &f.opt);

    ModelConfig other = f.cfg;
    other.n_embd = 64;
    other.head_dim = 16;
    expect_error([&] { read_checkpoint(path, &other); },
                 "[ckpt] " + path + ": n_embd is 128 in the checkpoint, 64 requested");

    // Shape mismatch / missing tensor when applying to a different layout; model untouched.
    ModelConfig wider = f.cfg;
    wider.n_ff = 256;
    ParamSet pw(wider);
    pw.data()[0] = 7.0f;
    const Checkpoint ck = read_checkpoint(path);
    expect_error([&] { apply_checkpoint(ck, pw, nullptr); }, "' has shape [384, 128] in the checkpoint, [256, 128] expected");
    EXPECT_EQ(pw.data()[0], 7.0f);
    ModelConfig deeper = f.cfg;
    deeper.n_layer = 5;
    ParamSet pd(deeper);
    expect_error([&] { apply_checkpoint(ck, pd, nullptr); }, ": missing tensor 'w/blk.4.");
    ModelConfig shallower = f.cfg;
    shallower.n_layer = 3;
    ParamSet psh(shallower);
    expect_error([&] { apply_checkpoint(ck, psh, nullptr); }, ": unexpected tensor 'w/blk.3.");

    // Weights-only file cannot resume an optimiser.
    const std::string wpath = tmp_dir("ckpt_w") + "/w.r1";
    save_checkpoint(wpath, f.meta, f.ps, nullptr);
    ParamSet p3(f.cfg);
    AdamW o3(p3, AdamWConfig{});
    expect_error([&] { apply_checkpoint(read_checkpoint(wpath), p3, &o3); }, "weights only");
    apply_checkpoint(read_checkpoint(wpath), p3, nullptr);
    EXPECT_EQ(0, std::memcmp(p3.data().data(), f.ps.data().data(), p3.size() * 4));
}

// ---- tokenizer ------------------------------------------------------------------------------

TEST(TrainTokenizer, RoundTripWithSpecials) {
    const std::string text = chat_prompt("What is 47+38?") + "7+8=15 ✓\n</think>\n<answer>85</answer>" +
                             ByteTokenizer::special_text(ByteTokenizer::kEos);
    const auto ids = ByteTokenizer::encode(text);
    EXPECT_EQ(ids[0], ByteTokenizer::kBos);
    EXPECT_EQ(ids[1], ByteTokenizer::kUser);
    EXPECT_EQ(ids[2], (int32_t)'W');
    EXPECT_EQ(ids.back(), ByteTokenizer::kEos);
    int n_think = 0, n_answer = 0;
    for (int32_t id : ids) {
        EXPECT_GE(id, 0);
        EXPECT_LT(id, ByteTokenizer::n_vocab());
        n_think += id == ByteTokenizer::kThink || id == ByteTokenizer::kThinkEnd;
        n_answer += id == ByteTokenizer::kAnswer || id == ByteTokenizer::kAnswerEnd;
    }
    EXPECT_EQ(n_think, 2);
    EXPECT_EQ(n_answer, 2);
    EXPECT_EQ(ByteTokenizer::decode(ids), text);
    // "<thin" (prefix of a special) and a lone '<' stay bytes.
    EXPECT_EQ(ByteTokenizer::encode("<thin<"), (std::vector<int32_t>{'<', 't', 'h', 'i', 'n', '<'}));
    EXPECT_EQ(ByteTokenizer::encode("<pad>"), (std::vector<int32_t>{ByteTokenizer::kPad}));
    // arbitrary bytes round-trip
    std::string bytes;
    for (int i = 0; i < 256; i++) bytes.push_back((char)i);
    EXPECT_EQ(ByteTokenizer::decode(ByteTokenizer::encode(bytes)), bytes);
    EXPECT_LE(ByteTokenizer::n_vocab(), 320);
    expect_error([] { ByteTokenizer::decode(std::vector<int32_t>{1, 999}); }, "id 999 at position 1");
}

// ---- synthetic corpus ------------------------------------------------------------------------

namespace {
// Value of "12+3*4-5" with * before + and -.
int64_t eval_expr(const std::string& e) {
    int64_t total = 0, term = 0;
    char op = '+';
    size_t i = 0;
    auto read_num = [&] {
        int64_t v = 0;
        while (i < e.size() && std::isdigit((unsigned char)e[i])) v = v * 10 + (e[i++] - '0');
        return v;
    };
    term = read_num();
    while (i < e.size()) {
        const char c = e[i++];
        const int64_t v = read_num();
        if (c == '*') {
            term *= v;
        } else {
            total += op == '+' ? term : -term;
            op = c;
            term = v;
        }
    }
    return total + (op == '+' ? term : -term);
}
// Every "a op b ... = c" in s holds.
::testing::AssertionResult equations_hold(const std::string& s) {
    static const std::regex re(R"((\d+(?:[-+*]\d+)+)=(\d+))");
    for (std::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it) {
        const int64_t lhs = eval_expr((*it)[1]), rhs = std::stoll((*it)[2]);
        if (lhs != rhs)
            return ::testing::AssertionFailure() << "false equation '" << it->str() << "' in:\n" << s;
    }
    return ::testing::AssertionSuccess();
}
}  // namespace

TEST(TrainSynthetic, DeterministicAndHonest) {
    SyntheticOptions o;
    o.max_digits = 3;
    o.mul_digits_b = 2;
    o.p_careful = 0.35, o.p_careless = 0.5, o.p_check = 0.15;
    int counts[3] = {0, 0, 0}, careless_wrong = 0;
    for (uint64_t i = 0; i < 1500; i++) {
        const SyntheticExample e = train_example(5, i, o);
        const SyntheticExample again = train_example(5, i, o);
        ASSERT_EQ(e.prompt + e.completion, again.prompt + again.completion);
        EXPECT_FALSE(is_heldout(e.problem));
        EXPECT_EQ(e.prompt, chat_prompt(e.problem.question()));
        const auto ans = extract_answer(e.completion);
        ASSERT_TRUE(ans.has_value());
        EXPECT_EQ(*ans, e.answer);
        EXPECT_EQ(e.correct, e.answer == e.problem.gold()) << e.completion;
        counts[(int)e.style]++;
        switch (e.style) {
            case TraceStyle::careful:
                EXPECT_TRUE(e.correct);
                EXPECT_TRUE(equations_hold(e.completion));
                break;
            case TraceStyle::careless: careless_wrong += !e.correct; break;
            case TraceStyle::check: {
                EXPECT_TRUE(e.correct);
                const size_t redo = e.completion.find("Let me do it carefully.");
                EXPECT_TRUE(equations_hold(e.completion.substr(redo == std::string::npos ? 0 : redo)));
                EXPECT_NE(e.completion.find("\xE2\x9C\x93"), std::string::npos);  // ✓
                break;
            }
        }
        if (e.problem.op == ArithOp::sub) EXPECT_GE(e.problem.result(), 0);
    }
    // mix proportions (0.35 / 0.5 / 0.15) and careless error rate (0.6), loosely
    EXPECT_NEAR(counts[0] / 1500.0, 0.35, 0.05);
    EXPECT_NEAR(counts[1] / 1500.0, 0.50, 0.05);
    EXPECT_NEAR(counts[2] / 1500.0, 0.15, 0.04);
    EXPECT_NEAR(careless_wrong / (double)counts[1], 0.6, 0.06);
    // different seeds give different corpora; held-out stream is held out
    EXPECT_NE(train_example(5, 0, o).prompt + train_example(5, 1, o).prompt,
              train_example(6, 0, o).prompt + train_example(6, 1, o).prompt);
    for (uint64_t i = 0; i < 200; i++) EXPECT_TRUE(is_heldout(heldout_problem(5, i, o)));
    EXPECT_FALSE(extract_answer("no answer here").has_value());
    EXPECT_EQ(*extract_answer("x<answer>12</answer>"), "12");
}

TEST(TrainSynthetic, CarefulTraceFormat) {
    Problem p{ArithOp::add, 47, 38};
    Rng rng(1);
    const SyntheticExample e = make_example(p, TraceStyle::careful, rng, SyntheticOptions{});
    EXPECT_EQ(e.prompt + e.completion,
              chat_prompt("What is 47+38?") +
                  "Let me work it out.\n47+38: add the digits right to left.\n7+8=15, write 5, carry 1.\n"
                  "4+3+1=8, write 8.\nSo 47+38=85.\n</think>\n<answer>85</answer>" +
                  ByteTokenizer::special_text(ByteTokenizer::kEos));
    const SyntheticExample c = make_example(p, TraceStyle::check, rng, SyntheticOptions{});
    EXPECT_NE(c.completion.find("check: 85-38=47 \xE2\x9C\x93"), std::string::npos) << c.completion;
    expect_error([] { SyntheticOptions o; o.max_digits = 0; o.validate(); }, "digits");
}

// ---- data -----------------------------------------------------------------------------------

TEST(TrainData, LoaderIsDeterministicAndResumable) {
    DataOptions dopt;
    auto corpus = make_synthetic_corpus(dopt);
    const int64_t B = 3, T = 40;
    std::vector<int32_t> t1(B * T), y1(B * T), t2(B * T), y2(B * T);
    BatchLoader a(*corpus, Split::train, 1), b(*corpus, Split::train, 1);
    for (int i = 0; i < 3; i++) {
        a.next(t1.data(), y1.data(), B, T);
        b.next(t2.data(), y2.data(), B, T);
        ASSERT_EQ(t1, t2);
        ASSERT_EQ(y1, y2);
    }
    // targets are the next tokens; the first row starts with BOS
    BatchLoader fresh(*corpus, Split::train, 1);
    fresh.next(t1.data(), y1.data(), B, T);
    EXPECT_EQ(t1[0], ByteTokenizer::kBos);
    for (int64_t i = 0; i + 1 < T; i++) EXPECT_EQ(y1[i], t1[i + 1]);
    // cursor save/restore reproduces the following batches
    const DataCursor c = a.cursor();
    a.next(t1.data(), y1.data(), B, T);
    BatchLoader r(*corpus, Split::train, 1);
    r.set_cursor(c);
    r.next(t2.data(), y2.data(), B, T);
    EXPECT_EQ(t1, t2);
    EXPECT_EQ(y1, y2);
}

TEST(TrainData, TextAndJsonlCorpora) {
    const std::string dir = tmp_dir("data");
    // Text: 25 paragraphs → 24 train (every 20th held out) — finite epochs reshuffle.
    std::string text;
    for (int i = 0; i < 25; i++) text += "paragraph " + std::to_string(i) + "\nline two\n\n\n";
    spit(dir + "/a.txt", text);
    auto tc = load_text_corpus(dir + "/a.txt", false);
    EXPECT_EQ(tc->size(Split::train), 24);
    EXPECT_EQ(tc->size(Split::eval), 1);
    const Document d0 = tc->doc(Split::train, 0);
    EXPECT_EQ(ByteTokenizer::decode(d0.tokens),
              ByteTokenizer::special_text(ByteTokenizer::kBos) + "paragraph 0\nline two" +
                  ByteTokenizer::special_text(ByteTokenizer::kEos));
    EXPECT_EQ(load_text_corpus(dir + "/a.txt", true)->size(Split::train), 1);
    {
        BatchLoader l1(*tc, Split::train, 3), l2(*tc, Split::train, 3);
        std::vector<int32_t> a(2 * 64), ya(2 * 64), b(2 * 64), yb(2 * 64);
        for (int i = 0; i < 20; i++) {  // several epochs
            l1.next(a.data(), ya.data(), 2, 64);
            l2.next(b.data(), yb.data(), 2, 64);
            ASSERT_EQ(a, b);
        }
        EXPECT_GT(l1.cursor().epoch, 0);
    }

    // JSONL prompt/completion: no targets on prompt tokens.
    spit(dir + "/sft.jsonl", "{\"prompt\": \"Q:\", \"completion\": \"A!\"}\n\n{\"text\": \"hi\"}\n");
    auto jc = load_jsonl_corpus(dir + "/sft.jsonl");
    EXPECT_EQ(jc->size(Split::train) + jc->size(Split::eval), 2);
    const Document sd = jc->doc(Split::train, 0);
    EXPECT_EQ(sd.n_prompt, 3);  // BOS Q :
    BatchLoader l(*jc, Split::train, 1, /*shuffle=*/false);
    std::vector<int32_t> tk(6), tg(6);
    // row: BOS Q : A ! EOS BOS -> targets: Q(-1) :(-1) A ! EOS BOS(-1: prompt of next doc)
    const int64_t n = l.next(tk.data(), tg.data(), 1, 6);
    EXPECT_EQ(tk, (std::vector<int32_t>{ByteTokenizer::kBos, 'Q', ':', 'A', '!', ByteTokenizer::kEos}));
    EXPECT_EQ(tg, (std::vector<int32_t>{-1, -1, 'A', '!', ByteTokenizer::kEos, -1}));
    EXPECT_EQ(n, 3);

    spit(dir + "/bad.jsonl", "{\"text\": \"ok\"}\n\n{\"txt\": \"typo\"}\n");
    expect_error([&] { load_jsonl_corpus(dir + "/bad.jsonl"); },
                 "[data] " + dir + "/bad.jsonl:3: expected a JSON object with a string field 'text'");
    spit(dir + "/bad2.jsonl", "{\"text\": \"ok\"}\nnot json\n");
    expect_error([&] { open_corpus(dir + "/bad2.jsonl", {}); }, "bad2.jsonl:2: expected a JSON object");
    expect_error([&] { open_corpus(dir + "/nope.txt", {}); }, "nope.txt: cannot open");
}

// ---- trainer end to end ---------------------------------------------------------------------

TEST(TrainLoop, CrashAfterCheckpointThenResumeIsBitIdentical) {
    // One thread: this checks the resume logic; tests/cli/train_resume.sh can run with more.
    const int saved_threads = num_threads();
    set_num_threads(1);
    struct Restore {
        int n;
        ~Restore() { set_num_threads(n); }
    } restore{saved_threads};
    TrainOptions o;
    o.model = "tiny-dense";
    o.config = resolve_model_config(o.model);
    o.config.n_layer = 1;
    o.steps = 6;
    o.batch = 2;
    o.seq = 32;
    o.warmup = 1;
    o.lr = 3e-3f;
    o.ckpt_every = 3;
    o.eval_batches = 1;
    o.log_every = 0;
    o.progress = false;
    o.handle_signals = false;
    auto losses = [](const std::string& dir) {
        std::vector<double> v;
        std::ifstream f(dir + "/metrics.jsonl");
        for (std::string l; std::getline(f, l);)
            v.push_back(nlohmann::json::parse(l)["loss"].get<double>());
        return v;
    };

    TrainOptions a = o;
    a.out_dir = tmp_dir("loop_a");
    const TrainResult ra = train(a);
    EXPECT_EQ(ra.end_step, 6);
    EXPECT_TRUE(std::isfinite(ra.final_loss));
    EXPECT_GE(ra.eval_loss, 0);
    const auto la = losses(a.out_dir);
    ASSERT_EQ(la.size(), 6u);

    // Crash after step 5 (checkpoint at 3), then resume: steps 4..6 must match exactly.
    TrainOptions b = o;
    b.out_dir = tmp_dir("loop_b");
    EXPECT_THROW(train(b, [](const StepMetrics& m) {
                     if (m.step == 5) throw std::runtime_error("simulated crash");
                 }),
                 std::runtime_error);
    EXPECT_EQ(losses(b.out_dir).size(), 5u);
    b.resume = true;
    const TrainResult rb = train(b);
    EXPECT_EQ(rb.start_step, 3);
    EXPECT_EQ(losses(b.out_dir), la);

    expect_error([&] { TrainOptions bad = o; bad.out_dir = tmp_dir("nockpt"); bad.resume = true; train(bad); },
                 "--resume: no checkpoint at");
    expect_error([&] { TrainOptions bad = b; bad.batch = 3; train(bad); }, "batch is 2 in");
}
