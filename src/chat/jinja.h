// A Jinja subset interpreter for Hugging Face / GGUF chat templates.
//
// Why: a model's chat format lives in its tokenizer_config.json `chat_template` (or the GGUF key
// `tokenizer.chat_template`) as a Jinja program. Rendering that program, instead of hard-coding
// formats, makes any model's template work (DeepSeek-V3/R1, Qwen2.5/Qwen3, Llama 3, ...).
//
// Reference semantics: npm @huggingface/jinja (what transformers.js uses), checked by
// tests/cli/chat_template_oracle.sh on the real templates. Where that library differs from
// Python Jinja2, this follows the library, e.g.:
//   - str.strip/lstrip/rstrip ignore their argument and strip all (JavaScript) whitespace;
//   - a string's |length counts UTF-16 code units, as JavaScript does;
//   - numbers print as JavaScript prints them; `tojson` writes 2.0 as 2 (input numbers that
//     are integral become integers, as JSON.parse + convertToRuntimeValues does);
//   - `==` is JavaScript's loose equality on the underlying values (none == undefined).
// Known differences from the library: upper/lower/title/capitalize change ASCII letters only;
// string indexing and slicing count code points (JavaScript: UTF-16 units).
// Supported: text, {{ }}, {% %}, {# #}, whitespace control (-), trim_blocks + lstrip_blocks
// (always on, as in transformers); if/elif/else, for (tuple targets, loop.*, else, inline
// `if` filter, break/continue), set (names, tuples, namespace attributes, block set), macro,
// filter blocks; literals, lists, dicts, tuples, attribute/subscript/slice, calls with keyword
// arguments, filters (tojson, trim, length, join, default, items, list, first, last, reverse,
// sort, unique, upper, lower, title, capitalize, string, int, float, abs, indent, replace,
// selectattr, rejectattr, map(attribute=)), tests (defined, undefined, none, string, number,
// integer, boolean, mapping, iterable, sequence, callable, true, false, odd, even, lower, upper),
// globals namespace(), range(), raise_exception(), strftime_now().
// Not supported (clear error): call blocks, `*`/`**` argument unpacking, include/extends.
//
// Errors: template syntax errors and runtime errors (raise_exception, bad operand types,
// undefined operands of + and ~) throw r1::Error starting with "[jinja]".
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace r1::jinja {

struct Program;  // parsed template (jinja_ast.h)

class Template {
public:
    // Parses the template; throws r1::Error ("[jinja] ...") on a syntax error.
    explicit Template(const std::string& source);
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;

    // Renders with the variables of `context` (a JSON object; key order is kept, as tojson
    // prints it). Throws r1::Error on runtime errors.
    std::string render(const nlohmann::ordered_json& context) const;

private:
    std::unique_ptr<Program> program_;
};

}  // namespace r1::jinja
