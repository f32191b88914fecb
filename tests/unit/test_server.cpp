// r1 serve, below HTTP: request parsing/validation (a table of good and bad bodies), the
// token → text → reasoning/content pipeline (streamed deltas must add up to the whole, for any
// cut of tags and multi-byte characters; stop strings across tokens), the SSE/JSON shapes, the
// API-key check, and the engine worker (many threads submitting, cancelling, stop strings;
// every slot freed; results equal to running the Generator directly).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "generate/engine.h"
#include "generate/model_loader.h"
#include "model/model.h"
#include "server/api.h"
#include "server/metrics.h"
#include "server/stream.h"
#include "server/worker.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"

using namespace r1;
using namespace r1::server;
namespace fs = std::filesystem;

namespace {

ApiLimits limits() {
    ApiLimits l;
    l.model_id = "tiny";
    l.max_tokens = 100;
    l.max_n = 4;
    return l;
}

// status of parsing body (200 = accepted)
int chat_status(const std::string& body, std::string* param = nullptr) {
    try {
        parse_chat_request(body, limits());
        return 200;
    } catch (const ApiError& e) {
        if (param) *param = e.param;
        return e.status;
    }
}

}  // namespace

TEST(ServerApi, ParsesAChatRequest) {
    const ChatRequest r = parse_chat_request(
        R"({"model":"tiny","messages":[{"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"What is "},{"type":"text","text":"2+2?"}]}],
            "max_tokens":50,"temperature":0,"top_p":0.5,"seed":-3,"stop":["\n\n","END"],"stream":true,
            "stream_options":{"include_usage":true},"n":2,"logit_bias":null,"user":"x"})",
        limits());
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0].role, "system");
    EXPECT_EQ(r.messages[1].content, "What is 2+2?");
    EXPECT_EQ(*r.params.max_tokens, 50);
    EXPECT_EQ(r.params.temperature, 0.0f);
    EXPECT_EQ(r.params.top_p, 0.5f);
    EXPECT_EQ(*r.params.seed, (uint64_t)(int64_t)-3);
    EXPECT_EQ(r.params.stop, (std::vector<std::string>{"\n\n", "END"}));
    EXPECT_TRUE(r.params.stream);
    EXPECT_TRUE(r.params.include_usage);
    EXPECT_EQ(r.params.n, 2);
}

TEST(ServerApi, DefaultsAndAliases) {
    SamplingDefaults d;
    d.temperature = 0.3f;
    d.top_p = 0.7f;
    const ChatRequest r = parse_chat_request(
        R"({"messages":[{"role":"developer","content":"sys"},{"role":"user","content":"hi"},
            {"role":"assistant","content":null},{"role":"user","content":"again"}],
            "max_completion_tokens":7,"max_tokens":99,"stop":"x","reasoning_format":"none"})",
        limits(), d);
    EXPECT_EQ(r.messages[0].role, "system");  // developer is OpenAI's new name for it
    EXPECT_EQ(r.messages[2].content, "");
    EXPECT_EQ(*r.params.max_tokens, 7);       // max_completion_tokens wins
    EXPECT_EQ(r.params.temperature, 0.3f);
    EXPECT_EQ(r.params.top_p, 0.7f);
    EXPECT_FALSE(r.params.seed.has_value());
    EXPECT_EQ(r.params.stop, std::vector<std::string>{"x"});
    EXPECT_EQ(r.params.split_reasoning, std::optional<bool>(false));
    EXPECT_FALSE(r.params.stream);
    EXPECT_EQ(r.params.n, 1);
}

