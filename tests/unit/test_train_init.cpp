// TrainOptions::init (`r1 train --init CKPT`) and TrainOptions::micro_batch (the custom-loss
// hook distillation uses): a run started from a checkpoint begins at that checkpoint's
// weights (its first loss is the checkpoint's loss on the first batch, step 0, fresh
// optimiser), a mismatched architecture or a missing file is rejected by name, and the hook
// replaces Model::forward_backward once per micro-batch.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/model.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/trainer.h"
#include "testing.h"

namespace fs = std::filesystem;

namespace r1 {
namespace {

std::string tmp_dir(const std::string& name) {
    const char* base = std::getenv("R1_TEST_TMP");
    fs::path p = fs::path(base ? base : fs::temp_directory_path().string()) / ("init_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

TrainOptions small_options() {
    TrainOptions o;
    o.model = "tiny-dense";
    o.config = resolve_model_config(o.model);
    o.config.n_layer = 1;
    o.steps = 4;
    o.batch = 2;
    o.seq = 32;
    o.warmup = 1;
    o.lr = 3e-3f;
    o.eval_batches = 0;
    o.log_every = 0;
    o.progress = false;
    o.handle_signals = false;
    return o;
}

TEST(TrainInit, StartsFromTheCheckpointWeights) {
    TrainOptions a = small_options();
    a.out_dir = tmp_dir("a");
    const TrainResult ra = train(a);
    ASSERT_FALSE(ra.checkpoint.empty());

    // Loss of the checkpoint's weights on the first training batch of seed 1337.
    Model m(a.config);
    apply_checkpoint(read_checkpoint(ra.checkpoint, &a.config), m.params(), nullptr);
    auto corpus = open_corpus(a.data, a.data_opt);
    BatchLoader loader(*corpus, Split::train, a.seed);
    std::vector<int32_t> tok(a.batch * a.seq), tgt(a.batch * a.seq);
    ASSERT_GT(loader.next(tok.data(), tgt.data(), a.batch, a.seq), 0);
    const double want = m.loss(tok.data(), tgt.data(), a.batch, a.seq).loss;

    TrainOptions b = small_options();
    b.out_dir = tmp_dir("b");
    b.init = ra.checkpoint;
    b.steps = 2;
    const TrainResult rb = train(b);
    EXPECT_EQ(rb.start_step, 0);
    EXPECT_EQ(rb.end_step, 2);
    EXPECT_NEAR(rb.first_loss, want, 1e-4);

    // A fresh run's first loss is the untrained model's, far above the checkpoint's.
    TrainOptions c = small_options();
    c.out_dir = tmp_dir("c");
    c.steps = 1;
    const TrainResult rc = train(c);
    EXPECT_GT(rc.first_loss, want + 0.1);

    // The fresh optimiser: the init run's checkpoint is at its own step 2, not 4 + 2.
    const Checkpoint ckb = read_checkpoint(rb.checkpoint);
    EXPECT_EQ(ckb.meta.step, 2);
    EXPECT_EQ(ckb.adam_t, 2);
    EXPECT_EQ(ckb.meta.train_options.value("init", std::string()), ra.checkpoint);
}

TEST(TrainInit, BadInitIsRejectedByName) {
    TrainOptions a = small_options();
    a.out_dir = tmp_dir("bad_a");
    a.steps = 1;
    const TrainResult ra = train(a);

    TrainOptions missing = small_options();
    missing.out_dir = tmp_dir("bad_missing");
    missing.init = a.out_dir + "/nope.r1";
    try {
        train(missing);
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--init: no checkpoint at"), std::string::npos) << e.what();
    }

    TrainOptions other = small_options();
    other.out_dir = tmp_dir("bad_other");
    other.config.n_layer = 2;  // a different architecture than the checkpoint's
    other.init = ra.checkpoint;
    try {
        train(other);
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("n_layer"), std::string::npos) << e.what();
    }
}

TEST(TrainInit, MicroBatchHookReplacesTheLoss) {
    TrainOptions o = small_options();
    o.out_dir = tmp_dir("hook");
    o.steps = 3;
    o.accum = 2;
    int calls = 0;
    o.micro_batch = [&](Model& model, const int32_t* tok, const int32_t* tgt, int64_t B,
                        int64_t T, float scale) {
        calls++;
        EXPECT_FLOAT_EQ(scale, 0.5f);
        StepStats s = model.forward_backward(tok, tgt, B, T, scale);
        s.loss += 100.0;  // visible in the trainer's reported loss
        return s;
    };
    const TrainResult r = train(o);
    EXPECT_EQ(calls, 6);
    EXPECT_GT(r.final_loss, 100.0);
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// A chat-formatted prompt that starts with the BOS text (task prompts, distill traces) is
// not given a second BOS: SFT sees the stream generation is prompted with.
TEST(TrainInit, JsonlPromptWithBosTextGetsOneBos) {
    const std::string path = tmp_dir("bos") + "/t.jsonl";
    std::ofstream(path) << R"({"prompt": "<｜begin▁of▁sentence｜><｜User｜>1+1<｜Assistant｜>", "completion": "2"})"
                        << "\n" << R"({"prompt": "Q", "completion": "A"})" << "\n";
    auto c = load_jsonl_corpus(path);
    int64_t bos_docs = 0;
    for (int64_t i = 0; i < c->size(Split::train); i++) {
        const Document d = c->doc(Split::train, i);
        ASSERT_GE(d.tokens.size(), 3u);
        EXPECT_EQ(d.tokens[0], ByteTokenizer::kBos);
        EXPECT_NE(d.tokens[1], ByteTokenizer::kBos);
        bos_docs++;
    }
    for (int64_t i = 0; i < c->size(Split::eval); i++) {
        const Document d = c->doc(Split::eval, i);
        EXPECT_EQ(d.tokens[0], ByteTokenizer::kBos);
        EXPECT_NE(d.tokens[1], ByteTokenizer::kBos);
        bos_docs++;
    }
    EXPECT_EQ(bos_docs, 2);
}

}  // namespace
}  // namespace r1
