// r1 template — render a chat template (tokenizer_config.json, GGUF or .jinja) on messages.
//   r1 template --tokenizer-config tokenizer_config.json --add-generation-prompt
//       --messages '[{"role":"user","content":"hi"}]' 
// Prints the rendered prompt exactly (no trailing newline added), or with --json one line
// {"text": "..."}. --messages / --tools / --vars take inline JSON or @FILE.
// Hidden --jsonl batch mode (tests/cli/chat_template_oracle.sh): one request per stdin line
//   {"messages": [...], "add_generation_prompt": bool, "vars": {...}}
// one answer per stdout line: {"text": "..."} or {"error": "..."}; one process for a corpus.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "command.h"
#include "core/error.h"

namespace {

struct Options {
    std::string config, messages, tools, vars;
    bool add_generation_prompt = false, json = false, jsonl = false;
};

nlohmann::ordered_json json_arg(const std::string& arg, const char* option) {
    std::string text = arg;
    std::string where = std::string("--") + option;
    if (!arg.empty() && arg[0] == '@') {
        std::ifstream f(arg.substr(1), std::ios::binary);
        R1_CHECK(f, "[template] ", where, ": cannot open '", arg.substr(1), "'");
        std::ostringstream ss;
        ss << f.rdbuf();
        text = ss.str();
        where += " file '" + arg.substr(1) + "'";
    }
    try {
        return nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        r1::fail("[template] ", where, ": invalid JSON (", e.what(), ")");
    }
}

int run(const Options& o) {
    r1::ChatTemplate t = r1::ChatTemplate::load(o.config);
    if (o.jsonl) {
        std::ios::sync_with_stdio(false);
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.empty()) continue;
            nlohmann::ordered_json out;
            try {
                auto req = nlohmann::ordered_json::parse(line);
                R1_CHECK(req.is_object() && req.contains("messages"), "[template] --jsonl: each line needs \"messages\"");
                auto vars = req.value("vars", nlohmann::ordered_json::object());
                out["text"] = t.render(req["messages"], req.value("add_generation_prompt", false), vars);
            } catch (const nlohmann::json::exception& e) {
                out["error"] = std::string("[template] --jsonl: invalid JSON line: ") + e.what();
            } catch (const r1::Error& e) {
                out["error"] = e.what();
            }
            std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        }
        return 0;
    }
    R1_CHECK(!o.messages.empty(), "[template] --messages is required (inline JSON or @FILE)");
    auto messages = json_arg(o.messages, "messages");
    auto vars = o.vars.empty() ? nlohmann::ordered_json::object() : json_arg(o.vars, "vars");
    R1_CHECK(vars.is_object(), "[template] --vars must be a JSON object");
    if (!o.tools.empty()) vars["tools"] = json_arg(o.tools, "tools");
    std::string text = t.render(messages, o.add_generation_prompt, vars);
    if (o.json) {
        nlohmann::ordered_json j;
        j["text"] = text;
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    return 0;
}

r1::cli::Register reg("template", "Render a chat template (tokenizer_config.json / GGUF / .jinja) on messages",
                      [](CLI::App& app) {
    auto o = std::make_shared<Options>();
    app.add_option("--tokenizer-config,--template", o->config,
                   "tokenizer_config.json, a .gguf with tokenizer.chat_template, or a .jinja file")
        ->required();
    app.add_option("--messages", o->messages, "JSON array of {role, content, ...} (inline or @FILE)");
    app.add_option("--tools", o->tools, "JSON array of tool definitions (inline or @FILE)");
    app.add_option("--vars", o->vars, "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
    app.add_flag("--add-generation-prompt", o->add_generation_prompt, "end with the assistant turn's opening");
    app.add_flag("--json", o->json, "print {\"text\": ...} on one line");
    app.add_flag("--jsonl", o->jsonl, "batch mode: JSON requests on stdin, one per line")->group("");
    return [o] { return run(*o); };
});

}  // namespace