TEST(ServerApi, BadChatRequestsTable) {
    struct Case {
        const char* body;
        int status;
        const char* param;
    };
    const std::vector<Case> cases = {
        {"{not json", 400, ""},
        {"", 400, ""},
        {"[1,2]", 400, ""},
        {R"({"messages":"hi"})", 400, "messages"},
        {R"({"messages":[]})", 400, "messages"},
        {R"({})", 400, "messages"},
        {R"({"messages":[{"role":"wizard","content":"x"}]})", 400, "messages[0].role"},
        {R"({"messages":[{"content":"x"}]})", 400, "messages[0].role"},
        {R"({"messages":[{"role":"user"}]})", 400, "messages[0].content"},
        {R"({"messages":[{"role":"user","content":null}]})", 400, "messages[0].content"},
        {R"({"messages":[{"role":"user","content":42}]})", 400, "messages[0].content"},
        {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})", 400,
         "messages[0].content[0]"},
        {R"({"messages":["hi"]})", 400, "messages[0]"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-5})", 400, "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", 400, "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":101})", 400, "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"10"})", 400, "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", 400, "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", 400, "temperature"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", 400, "temperature"},
        {R"({"messages":[{"role":"user","content":"x"}],"top_p":0})", 400, "top_p"},
        {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", 400, "stream"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":0})", 400, "n"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":5})", 400, "n"},
        {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", 400, "stop"},
        {R"({"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})", 400, "stop"},
        {R"({"messages":[{"role":"user","content":"x"}],"seed":"1"})", 400, "seed"},
        {R"({"messages":[{"role":"user","content":"x"}],"stream_options":true})", 400, "stream_options"},
        {R"({"messages":[{"role":"user","content":"x"}],"reasoning_format":"xml"})", 400, "reasoning_format"},
        {R"({"messages":[{"role":"user","content":"x"}],"model":7})", 400, "model"},
        {R"({"messages":[{"role":"user","content":"x"}],"model":"gpt-4o"})", 404, "model"},
        // accepted: 5.0 as an integer, null as absent, an empty model, unknown fields
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":5.0,"temperature":null,"model":"",
             "tools":[]})", 200, ""},
    };
    for (const Case& c : cases) {
        std::string param;
        EXPECT_EQ(chat_status(c.body, &param), c.status) << c.body;
        if (c.status != 200) {
            EXPECT_EQ(param, c.param) << c.body;
        }
    }
    // deep nesting is refused before the JSON parser sees it
    EXPECT_EQ(chat_status(std::string(100000, '[') + std::string(100000, ']')), 400);
    // invalid UTF-8 inside a string is malformed JSON
    EXPECT_EQ(chat_status("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"), 400);
}

TEST(ServerApi, CompletionRequestsAndErrorBody) {
    EXPECT_EQ(parse_completion_request(R"({"prompt":"abc"})", limits()).prompt, "abc");
    EXPECT_EQ(parse_completion_request(R"({"prompt":["abc"]})", limits()).prompt, "abc");
    for (const char* bad : {R"({"prompt":""})", R"({"prompt":[1,2]})", R"({"prompt":["a","b"]})", R"({})"}) {
        try {
            parse_completion_request(bad, limits());
            ADD_FAILURE() << bad;
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status, 400);
            EXPECT_EQ(e.param, "prompt");
        }
    }
    const nlohmann::json b = error_body(ApiError(404, "no such model", "model", "model_not_found"));
    EXPECT_EQ(b["error"]["message"], "no such model");
    EXPECT_EQ(b["error"]["type"], "not_found_error");
    EXPECT_EQ(b["error"]["param"], "model");
    EXPECT_EQ(b["error"]["code"], "model_not_found");
    EXPECT_TRUE(error_body(ApiError(400, "x"))["error"]["code"].is_null());
    EXPECT_EQ(error_body(ApiError(401, "x"))["error"]["type"], "authentication_error");
}

TEST(ServerApi, ApiKeyCheck) {
    EXPECT_TRUE(authorized("", ""));
    EXPECT_TRUE(authorized("anything", ""));
    EXPECT_TRUE(authorized("Bearer s3cret", "s3cret"));
    EXPECT_TRUE(authorized("bearer  s3cret", "s3cret"));
    EXPECT_FALSE(authorized("Bearer s3cre", "s3cret"));
    EXPECT_FALSE(authorized("Bearer s3cret!", "s3cret"));
    EXPECT_FALSE(authorized("s3cret", "s3cret"));
    EXPECT_FALSE(authorized("Basic s3cret", "s3cret"));
    EXPECT_FALSE(authorized("", "s3cret"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_FALSE(constant_time_equal("a", ""));
    EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), "a"));
}

