// Generation text layer: sampler chain (greedy, determinism, top-k/top-p/min-p sets and the
// resulting distributions checked empirically with a chi-square bound, penalties, temperature),
// stop strings on streamed pieces, the <think> reasoning parser (streaming == non-streaming for
// every 2-piece split and random multi-piece splits) and the DeepSeek-R1 chat format.
//
// Distribution checks draw N samples with a fixed seed and require the chi-square statistic of
// the observed counts against the expected renormalised probabilities to stay below a bound at
// p ≈ 1e-6 for its degrees of freedom; tokens the stage must remove have to get zero draws.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "generate/chat_format.h"
#include "generate/reasoning.h"
#include "generate/sampler.h"
#include "generate/stop.h"
#include "testing.h"

namespace {

using r1::Sampler;
using r1::SamplerParams;

// ------------------------------------------------------------------------------ sampler

std::vector<int64_t> draw_counts(const SamplerParams& p, const std::vector<float>& logits,
                                 const std::vector<int32_t>& history, int n) {
    Sampler s(p);
    std::vector<int64_t> counts(logits.size(), 0);
    for (int i = 0; i < n; i++) counts[s.sample(logits.data(), (int64_t)logits.size(), history)]++;
    return counts;
}

// expected: probabilities (zeros = must never be drawn). Chi-square over the nonzero cells.
::testing::AssertionResult matches_distribution(const std::vector<int64_t>& counts,
                                                const std::vector<double>& expected) {
    int64_t n = std::accumulate(counts.begin(), counts.end(), int64_t{0});
    double chi2 = 0;
    int cells = 0;
    for (size_t i = 0; i < counts.size(); i++) {
        if (expected[i] == 0) {
            if (counts[i] != 0)
                return ::testing::AssertionFailure()
                       << "token " << i << " should be excluded but was drawn " << counts[i]
                       << " times";
            continue;
        }
        double e = expected[i] * n;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
        cells++;
    }
    // Chi-square critical values at p = 1e-6 for df = 1..4; fixed seeds make this
    // deterministic, the bound just says "a correct sampler passes with any seed".
    const double crit[] = {0, 23.9, 27.6, 30.7, 33.4};
    int df = cells - 1;
    double bound = df <= 4 ? crit[df] : df + 10 * std::sqrt(2.0 * df);
    if (df == 0 || chi2 <= bound) return ::testing::AssertionSuccess();
    std::ostringstream os;
    for (size_t i = 0; i < counts.size(); i++)
        os << " [" << i << "] " << counts[i] << "/" << expected[i] * n;
    return ::testing::AssertionFailure() << "chi2 " << chi2 << " > " << bound << ":" << os.str();
}

std::vector<double> softmax_d(const std::vector<double>& l, double temp = 1.0) {
    double mx = *std::max_element(l.begin(), l.end());
    std::vector<double> p(l.size());
    double s = 0;
    for (size_t i = 0; i < l.size(); i++) s += p[i] = std::exp((l[i] - mx) / temp);
    for (auto& x : p) x /= s;
    return p;
}

// Keeps the entries with mask 1 and renormalises.
std::vector<double> restrict_to(std::vector<double> p, const std::vector<int>& keep) {
    double s = 0;
    for (size_t i = 0; i < p.size(); i++) s += keep[i] ? p[i] : 0;
    for (size_t i = 0; i < p.size(); i++) p[i] = keep[i] ? p[i] / s : 0;
    return p;
}

// A 5-token vocab whose probability order is not the id order:
// p = {0.12, 0.40, 0.08, 0.25, 0.15}  → rank order 1, 3, 4, 0, 2.
const std::vector<double> kP5 = {0.12, 0.40, 0.08, 0.25, 0.15};
std::vector<float> logits5() {
    std::vector<float> l;
    for (double p : kP5) l.push_back((float)std::log(p) + 3.0f);  // shift: softmax-invariant
    return l;
}
std::vector<double> logits5_d() {
    std::vector<double> l;
    for (float x : logits5()) l.push_back(x);
    return l;
}

constexpr int kDraws = 20000;

TEST(SamplerTest, GreedyIsArgmaxWithLowestIdOnTies) {
    auto l = r1::testing::randn(1000, 7);
    SamplerParams p;
    p.temperature = 0;
    Sampler s(p);
    int32_t want = (int32_t)(std::max_element(l.begin(), l.end()) - l.begin());
    EXPECT_EQ(s.sample(l.data(), 1000, {}), want);
    std::vector<float> ties = {0.5f, 2.0f, -1.0f, 2.0f, 2.0f};
    EXPECT_EQ(s.sample(ties.data(), 5, {}), 1);
    // NaN logits are never chosen
    std::vector<float> with_nan = {NAN, 1.0f, 0.0f};
    EXPECT_EQ(s.sample(with_nan.data(), 3, {}), 1);
}

TEST(SamplerTest, DeterministicPerSeedAndStateReplays) {
    auto l = r1::testing::randn(300, 3, 0.5f);
    SamplerParams p;
    p.seed = 42;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.01f;
    p.temperature = 0.8f;
    Sampler a(p), b(p);
    std::vector<int32_t> sa, sb;
    for (int i = 0; i < 200; i++) {
        sa.push_back(a.sample(l.data(), 300, sa));
        sb.push_back(b.sample(l.data(), 300, sb));
    }
    EXPECT_EQ(sa, sb);
    p.seed = 43;
    Sampler c(p);
    std::vector<int32_t> sc;
    for (int i = 0; i < 200; i++) sc.push_back(c.sample(l.data(), 300, sc));
    EXPECT_NE(sa, sc);

    // Saving and restoring the RNG state replays the same continuation.
    auto st = a.state();
    std::vector<int32_t> first, again;
    for (int i = 0; i < 50; i++) first.push_back(a.sample(l.data(), 300, {}));
    a.set_state(st);
    for (int i = 0; i < 50; i++) again.push_back(a.sample(l.data(), 300, {}));
    EXPECT_EQ(first, again);
}

TEST(SamplerTest, TopK1IsGreedy) {
    SamplerParams g;
    g.temperature = 0;
    SamplerParams k1;
    k1.top_k = 1;
    k1.temperature = 1.5f;
    k1.seed = 9;
    Sampler sg(g), sk(k1);
    for (uint64_t seed = 0; seed < 20; seed++) {
        auto l = r1::testing::randn(5000, seed);
        EXPECT_EQ(sg.sample(l.data(), 5000, {}), sk.sample(l.data(), 5000, {}));
    }
}

TEST(SamplerTest, PlainDistributionAndTemperature) {
    auto l = logits5();
    SamplerParams p;
    p.seed = 1;
    EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), kP5));
    // temperature T: p ∝ exp(l/T), i.e. p_i^(1/T) renormalised
    for (float t : {0.5f, 2.0f}) {
        SCOPED_TRACE(t);
        p.temperature = t;
        p.seed = 2;
        EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), softmax_d(logits5_d(), t)));
    }
}

