// r1 demo (interim) — the smallest end-to-end story: train tiny-moe on the built-in
// synthetic arithmetic corpus, watch the loss fall, then greedy-decode answers to held-out
// problems. Greedy decoding here recomputes Model::logits over the whole growing sequence
// each token (O(n²), fine for a 1M-parameter model); the KV-cache engine replaces it later,
// and the full R1 pipeline demo (pretrain → GRPO → distil) replaces this command.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/model.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"
#include "train/synthetic.h"
#include "train/trainer.h"

namespace {

struct DemoOptions {
    std::string out = "runs/demo";
    // 0: 3000 steps (~3M tokens, ~1.5 min on 2 idle cores; at 1200 steps the model has the
    // format but copies operands wrongly, at 3000 it solves the easy half of the held-out
    // samples — a mediocre base model, as RL needs), or 200 with --quick (format only).
    int64_t steps = 0;
    bool quick = false;
    uint64_t seed = 1;
    int samples = 4;
};

// Greedy continuation of `prompt` until EOS, max_new tokens, or the context is full.
std::vector<int32_t> greedy(r1::Model& model, std::vector<int32_t> ids, int64_t max_new) {
    const int64_t V = model.config().n_vocab, n_ctx = model.config().n_ctx;
    const int32_t n_tok = r1::ByteTokenizer::n_vocab();  // never emit ids the tokenizer lacks
    std::vector<int32_t> out;
    std::vector<float> logits;
    for (int64_t i = 0; i < max_new && (int64_t)ids.size() < n_ctx; i++) {
        const int64_t T = (int64_t)ids.size();
        logits.resize((size_t)(T * V));
        model.logits(logits.data(), ids.data(), 1, T);
        const float* last = logits.data() + (T - 1) * V;
        const int32_t next = (int32_t)(std::max_element(last, last + n_tok) - last);
        ids.push_back(next);
        out.push_back(next);
        if (next == r1::ByteTokenizer::kEos) break;
    }
    return out;
}

int run_demo(const DemoOptions& d) {
    r1::TrainOptions o;
    o.model = "tiny-moe";
    o.config = r1::ModelConfig::preset(o.model);
    o.data = "builtin";
    o.data_opt.seed = d.seed;
    o.out_dir = d.out;
    o.steps = d.steps > 0 ? d.steps : (d.quick ? 200 : 3000);
    o.batch = d.quick ? 4 : 8;
    o.seq = 128;
    o.lr = 3e-3f;
    o.min_lr = 3e-4f;
    o.warmup = std::min<int64_t>(20, o.steps / 10);
    o.seed = d.seed;
    o.eval_batches = 2;
    o.eval_every = std::max<int64_t>(1, o.steps / 4);
    o.log_every = std::max<int64_t>(1, o.steps / 12);

    std::printf("r1 demo: training %s (%.2fM params, %lld experts, top-%lld) on built-in "
                "arithmetic with <think> traces\n  %lld steps of %lldx%lld tokens, %d threads, "
                "output in %s\n\n",
                o.model.c_str(), o.config.n_params() / 1e6, (long long)o.config.n_expert,
                (long long)o.config.n_expert_used, (long long)o.steps, (long long)o.batch,
                (long long)o.seq, r1::num_threads(), o.out_dir.c_str());
    const r1::TrainResult r = r1::train(o);
    std::fflush(stdout);
    std::printf("\nloss %.3f -> %.3f", r.first_loss, r.final_loss);
    if (r.eval_loss >= 0) std::printf(" (held-out %.3f)", r.eval_loss);
    std::printf(" in %.1f s\n", r.elapsed);
    if (r.interrupted) {
        std::fprintf(stderr, "interrupted; resume with: r1 train --out %s --resume\n",
                     o.out_dir.c_str());
        return 130;
    }

    // Reload the final checkpoint (the same path `r1` tools will use) and sample.
    r1::Model model(o.config);
    r1::apply_checkpoint(r1::read_checkpoint(r.checkpoint, &o.config), model.params(), nullptr);
    int correct = 0;
    for (int i = 0; i < d.samples; i++) {
        const r1::Problem p = r1::heldout_problem(d.seed, (uint64_t)i, o.data_opt.synthetic);
        const std::string prompt = r1::chat_prompt(p.question());
        const auto gen = greedy(model, r1::ByteTokenizer::encode(prompt), 200);
        const std::string text = r1::ByteTokenizer::decode(gen);
        const auto ans = r1::extract_answer(text);
        const bool ok = ans && *ans == p.gold();
        correct += ok;
        std::printf("\nheld-out problem: %s  (gold %s)\n--- greedy sample ---\n%s%s\n---------------------\n"
                    "answer: %s  %s\n",
                    p.question().c_str(), p.gold().c_str(), prompt.c_str(), text.c_str(),
                    ans ? ans->c_str() : "(none)", ok ? "correct" : "wrong");
    }
    if (d.samples > 1) std::printf("\n%d/%d held-out problems correct\n", correct, d.samples);
    return 0;
}

r1::cli::Register reg("demo", "Interim demo: train tiny-moe on built-in arithmetic, then sample",
                      [](CLI::App& app) {
    auto d = std::make_shared<DemoOptions>();
    app.add_option("--out", d->out, "output directory (checkpoint, metrics.jsonl)")->capture_default_str();
    app.add_option("--steps", d->steps, "training steps (default 3000, or 200 with --quick)");
    app.add_flag("--quick", d->quick, "a short run (about 30 s on 2 cores)");
    app.add_option("--seed", d->seed, "seed for init, data and the held-out problems")->capture_default_str();
    app.add_option("--samples", d->samples, "held-out problems to answer greedily")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    return [d] { return run_demo(*d); };
});

}  // namespace
