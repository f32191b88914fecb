// Unit tests of the Jinja subset (src/chat/jinja.h) and ChatTemplate: hand-checked outputs of
// the language features chat templates use, error messages, and the built-in R1 chat format
// (generate/chat_format.h) against the Jinja rendering of the real R1-Distill template.
// The exhaustive equality check against @huggingface/jinja is tests/cli/chat_template_oracle.sh.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "chat/chat_template.h"
#include "chat/jinja.h"
#include "core/error.h"
#include "generate/chat_format.h"
#include "io/gguf.h"

using nlohmann::ordered_json;

namespace {

std::string render(const std::string& tpl, const ordered_json& ctx = ordered_json::object()) {
    return r1::jinja::Template(tpl).render(ctx);
}

std::string error_of(const std::string& tpl, const ordered_json& ctx = ordered_json::object()) {
    try {
        render(tpl, ctx);
    } catch (const r1::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Jinja, TextAndExpressions) {
    EXPECT_EQ(render("hello"), "hello");
    EXPECT_EQ(render("{{ 1 + 2 * 3 }}|{{ 7 // 2 }}|{{ 7 / 2 }}|{{ 7 % 3 }}|{{ 2 ** 3 }}"), "7|3|3.5|1|8");
    EXPECT_EQ(render("{{ 'a' ~ 1 ~ true }}|{{ 'x' + 'y' }}|{{ 1.0 }}|{{ -3 }}"), "a1true|xy|1.0|-3");
    EXPECT_EQ(render("{{ 'yes' if x else 'no' }}", {{"x", 0}}), "no");
    EXPECT_EQ(render("{{ a and b }}|{{ a or b }}|{{ not a }}", {{"a", "s"}, {"b", ""}}), "|s|false");
    EXPECT_EQ(render("{{ [1, 2][1] }}{{ {'k': 'v'}['k'] }}{{ (1, 2)[0] }}"), "2v1");
    EXPECT_EQ(render("{{ none }}{{ undefined_var }}x"), "x");  // none/undefined print nothing
    EXPECT_EQ(render("{{ [1, 'a', none] }}|{{ {'a': [true]} }}"), "[1, \"a\", null]|{\"a\": [true]}");
    EXPECT_EQ(render("{{ 'a' in 'cat' }}{{ 3 in [1, 3] }}{{ 'k' not in {'k': 1} }}"), "truetruefalse");
    EXPECT_EQ(render("{{ x == none }}{{ 1 == 1.0 }}{{ '1' == 1 }}", ordered_json::object()), "truetruetrue");
}

TEST(Jinja, StringMethodsAndSlices) {
    ordered_json ctx = {{"s", "  <think>a</think>\n\nanswer  "}};
    EXPECT_EQ(render("[{{ s.strip() }}]", ctx), "[<think>a</think>\n\nanswer]");
    EXPECT_EQ(render("[{{ s.split('</think>')[-1].lstrip('\\n') }}]", ctx), "[answer  ]");
    EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }}|{{ ' x  y '.split() }}|{{ 'a,b,c'.split(',', 1) }}"),
              "[\"a\", \"b\", \"\", \"c\"]|[\"x\", \"y\"]|[\"a\", \"b,c\"]");
    EXPECT_EQ(render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}{{ 'hello world'.title() }}"),
              "truetrueHello World");
    EXPECT_EQ(render("{{ 'abcdef'[1:3] }}|{{ 'abcdef'[::-1] }}|{{ [1,2,3,4][::2] }}|{{ 'a-b-a'.replace('a', 'x') }}"),
              "bc|fedcba|[1, 3]|x-b-x");
    EXPECT_EQ(render("{{ 'héllo'|length }}|{{ '😀'|length }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}"), "5|2|ABab");
}