TEST(SamplerTest, TopKKeepsTheKBest) {
    auto l = logits5();
    SamplerParams p;
    p.top_k = 3;  // ranks: 1, 3, 4
    p.seed = 3;
    EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), restrict_to(kP5, {0, 1, 0, 1, 1})));
    // top-k then temperature: the kept set is chosen at T=1, then reshaped
    p.top_k = 4;
    p.temperature = 2.0f;
    EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws),
                                     restrict_to(softmax_d(logits5_d(), 2.0), {1, 1, 0, 1, 1})));
}

TEST(SamplerTest, TopPKeepsTheSmallestNucleus) {
    auto l = logits5();
    SamplerParams p;
    p.seed = 4;
    struct Case {
        float top_p;
        std::vector<int> keep;
    };
    // cumulative in rank order: 0.40, 0.65, 0.80, 0.92, 1.00; the crossing token is kept
    const Case cases[] = {{0.3f, {0, 1, 0, 0, 0}},
                          {0.5f, {0, 1, 0, 1, 0}},
                          {0.7f, {0, 1, 0, 1, 1}},
                          {0.9f, {1, 1, 0, 1, 1}},
                          {0.0f, {0, 1, 0, 0, 0}}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.top_p);
        p.top_p = c.top_p;
        EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), restrict_to(kP5, c.keep)));
    }
    // top-p is decided at temperature 1 (llama.cpp order): T=0.5 keeps the same set {1, 3}
    p.top_p = 0.5f;
    p.temperature = 0.5f;
    EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws),
                                     restrict_to(softmax_d(logits5_d(), 0.5), {0, 1, 0, 1, 0})));
}

