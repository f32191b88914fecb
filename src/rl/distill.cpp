// r1 distill's driver (contract in distill.h): options, then stage (i) (distill_sample.cpp),
// then the student's SFT through src/train/trainer with, when KD is on, a micro-batch loss
// that runs a teacher forward on the same batch. The trainer keeps "compute gradients"
// (this file's hook) and "optimiser step" (clip, AdamW) apart, so a data-parallel all-reduce
// between them covers KD too.
#include "rl/distill.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/error.h"
#include "dist/data_parallel.h"
#include "model/model.h"
#include "ops/matmul.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"

namespace r1::rl {

namespace fs = std::filesystem;

void DistillOptions::validate() const {
    R1_CHECK(!teacher.empty(), "[distill] --teacher is required");
    R1_CHECK(!student.empty(), "[distill] --student is required");
    R1_CHECK(!out_dir.empty(), "[distill] --out is required");
    R1_CHECK(n_prompts >= 1, "[distill] --prompts must be >= 1, got ", n_prompts);
    R1_CHECK(k >= 1 && k <= 1024, "[distill] --k must be in [1, 1024], got ", k);
    R1_CHECK(temperature >= 0.0f, "[distill] --temperature must be >= 0, got ", temperature);
    R1_CHECK(top_p > 0.0f && top_p <= 1.0f, "[distill] --top-p must be in (0, 1], got ", top_p);
    R1_CHECK(max_tokens >= 1, "[distill] --max-tokens must be >= 1, got ", max_tokens);
    R1_CHECK(max_per_prompt >= 0, "[distill] --max-per-prompt must be >= 0, got ", max_per_prompt);
    R1_CHECK(n_slots >= 1, "[distill] --slots must be >= 1, got ", n_slots);
    R1_CHECK(steps >= 1, "[distill] --steps must be >= 1, got ", steps);
    R1_CHECK(batch >= 1 && seq >= 1, "[distill] --batch and --seq must be >= 1");
    R1_CHECK(kd.alpha >= 0.0f && kd.alpha <= 1.0f, "[distill] --kd-weight must be in [0, 1], got ", kd.alpha);
    R1_CHECK(kd.tau > 0.0f, "[distill] --kd-temp must be > 0, got ", kd.tau);
}

namespace {

bool is_checkpoint_file(const std::string& s) {
    if (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0) return false;
    return fs::is_regular_file(s);
}

// The teacher as a training-side Model (its forward gives the final hidden states; the LM
// head runs chunked inside the KD op).
struct KdTeacher {
    Model model;
    KdStats stats;
    explicit KdTeacher(const ModelConfig& cfg) : model(cfg) {}
};

std::unique_ptr<KdTeacher> load_kd_teacher(const DistillOptions& o, const ModelConfig& student) {
    R1_CHECK(is_checkpoint_file(o.teacher) &&
                 !(o.teacher.size() > 5 && o.teacher.compare(o.teacher.size() - 5, 5, ".gguf") == 0),
             "[distill] --kd ", kd_mode_name(o.kd.mode), " needs a ckpt.r1 teacher (the "
             "student's byte tokenizer and vocabulary); ", o.teacher, " is not one — use --kd none");
    const Checkpoint ck = read_checkpoint(o.teacher);
    R1_CHECK(ck.meta.config.n_vocab == student.n_vocab, "[distill] --kd: the teacher ", o.teacher,
             " has n_vocab ", ck.meta.config.n_vocab, ", the student ", student.n_vocab,
             " (logit distillation needs one vocabulary)");
    auto t = std::make_unique<KdTeacher>(ck.meta.config);
    apply_checkpoint(ck, t->model.params(), nullptr);
    return t;
}

nlohmann::json sft_record(const DistillOptions& o) {
    return {{"student", o.student}, {"kd", kd_mode_name(o.kd.mode)}, {"kd_weight", o.kd.alpha},
            {"kd_temp", o.kd.tau}};
}

}  // namespace

// Memory: h_t [N, Ct] + one [R, V] chunk of teacher logits; the student's own chunk lives
// inside lm_head_kd.
MicroBatchFn make_kd_micro_batch(Model& teacher, const KdOptions& kd, KdStats* last) {
    struct Scratch {
        Buffer<float> h;       // [N, Ct] teacher final hidden states of the current batch
        Buffer<float> logits;  // [R, V] teacher logits of one row chunk
    };
    auto sc = std::make_shared<Scratch>();
    return [&teacher, kd, last, sc](Model& model, const int32_t* tok, const int32_t* tgt,
                                    int64_t B, int64_t T, float grad_scale) {
        const int64_t N = B * T;
        const int64_t n_valid = std::count_if(tgt, tgt + N, [](int32_t x) { return x >= 0; });
        const float* Wt = nullptr;
        int64_t Ct = 0, Vt = 0;
        teacher.forward_head(tok, B, T, [&](const float* h, const float* W, float*, float*,
                                            int64_t n, int64_t C, int64_t V) {
            if (sc->h.size() < (size_t)(n * C)) sc->h = Buffer<float>(n * C);
            std::copy(h, h + n * C, sc->h.data());
            Wt = W;
            Ct = C;
            Vt = V;
            return 0.0;
        });
        double ce = 0, kl = 0;
        StepStats s = model.forward_backward_head(
            tok, B, T,
            [&](const float* h, const float* W, float* dh, float* dW, int64_t n, int64_t C,
                int64_t V) -> double {
                R1_CHECK(V == Vt, "[distill] --kd: student vocabulary ", V, " != teacher's ", Vt);
                const float gs = n_valid > 0 ? grad_scale / (float)n_valid : 0.0f;
                const int64_t R = std::clamp<int64_t>((int64_t{1} << 21) / V, 32, 1024);
                if (sc->logits.size() < (size_t)(R * V)) sc->logits = Buffer<float>(R * V);
                double loss = 0;
                for (int64_t r0 = 0; r0 < n; r0 += R) {
                    const int64_t m = std::min(R, n - r0);
                    gemm(false, true, m, V, Ct, 1.0f, sc->h.data() + r0 * Ct, Ct, Wt, Ct, 0.0f,
                         sc->logits.data(), V);  // [m, V] teacher logits
                    const LmHeadKdResult r =
                        lm_head_kd(dh ? dh + r0 * C : nullptr, dW, h + r0 * C, W,
                                   sc->logits.data(), tgt + r0, m, C, V, kd, gs);
                    loss += r.loss_sum;
                    ce += r.ce_sum;
                    kl += r.kl_sum;
                }
                return n_valid > 0 ? loss / (double)n_valid : 0.0;
            },
            grad_scale);
        s.n_tokens = n_valid;
        if (last && n_valid > 0) {
            last->ce = ce / (double)n_valid;
            last->kl = kl / (double)n_valid;
        }
        if (last) last->n_tokens = n_valid;
        return s;
    };
}

DistillResult distill(const DistillOptions& o) {
    o.validate();
    dist::DataParallel dp(o.comm);  // one rank unless o.comm says otherwise
    const int R = dp.size();
    R1_CHECK(o.batch % R == 0, "[distill] --batch ", o.batch, " (the global SFT batch) does not "
             "split over ", R, " ranks: pass a multiple of ", R);
    const fs::path dir(o.out_dir);
    DistillResult res;
    res.traces_path = (dir / "traces.jsonl").string();

    // Decide the student (and check KD compatibility) before spending time on sampling.
    TrainOptions t;
    if (is_checkpoint_file(o.student)) {
        const Checkpoint ck = read_checkpoint(o.student);
        t.config = ck.meta.config;
        t.model = ck.meta.train_options.value("model", std::string("init"));
        t.init = o.student;
    } else {
        t.model = o.student;
        t.config = resolve_model_config(o.student);
    }
    R1_CHECK(t.config.n_vocab >= ByteTokenizer::n_vocab(), "[distill] --student ", o.student,
             ": n_vocab ", t.config.n_vocab, " is smaller than the byte tokenizer's ",
             ByteTokenizer::n_vocab());
    std::unique_ptr<KdTeacher> kd_teacher;
    if (o.kd.mode != KdMode::none) kd_teacher = load_kd_teacher(o, t.config);

    // (i) rejection sampling (skipped when a resumed run already finished it)
    const bool had_traces = o.resume && fs::exists(res.traces_path) && fs::exists(dir / "sampling.json");
    res.sampling = sample_traces(o, &res.interrupted);
    res.sampling_skipped = had_traces;
    if (res.interrupted) return res;
    R1_CHECK(res.sampling.n_accepted > 0, "[distill] no trace passed the verifier (",
             res.sampling.n_passed, " of ", res.sampling.n_sampled, " completions correct, well "
             "formed and stopped): train the teacher longer or raise --k, --prompts or --max-tokens");

    // (ii)+(iii) SFT of the student on the traces
    const fs::path sdir = dir / "student";
    const bool resume_sft = o.resume && fs::exists(sdir / "ckpt.r1");
    if (dp.is_root()) {  // the record: rank 0 checks and writes it, the others wait below
        const fs::path rec_path = dir / "distill.json";
        nlohmann::json rec = nlohmann::json::object();
        if (std::ifstream f(rec_path); f.good()) rec = nlohmann::json::parse(f, nullptr, false);
        if (!rec.is_object()) rec = nlohmann::json::object();
        const nlohmann::json want = sft_record(o);
        if (resume_sft && rec.contains("sft"))
            for (auto it = want.begin(); it != want.end(); ++it)
                if (rec["sft"].contains(it.key()) && rec["sft"][it.key()] != it.value())
                    fail("[distill] --resume: ", it.key(), " is ", rec["sft"][it.key()].dump(),
                         " in ", rec_path.string(), ", ", it.value().dump(), " requested");
        rec["sft"] = want;
        std::ofstream(rec_path, std::ios::trunc) << rec.dump(2) << "\n";
    }
    if (R > 1) dp.comm().barrier();
    t.data = fs::absolute(res.traces_path).string();
    t.out_dir = sdir.string();
    t.steps = o.steps;
    t.batch = o.batch / R;  // per rank: the trainer's global batch is R x batch
    if (R > 1) t.comm = o.comm;
    t.check_sync = o.check_sync;
    t.seq = std::min<int64_t>(o.seq, t.config.n_ctx);
    t.lr = o.lr;
    t.min_lr = o.min_lr;
    t.warmup = std::min<int64_t>(o.warmup, o.steps);
    t.seed = o.seed;
    t.resume = resume_sft;
    t.progress = o.progress;
    t.handle_signals = o.handle_signals;
    t.log_every = o.log_every;
    if (kd_teacher) t.micro_batch = make_kd_micro_batch(kd_teacher->model, o.kd, &kd_teacher->stats);
    res.train = train(t);
    res.trained = true;
    res.interrupted = res.train.interrupted;
    res.student_ckpt = res.train.checkpoint;
    if (kd_teacher && R == 1) {
        res.kd_ce = kd_teacher->stats.ce;
        res.kd_kl = kd_teacher->stats.kl;
    } else if (kd_teacher) {
        // the last micro-batch's means, token-weighted over the ranks
        const KdStats& k = kd_teacher->stats;
        double v[3] = {k.ce * (double)k.n_tokens, k.kl * (double)k.n_tokens, (double)k.n_tokens};
        if (k.n_tokens == 0) v[0] = v[1] = 0;
        dp.sum(v, 3);
        if (v[2] > 0) res.kd_ce = v[0] / v[2], res.kd_kl = v[1] / v[2];
    }
    return res;
}

}  // namespace r1::rl
