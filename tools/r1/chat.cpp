// r1 chat — an interactive chat REPL on the batched generation engine.
//   r1 chat --model M.gguf            (the file's tokenizer and tokenizer.chat_template)
//   r1 chat --model runs/x/ckpt.r1    (byte tokenizer, built-in DeepSeek-R1 format)
// Each user line is one message. The whole conversation is rendered through the chat
// template every turn (the GGUF's Jinja template via src/chat, --template FILE, or the
// built-in R1 format of generate/chat_format.h) and prefilled again: simple and always exactly
// what the template says, at the cost of re-reading the history (fine on the small models this
// runs on a CPU; the oldest turns are dropped when the context would overflow).
// Earlier reasoning is never sent back: the history keeps only each answer (what DeepSeek
// and Qwen3's templates keep of earlier turns anyway).
// Output streams token by token; the reasoning (<think> … </think>, also when the template
// pre-fills "<think>\n") is shown dimmed on a TTY, framed by <think> … </think> otherwise,
// and left out with --hide-reasoning. /reset clears the history, /exit (or end of input)
// quits. Piped stdin works: one message per line (scripts, tests); --json prints one JSON
// object per turn instead of the streamed text (with the prompt and generated token ids, so a
// script can replay the turn in another engine, as tests/cli/llamacpp_agreement.sh does).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "command.h"
#include "kv_option.h"
#include "core/error.h"
#include "generate/chat_format.h"
#include "generate/engine.h"
#include "generate/model_loader.h"
#include "generate/reasoning.h"

namespace {

struct ChatOptions {
    std::string model, template_path, system;
    bool builtin_format = false;
    int64_t max_tokens = 512;
    float temperature = 0.6f;  // DeepSeek-R1's recommended sampling
    float top_p = 0.95f;
    int top_k = 0;
    float min_p = 0.0f;
    float repeat_penalty = 1.0f;
    uint64_t seed = 0;
    bool no_color = false, hide_reasoning = false, json = false;
    std::string kv_type = "f32";
};

constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

// Bytes of `s` up to the end of its last complete UTF-8 character (a token can end inside a
// multi-byte character; the rest comes with the next token).
size_t complete_utf8_prefix(const std::string& s) {
    size_t n = s.size(), k = n;
    int back = 0;
    while (k > 0 && back < 4 && ((unsigned char)s[k - 1] & 0xc0) == 0x80) { k--; back++; }
    if (k == 0) return n;
    unsigned char lead = (unsigned char)s[k - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    return (size_t)back + 1 < need ? k - 1 : n;
}

// Renders the conversation, by the Jinja template when there is one, else the R1 format.
struct Renderer {
    std::optional<r1::ChatTemplate> tmpl;
    bool add_bos_text = true;  // built-in format: BOS as text (both tokenizers map it to the id)

    std::string describe() const { return tmpl ? "template " + tmpl->origin : std::string("built-in DeepSeek-R1 format"); }

    std::string render(const std::vector<r1::ChatMessage>& msgs) const {
        if (!tmpl) return r1::render_r1_chat(msgs, true, add_bos_text).text;
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& m : msgs) arr.push_back({{"role", m.role}, {"content", m.content}});
        return tmpl->render(arr, true);
    }
};

class ChatSession {
public:
    ChatSession(const ChatOptions& o, const r1::LoadedModel& lm, Renderer r)
        : o_(o), lm_(lm), renderer_(std::move(r)), color_(!o.no_color && isatty(1)) {
        reset();
        stop_ids_ = lm_.codec().stop_ids();
        // A template's end-of-turn token (e.g. Qwen's <|im_end|>) also ends the reply.
        if (renderer_.tmpl && renderer_.tmpl->special.contains("eos_token")) {
            std::vector<int32_t> ids = lm_.codec().encode(renderer_.tmpl->special["eos_token"].get<std::string>());
            if (ids.size() == 1 && std::find(stop_ids_.begin(), stop_ids_.end(), ids[0]) == stop_ids_.end())
                stop_ids_.push_back(ids[0]);
        }
    }

    void reset() {
        history_.clear();
        if (!o_.system.empty()) history_.push_back({"system", o_.system});
    }