TEST(SamplerTest, MinPKeepsTokensAboveFractionOfMax) {
    auto l = logits5();
    SamplerParams p;
    p.seed = 5;
    struct Case {
        float min_p;
        std::vector<int> keep;
    };
    // p_max = 0.40: thresholds 0.14, 0.20, 0.28, 0.032
    const Case cases[] = {{0.35f, {0, 1, 0, 1, 1}},
                          {0.5f, {0, 1, 0, 1, 0}},
                          {0.7f, {0, 1, 0, 0, 0}},
                          {0.08f, {1, 1, 1, 1, 1}}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.min_p);
        p.min_p = c.min_p;
        EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), restrict_to(kP5, c.keep)));
    }
    // chained: top-k 4 drops token 2, top-p 0.9 of the renormalised {0.4,.25,.15,.12}/0.92
    // (cum 0.435, 0.707, 0.870, 1.0) keeps all four, min-p 0.35 then drops token 0 (0.12 < 0.14)
    p.top_k = 4;
    p.top_p = 0.9f;
    p.min_p = 0.35f;
    EXPECT_TRUE(matches_distribution(draw_counts(p, l, {}, kDraws), restrict_to(kP5, {0, 1, 0, 1, 1})));
}

TEST(SamplerTest, TopPOnLargeVocabWithoutTopK) {
    // 300 "good" tokens (logit 5) scattered among 50000; the rest at -5. The nucleus for
    // top_p = 0.5 is the smallest k with k >= 0.5 * (300 + 49700 e^-10): k = 152, and equal
    // logits rank by id, so it is exactly the 152 lowest-id good tokens. This crosses the
    // incremental partial sort's 64 → 256 block boundary.
    const int64_t V = 50000;
    std::vector<float> l(V, -5.0f);
    r1::Rng rng(11);
    std::vector<int32_t> good;
    while (good.size() < 300) {
        int32_t id = (int32_t)rng.below(V);
        if (l[id] == 5.0f) continue;
        l[id] = 5.0f;
        good.push_back(id);
    }
    std::sort(good.begin(), good.end());
    double mass = 300 + 49700 * std::exp(-10.0);
    int k = (int)std::ceil(0.5 * mass);
    ASSERT_EQ(k, 152);
    std::vector<int> keep(V, 0);
    for (int i = 0; i < k; i++) keep[good[i]] = 1;

    SamplerParams p;
    p.top_p = 0.5f;
    p.seed = 6;
    std::vector<double> expected(V, 0);
    for (int i = 0; i < k; i++) expected[good[i]] = 1.0 / k;
    auto counts = draw_counts(p, l, {}, 2000);  // ~13 per cell: enough to see exclusions
    EXPECT_TRUE(matches_distribution(counts, expected));

    // Same chain after a top-k that only drops one -5 token (the nucleus is still 152): the
    // sorted prefix is built differently (full nth_element + sort vs the incremental partial
    // sort), but the candidates end in the same order, so the draws are identical.
    SamplerParams pk = p;
    pk.top_k = (int)V - 1;
    Sampler a(p), b(pk);
    for (int i = 0; i < 30; i++) ASSERT_EQ(a.sample(l.data(), V, {}), b.sample(l.data(), V, {}));
}

