// Golden test of the GRPO policy-gradient loss against its PyTorch twin
// (scripts/torch_twin_grpo.py): same tiny model and weights, same tokens, advantages,
// aggregation weights, old and reference log-probs → the same log-probs, loss, clipped-token
// count and every parameter gradient (clip-higher PPO surrogate + k3 KL, β = 0.1).
// Fixtures are generated on first use into <build>/test-tmp/golden/, named by a hash of the
// config and both twin scripts. Tolerances as tests/golden/test_golden.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"
#include "rl/policy_loss.h"

namespace {

using r1::ModelConfig;
constexpr int64_t kB = 2, kT = 16;

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

ModelConfig dense_cfg();
ModelConfig moe_cfg();
const std::vector<std::pair<std::string, ModelConfig>>& cases() {
    static const std::vector<std::pair<std::string, ModelConfig>> c = {{"dense", dense_cfg()},
                                                                      {"moe", moe_cfg()}};
    return c;
}

std::string fixture_base(const std::string& name, const ModelConfig& cfg) {
    const std::string scripts = std::string(R1_SOURCE_DIR) + "/scripts/";
    nlohmann::json j;
    to_json(j, cfg);
    const size_t h = std::hash<std::string>{}(j.dump() + slurp(scripts + "torch_twin.py") +
                                              slurp(scripts + "torch_twin_grpo.py"));
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016zx", h);
    return std::string(R1_BINARY_DIR) + "/test-tmp/golden/grpo-" + name + "-" + hex;
}

// Generates every missing fixture in ONE twin run (importing torch costs seconds), then
// returns the path for `name`; "" if the twin failed. tmp + rename: concurrent test
// processes at worst duplicate work.
std::string fixture(const std::string& name) {
    namespace fs = std::filesystem;
    fs::create_directories(std::string(R1_BINARY_DIR) + "/test-tmp/golden");
    const std::string tag = ".tmp" + std::to_string((long)::getpid());
    std::string args;
    std::vector<std::string> made;
    for (const auto& [n, cfg] : cases()) {
        const std::string base = fixture_base(n, cfg);
        if (fs::exists(base + ".safetensors")) continue;
        nlohmann::json j;
        to_json(j, cfg);
        std::ofstream(base + ".json") << j.dump(2);
        args += " --config " + base + ".json --out " + base + tag;
        made.push_back(base);
    }
    if (!made.empty()) {
        const std::string cmd = "/usr/bin/python3 " + std::string(R1_SOURCE_DIR) +
                                "/scripts/torch_twin_grpo.py --seed 3" + args;
        if (std::system(cmd.c_str()) != 0) return "";
        for (const auto& base : made) fs::rename(base + tag, base + ".safetensors");
    }
    for (const auto& [n, cfg] : cases())
        if (n == name) return fixture_base(n, cfg) + ".safetensors";
    return "";
}

::testing::AssertionResult close(const std::string& what, const float* a, const float* b,
                                 size_t n, double rtol, double floor_rel, double atol_min) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = std::max(mx, (double)std::fabs(b[i]));
    const double atol = std::max(atol_min, floor_rel * mx);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!std::isfinite(a[i])) return ::testing::AssertionFailure() << what << ": non-finite at " << i;
        const double r = std::fabs((double)a[i] - b[i]) / (atol + rtol * std::fabs((double)b[i]));
        if (r > worst) worst = r, wi = i;
    }
    if (worst <= 1.0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": mismatch at [" << wi << "] r1 " << a[wi]
                                         << " vs torch " << b[wi] << " (ratio to tolerance " << worst << ")";
}

void run_case(const std::string& name) {
    ModelConfig cfg;
    for (const auto& [n, c] : cases())
        if (n == name) cfg = c;
    cfg.validate();
    const std::string path = fixture(name);
    ASSERT_FALSE(path.empty()) << "torch_twin_grpo failed for " << name
                               << " (needs /usr/bin/python3 with torch)";
    SCOPED_TRACE(name + " fixture " + path);
    r1::SafetensorsReader st(path);
    r1::Model m(cfg);
    for (const auto& p : m.params().infos())
        st.read_f32_into("w." + p.name, m.params().data().data() + p.offset, p.numel);
    r1::rl::PolicyBatch b;
    b.B = kB, b.T = kT;
    for (int64_t v : st.read_i64("tokens")) b.tokens.push_back((int32_t)v);
    for (int64_t v : st.read_i64("targets")) b.targets.push_back((int32_t)v);
    b.adv = st.read_f32("adv");
    b.weight = st.read_f32("weight");
    b.old_logp = st.read_f32("old_logp");
    b.ref_logp = st.read_f32("ref_logp");
    r1::rl::PolicyLossConfig pc;
    pc.eps_low = 0.2f, pc.eps_high = 0.28f, pc.beta = 0.1f;

    std::vector<float> logp(kB * kT);
    r1::rl::PolicyStats ps;
    m.params().zero_grad();
    const r1::StepStats s = m.forward_backward_head(
        b.tokens.data(), kB, kT, r1::rl::policy_head_loss(b, pc, &ps, logp.data()), 0.0f);
    const auto ref_logp = st.read_f32("logp");
    EXPECT_TRUE(close("logp", logp.data(), ref_logp.data(), logp.size(), 1e-5, 0, 2e-5));
    const float ref_loss = st.read_f32("loss")[0];
    EXPECT_NEAR(s.loss, ref_loss, 1e-5 * std::fabs(ref_loss) + 1e-6);
    EXPECT_EQ(ps.n_clipped, st.read_i64("n_clipped")[0]);
    EXPECT_GT(ps.n_clipped, 0);
    int n_checked = 0;
    for (const auto& p : m.params().infos()) {
        if (!p.trainable) continue;
        const float* gr = m.params().grad().data() + p.offset;
        const auto ref = st.read_f32("g." + p.name);
        ASSERT_EQ((int64_t)ref.size(), p.numel) << p.name;
        EXPECT_TRUE(close("grad " + p.name, gr, ref.data(), ref.size(), 1e-3, 2e-4, 1e-9));
        n_checked++;
    }
    EXPECT_GT(n_checked, 5);
}

ModelConfig dense_cfg() {  // Qwen2-like, tied embeddings
    ModelConfig c;
    c.arch = r1::Arch::qwen2;
    c.n_vocab = 64, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 32, c.n_head = 4, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 64;
    c.norm = r1::NormKind::rmsnorm;
    c.norm_eps = 1e-6f;
    c.pos = r1::PosKind::rope;
    c.rope_layout = r1::RopeLayout::neox;
    c.mlp = r1::MlpKind::swiglu;
    c.qkv_bias = true;
    c.tie_embeddings = true;
    return c;
}

ModelConfig moe_cfg() {  // DeepSeek-V3-style routing, untied head
    ModelConfig c = dense_cfg();
    c.arch = r1::Arch::deepseek2;
    c.qkv_bias = false;
    c.tie_embeddings = false;
    c.n_expert = 8, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_weights_norm = true;
    c.expert_sel_bias = true;
    return c;
}

}  // namespace

TEST(GoldenGrpo, PolicyLossDenseTied) { run_case("dense"); }
TEST(GoldenGrpo, PolicyLossMoe) { run_case("moe"); }
