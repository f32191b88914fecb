// The KD micro-batch loss of r1 distill (rl/distill.h make_kd_micro_batch) through real
// models: with a = 0 it IS the trainer's cross-entropy step (loss and every gradient equal
// Model::forward_backward's); a student distilled from an exact copy of itself has KL = 0
// and no gradient at a = 1; a MoE teacher and a dense student of one vocabulary give a
// positive, finite KL and a gradient that lowers it. Option validation names the flag.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/model.h"
#include "rl/distill.h"
#include "testing.h"

namespace r1 {
namespace {

ModelConfig small(const char* preset, int64_t n_layer) {
    ModelConfig c = ModelConfig::preset(preset);
    c.n_layer = n_layer;
    return c;
}

void batch(std::vector<int32_t>& tok, std::vector<int32_t>& tgt, int64_t B, int64_t T) {
    tok.resize(B * T);
    tgt.resize(B * T);
    for (int64_t i = 0; i < B * T; i++) {
        tok[i] = (int32_t)((i * 37 + 11) % 265);
        tgt[i] = i % T < 5 ? -1 : (int32_t)((i * 53 + 7) % 265);  // a masked "prompt"
    }
}

TEST(Distill, KdWithZeroWeightIsTheCrossEntropyStep) {
    const int64_t B = 2, T = 16;
    std::vector<int32_t> tok, tgt;
    batch(tok, tgt, B, T);
    Model teacher(small("tiny-moe", 2)), a(small("tiny-dense", 1)), b(small("tiny-dense", 1));
    teacher.init_weights(1);
    a.init_weights(2);
    b.init_weights(2);
    a.params().zero_grad();
    b.params().zero_grad();
    rl::KdStats st;
    const MicroBatchFn fn = rl::make_kd_micro_batch(teacher, {KdMode::forward, 0.0f, 2.0f}, &st);
    const StepStats sa = fn(a, tok.data(), tgt.data(), B, T, 0.5f);
    const StepStats sb = b.forward_backward(tok.data(), tgt.data(), B, T, 0.5f);
    EXPECT_NEAR(sa.loss, sb.loss, 1e-5 * sb.loss);
    EXPECT_EQ(sa.n_tokens, sb.n_tokens);
    EXPECT_NEAR(st.ce, sb.loss, 1e-5 * sb.loss);
    EXPECT_GT(st.kl, 0.0);  // still measured
    const Buffer<float>& ga = a.params().grad();
    const Buffer<float>& gb = b.params().grad();
    EXPECT_TRUE(testing::allclose(ga.data(), gb.data(), ga.size(), 1e-6f, 1e-3f));
}

TEST(Distill, SelfDistillationHasNoKlAndNoGradient) {
    const int64_t B = 2, T = 12;
    std::vector<int32_t> tok, tgt;
    batch(tok, tgt, B, T);
    Model teacher(small("tiny-dense", 1)), student(small("tiny-dense", 1));
    teacher.init_weights(3);
    student.init_weights(3);  // the same weights
    for (KdMode mode : {KdMode::forward, KdMode::reverse}) {
        student.params().zero_grad();
        rl::KdStats st;
        const MicroBatchFn fn = rl::make_kd_micro_batch(teacher, {mode, 1.0f, 1.5f}, &st);
        fn(student, tok.data(), tgt.data(), B, T, 1.0f);
        EXPECT_NEAR(st.kl, 0.0, 1e-6);
        const Buffer<float>& g = student.params().grad();
        const float worst = std::fabs(*std::max_element(g.data(), g.data() + g.size(), [](float x, float y) {
            return std::fabs(x) < std::fabs(y);
        }));
        EXPECT_LT(worst, 1e-5f) << kd_mode_name(mode);
    }
}

TEST(Distill, MoeTeacherDenseStudentStepLowersKl) {
    const int64_t B = 2, T = 16;
    std::vector<int32_t> tok, tgt;
    batch(tok, tgt, B, T);
    Model teacher(small("tiny-moe", 2)), student(small("tiny-dense", 1));
    teacher.init_weights(5);
    student.init_weights(6);
    // Sharpen the teacher so its distribution is far from the student's.
    for (size_t i = 0; i < teacher.params().data().size(); i++) teacher.params().data().data()[i] *= 3.0f;
    rl::KdStats st;
    const MicroBatchFn fn = rl::make_kd_micro_batch(teacher, {KdMode::reverse, 1.0f, 1.0f}, &st);
    student.params().zero_grad();
    fn(student, tok.data(), tgt.data(), B, T, 1.0f);
    const double kl0 = st.kl;
    ASSERT_TRUE(std::isfinite(kl0));
    EXPECT_GT(kl0, 0.0);
    // a small plain gradient step on the student lowers the KL
    Buffer<float>& w = student.params().data();
    const Buffer<float>& g = student.params().grad();
    for (size_t i = 0; i < w.size(); i++) w.data()[i] -= 0.05f * g.data()[i];
    student.params().zero_grad();
    fn(student, tok.data(), tgt.data(), B, T, 1.0f);
    EXPECT_LT(st.kl, kl0);
}

TEST(Distill, OptionsAreValidatedByName) {
    rl::DistillOptions o;
    o.teacher = "t.r1";
    o.student = "tiny-dense";
    o.out_dir = "out";
    EXPECT_NO_THROW(o.validate());
    auto expect = [](rl::DistillOptions bad, const char* needle) {
        try {
            bad.validate();
            ADD_FAILURE() << "expected an error with " << needle;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    rl::DistillOptions b = o;
    b.k = 0;
    expect(b, "--k");
    b = o;
    b.kd.alpha = 2;
    expect(b, "--kd-weight");
    b = o;
    b.kd.tau = 0;
    expect(b, "--kd-temp");
    b = o;
    b.teacher.clear();
    expect(b, "--teacher");
}

}  // namespace
}  // namespace r1
