// Golden tests: r1::Model against its PyTorch twin (scripts/torch_twin.py), llm.c style.
//
// For each small config the twin writes initial weights, a batch, logits, the loss, EVERY
// parameter gradient and the losses of 10 torch.optim.AdamW steps; we load the same weights
// and compare. Fixtures are generated on first use (all in one twin run) into <build>/test-tmp/golden/, named by a
// hash of the config JSON and the twin's source, so editing either regenerates them.
//
// Tolerances (fp32 everywhere): logits 1e-4 abs; loss 1e-5 rel; gradients 1e-3 rel with an
// absolute floor of 2e-4 × the tensor's largest entry (entries near zero carry only rounding
// noise); AdamW losses 1e-4 abs (observed drift after 10 steps: ~2e-6; Adam can amplify
// rounding noise in near-zero gradients to ±lr per step, hence the headroom).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"
#include "train/adamw.h"

namespace {

using r1::ModelConfig;

constexpr int64_t kB = 2, kT = 16;

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Case {
    std::string name;
    ModelConfig cfg;
};
std::vector<Case> all_cases();
constexpr int kSeed = 1;

// Fixture path for a case: named by a hash of its config JSON, the twin's source and the seed.
std::string fixture_base(const Case& c) {
    nlohmann::json j;
    to_json(j, c.cfg);
    const std::string twin = std::string(R1_SOURCE_DIR) + "/scripts/torch_twin.py";
    const size_t h = std::hash<std::string>{}(j.dump() + read_text(twin) + std::to_string(kSeed));
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016zx", h);
    return std::string(R1_BINARY_DIR) + "/test-tmp/golden/" + c.name + "-" + hex;
}

// Generates every missing fixture with ONE twin run (importing torch costs seconds; each
// model a fraction of that). Files appear atomically (tmp + rename), so concurrent test
// processes at worst duplicate work. Returns false if the twin failed.
bool ensure_fixtures() {
    namespace fs = std::filesystem;
    fs::create_directories(std::string(R1_BINARY_DIR) + "/test-tmp/golden");
    const std::string twin = std::string(R1_SOURCE_DIR) + "/scripts/torch_twin.py";
    std::string args;
    std::vector<std::string> made;
    const std::string tag = std::to_string((long)::getpid());
    for (const Case& c : all_cases()) {
        const std::string base = fixture_base(c);
        if (fs::exists(base + ".safetensors")) continue;
        nlohmann::json j;
        to_json(j, c.cfg);
        std::ofstream(base + ".json") << j.dump(2);
        args += " --config " + base + ".json --out " + base + ".tmp" + tag;
        made.push_back(base);
    }
    if (made.empty()) return true;
    const std::string cmd = "/usr/bin/python3 " + twin + " --seed " + std::to_string(kSeed) + args;
    if (std::system(cmd.c_str()) != 0) return false;
    for (const auto& base : made) fs::rename(base + ".tmp" + tag, base + ".safetensors");
    return true;
}

// Elementwise |a - b| <= atol + rtol·|b| with atol = floor_rel · max|b|; names the worst entry.
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
                                         << " vs torch " << b[wi] << " (max|torch| " << mx
                                         << ", ratio to tolerance " << worst << ")";
}

struct Golden {
    std::string path;
    std::unique_ptr<r1::SafetensorsReader> st;
    std::vector<int32_t> tokens, targets;
};

Golden load(const Case& c) {
    Golden g;
    if (!ensure_fixtures()) return g;
    g.path = fixture_base(c) + ".safetensors";
    g.st = std::make_unique<r1::SafetensorsReader>(g.path);
    for (int64_t v : g.st->read_i64("tokens")) g.tokens.push_back((int32_t)v);
    for (int64_t v : g.st->read_i64("targets")) g.targets.push_back((int32_t)v);
    return g;
}

void load_weights(r1::Model& m, const r1::SafetensorsReader& st) {
    r1::ParamSet& ps = m.params();
    for (const auto& p : ps.infos())
        st.read_f32_into("w." + p.name, ps.data().data() + p.offset, p.numel);
}