    // One user turn: render, generate with streaming, print, remember the answer.
    void turn(const std::string& user, int64_t turn_index) {
        history_.push_back({"user", user});
        const r1::TextCodec& codec = lm_.codec();
        const int64_t n_ctx = lm_.config().n_ctx;
        std::string prompt_text;
        std::vector<int32_t> prompt;
        while (true) {
            prompt_text = renderer_.render(history_);
            prompt = codec.encode(prompt_text);
            if ((int64_t)prompt.size() + std::min<int64_t>(o_.max_tokens, 16) < n_ctx) break;
            // drop the oldest non-system message (keep at least the new user message)
            auto it = std::find_if(history_.begin(), history_.end(), [](auto& m) { return m.role != "system"; });
            if (it == history_.end() || &*it == &history_.back()) {
                history_.pop_back();
                r1::fail("[chat] the message is ", prompt.size(), " tokens with the template: it does not fit the model's context of ",
                         n_ctx, " tokens");
            }
            history_.erase(it);
        }
        R1_CHECK(!prompt.empty(), "[chat] the rendered prompt encodes to no tokens");
        const bool prefilled = prompt_text.size() >= 8 &&
                               (prompt_text.ends_with("<think>\n") || prompt_text.ends_with("<think>"));
        r1::ReasoningOptions ro;
        ro.prefilled_think = prefilled;
        r1::ReasoningParser parser(ro);

        r1::GeneratorOptions go;
        go.n_slots = 1;
        go.n_ctx = std::min<int64_t>(n_ctx, (int64_t)prompt.size() + o_.max_tokens);
        go.kv_type = r1::cli::kv_type_option(o_.kv_type);
        r1::Generator gen(lm_.model(), go);
        r1::GenRequest q;
        q.prompt = prompt;
        q.max_tokens = std::max<int64_t>(1, go.n_ctx - (int64_t)prompt.size());
        q.sampler.temperature = o_.temperature;
        q.sampler.top_p = o_.top_p;
        q.sampler.top_k = o_.top_k;
        q.sampler.min_p = o_.min_p;
        q.sampler.repeat_penalty = o_.repeat_penalty;
        q.sampler.seed = o_.seed + (uint64_t)turn_index;
        q.stop_ids = stop_ids_;
        q.vocab_limit = lm_.vocab_limit();
        gen.add(std::move(q));

        std::vector<int32_t> ids, all_ids;  // generated text ids; all sampled ids (stop id too)
        size_t emitted = 0;
        std::string reasoning, content, finish = "length";
        in_reasoning_shown_ = false;
        auto emit = [&](const std::string& piece) {
            r1::ReasoningDelta d = parser.feed(piece);
            show(d, reasoning, content);
        };
        while (!gen.done()) {
            std::vector<r1::GenResult> done = gen.step();
            for (const r1::TokenEvent& e : gen.last_events()) {
                all_ids.push_back(e.token);
                if (std::find(stop_ids_.begin(), stop_ids_.end(), e.token) != stop_ids_.end()) continue;
                ids.push_back(e.token);
            }
            if (!done.empty()) finish = done[0].finish_reason;
            std::string text = codec.decode(ids);
            size_t end = done.empty() ? complete_utf8_prefix(text) : text.size();
            if (end > emitted) {
                emit(text.substr(emitted, end - emitted));
                emitted = end;
            }
        }
        show(parser.finish(), reasoning, content);
        if (in_reasoning_shown_) end_reasoning();
        if (o_.json) {
            nlohmann::json j = {{"turn", turn_index},   {"user", user},           {"reasoning", reasoning},
                                {"content", content},   {"n_prompt", prompt.size()}, {"n_tokens", all_ids.size()},
                                {"finish_reason", finish}, {"prompt_ids", prompt}, {"tokens", all_ids}};
            std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else {
            std::printf("\n");
        }
        std::fflush(stdout);
        history_.push_back({"assistant", content});
    }

private:
    void show(const r1::ReasoningDelta& d, std::string& reasoning, std::string& content) {
        reasoning += d.reasoning;
        content += d.content;
        if (o_.json) return;
        if (!d.reasoning.empty() && !o_.hide_reasoning) {
            if (!in_reasoning_shown_) {
                std::fputs(color_ ? kDim : "<think>\n", stdout);
                in_reasoning_shown_ = true;
            }
            std::fwrite(d.reasoning.data(), 1, d.reasoning.size(), stdout);
        }
        if (!d.content.empty()) {
            if (in_reasoning_shown_) end_reasoning();
            std::fwrite(d.content.data(), 1, d.content.size(), stdout);
        }
        std::fflush(stdout);
    }
    void end_reasoning() {
        std::fputs(color_ ? kReset : "\n</think>\n", stdout);
        if (color_) std::fputs("\n", stdout);
        in_reasoning_shown_ = false;
    }

    const ChatOptions& o_;
    const r1::LoadedModel& lm_;
    Renderer renderer_;
    bool color_;
    bool in_reasoning_shown_ = false;
    std::vector<int32_t> stop_ids_;
    std::vector<r1::ChatMessage> history_;
};

int run_chat(const ChatOptions& o) {
    R1_CHECK(!o.model.empty(), "[chat] give --model FILE.gguf or PATH/ckpt.r1");
    R1_CHECK(o.max_tokens >= 1, "[chat] --max-tokens must be >= 1");
    const std::unique_ptr<r1::LoadedModel> lm = r1::load_model_for_inference(o.model);
    Renderer r;
    if (!o.template_path.empty()) {
        r.tmpl = r1::ChatTemplate::load(o.template_path);
    } else if (lm->is_gguf() && !o.builtin_format) {
        r.tmpl = r1::ChatTemplate::from_gguf(o.model);
    }
    const bool tty_in = isatty(0);
    if (tty_in && !o.json)
        std::fprintf(stderr, "r1 chat: %s (%s). /reset clears the history, /exit quits.\n", lm->path().c_str(),
                     r.describe().c_str());
    ChatSession session(o, *lm, std::move(r));
    std::string line;
    int64_t turn = 0;
    while (true) {
        if (tty_in && !o.json) {
            std::fputs("> ", stdout);
            std::fflush(stdout);
        }
        if (!std::getline(std::cin, line)) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (line == "/exit" || line == "/quit") break;
        if (line == "/reset") {
            session.reset();
            if (!o.json) std::fprintf(stderr, "[history cleared]\n");
            continue;
        }
        try {
            session.turn(line, turn++);
        } catch (const r1::Error& e) {
            // a turn that cannot run (too long, template error) is reported; the REPL goes on
            std::fprintf(stderr, "error: %s\n", e.what());
            if (!tty_in) return 1;
        }
    }
    return 0;
}

r1::cli::Register reg("chat", "Interactive chat with a GGUF model or a trained checkpoint (stdin lines = messages)",
                      [](CLI::App& app) {
    auto o = std::make_shared<ChatOptions>();
    app.add_option("--model", o->model, "GGUF model file or a ckpt.r1 written by r1 train")->required();
    auto* t = app.add_option("--template", o->template_path,
                             "chat template to use instead of the model's: tokenizer_config.json, .gguf or .jinja");
    auto* b = app.add_flag("--builtin-format", o->builtin_format, "use the built-in DeepSeek-R1 format even if the GGUF has a template");
    t->excludes(b);
    app.add_option("--system", o->system, "system prompt");
    app.add_option("--max-tokens", o->max_tokens, "maximum tokens per reply")
        ->capture_default_str()->check(CLI::Range((int64_t)1, (int64_t)1 << 30));
    app.add_option("--temp,--temperature", o->temperature, "sampling temperature (0 = greedy)")->capture_default_str();
    app.add_option("--top-p", o->top_p, "nucleus sampling threshold (1 = off)")->capture_default_str();
    app.add_option("--top-k", o->top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
    app.add_option("--min-p", o->min_p, "drop tokens below min_p x the top probability (0 = off)")->capture_default_str();
    app.add_option("--repeat-penalty", o->repeat_penalty, "CTRL repetition penalty (1 = off)")->capture_default_str();
    app.add_option("--seed", o->seed, "sampling seed (turn i uses seed + i)")->capture_default_str();
    app.add_flag("--no-color", o->no_color, "no ANSI dimming of the reasoning (also off when stdout is not a TTY)");
    app.add_flag("--hide-reasoning", o->hide_reasoning, "do not print the <think> reasoning, only answers");
    r1::cli::add_kv_type_option(app, o->kv_type);
    app.add_flag("--json", o->json, "one JSON object per turn: user, reasoning, content, n_prompt, n_tokens, finish_reason, prompt_ids, tokens");
    return [o] { return run_chat(*o); };
});

}  // namespace
