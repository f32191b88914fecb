// Stage (i) of r1 distill: rejection sampling (contract in distill.h). Reads top to bottom:
// options record / resume check, then chunks of prompts: queue K requests per prompt on the
// batched engine → decode → verify → dedupe / cap → append rows → save the partial state.
//
// Sample k of prompt i uses sampler seed mix(seed, i, k), so which completions a run draws
// does not depend on chunking, on how requests share engine steps (up to float rounding of
// batched products, see generate/engine.h) or on where a resumed run continued.
//
// Files (all in OUT):
//   distill.json            the sampling options (a resume must match them)
//   traces.partial.jsonl    rows of finished chunks (+ maybe a torn tail after a crash,
//                           cut back to sampling.partial.json's byte count on resume)
//   sampling.partial.json   {prompts_done, bytes, stats} — written atomically per chunk
//   traces.jsonl, sampling.json   the finished stage (traces renamed into place last)
// Data parallel: each chunk is split into per-rank slices of prompts; rows and counts are
// gathered after every chunk (rank order = prompt order) and rank 0 alone writes the files.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/signals.h"
#include "core/progress.h"
#include "dist/data_parallel.h"
#include "dist/gather.h"
#include "generate/engine.h"
#include "generate/model_loader.h"
#include "rl/distill.h"

namespace r1::rl {

namespace fs = std::filesystem;

nlohmann::json to_json(const SamplingStats& s) {
    return {{"n_prompts", s.n_prompts},
            {"n_sampled", s.n_sampled},
            {"n_correct", s.n_correct},
            {"n_formatted", s.n_formatted},
            {"n_truncated", s.n_truncated},
            {"n_passed", s.n_passed},
            {"n_duplicates", s.n_duplicates},
            {"n_capped", s.n_capped},
            {"n_accepted", s.n_accepted},
            {"n_prompts_covered", s.n_prompts_covered},
            {"n_reflection", s.n_reflection},
            {"generated_tokens", s.generated_tokens},
            {"acceptance_rate", s.acceptance_rate()},
            {"seconds", s.seconds}};
}

SamplingStats sampling_stats_from_json(const nlohmann::json& j) {
    SamplingStats s;
    auto get = [&](const char* k, auto& v) {
        if (j.contains(k)) j.at(k).get_to(v);
    };
    get("n_prompts", s.n_prompts);
    get("n_sampled", s.n_sampled);
    get("n_correct", s.n_correct);
    get("n_formatted", s.n_formatted);
    get("n_truncated", s.n_truncated);
    get("n_passed", s.n_passed);
    get("n_duplicates", s.n_duplicates);
    get("n_capped", s.n_capped);
    get("n_accepted", s.n_accepted);
    get("n_prompts_covered", s.n_prompts_covered);
    get("n_reflection", s.n_reflection);
    get("generated_tokens", s.generated_tokens);
    get("seconds", s.seconds);
    return s;
}

namespace {

uint64_t mix_seed(uint64_t seed, uint64_t i, uint64_t k) {
    uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ull) ^ (k * 0xD1B54A32D192ED03ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void write_json_atomic(const fs::path& path, const nlohmann::json& j) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        R1_CHECK(f.good(), "[distill] ", tmp.string(), ": cannot open for writing");
        f << j.dump(2) << "\n";
        f.flush();
        R1_CHECK(f.good(), "[distill] ", tmp.string(), ": write failed");
    }
    fs::rename(tmp, path);
}

nlohmann::json read_json(const fs::path& path) {
    std::ifstream f(path);
    R1_CHECK(f.good(), "[distill] ", path.string(), ": cannot open");
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    R1_CHECK(!j.is_discarded() && j.is_object(), "[distill] ", path.string(), ": not a JSON object");
    return j;
}

// What the sampled traces depend on; a resume must use the same.
nlohmann::json sampling_record(const DistillOptions& o) {
    return {{"teacher", o.teacher},         {"task", o.task.spec},
            {"difficulty", o.task.difficulty}, {"n_prompts", o.n_prompts},
            {"k", o.k},                     {"temperature", o.temperature},
            {"top_p", o.top_p},             {"max_tokens", o.max_tokens},
            {"max_per_prompt", o.max_per_prompt}, {"seed", o.seed}};
}

}  // namespace

