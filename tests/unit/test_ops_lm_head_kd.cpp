// Fused LM head + KD loss (ops/lm_head_kd.h): chunked fast path vs the [N, V]-materialising
// ref (forward / reverse / none, several temperatures and weights, several chunks, ignored
// rows), finite-difference gradients of dh and dW, the limits that pin the definition
// (alpha = 0 and mode none are lm_head_xent's CE; KL = 0 and no KD gradient when the student
// IS the teacher; KL > 0 otherwise; forward and reverse differ), bad input, and — when
// /usr/bin/python3 has torch — PyTorch's kl_div/cross_entropy + autograd on the same data.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "ops/lm_head.h"
#include "ops/lm_head_kd.h"
#include "ops/matmul.h"
#include "testing.h"

namespace r1 {
namespace {

using testing::allclose;
using testing::randn;

std::vector<int32_t> make_targets(int64_t N, int64_t V, int ignore_every) {
    std::vector<int32_t> t(N);
    for (int64_t r = 0; r < N; r++)
        t[r] = (ignore_every && r % ignore_every == 1) ? -1 : (int32_t)((r * 7919 + 3) % V);
    return t;
}

struct KdCase {
    const char* name;
    int64_t N, C, V;
    int ignore_every;
    KdMode mode;
    float alpha, tau;
};

TEST(OpsLmHeadKd, FastMatchesRef) {
    const KdCase cases[] = {
        {"one_row_fwd", 1, 4, 3, 0, KdMode::forward, 0.5f, 1.0f},
        {"small_rev", 37, 16, 50, 4, KdMode::reverse, 0.7f, 2.0f},
        {"small_fwd_cold", 37, 16, 50, 3, KdMode::forward, 1.0f, 0.5f},
        {"none", 20, 8, 30, 3, KdMode::none, 0.5f, 1.0f},
        {"multi_chunk_fwd", 1030, 4, 2048, 5, KdMode::forward, 0.3f, 1.5f},  // 1024-row chunks: 2
        {"multi_chunk_rev", 40, 3, 65536, 0, KdMode::reverse, 0.9f, 1.0f},   // 32-row chunks: 2
    };
    uint64_t seed = 11;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto h = randn(c.N * c.C, seed++), W = randn(c.V * c.C, seed++, 0.3f);
        auto T = randn(c.N * c.V, seed++, 2.0f);
        auto tg = make_targets(c.N, c.V, c.ignore_every);
        const KdOptions o{c.mode, c.alpha, c.tau};
        const float gs = 1.0f / (float)c.N;
        std::vector<float> dh_r(c.N * c.C);
        auto dW_r = randn(c.V * c.C, seed);  // dW accumulates onto existing values
        const auto rr = ref::lm_head_kd(dh_r.data(), dW_r.data(), h.data(), W.data(), T.data(),
                                        tg.data(), c.N, c.C, c.V, o, gs);
        testing::for_each_isa([&](Isa) {
            std::vector<float> dh(c.N * c.C, 9.0f);
            auto dW = randn(c.V * c.C, seed);
            const auto rf = lm_head_kd(dh.data(), dW.data(), h.data(), W.data(), T.data(),
                                       tg.data(), c.N, c.C, c.V, o, gs);
            EXPECT_EQ(rf.n_valid, rr.n_valid);
            EXPECT_NEAR(rf.ce_sum, rr.ce_sum, 1e-4 * std::fabs(rr.ce_sum) + 1e-4);
            EXPECT_NEAR(rf.kl_sum, rr.kl_sum, 1e-4 * std::fabs(rr.kl_sum) + 1e-4);
            EXPECT_NEAR(rf.loss_sum, rr.loss_sum, 1e-4 * std::fabs(rr.loss_sum) + 1e-4);
            EXPECT_TRUE(allclose(dh, dh_r, 1e-5f, 1e-3f));
            EXPECT_TRUE(allclose(dW, dW_r, 1e-5f, 1e-3f));
            // forward only: same losses, nothing written
            const auto r0 = lm_head_kd(nullptr, nullptr, h.data(), W.data(), T.data(), tg.data(),
                                       c.N, c.C, c.V, o, gs);
            EXPECT_DOUBLE_EQ(r0.loss_sum, rf.loss_sum);
        });
        if (c.mode != KdMode::none) EXPECT_GT(rr.kl_sum, 0.0);
    }
}

TEST(OpsLmHeadKd, FiniteDifferenceGradients) {
    const int64_t N = 5, C = 6, V = 7;
    for (KdMode mode : {KdMode::forward, KdMode::reverse}) {
        for (float tau : {1.0f, 2.0f}) {
            SCOPED_TRACE(std::string(kd_mode_name(mode)) + " tau " + std::to_string(tau));
            auto h = randn(N * C, 3), W = randn(V * C, 4, 0.5f), T = randn(N * V, 5, 1.5f);
            auto tg = make_targets(N, V, 4);  // row 1 ignored
            const KdOptions o{mode, 0.6f, tau};
            const float gs = 0.5f;
            std::vector<float> dh(N * C), dW(V * C, 0.0f);
            lm_head_kd(dh.data(), dW.data(), h.data(), W.data(), T.data(), tg.data(), N, C, V, o, gs);
            auto f = [&] {
                return gs * ref::lm_head_kd(nullptr, nullptr, h.data(), W.data(), T.data(),
                                            tg.data(), N, C, V, o, gs).loss_sum;
            };
            EXPECT_TRUE(testing::check_grad(f, h, dh, 1e-2f, 1e-3f, 1e-2f));
            EXPECT_TRUE(testing::check_grad(f, W, dW, 1e-2f, 1e-3f, 1e-2f));
        }
    }
}

TEST(OpsLmHeadKd, LimitsPinTheDefinition) {
    const int64_t N = 40, C = 10, V = 60;
    auto h = randn(N * C, 21), W = randn(V * C, 22, 0.4f), T = randn(N * V, 23);
    auto tg = make_targets(N, V, 6);
    const float gs = 1.0f / N;
    // alpha = 0 (and mode none) is exactly lm_head_xent's cross-entropy.
    std::vector<float> dh_ce(N * C), dW_ce(V * C, 0.0f);
    const auto ce = lm_head_xent(dh_ce.data(), dW_ce.data(), nullptr, nullptr, h.data(), W.data(),
                                 tg.data(), N, C, V, gs);
    for (const KdOptions o : {KdOptions{KdMode::forward, 0.0f, 2.0f}, KdOptions{KdMode::none, 0.8f, 1.0f}}) {
        std::vector<float> dh(N * C), dW(V * C, 0.0f);
        const auto r = lm_head_kd(dh.data(), dW.data(), h.data(), W.data(), T.data(), tg.data(),
                                  N, C, V, o, gs);
        EXPECT_NEAR(r.loss_sum, ce.loss_sum, 1e-4 * ce.loss_sum);
        EXPECT_NEAR(r.ce_sum, ce.loss_sum, 1e-4 * ce.loss_sum);
        EXPECT_TRUE(allclose(dh, dh_ce, 1e-6f, 1e-3f));
        EXPECT_TRUE(allclose(dW, dW_ce, 1e-6f, 1e-3f));
    }
    // The student IS the teacher: KL = 0 and, at alpha = 1, no gradient at all.
    std::vector<float> Z(N * V);
    gemm(false, true, N, V, C, 1.0f, h.data(), C, W.data(), C, 0.0f, Z.data(), V);
    for (KdMode mode : {KdMode::forward, KdMode::reverse}) {
        std::vector<float> dh(N * C, 1.0f), dW(V * C, 0.0f);
        const auto r = lm_head_kd(dh.data(), dW.data(), h.data(), W.data(), Z.data(), tg.data(),
                                  N, C, V, {mode, 1.0f, 1.7f}, gs);
        EXPECT_NEAR(r.kl_sum, 0.0, 1e-5);
        for (float x : dh) EXPECT_NEAR(x, 0.0f, 1e-6f);
    }
    // Forward and reverse KL are different functions of the same pair.
    const auto f = lm_head_kd(nullptr, nullptr, h.data(), W.data(), T.data(), tg.data(), N, C, V,
                              {KdMode::forward, 1.0f, 1.0f}, gs);
    const auto b = lm_head_kd(nullptr, nullptr, h.data(), W.data(), T.data(), tg.data(), N, C, V,
                              {KdMode::reverse, 1.0f, 1.0f}, gs);
    EXPECT_GT(f.kl_sum, 0.0);
    EXPECT_GT(b.kl_sum, 0.0);
    EXPECT_GT(std::fabs(f.kl_sum - b.kl_sum), 1e-3 * f.kl_sum);
    EXPECT_EQ(f.n_valid, N - N / 6 - (N % 6 > 1 ? 1 : 0));
}

TEST(OpsLmHeadKd, BadInputThrows) {
    auto h = randn(4 * 3, 1), W = randn(5 * 3, 2), T = randn(4 * 5, 3);
    std::vector<int32_t> tg = {0, 1, 2, 3};
    auto expect = [&](const KdOptions& o, const std::vector<int32_t>& t, const char* needle) {
        try {
            lm_head_kd(nullptr, nullptr, h.data(), W.data(), T.data(), t.data(), 4, 3, 5, o, 1.0f);
            ADD_FAILURE() << "expected an error with " << needle;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect({KdMode::forward, 1.5f, 1.0f}, tg, "alpha");
    expect({KdMode::forward, 0.5f, 0.0f}, tg, "tau");
    expect({KdMode::forward, 0.5f, 1.0f}, {0, 1, 5, 0}, "targets[2]=5");
    EXPECT_THROW(parse_kd_mode("sideways", "--kd"), Error);
    EXPECT_EQ(parse_kd_mode("reverse", "--kd"), KdMode::reverse);
}

// PyTorch oracle: F.cross_entropy + F.kl_div (forward KL(p‖q), reverse KL(q‖p)) with
// autograd, on data written here. Skipped when /usr/bin/python3 has no torch.
TEST(OpsLmHeadKd, MatchesPyTorch) {
    const char* src = std::getenv("R1_SOURCE_DIR");
    if (!src) src = R1_SOURCE_DIR_DEFAULT;
    namespace fs = std::filesystem;
    fs::path script = fs::path(src ? src : ".") / "scripts" / "kd_torch_check.py";
    if (!fs::exists(script)) script = fs::path(__FILE__).parent_path().parent_path().parent_path() /
                                      "scripts" / "kd_torch_check.py";
    if (!fs::exists(script) || !fs::exists("/usr/bin/python3"))
        GTEST_SKIP() << "no /usr/bin/python3, or no " << script;
    const char* base = std::getenv("R1_TEST_TMP");
    const fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) / "kd_torch";
    fs::create_directories(dir);
    const int64_t N = 9, C = 5, V = 11;
    auto h = randn(N * C, 31), W = randn(V * C, 32, 0.6f), T = randn(N * V, 33, 1.5f);
    auto tg = make_targets(N, V, 4);
    const float gs = 1.0f / 7;
    const KdOptions opts[] = {{KdMode::forward, 0.4f, 2.0f}, {KdMode::reverse, 0.7f, 0.5f}};
    nlohmann::json cases = nlohmann::json::array();
    for (const KdOptions& o : opts)
        cases.push_back({{"N", N}, {"C", C}, {"V", V}, {"h", h}, {"W", W}, {"T", T},
                         {"targets", tg}, {"mode", kd_mode_name(o.mode)}, {"alpha", o.alpha},
                         {"tau", o.tau}, {"grad_scale", gs}});
    std::ofstream((dir / "in.json").string()) << nlohmann::json{{"cases", cases}}.dump();
    const std::string cmd = "/usr/bin/python3 " + script.string() + " " +
                            (dir / "in.json").string() + " " + (dir / "out.json").string();
    const int rc = std::system(cmd.c_str());
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) GTEST_SKIP() << "/usr/bin/python3 has no torch";
    ASSERT_EQ(rc, 0) << cmd;
    std::ifstream f((dir / "out.json").string());
    const nlohmann::json results = nlohmann::json::parse(f)["results"];
    ASSERT_EQ(results.size(), 2u);
    for (size_t i = 0; i < 2; i++) {
        SCOPED_TRACE(kd_mode_name(opts[i].mode));
        const nlohmann::json& out = results[i];
        std::vector<float> dh(N * C), dW(V * C, 0.0f);
        const auto r = lm_head_kd(dh.data(), dW.data(), h.data(), W.data(), T.data(), tg.data(),
                                  N, C, V, opts[i], gs);
        EXPECT_NEAR(gs * r.loss_sum, out["loss"].get<double>(), 1e-5);
        EXPECT_NEAR(r.kl_sum, out["kl_sum"].get<double>(), 1e-4);
        EXPECT_TRUE(allclose(dh, out["dh"].get<std::vector<float>>(), 1e-5f, 1e-3f));
        EXPECT_TRUE(allclose(dW, out["dW"].get<std::vector<float>>(), 1e-5f, 1e-3f));
    }
}

}  // namespace
}  // namespace r1