// ---- text pipeline ---------------------------------------------------------------------------

namespace {

// Feeds ids one at a time; returns (concatenated deltas, the pipeline's total()).
std::pair<TextDelta, TextDelta> run_pipeline(const std::vector<int32_t>& ids, std::vector<std::string> stops,
                                             bool split, bool prefilled, std::vector<TextDelta>* deltas = nullptr) {
    const TextCodec codec = TextCodec::byte();
    ChoiceText ct(codec, std::move(stops), split, prefilled);
    TextDelta sum;
    for (int32_t id : ids) {
        TextDelta d = ct.push_token(id);
        if (deltas && !d.empty()) deltas->push_back(d);
        sum.append(d);
    }
    TextDelta d = ct.finish();
    if (deltas && !d.empty()) deltas->push_back(d);
    sum.append(d);
    return {sum, ct.total()};
}

}  // namespace

TEST(ServerStream, ReasoningSplitMatchesWholeTextForEveryCut) {
    // byte tokens: the tags as their special ids AND spelled out byte by byte, UTF-8 split
    const std::string text = "Let me think: 2+2 is 4 \xE2\x9C\x93\n</think>\n\nThe answer is **4** — \xF0\x9F\x98\x80 done";
    for (bool prefilled : {true, false}) {
        std::string full = prefilled ? text : "<think>\n" + text;
        const std::vector<int32_t> ids = ByteTokenizer::encode(full);  // </think> becomes id 261
        std::vector<int32_t> bytes;
        for (unsigned char c : full) bytes.push_back(c);             // tags spelled out
        for (const std::vector<int32_t>* seq : {&ids, (const std::vector<int32_t>*)&bytes}) {
            std::vector<TextDelta> deltas;
            const auto [sum, total] = run_pipeline(*seq, {}, true, prefilled, &deltas);
            ReasoningOptions ro;
            ro.prefilled_think = prefilled;
            const ReasoningDelta want = split_reasoning(full, ro);
            EXPECT_EQ(sum.reasoning, want.reasoning);
            EXPECT_EQ(sum.content, want.content);
            EXPECT_EQ(total.reasoning, want.reasoning);
            EXPECT_EQ(total.content, want.content);
            EXPECT_EQ(want.content, "\nThe answer is **4** — \xF0\x9F\x98\x80 done");
            EXPECT_GT(deltas.size(), 10u);  // really streamed, not all at the end
            for (const TextDelta& d : deltas) {  // never half a character in a delta
                for (const std::string* s : {&d.reasoning, &d.content})
                    EXPECT_EQ(utf8_complete_prefix(*s), s->size());
            }
        }
    }
}

TEST(ServerStream, InlineModeKeepsTags) {
    const std::string text = "<think>\nhmm</think>\n\nok";
    const auto [sum, total] = run_pipeline(ByteTokenizer::encode(text), {}, /*split=*/false, false);
    EXPECT_EQ(sum.content, text);
    EXPECT_EQ(sum.reasoning, "");
}

TEST(ServerStream, StopStringsAcrossTokensAndSections) {
    // stop string split over tokens, inside the answer: truncated right before it
    const std::string text = "reason</think>\n\nanswer END more";
    std::vector<int32_t> ids = ByteTokenizer::encode(text);
    const TextCodec codec = TextCodec::byte();
    ChoiceText ct(codec, {"END"}, true, /*prefilled=*/true);
    TextDelta sum;
    size_t fed = 0;
    for (int32_t id : ids) {
        sum.append(ct.push_token(id));
        fed++;
        if (ct.stopped()) break;
    }
    sum.append(ct.finish());
    EXPECT_TRUE(ct.stopped());
    EXPECT_EQ(sum.reasoning, "reason");
    EXPECT_EQ(sum.content, "\nanswer ");  // one '\n' after </think> is dropped, as DeepSeek does
    EXPECT_EQ(fed, ByteTokenizer::encode("reason</think>\n\nanswer END").size());
    // a stop string that never completes is released at the end
    const auto [s2, t2] = run_pipeline(ByteTokenizer::encode("abc EN"), {"END"}, true, true);
    EXPECT_EQ(s2.reasoning, "abc EN");
}