SamplingStats sample_traces(const DistillOptions& o, bool* interrupted) {
    o.validate();
    if (interrupted) *interrupted = false;
    dist::DataParallel dp(o.comm);  // one rank unless o.comm says otherwise
    const int R = dp.size();
    const bool root = dp.is_root();
    const fs::path dir(o.out_dir);
    const fs::path rec_path = dir / "distill.json", final_path = dir / "traces.jsonl",
                   stats_path = dir / "sampling.json", part_path = dir / "traces.partial.jsonl",
                   state_path = dir / "sampling.partial.json";

    // ---- options record / resume (rank 0 owns the files; the others get its verdict) ------
    const nlohmann::json want = sampling_record(o);
    struct Start {
        SamplingStats st;
        int64_t done = 0;    // prompts finished
        int64_t finished = 0;  // 1: the stage was done before (resume)
    } start;
    uint64_t bytes = 0;  // valid bytes of traces.partial.jsonl (rank 0)
    if (root) {
        fs::create_directories(dir);
        if (o.resume && fs::exists(rec_path)) {
            const nlohmann::json rec = read_json(rec_path);
            const nlohmann::json have = rec.value("sampling", nlohmann::json::object());
            for (auto it = want.begin(); it != want.end(); ++it)
                if (have.contains(it.key()) && have[it.key()] != it.value())
                    fail("[distill] --resume: ", it.key(), " is ", have[it.key()].dump(), " in ",
                         rec_path.string(), ", ", it.value().dump(),
                         " requested (the traces depend on it; use a new --out or drop --resume)");
            if (fs::exists(final_path) && fs::exists(stats_path)) {
                start.st = sampling_stats_from_json(read_json(stats_path));
                start.finished = 1;  // stage done
            } else if (fs::exists(state_path) && fs::exists(part_path)) {
                const nlohmann::json s = read_json(state_path);
                start.done = s.at("prompts_done").get<int64_t>();
                bytes = s.at("bytes").get<uint64_t>();
                start.st = sampling_stats_from_json(s.at("stats"));
                R1_CHECK(fs::file_size(part_path) >= bytes, "[distill] ", part_path.string(),
                         ": shorter (", fs::file_size(part_path), " bytes) than ", state_path.string(),
                         " records (", bytes, "); start again without --resume");
                fs::resize_file(part_path, bytes);  // drop a torn tail
            } else {
                fs::remove(part_path);
            }
        } else {
            for (const fs::path& p : {final_path, stats_path, part_path, state_path}) fs::remove(p);
        }
        if (!start.finished) {
            nlohmann::json rec = fs::exists(rec_path) ? read_json(rec_path) : nlohmann::json::object();
            rec["sampling"] = want;
            write_json_atomic(rec_path, rec);
            if (!fs::exists(part_path)) std::ofstream(part_path, std::ios::trunc);
        }
    }
    static_assert(std::is_trivially_copyable_v<Start>);
    if (R > 1) dp.comm().broadcast(&start, sizeof start, 0);
    SamplingStats st = start.st;
    if (start.finished) return st;
    int64_t done = start.done;

    // ---- teacher, task (every rank holds its own teacher) -----------------------------------
    const std::unique_ptr<LoadedModel> teacher = load_model_for_inference(o.teacher);
    const TextCodec& codec = teacher->codec();
    const int64_t n_ctx = teacher->config().n_ctx;
    const std::unique_ptr<Task> task = make_task(o.task);
    if (task->size(Split::train) > 0)
        R1_CHECK((uint64_t)o.n_prompts <= task->size(Split::train), "[distill] --prompts ",
                 o.n_prompts, " exceeds the ", task->size(Split::train),
                 " train problems of task ", o.task.spec);

    std::ofstream out;
    if (root) {
        out.open(part_path, std::ios::app | std::ios::binary);
        R1_CHECK(out.good(), "[distill] ", part_path.string(), ": cannot open for writing");
    }
    // prompts per chunk: enough requests to keep every rank's engine slots busy a few times
    // over (the chunk only sets how often state is saved: the traces do not depend on it)
    const int64_t chunk = R * std::max<int64_t>(1, (4 * o.n_slots + o.k - 1) / o.k);
    StopSignals signals(o.handle_signals);
    Progress bar("sample", o.n_prompts, "prompt", o.progress && root);
    bar.set_start(done);
    const auto t0 = std::chrono::steady_clock::now();
    const double seconds_before = st.seconds;

    while (done < o.n_prompts) {
        const int64_t c0 = done, c1 = std::min(o.n_prompts, done + chunk);
        // this rank's contiguous slice of the chunk
        const int64_t i0 = c0 + (c1 - c0) * dp.rank() / R, i1 = c0 + (c1 - c0) * (dp.rank() + 1) / R;
        SamplingStats cs;  // this rank's counts for the chunk
        std::string rows;
        if (i1 > i0) {
            std::vector<TaskProblem> probs;
            std::vector<std::vector<int32_t>> prompts;
            int64_t longest = 0;
            for (int64_t i = i0; i < i1; i++) {
                probs.push_back(task->problem(Split::train, o.seed, (uint64_t)i));
                prompts.push_back(codec.encode(probs.back().prompt));
                R1_CHECK((int64_t)prompts.back().size() < n_ctx, "[distill] prompt ", i, " of task ",
                         o.task.spec, " is ", prompts.back().size(),
                         " tokens: no room in the teacher's context of ", n_ctx);
                longest = std::max<int64_t>(longest, (int64_t)prompts.back().size());
            }
            GeneratorOptions go;
            go.n_slots = o.n_slots;
            go.n_ctx = std::min<int64_t>(n_ctx, longest + o.max_tokens);
            Generator gen(teacher->model(), go);
            for (int64_t i = i0; i < i1; i++)
                for (int k = 0; k < o.k; k++) {
                    GenRequest q;
                    q.prompt = prompts[(size_t)(i - i0)];
                    q.max_tokens = o.max_tokens;
                    q.sampler.temperature = o.temperature;
                    q.sampler.top_p = o.top_p;
                    q.sampler.seed = mix_seed(o.seed, (uint64_t)i, (uint64_t)k);  // global index
                    q.stop_ids = codec.stop_ids();
                    q.vocab_limit = teacher->vocab_limit();
                    gen.add(std::move(q));
                }
            const std::vector<GenResult> res = gen.run();  // sorted by id = (i − i0)·k + k
            cs.generated_tokens += gen.stats().generated_tokens;

            for (int64_t i = i0; i < i1; i++) {
                const TaskProblem& p = probs[(size_t)(i - i0)];
                std::set<std::string> seen;
                int kept = 0;
                for (int k = 0; k < o.k; k++) {
                    const GenResult& r = res[(size_t)((i - i0) * o.k + k)];
                    const std::string text = codec.decode_completion(r.tokens);
                    const Reward rw = task->score(p, text);
                    cs.n_sampled++;
                    cs.n_correct += rw.correct;
                    cs.n_formatted += rw.formatted;
                    const bool stopped = r.finish_reason == "stop";
                    cs.n_truncated += !stopped;
                    if (!(rw.correct && rw.formatted && stopped)) continue;
                    cs.n_passed++;
                    if (!seen.insert(text).second) {
                        cs.n_duplicates++;
                        continue;
                    }
                    if (o.max_per_prompt > 0 && kept >= o.max_per_prompt) {
                        cs.n_capped++;
                        continue;
                    }
                    kept++;
                    cs.n_accepted++;
                    cs.n_reflection += rw.reflection;
                    const nlohmann::json row = {
                        {"prompt", p.prompt},       {"completion", text},
                        {"reward", rw.total},       {"correct", rw.correct},
                        {"formatted", rw.formatted}, {"reflection", rw.reflection},
                        {"extracted", rw.extracted}, {"gold", p.gold},
                        {"question", p.question},   {"prompt_index", i},
                        {"sample", k},              {"n_tokens", (int64_t)r.tokens.size()}};
                    rows += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                    rows += "\n";
                }
                cs.n_prompts_covered += kept > 0;
                cs.n_prompts++;
            }
        }
        // Data parallel: the rows of every rank in rank order (= prompt order), the counts
        // summed, and the stop flag of any rank — one gather and one sum per chunk.
        if (R > 1) {
            const std::vector<std::string> all = dist::allgather_strings(dp.comm(), rows);
            rows.clear();
            for (const std::string& r : all) rows += r;
        }
        double red[13] = {(double)cs.n_prompts, (double)cs.n_sampled, (double)cs.n_correct,
                          (double)cs.n_formatted, (double)cs.n_truncated, (double)cs.n_passed,
                          (double)cs.n_duplicates, (double)cs.n_capped, (double)cs.n_accepted,
                          (double)cs.n_prompts_covered, (double)cs.n_reflection,
                          (double)cs.generated_tokens, StopSignals::pending() ? 1.0 : 0.0};
        dp.sum(red, 13);
        st.n_prompts += (int64_t)red[0], st.n_sampled += (int64_t)red[1];
        st.n_correct += (int64_t)red[2], st.n_formatted += (int64_t)red[3];
        st.n_truncated += (int64_t)red[4], st.n_passed += (int64_t)red[5];
        st.n_duplicates += (int64_t)red[6], st.n_capped += (int64_t)red[7];
        st.n_accepted += (int64_t)red[8], st.n_prompts_covered += (int64_t)red[9];
        st.n_reflection += (int64_t)red[10], st.generated_tokens += (int64_t)red[11];
        const bool stop = red[12] > 0;
        done = c1;
        st.seconds = seconds_before +
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (root) {
            out << rows;
            out.flush();
            R1_CHECK(out.good(), "[distill] ", part_path.string(), ": write failed");
            bytes += rows.size();
            write_json_atomic(state_path, {{"prompts_done", done}, {"bytes", bytes}, {"stats", to_json(st)}});
        }
        char extra[96];
        std::snprintf(extra, sizeof extra, "accepted %lld/%lld (%.0f%%)", (long long)st.n_accepted,
                      (long long)st.n_sampled, 100.0 * st.acceptance_rate());
        bar.update(done, extra);
        if (stop && done < o.n_prompts) {
            bar.clear();
            if (interrupted) *interrupted = true;
            return st;
        }
    }
    bar.finish();
    if (root) {
        out.close();
        write_json_atomic(stats_path, to_json(st));
        fs::rename(part_path, final_path);
        fs::remove(state_path);
    }
    if (R > 1) dp.comm().barrier();  // traces.jsonl is in place before any rank reads it
    return st;
}

}  // namespace r1::rl