TEST(SamplerTest, RepetitionPenaltyRule) {
    SamplerParams p;
    p.temperature = 0;
    p.repeat_penalty = 2.0f;
    // positive logit divided: 3 → 1.5 < 2
    std::vector<float> a = {3.0f, 2.0f};
    EXPECT_EQ(Sampler(p).sample(a.data(), 2, {0}), 1);
    // negative logit multiplied: -1 → -2 < -1.5 (dividing would have raised it to -0.5)
    std::vector<float> b = {-1.0f, -1.5f};
    EXPECT_EQ(Sampler(p).sample(b.data(), 2, {0}), 1);
    // applied once per distinct token, however often it repeats: 2/1.5 = 1.33 > 1.1
    p.repeat_penalty = 1.5f;
    std::vector<float> c = {2.0f, 1.1f};
    EXPECT_EQ(Sampler(p).sample(c.data(), 2, {0, 0, 0, 0}), 0);
    // only the last repeat_last_n tokens count
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 2;
    EXPECT_EQ(Sampler(p).sample(a.data(), 2, {0, 1, 1}), 0);
    p.repeat_last_n = 1;
    EXPECT_EQ(Sampler(p).sample(a.data(), 2, {1, 0}), 1);
    p.repeat_last_n = 0;
    EXPECT_EQ(Sampler(p).sample(a.data(), 2, {0}), 0);
    // whole history (-1) versus the default window of 64
    std::vector<float> a3 = {3.0f, 2.0f, 0.0f};
    std::vector<int32_t> longh(500, 2);
    longh[0] = 0;
    p.repeat_last_n = -1;
    EXPECT_EQ(Sampler(p).sample(a3.data(), 3, longh), 1);
    p.repeat_last_n = 64;
    EXPECT_EQ(Sampler(p).sample(a3.data(), 3, longh), 0);

    // The full distribution: {1.0, -0.5, 0.2} with history {0, 1}, penalty 2 → {0.5, -1.0, 0.2}
    SamplerParams d;
    d.repeat_penalty = 2.0f;
    d.seed = 7;
    std::vector<float> l = {1.0f, -0.5f, 0.2f};
    EXPECT_TRUE(matches_distribution(draw_counts(d, l, {0, 1}, kDraws), softmax_d({0.5, -1.0, 0.2})));
    // frequency / presence: l -= count*f + present*pres; history {0,0,1}, f=0.5, pres=0.25
    SamplerParams f;
    f.frequency_penalty = 0.5f;
    f.presence_penalty = 0.25f;
    f.seed = 8;
    std::vector<float> flat = {1.0f, 1.0f, 1.0f};
    EXPECT_TRUE(matches_distribution(draw_counts(f, flat, {0, 0, 1}, kDraws),
                                     softmax_d({1.0 - 1.0 - 0.25, 1.0 - 0.5 - 0.25, 1.0})));
}

TEST(SamplerTest, HistoryIdsOutsideTheVocabAreIgnored) {
    // e.g. prompt tokens past a vocab_limit: they cannot be drawn, so nothing is penalised
    SamplerParams p;
    p.repeat_penalty = 1.3f;
    p.presence_penalty = 0.5f;
    p.seed = 12;
    std::vector<float> l = {0.3f, 1.0f, -0.2f};
    Sampler a(p), b(p);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(a.sample(l.data(), 3, {1, 7, -1, 0, 3}), b.sample(l.data(), 3, {1, 0}));
}

TEST(SamplerTest, BadInputThrows) {
    SamplerParams p;
    Sampler s(p);
    std::vector<float> l = {0.0f, 1.0f};
    EXPECT_THROW(s.sample(l.data(), 0, {}), r1::Error);
    std::vector<float> dead = {-INFINITY, NAN};
    EXPECT_THROW(s.sample(dead.data(), 2, {}), r1::Error);
    SamplerParams bad;
    bad.top_p = 1.5f;
    EXPECT_THROW(Sampler{bad}, r1::Error);
    bad = {};
    bad.repeat_penalty = 0;
    EXPECT_THROW(Sampler{bad}, r1::Error);
    bad = {};
    bad.temperature = NAN;
    EXPECT_THROW(Sampler{bad}, r1::Error);
}

TEST(SamplerTest, LogSoftmaxAt) {
    auto l = r1::testing::randn(100, 5, 3.0f);
    double mx = *std::max_element(l.begin(), l.end()), s = 0;
    for (float x : l) s += std::exp(x - mx);
    for (int id : {0, 17, 99}) EXPECT_NEAR(r1::log_softmax_at(l.data(), 100, id), l[id] - mx - std::log(s), 1e-5);
    std::vector<float> big = {1000.0f, 0.0f};  // stable where a naive exp overflows
    EXPECT_NEAR(r1::log_softmax_at(big.data(), 2, 0), 0.0f, 1e-6);
    EXPECT_NEAR(r1::log_softmax_at(big.data(), 2, 1), -1000.0f, 1e-3);
    EXPECT_THROW(r1::log_softmax_at(big.data(), 2, 2), r1::Error);
}

// ------------------------------------------------------------------------------ stop strings

TEST(StopMatcherTest, StopSplitAcrossPieces) {
    r1::StopMatcher m({"</s>", "STOP"});
    auto r = m.push("hello </");
    EXPECT_EQ(r.text, "hello ");
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(m.held(), 2u);
    r = m.push("s> trailing");
    EXPECT_EQ(r.text, "");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.stop_index, 0);
    r = m.push("more");  // after a stop nothing more comes out
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "");
    EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcherTest, PartialMatchThatIsNotAStop) {
    r1::StopMatcher m({"</s>"});
    auto r = m.push("ab<");
    EXPECT_EQ(r.text, "ab");
    r = m.push("/");
    EXPECT_EQ(r.text, "");
    r = m.push("x>");
    EXPECT_EQ(r.text, "</x>");
    EXPECT_FALSE(r.stopped);
    r = m.push("<");
    EXPECT_EQ(r.text, "");
    EXPECT_EQ(m.flush(), "<");  // end of stream releases the held text
}