TEST(ServerStream, ReasoningTokenCount) {
    const TextCodec codec = TextCodec::byte();
    ChoiceText ct(codec, {}, true, true);
    for (int32_t id : ByteTokenizer::encode("abc</think>xy")) ct.push_token(id);
    ct.finish();
    EXPECT_EQ(ct.n_tokens(), 6);            // a b c </think> x y
    EXPECT_EQ(ct.n_reasoning_tokens(), 4);  // a b c and the closing tag
    ChoiceText plain(codec, {}, false, true);
    for (int32_t id : ByteTokenizer::encode("abc</think>xy")) plain.push_token(id);
    EXPECT_EQ(plain.n_reasoning_tokens(), 0);
}

TEST(ServerStream, Utf8CompletePrefix) {
    EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
    EXPECT_EQ(utf8_complete_prefix("ab\xE2\x9C"), 2u);
    EXPECT_EQ(utf8_complete_prefix("ab\xE2\x9C\x93"), 5u);
    EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x98"), 0u);
    EXPECT_EQ(utf8_complete_prefix("a\x80\x80\x80\x80"), 5u);  // stray continuations: not held
    EXPECT_EQ(utf8_complete_prefix("a\xFF"), 2u);
}

TEST(ServerStream, ChunkShapes) {
    ResponseMeta m{"chatcmpl-1", 1700000000, "tiny", true, true};
    ChoiceDelta d{0, {"why", ""}, ""};
    nlohmann::json c = chat_chunk(m, d, true);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(c["choices"][0]["delta"]["reasoning_content"], "why");
    EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    ChoiceDelta last{1, {"", "4"}, "stop"};
    c = chat_chunk(m, last, false);
    EXPECT_FALSE(c["choices"][0]["delta"].contains("role"));
    EXPECT_FALSE(c["choices"][0]["delta"].contains("reasoning_content"));
    EXPECT_EQ(c["choices"][0]["delta"]["content"], "4");
    EXPECT_EQ(c["choices"][0]["index"], 1);
    EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
    const std::string ev = sse_event(c);
    EXPECT_EQ(ev.substr(0, 6), "data: ");
    EXPECT_EQ(ev.substr(ev.size() - 2), "\n\n");
    EXPECT_EQ(ev.find('\n'), ev.size() - 2);  // one line of JSON
    Usage u{10, 5, 3};
    const nlohmann::json uc = usage_chunk(m, u);
    EXPECT_TRUE(uc["choices"].empty());
    EXPECT_EQ(uc["usage"]["total_tokens"], 15);
    EXPECT_EQ(uc["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
    const nlohmann::json r = chat_response(m, {{{"r", "a"}, "length"}}, u);
    EXPECT_EQ(r["object"], "chat.completion");
    EXPECT_EQ(r["choices"][0]["message"]["reasoning_content"], "r");
    EXPECT_EQ(r["choices"][0]["message"]["content"], "a");
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
    m.chat = false;
    const nlohmann::json t = completion_response(m, {{{"", "xyz"}, "stop"}}, u);
    EXPECT_EQ(t["object"], "text_completion");
    EXPECT_EQ(t["choices"][0]["text"], "xyz");
    // invalid UTF-8 from a model never breaks the JSON
    EXPECT_NO_THROW(dump_json(nlohmann::json{{"x", std::string("\xff\xfe")}}));
}

// ---- engine worker ---------------------------------------------------------------------------

namespace {

// One directory per test: ctest may run the tests of this binary in parallel processes.
std::string write_tiny_checkpoint(const std::string& name) {
    const char* base = std::getenv("R1_TEST_TMP");
    const fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) / ("server_" + name);
    fs::create_directories(dir);
    const std::string path = (dir / "ckpt.r1").string();
    ModelConfig cfg = ModelConfig::preset("tiny-dense");
    cfg.n_layer = 2;
    cfg.n_embd = 64;
    cfg.n_head = 2;
    cfg.n_head_kv = 2;
    cfg.n_ff = 128;
    cfg.validate();
    Model m(cfg);
    m.init_weights(11);
    CheckpointMeta meta;
    meta.config = cfg;
    save_checkpoint(path, meta, m.params(), nullptr);
    return path;
}

struct Collected {
    std::vector<TextDelta> text;
    std::vector<std::string> finish;
    Usage usage;
    std::string error;
    size_t n_deltas = 0;
};

Collected collect(Channel& ch, int64_t n) {
    Collected c;
    c.text.resize((size_t)n);
    c.finish.resize((size_t)n);
    for (;;) {
        Channel::Batch b = ch.wait(std::chrono::milliseconds(100));
        for (const ChoiceDelta& d : b.deltas) {
            c.text[(size_t)d.index].append(d.text);
            if (!d.finish_reason.empty()) c.finish[(size_t)d.index] = d.finish_reason;
            c.n_deltas++;
        }
        if (b.done) {
            c.usage = b.usage;
            c.error = b.error;
            return c;
        }
    }
}

}  // namespace

TEST(ServerWorker, MatchesGeneratorAndFreesEverySlot) {
    const std::unique_ptr<LoadedModel> model = load_model_for_inference(write_tiny_checkpoint("match"));
    const std::vector<int32_t> prompt =
        model->codec().encode(render_r1_chat({{"user", "What is 2+2?"}}).text);

    Metrics metrics;
    WorkerOptions wo;
    wo.n_slots = 3;
    wo.max_queue = 64;
    wo.prefill_chunk = 16;
    EngineWorker worker(*model, wo, metrics);

    // reference: the Generator alone, greedy, one request, same prefill chunking. The worker
    // running the same request alone must give exactly its tokens, split and counted.
    GeneratorOptions go;
    go.n_slots = 1;
    go.n_ctx = model->config().n_ctx;
    go.prefill_chunk = 16;
    Generator ref_gen(model->model(), go);
    GenRequest q;
    q.prompt = prompt;
    q.max_tokens = 40;
    q.sampler.temperature = 0;
    q.stop_ids = model->codec().stop_ids();
    q.vocab_limit = model->vocab_limit();
    ref_gen.add(q);
    const GenResult ref = ref_gen.run()[0];
    std::string ref_text = model->codec().decode_completion(ref.tokens);
    const size_t whole = utf8_complete_prefix(ref_text);  // an unfinished last character → U+FFFD
    std::string tail;
    for (size_t i = whole; i < ref_text.size(); i++) tail += "\xEF\xBF\xBD";
    ref_text = ref_text.substr(0, whole) + tail;
    ReasoningOptions ro;
    ro.prefilled_think = true;
    const ReasoningDelta want = split_reasoning(ref_text, ro);
    {
        JobSpec s;
        s.prompt = prompt;
        s.max_tokens = 40;
        s.prefilled_think = true;
        s.sampler.temperature = 0;
        std::shared_ptr<Channel> ch;
        ASSERT_EQ(worker.submit(s, ch), EngineWorker::Admit::ok);
        const Collected c = collect(*ch, 1);
        EXPECT_EQ(c.text[0].reasoning, want.reasoning);
        EXPECT_EQ(c.text[0].content, want.content);
        EXPECT_EQ(c.finish[0], ref.finish_reason);
        EXPECT_EQ(c.usage.completion_tokens, (int64_t)ref.tokens.size());
        EXPECT_EQ(c.usage.prompt_tokens, (int64_t)prompt.size());
    }

    // 8 threads submit at once (greedy and sampled, n=2, stop strings, one cancelled midway by
    // its "client"): all finish with sane results and every slot is freed.
    constexpr int kThreads = 8;
    std::vector<Collected> got(kThreads);
    std::vector<std::thread> th;
    for (int t = 0; t < kThreads; t++)
        th.emplace_back([&, t] {
            JobSpec s;
            s.prompt = prompt;
            s.max_tokens = 40;
            s.prefilled_think = true;
            s.n = (t % 3 == 1) ? 2 : 1;
            s.sampler.temperature = (t % 2 == 0) ? 0.0f : 1.0f;
            s.sampler.seed = (uint64_t)t;
            if (t == 3) s.stop = {"e", "a", "o", "i"};
            std::shared_ptr<Channel> ch;
            ASSERT_EQ(worker.submit(s, ch), EngineWorker::Admit::ok);
            if (t == 5) {
                ch->wait(std::chrono::milliseconds(5));
                ch->cancel();
                return;
            }
            got[t] = collect(*ch, s.n);
        });
    for (auto& x : th) x.join();
    ASSERT_TRUE(worker.wait_idle(std::chrono::seconds(30)));
    for (int t = 0; t < kThreads; t++) {
        if (t == 5) continue;
        EXPECT_TRUE(got[t].error.empty()) << got[t].error;
        EXPECT_EQ(got[t].usage.prompt_tokens, (int64_t)prompt.size());
        EXPECT_GT(got[t].usage.completion_tokens, 0);
        for (const std::string& f : got[t].finish) EXPECT_TRUE(f == "stop" || f == "length") << f;
        EXPECT_LE(got[t].usage.completion_tokens, 40 * (int64_t)got[t].finish.size());
        EXPECT_LE(got[t].usage.reasoning_tokens, got[t].usage.completion_tokens);
    }
    // the stop-string request ended early on a vowel, which never appears in its output
    for (const std::string* s : {&got[3].text[0].reasoning, &got[3].text[0].content})
        EXPECT_EQ(s->find_first_of("aeio"), std::string::npos) << *s;
    // no leaked slots or queue entries
    EXPECT_EQ(worker.outstanding_jobs(), 0);
    for (int i = 0; i < 100 && metrics.slots_busy.load() != 0; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(metrics.slots_busy.load(), 0);
    EXPECT_GT(metrics.tokens_per_second.load(), 0.0);
    EXPECT_NE(metrics.render().find("r1_generated_tokens_total"), std::string::npos);
}

TEST(ServerWorker, BoundedAdmissionAndDrain) {
    const std::unique_ptr<LoadedModel> model = load_model_for_inference(write_tiny_checkpoint("admission"));
    Metrics metrics;
    WorkerOptions wo;
    wo.n_slots = 1;
    wo.max_queue = 2;
    EngineWorker worker(*model, wo, metrics);
    JobSpec s;
    s.prompt = model->codec().encode("<｜begin▁of▁sentence｜>hello");
    s.max_tokens = 200;
    s.sampler.temperature = 1.0f;
    std::vector<std::shared_ptr<Channel>> chans;
    std::shared_ptr<Channel> ch;
    s.n = 2;
    ASSERT_EQ(worker.submit(s, ch), EngineWorker::Admit::ok);
    chans.push_back(ch);
    s.n = 1;
    ASSERT_EQ(worker.submit(s, ch), EngineWorker::Admit::ok);  // 3 = 1 slot + 2 queue
    chans.push_back(ch);
    EXPECT_EQ(worker.submit(s, ch), EngineWorker::Admit::busy);
    worker.stop_accepting();
    EXPECT_EQ(worker.submit(s, ch), EngineWorker::Admit::draining);
    // draining lets admitted work finish
    ASSERT_TRUE(worker.wait_idle(std::chrono::seconds(30)));
    for (auto& c : chans) EXPECT_TRUE(collect(*c, 2).error.empty());
}