TEST(Jinja, WhitespaceControlAndBlocks) {
    // trim_blocks + lstrip_blocks (transformers' settings) and explicit '-'.
    EXPECT_EQ(render("a\n  {% if true %}\nb\n  {% endif %}\nc"), "a\nb\nc");
    EXPECT_EQ(render("a   {{- 'b' -}}   c"), "abc");
    EXPECT_EQ(render("{# comment #}x{#- c -#}  y"), "xy");
    EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}"),
              "11,22,33");
    EXPECT_EQ(render("{% for x in [] %}a{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
    EXPECT_EQ(render("{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}"), "24");
    EXPECT_EQ(render("{% for x in [1,2,3] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "1");
    // `set` in a loop does not leak out; a namespace carries state across iterations.
    EXPECT_EQ(render("{% set n = 0 %}{% for x in [1,2] %}{% set n = n + x %}{% endfor %}{{ n }}"), "0");
    EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"),
              "3");
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}"), "21");
    EXPECT_EQ(render("{% set t %}in{{ 1 }}{% endset %}[{{ t }}]"), "[in1]");
    EXPECT_EQ(render("{% macro m(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }}|{{ m(1, b=2) }}"), "1-d|1-2");
    EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(Jinja, FiltersAndTests) {
    ordered_json ctx = {{"tools", {{{"name", "f"}, {"args", {{"x", 1}, {"y", "é"}}}}}}};
    EXPECT_EQ(render("{{ tools[0] | tojson }}", ctx), "{\"name\": \"f\", \"args\": {\"x\": 1, \"y\": \"é\"}}");
    EXPECT_EQ(render("{{ tools[0] | tojson(indent=2) }}", ctx),
              "{\n  \"name\": \"f\",\n  \"args\": {\n    \"x\": 1,\n    \"y\": \"é\"\n  }\n}");
    EXPECT_EQ(render("{{ 'é' | tojson(ensure_ascii=true) }}|{{ 'a\"b\\n' | tojson }}"), "\"\\u00e9\"|\"a\\\"b\\n\"");
    EXPECT_EQ(render("{{ [3,1,2] | sort | join(',') }}|{{ ['a','b'] | length }}|{{ '  x ' | trim }}"), "1,2,3|2|x");
    EXPECT_EQ(render("{{ x | default('d') }}|{{ '' | default('d', true) }}"), "d|d");
    EXPECT_EQ(render("{{ [{'a': 1}, {'a': 2}] | map(attribute='a') | list }}"), "[1, 2]");
    EXPECT_EQ(render("{{ [{'a': 1}, {'b': 2}] | selectattr('a') | list | length }}"), "1");
    EXPECT_EQ(render("{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ 2 is not number }}"),
              "falsetruetruetruefalse");
    EXPECT_EQ(render("{{ 1.5 | int }}|{{ '42' | int }}|{{ 2 | float }}|{{ -3 | abs }}"), "1|42|2.0|3");
}

TEST(Jinja, ErrorsNameTheProblem) {
    EXPECT_NE(error_of("{{ raise_exception('Only user and assistant roles') }}").find("Only user and assistant roles"),
              std::string::npos);
    EXPECT_NE(error_of("{% if x %}unclosed").find("[jinja]"), std::string::npos);
    EXPECT_NE(error_of("{{ 'a' + x }}").find("undefined value ('x')"), std::string::npos);
    EXPECT_NE(error_of("{{ 'a' + n }}", {{"n", nullptr}}).find("none"), std::string::npos);
    EXPECT_NE(error_of("{% include 'x' %}").find("unsupported statement"), std::string::npos);
    EXPECT_NE(error_of("{{ foo() }}").find("'foo' is not a function"), std::string::npos);
    EXPECT_NE(error_of("{{ 'x'.nope() }}").find("'nope' is not a method"), std::string::npos);
    EXPECT_NE(error_of("{{ 1 }", {}).find("[jinja]"), std::string::npos);
    EXPECT_NE(error_of("{{ 'abc }}").find("string literal"), std::string::npos);
    EXPECT_NE(error_of("x", {{"range", 1}}).find("shadow a built-in"), std::string::npos);
}

TEST(ChatTemplate, BuiltinR1FormatEqualsDistillTemplate) {
    // The fixed C++ R1 format (chat_format.h) and the real R1-Distill Jinja template agree
    // on conversations with at most one system prompt and single tool outputs (where their
    // documented behaviour is the same: </think> stripping, tool outputs, generation prompt).
    // __FILE__ may be relative to the build directory (Ninja): try it from the working
    // directory, from the build directory (parent of R1_TEST_TMP, set by ctest) and upwards.
    const auto rel = std::filesystem::path(__FILE__).parent_path() / ".." / "node" / "chat_templates" /
                     "deepseek-r1-distill-qwen.jinja";
    std::vector<std::filesystem::path> bases = {std::filesystem::current_path()};
    if (const char* t = std::getenv("R1_TEST_TMP")) bases.push_back(std::filesystem::path(t).parent_path());
    for (auto b = std::filesystem::current_path(); b.has_parent_path() && b != b.parent_path(); b = b.parent_path())
        bases.push_back(b.parent_path());
    std::filesystem::path tail;  // rel without its leading "..": relative to the source root
    bool lead = true;
    for (const auto& part : rel) {
        if (lead && part == "..") continue;
        lead = false;
        tail /= part;
    }
    std::filesystem::path path = rel;
    for (const auto& b : bases) {
        if (!rel.is_relative()) break;
        if (std::filesystem::exists(b / rel)) { path = b / rel; break; }
        if (std::filesystem::exists(b / tail)) { path = b / tail; break; }
    }
    ASSERT_TRUE(std::filesystem::exists(path)) << "cannot find " << rel;
    ordered_json special = {{"bos_token", std::string(r1::kR1Bos)}, {"eos_token", std::string(r1::kR1Eos)}};
    r1::ChatTemplate t = r1::ChatTemplate::load(path.string());
    t.special = special;
    std::vector<std::vector<r1::ChatMessage>> convs = {
        {{"user", "What is 12+30?"}},
        {{"system", "Be careful."}, {"user", "q1"}, {"assistant", "<think>\nr\n</think>\n\n42"}, {"user", "q2"}},
        {{"user", "x"}, {"assistant", "a</think>b</think>c"}, {"user", "y"}, {"assistant", "plain"}},
        // one tool output per turn: between consecutive outputs the Distill template writes "\n"
        // and the full R1 template (the built-in format) does not (chat_format.h)
        {{"user", "weather?"}, {"tool", "31C"}, {"assistant", "It is warm."}, {"user", "ok"}},
        {{"user", "call"}, {"tool", "result"}},
        {{"user", "你好 🌍"}, {"assistant", ""}, {"user", ""}},
    };
    for (size_t i = 0; i < convs.size(); i++) {
        ordered_json msgs = ordered_json::array();
        for (const auto& m : convs[i]) msgs.push_back({{"role", m.role}, {"content", m.content}});
        for (bool gen : {false, true}) {
            EXPECT_EQ(t.render(msgs, gen), r1::render_r1_chat(convs[i], gen).text) << "conversation " << i << " gen " << gen;
        }
    }
}

TEST(ChatTemplate, TokenizerConfigAndErrors) {
    auto dir = std::filesystem::temp_directory_path() / "r1_test_chat_template";
    std::filesystem::create_directories(dir);
    auto write = [&](const char* name, const std::string& text) {
        auto p = dir / name;
        FILE* f = std::fopen(p.string().c_str(), "wb");
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        return p.string();
    };
    std::string cfg = write("tokenizer_config.json",
                            R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
                                "chat_template": [{"name": "tool_use", "template": "T"},
                                                  {"name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}>{% endif %}{{ eos_token }}"}]})");
    r1::ChatTemplate t = r1::ChatTemplate::load(cfg);
    ordered_json msgs = ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
    EXPECT_EQ(t.render(msgs, true), "<s>[user:hi]></s>");
    EXPECT_EQ(t.render(msgs, false, {{"eos_token", "E"}}), "<s>[user:hi]E");

    std::string bad = write("bad.json", R"({"chat_template": "{% for %}"})");
    try {
        r1::ChatTemplate::load(bad);
        FAIL() << "expected an error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
    std::string none = write("none.json", R"({"bos_token": "<s>"})");
    EXPECT_THROW(r1::ChatTemplate::load(none), r1::Error);
    EXPECT_THROW(t.render(ordered_json::parse(R"([{"content": "no role"}])"), true), r1::Error);
    std::filesystem::remove_all(dir);
}

TEST(ChatTemplate, FromGguf) {
    // tokenizer.chat_template + the BOS/EOS strings from tokenizer.ggml.tokens (what r1 chat
    // uses for a GGUF model); a file without a template gives nullopt / a clear error.
    auto dir = std::filesystem::temp_directory_path() / "r1_test_chat_template_gguf";
    std::filesystem::create_directories(dir);
    const std::string with = (dir / "with.gguf").string(), without = (dir / "without.gguf").string();
    {
        r1::gguf::Writer w;
        w.add_str("general.architecture", "llama");
        w.add_arr_str("tokenizer.ggml.tokens", {"a", "<s>", "</s>"});
        w.add_u32("tokenizer.ggml.bos_token_id", 1);
        w.add_u32("tokenizer.ggml.eos_token_id", 2);
        w.add_str("tokenizer.chat_template",
                  "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}"
                  "{% if add_generation_prompt %}assistant:{% endif %}");
        w.write(with);
        r1::gguf::Writer w2;
        w2.add_str("general.architecture", "llama");
        w2.write(without);
    }
    auto t = r1::ChatTemplate::from_gguf(with);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->render(ordered_json::parse(R"([{"role": "user", "content": "hi"}])"), true), "<s>user: hi</s>assistant:");
    EXPECT_FALSE(r1::ChatTemplate::from_gguf(without).has_value());
    try {
        r1::ChatTemplate::load(without);
        FAIL() << "expected an error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.chat_template"), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}