TEST(StopMatcherTest, StopInsideOnePieceAndOverlaps) {
    r1::StopMatcher m({"", "xyz", "STOP"});  // the empty string is ignored; indices are kept
    auto r = m.push("aaSTOPbb");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "aa");
    EXPECT_EQ(r.stop_index, 2);
    // self-overlapping stop: "aab" in "aaab" fed byte by byte
    r1::StopMatcher o({"aab"});
    std::string out;
    for (char c : std::string("aaab")) {
        auto q = o.push(std::string(1, c));
        out += q.text;
        if (q.stopped) break;
    }
    EXPECT_TRUE(o.stopped());
    EXPECT_EQ(out, "a");
    // earliest stop wins when two occur in the same piece
    r1::StopMatcher e({"cd", "bc"});
    r = e.push("abcd");
    EXPECT_EQ(r.text, "a");
    EXPECT_EQ(r.stop_index, 1);
}

TEST(StopMatcherTest, RandomSplitsEqualTruncationAtFirstStop) {
    const std::vector<std::string> stops = {"abc", "cab", "bb"};
    r1::Rng rng(21);
    for (int trial = 0; trial < 500; trial++) {
        std::string text;
        int len = 1 + (int)rng.below(30);
        for (int i = 0; i < len; i++) text += (char)('a' + rng.below(3));
        size_t first = std::string::npos;
        for (auto& s : stops) first = std::min(first, text.find(s));
        std::string want = text.substr(0, first);

        r1::StopMatcher m(stops);
        std::string got;
        bool stopped = false;
        for (size_t pos = 0; pos < text.size() && !stopped;) {
            size_t n = std::min(text.size() - pos, (size_t)rng.below(5));  // empty pieces too
            auto r = m.push(std::string_view(text).substr(pos, n));
            got += r.text;
            stopped = r.stopped;
            pos += n;
            EXPECT_LT(m.held(), 3u);
        }
        if (!stopped) got += m.flush();
        ASSERT_EQ(stopped, first != std::string::npos) << text;
        ASSERT_EQ(got, want) << text;
    }
}

// ------------------------------------------------------------------------------ reasoning

r1::ReasoningDelta stream(const std::vector<std::string_view>& pieces, r1::ReasoningOptions o) {
    r1::ReasoningParser p(o);
    r1::ReasoningDelta all;
    for (auto piece : pieces) {
        auto d = p.feed(piece);
        all.reasoning += d.reasoning;
        all.content += d.content;
    }
    auto d = p.finish();
    all.reasoning += d.reasoning;
    all.content += d.content;
    return all;
}

TEST(ReasoningParserTest, NonStreamingRules) {
    auto s = r1::split_reasoning("<think>\nI reason.\n</think>\n\nThe answer is 4.", false);
    EXPECT_EQ(s.reasoning, "I reason.\n");
    EXPECT_EQ(s.content, "\nThe answer is 4.");
    // prefilled: the prompt ended with "<think>\n", output starts inside the block
    s = r1::split_reasoning("Let me see.</think>\n4", true);
    EXPECT_EQ(s.reasoning, "Let me see.");
    EXPECT_EQ(s.content, "4");
    // cut off before </think>: everything stays reasoning
    s = r1::split_reasoning("still thinking <th", true);
    EXPECT_EQ(s.reasoning, "still thinking <th");
    EXPECT_EQ(s.content, "");
    s = r1::split_reasoning("pre <think>\nhmm", false);
    EXPECT_EQ(s.content, "pre ");
    EXPECT_EQ(s.reasoning, "hmm");
    // no tags at all in default mode: all content
    s = r1::split_reasoning("just an answer", false);
    EXPECT_EQ(s.reasoning, "");
    EXPECT_EQ(s.content, "just an answer");
    // nested <think> is literal reasoning, the first </think> closes, later tags are content
    s = r1::split_reasoning("<think>a<think>b</think>c</think>d<think>e", false);
    EXPECT_EQ(s.reasoning, "a<think>b");
    EXPECT_EQ(s.content, "c</think>d<think>e");
    // a </think> before any <think> (default mode) is literal content
    s = r1::split_reasoning("x</think>y<think>z</think>w", false);
    EXPECT_EQ(s.reasoning, "z");
    EXPECT_EQ(s.content, "x</think>yw");
    // prefilled: a <think> in the reasoning is literal
    s = r1::split_reasoning("<think>\nq</think>r", true);
    EXPECT_EQ(s.reasoning, "<think>\nq");
    EXPECT_EQ(s.content, "r");
    // inline: no split, tags kept
    r1::ReasoningOptions in;
    in.inline_tags = true;
    s = r1::split_reasoning("<think>a</think>b", in);
    EXPECT_EQ(s.reasoning, "");
    EXPECT_EQ(s.content, "<think>a</think>b");
    // strip_newline off keeps the newlines
    r1::ReasoningOptions keep;
    keep.strip_newline = false;
    s = r1::split_reasoning("<think>\nx</think>\n\ny", keep);
    EXPECT_EQ(s.reasoning, "\nx");
    EXPECT_EQ(s.content, "\n\ny");
}

