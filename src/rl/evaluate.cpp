// evaluate(): problems -> batched generation -> rewards -> metrics (see evaluate.h).
#include "rl/evaluate.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "generate/engine.h"

namespace r1::rl {

EvalResult evaluate(const InferenceModel& model, const TextCodec& codec, const Task& task,
                    const EvalOptions& opt) {
    R1_CHECK(opt.n >= 1, "[eval] --n must be >= 1, got ", opt.n);
    R1_CHECK(opt.samples >= 1, "[eval] --samples must be >= 1, got ", opt.samples);
    R1_CHECK(opt.max_tokens >= 1, "[eval] --max-tokens must be >= 1, got ", opt.max_tokens);
    R1_CHECK(opt.batch >= 1, "[eval] --batch must be >= 1, got ", opt.batch);
    R1_CHECK(opt.samples == 1 || opt.temperature > 0, "[eval] --samples > 1 needs --temperature > 0");
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig& cfg = model.config();
    const uint64_t avail = task.size(opt.split);
    const int64_t n = avail ? std::min<int64_t>(opt.n, (int64_t)avail) : opt.n;

    EvalResult res;
    res.n = n;
    res.samples = opt.samples;
    res.rows.resize((size_t)n);
    std::vector<std::vector<int32_t>> prompts((size_t)n);
    int64_t max_prompt = 0;
    for (int64_t i = 0; i < n; i++) {
        EvalRow& row = res.rows[(size_t)i];
        row.index = (uint64_t)i;
        row.problem = task.problem(opt.split, opt.seed, (uint64_t)i);
        prompts[(size_t)i] = codec.encode(row.problem.prompt);
        const int64_t len = (int64_t)prompts[(size_t)i].size();
        R1_CHECK(len >= 1 && len < cfg.n_ctx, "[eval] problem ", i, ": prompt of ", len,
                 " tokens does not fit the model's context of ", cfg.n_ctx);
        max_prompt = std::max(max_prompt, len);
        row.samples.resize((size_t)opt.samples);
    }

    GeneratorOptions go;
    go.n_slots = std::min<int64_t>(opt.batch, n * opt.samples);
    go.n_ctx = std::min<int64_t>(cfg.n_ctx, max_prompt + opt.max_tokens);
    Generator gen(model, go);
    const std::vector<int32_t> stops = codec.stop_ids();
    const int64_t vocab_limit = std::min<int64_t>(cfg.n_vocab, codec.n_vocab());
    // request id = i·samples + j (add order), so results map back without a table
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < opt.samples; j++) {
            GenRequest q;
            q.prompt = prompts[(size_t)i];
            q.max_tokens = std::max<int64_t>(1, std::min<int64_t>(opt.max_tokens, go.n_ctx - (int64_t)q.prompt.size()));
            if (opt.samples == 1) {
                q.sampler.temperature = 0.0f;  // greedy
            } else {
                q.sampler.temperature = opt.temperature;
                q.sampler.top_p = opt.top_p;
            }
            q.sampler.seed = opt.seed + (uint64_t)(i * opt.samples + j);
            q.stop_ids = stops;
            q.vocab_limit = vocab_limit;
            gen.add(std::move(q));
        }

    const int64_t total = n * opt.samples;
    int64_t done = 0;
    while (!gen.done()) {
        for (GenResult& r : gen.step()) {
            const int64_t i = r.id / opt.samples, j = r.id % opt.samples;
            EvalRow& row = res.rows[(size_t)i];
            EvalSample& s = row.samples[(size_t)j];
            s.completion = codec.decode_completion(r.tokens);
            s.length = (int64_t)r.tokens.size();
            s.finish_reason = r.finish_reason;
            s.reward = task.score(row.problem, s.completion);
            done++;
            if (opt.on_progress) opt.on_progress(done, total);
        }
    }

    int64_t correct = 0, formatted = 0, reflect = 0, solved = 0, tokens = 0;
    double reward = 0;
    for (EvalRow& row : res.rows) {
        for (const EvalSample& s : row.samples) {
            row.n_correct += s.reward.correct;
            formatted += s.reward.formatted;
            reflect += s.reward.reflection;
            tokens += s.length;
            reward += s.reward.total;
        }
        correct += row.n_correct;
        solved += row.n_correct > 0;
    }
    const double denom = (double)total;
    res.accuracy = (double)correct / denom;
    res.pass_at_k = (double)solved / (double)n;
    res.format_rate = (double)formatted / denom;
    res.reflection_rate = (double)reflect / denom;
    res.mean_length = (double)tokens / denom;
    res.mean_reward = reward / denom;
    res.generated_tokens = gen.stats().generated_tokens;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

namespace {
nlohmann::json sample_json(const EvalSample& s) {
    return {{"completion", s.completion},
            {"extracted", s.reward.extracted},
            {"correct", s.reward.correct},
            {"formatted", s.reward.formatted},
            {"reflection", s.reward.reflection},
            {"reward", s.reward.total},
            {"length", s.length},
            {"finish_reason", s.finish_reason}};
}
}  // namespace

std::string eval_dump_jsonl(const EvalResult& r) {
    std::string out;
    for (const EvalRow& row : r.rows) {
        nlohmann::json j = sample_json(row.samples[0]);
        j["index"] = row.index;
        j["prompt"] = row.problem.prompt;
        j["gold"] = row.problem.gold;
        if (r.samples > 1) {
            j["n_correct"] = row.n_correct;
            nlohmann::json all = nlohmann::json::array();
            for (const auto& s : row.samples) all.push_back(sample_json(s));
            j["samples"] = all;
        }
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += "\n";
    }
    return out;
}

}  // namespace r1::rl