void run_golden(const std::string& name) {
    const auto cases = all_cases();
    auto it_case = std::find_if(cases.begin(), cases.end(), [&](const Case& c) { return c.name == name; });
    ASSERT_NE(it_case, cases.end()) << name;
    const ModelConfig& cfg = it_case->cfg;
    cfg.validate();
    Golden g = load(*it_case);
    ASSERT_FALSE(g.path.empty()) << "torch twin failed for " << name
                                 << " (needs /usr/bin/python3 with torch)";
    const auto& st = *g.st;
    auto it = st.metadata().find("min_margin");
    const std::string margin = it == st.metadata().end() ? "?" : it->second;
    SCOPED_TRACE(name + " fixture " + g.path + " (routing min margin " + margin + ")");
    ASSERT_EQ((int64_t)g.tokens.size(), kB * kT);

    r1::Model m(cfg);
    load_weights(m, st);

    // logits
    std::vector<float> logits((size_t)(kB * kT * cfg.n_vocab));
    m.logits(logits.data(), g.tokens.data(), kB, kT);
    const auto ref_logits = st.read_f32("logits");
    ASSERT_EQ(ref_logits.size(), logits.size());
    EXPECT_TRUE(close("logits", logits.data(), ref_logits.data(), logits.size(), 1e-4, 0, 1e-4));

    // loss (forward only)
    const float ref_loss = st.read_f32("loss")[0], ref_aux = st.read_f32("aux_loss")[0];
    r1::StepStats ls = m.loss(g.tokens.data(), g.targets.data(), kB, kT);
    EXPECT_NEAR(ls.loss, ref_loss, 1e-5 * std::fabs(ref_loss) + 1e-6);

    // loss and every gradient
    m.params().zero_grad();
    r1::StepStats s = m.forward_backward(g.tokens.data(), g.targets.data(), kB, kT);
    EXPECT_NEAR(s.loss, ref_loss, 1e-5 * std::fabs(ref_loss) + 1e-6);
    EXPECT_NEAR(s.aux_loss, ref_aux, 1e-5 * std::fabs(ref_aux) + 1e-7);
    EXPECT_EQ(s.n_tokens, kB * kT - 3);
    int n_checked = 0;
    for (const auto& p : m.params().infos()) {
        const float* gr = m.params().grad().data() + p.offset;
        if (!p.trainable) {
            for (int64_t i = 0; i < p.numel; i++)
                ASSERT_EQ(gr[i], 0.0f) << p.name << " is not trainable but has a gradient";
            continue;
        }
        const auto ref = st.read_f32("g." + p.name);
        ASSERT_EQ((int64_t)ref.size(), p.numel) << p.name;
        EXPECT_TRUE(close("grad " + p.name, gr, ref.data(), ref.size(), 1e-3, 2e-4, 1e-9));
        n_checked++;
    }
    EXPECT_GT(n_checked, 0);

    // 10 AdamW steps on the same batch (torch.optim.AdamW: lr 1e-3, betas .9/.95, wd .1)
    load_weights(m, st);
    r1::AdamW opt(m.params(), r1::AdamWConfig{0.9f, 0.95f, 1e-8f, 0.1f});
    const auto ref_losses = st.read_f32("losses");
    ASSERT_EQ(ref_losses.size(), 10u);
    for (int step = 0; step < 10; step++) {
        m.params().zero_grad();
        r1::StepStats ss = m.forward_backward(g.tokens.data(), g.targets.data(), kB, kT);
        const double total = ss.loss + ss.aux_loss;
        EXPECT_NEAR(total, ref_losses[step], 1e-4) << "AdamW step " << step;
        opt.step(m.params(), 1e-3f);
    }
    // training must actually move the loss (the fixture would be useless otherwise)
    EXPECT_LT(ref_losses[9], ref_losses[0]);
}

ModelConfig base_small() {
    ModelConfig c;
    c.n_vocab = 64;
    c.n_embd = 32;
    c.n_layer = 2;
    c.n_ctx = 32;
    c.n_head = 4;
    c.n_head_kv = 4;
    c.head_dim = 8;
    c.n_ff = 64;
    return c;
}

ModelConfig gpt2_cfg() {
    ModelConfig c = base_small();
    c.arch = r1::Arch::gpt2;
    c.norm = r1::NormKind::layernorm;
    c.norm_eps = 1e-5f;
    c.pos = r1::PosKind::learned;
    c.mlp = r1::MlpKind::gelu;
    c.gelu = r1::GeluKind::erf;
    c.qkv_bias = true;
    return c;
}