const std::vector<std::string> kReasoningTexts = {
    "<think>\nI reason.\n</think>\n\nThe answer is 4.",
    "Let me see.</think>\n4",
    "no tags here </thin",
    "pre<think>\n\n</think>\n",
    "<think></think>",
    "<think>a<think>b</think>c</think>d<think>e",
    "x</think>y<think>z</think>w",
    "<<think>>\n<</think>>\n",
    "<think>\ncut off in the middle </thi",
    "",
    "\n</think>\n",
};

std::vector<r1::ReasoningOptions> all_reasoning_options() {
    std::vector<r1::ReasoningOptions> v;
    for (int pre = 0; pre < 2; pre++)
        for (int strip = 0; strip < 2; strip++)
            for (int inl = 0; inl < 2; inl++) {
                r1::ReasoningOptions o;
                o.prefilled_think = pre;
                o.strip_newline = strip;
                o.inline_tags = inl;
                v.push_back(o);
            }
    return v;
}

TEST(ReasoningParserTest, EveryTwoPieceSplitMatchesNonStreaming) {
    for (const auto& o : all_reasoning_options())
        for (const std::string& text : kReasoningTexts) {
            SCOPED_TRACE(::testing::Message() << "text '" << text << "' prefilled "
                                              << o.prefilled_think << " strip " << o.strip_newline
                                              << " inline " << o.inline_tags);
            auto want = r1::split_reasoning(text, o);
            std::string_view t(text);
            for (size_t cut = 0; cut <= text.size(); cut++) {
                auto got = stream({t.substr(0, cut), t.substr(cut)}, o);
                ASSERT_EQ(got.reasoning, want.reasoning) << "cut " << cut;
                ASSERT_EQ(got.content, want.content) << "cut " << cut;
            }
        }
}

TEST(ReasoningParserTest, RandomMultiPieceSplitsMatchNonStreaming) {
    r1::Rng rng(33);
    // random texts built from tag fragments and filler, cut at random places
    const std::vector<std::string> parts = {"<think>", "</think>", "\n", "ab", "<", "</", "think",
                                            ">",       "<th",      "k>", " ", "é"};
    auto opts = all_reasoning_options();
    for (int trial = 0; trial < 2000; trial++) {
        std::string text;
        if (trial < (int)kReasoningTexts.size()) {
            text = kReasoningTexts[trial];
        } else {
            int n = (int)rng.below(12);
            for (int i = 0; i < n; i++) text += parts[rng.below(parts.size())];
        }
        const auto& o = opts[trial % opts.size()];
        std::vector<std::string_view> pieces;
        std::string_view t(text);
        for (size_t pos = 0; pos < t.size();) {
            size_t n = std::min(t.size() - pos, (size_t)rng.below(6));
            pieces.push_back(t.substr(pos, n));
            pos += n;
        }
        auto want = r1::split_reasoning(text, o);
        auto got = stream(pieces, o);
        ASSERT_EQ(got.reasoning, want.reasoning) << "text '" << text << "' trial " << trial;
        ASSERT_EQ(got.content, want.content) << "text '" << text << "' trial " << trial;
    }
}