// bench-moe's family in small: GPT-2 blocks with every FFN a softmax top-2 MoE (no
// renormalisation) plus one shared expert, as ../shared/peers/torch_train.py.
ModelConfig gpt2_moe_cfg() {
    ModelConfig c = gpt2_cfg();
    c.qkv_bias = false;
    c.n_ff = 0;
    c.n_expert = 8;
    c.n_expert_used = 2;
    c.n_expert_shared = 1;
    c.n_ff_exp = 16;
    c.n_layer_dense_lead = 0;
    c.gating = r1::GatingFunc::softmax;
    return c;
}

ModelConfig qwen2_cfg() {
    ModelConfig c = base_small();
    c.arch = r1::Arch::qwen2;
    c.norm = r1::NormKind::rmsnorm;
    c.norm_eps = 1e-6f;
    c.pos = r1::PosKind::rope;
    c.rope_layout = r1::RopeLayout::neox;
    c.mlp = r1::MlpKind::swiglu;
    c.n_head_kv = 2;
    c.qkv_bias = true;
    c.tie_embeddings = true;
    return c;
}

ModelConfig moe_v2_cfg() {
    ModelConfig c = qwen2_cfg();
    c.arch = r1::Arch::deepseek2;
    c.qkv_bias = false;
    c.tie_embeddings = false;
    c.n_layer = 3;
    c.n_expert = 8;
    c.n_expert_used = 2;
    c.n_expert_shared = 1;
    c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::softmax;
    return c;
}

ModelConfig moe_v3_cfg() {
    ModelConfig c = moe_v2_cfg();
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_sel_bias = true;
    c.n_expert_groups = 2;
    c.n_group_used = 1;
    c.expert_weights_norm = true;
    c.expert_weights_scale = 2.5f;
    c.aux_loss_alpha = 0.01f;
    return c;
}

ModelConfig mla_cfg() {
    ModelConfig c = base_small();
    c.arch = r1::Arch::deepseek2;
    c.attn = r1::AttnKind::mla;
    c.n_head_kv = 0;
    c.head_dim = 0;
    c.q_lora_rank = 16;
    c.kv_lora_rank = 16;
    c.qk_nope_head_dim = 8;
    c.qk_rope_head_dim = 4;
    c.v_head_dim = 8;
    c.norm = r1::NormKind::rmsnorm;
    c.norm_eps = 1e-6f;
    c.pos = r1::PosKind::rope;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.yarn.factor = 4.0f;
    c.yarn.original_max_pos = 8;
    c.yarn.mscale = 1.0f;
    c.yarn.mscale_all_dim = 0.707f;
    c.mlp = r1::MlpKind::swiglu;
    return c;
}

// MLA with a plain q projection, no YaRN, and a V3-style MoE after it.
ModelConfig mla_moe_cfg() {
    ModelConfig c = mla_cfg();
    c.q_lora_rank = 0;
    c.yarn = r1::YarnParams{};
    c.n_layer = 2;
    c.n_expert = 4;
    c.n_expert_used = 2;
    c.n_expert_shared = 1;
    c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = r1::GatingFunc::sigmoid;
    c.expert_sel_bias = true;
    c.expert_weights_norm = true;
    return c;
}

std::vector<Case> all_cases() {
    return {{"gpt2", gpt2_cfg()},     {"qwen2", qwen2_cfg()}, {"moe-v2", moe_v2_cfg()},
            {"moe-v3", moe_v3_cfg()}, {"mla", mla_cfg()},     {"mla-moe", mla_moe_cfg()},
            {"gpt2-moe", gpt2_moe_cfg()}};
}

}  // namespace

TEST(Golden, Gpt2Dense) { run_golden("gpt2"); }
TEST(Golden, Gpt2Moe) { run_golden("gpt2-moe"); }
TEST(Golden, Qwen2Dense) { run_golden("qwen2"); }
TEST(Golden, DeepSeekMoeV2) { run_golden("moe-v2"); }
TEST(Golden, DeepSeekMoeV3) { run_golden("moe-v3"); }
TEST(Golden, Mla) { run_golden("mla"); }
TEST(Golden, MlaMoe) { run_golden("mla-moe"); }