TEST(ReasoningParserTest, StreamsEagerlyAndTracksState) {
    r1::ReasoningParser p;  // default mode
    auto d = p.feed("<thi");
    EXPECT_EQ(d.content, "");  // could still be the tag
    d = p.feed("nk>\nStep one");
    EXPECT_EQ(d.reasoning, "Step one");
    EXPECT_TRUE(p.in_reasoning());
    d = p.feed(". </th");
    EXPECT_EQ(d.reasoning, ". ");  // "</th" held back
    d = p.feed("ink>");
    EXPECT_EQ(d.reasoning, "");
    EXPECT_TRUE(p.reasoning_done());
    d = p.feed("\n\nAnswer");  // one newline stripped, even though it arrived in a later piece
    EXPECT_EQ(d.content, "\nAnswer");
    d = p.finish();
    EXPECT_EQ(d.content, "");

    r1::ReasoningOptions o;
    o.prefilled_think = true;
    r1::ReasoningParser q(o);
    EXPECT_TRUE(q.in_reasoning());
    d = q.feed("thinking...");
    EXPECT_EQ(d.reasoning, "thinking...");
    d = q.finish();  // no </think>: it all stayed reasoning
    EXPECT_EQ(d.reasoning, "");
    EXPECT_EQ(d.content, "");
}

// ------------------------------------------------------------------------------ chat format

TEST(ChatFormatTest, MultiTurnDropsThinkBlocksFromHistory) {
    std::vector<r1::ChatMessage> msgs = {
        {"system", "You are helpful."},
        {"user", "What is 2+2?"},
        {"assistant", "<think>\nadd them\n</think>\n\n4"},
        {"user", "And 3+3?"},
    };
    auto p = r1::render_r1_chat(msgs);
    EXPECT_EQ(p.text,
              "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>What is 2+2?<｜Assistant｜>\n\n4"
              "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n");
    EXPECT_TRUE(p.think_prefilled);

    auto q = r1::render_r1_chat(msgs, /*add_generation_prompt=*/false, /*add_bos=*/false);
    EXPECT_EQ(q.text,
              "You are helpful.<｜User｜>What is 2+2?<｜Assistant｜>\n\n4<｜end▁of▁sentence｜>"
              "<｜User｜>And 3+3?");
    EXPECT_FALSE(q.think_prefilled);
}

TEST(ChatFormatTest, SystemsJoinedLastThinkCloseWinsAndTools) {
    std::vector<r1::ChatMessage> msgs = {
        {"user", "Q"},
        {"system", "A"},
        {"system", "B"},
        {"assistant", "x</think>y</think>z"},  // the template keeps what follows the last tag
        {"assistant", "no think here"},
    };
    EXPECT_EQ(r1::render_r1_chat(msgs).text,
              "<｜begin▁of▁sentence｜>A\n\nB<｜User｜>Q<｜Assistant｜>z<｜end▁of▁sentence｜>"
              "<｜Assistant｜>no think here<｜end▁of▁sentence｜><｜Assistant｜><think>\n");

    std::vector<r1::ChatMessage> tools = {
        {"user", "weather?"},
        {"tool", "sunny"},
        {"tool", "20C"},
        {"assistant", "<think>t</think>It is sunny."},
        {"user", "thanks"},
        {"tool", "late"},
    };
    auto t = r1::render_r1_chat(tools);
    EXPECT_EQ(t.text,
              "<｜begin▁of▁sentence｜><｜User｜>weather?<｜tool▁outputs▁begin｜>"
              "<｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁output▁begin｜>20C"
              "<｜tool▁output▁end｜><｜tool▁outputs▁end｜><think>t</think>It is sunny."
              "<｜end▁of▁sentence｜><｜User｜>thanks<｜tool▁output▁begin｜>late"
              "<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
    EXPECT_FALSE(t.think_prefilled);  // no generation prompt after a trailing tool message
}

TEST(ChatFormatTest, UnknownRoleThrowsNamingTheMessage) {
    std::vector<r1::ChatMessage> msgs = {{"user", "hi"}, {"robot", "beep"}};
    try {
        r1::render_r1_chat(msgs);
        FAIL() << "expected r1::Error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("message 1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("robot"), std::string::npos) << e.what();
    }
    EXPECT_EQ(r1::drop_think_block("a</think>b"), "b");
    EXPECT_EQ(r1::drop_think_block("plain"), "plain");
}

}  // namespace
