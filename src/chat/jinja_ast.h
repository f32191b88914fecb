// Internals of the Jinja subset (jinja.h): tokens, the syntax tree and run-time values.
// Shared by jinja_parse.cpp (lexer + parser), jinja_value.cpp (value semantics: truthiness,
// printing, JSON) and jinja_eval.cpp (the tree-walking interpreter).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1::jinja {

// ---- tokens -------------------------------------------------------------------------------
enum class Tok {
    text, number, string, ident, equals, lparen, rparen, open_stmt, close_stmt, open_expr,
    close_expr, lbracket, rbracket, lbrace, rbrace, comma, dot, colon, pipe, additive,
    multiplicative, power, comparison, unary, comment
};

struct Token {
    std::string value;
    Tok type;
};

// Tokenizes with trim_blocks and lstrip_blocks on (what transformers uses).
std::vector<Token> tokenize(const std::string& source);

// ---- syntax tree --------------------------------------------------------------------------
enum class NodeKind {
    // statements
    program, if_, for_, set, macro, break_, continue_, filter_block, comment,
    // expressions
    int_lit, float_lit, str_lit, ident, array_lit, tuple_lit, object_lit, member, slice, call,
    kwarg, binary, unary, filter, test, select, ternary
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
    NodeKind kind;
    std::string str;      // identifier name, operator, string literal, test/filter name
    int64_t i = 0;        // int_lit
    double f = 0;         // float_lit
    bool flag = false;    // member: computed ([..]); test: negated
    NodePtr a, b, c;      // children (meaning depends on kind, see jinja_parse.cpp)
    NodeList items;       // array/tuple elements, call args, object keys+values (pairs)
    NodeList body, alt;   // statement bodies: if (then/else), for (body/else), set/macro body

    explicit Node(NodeKind k) : kind(k) {}
};

struct Program {
    NodeList body;
};

Program parse(const std::vector<Token>& tokens);

// ---- values -------------------------------------------------------------------------------
struct Value;
struct Object;
using Array = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(const std::vector<Value>& args, const Kwargs& kwargs)>;

enum class Kind { undefined, none, boolean, integer, floating, string, array, object, ns, function };

struct Value {
    Kind kind = Kind::undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;
    std::shared_ptr<Array> arr;      // array (tuples too)
    std::shared_ptr<Object> obj;     // object and namespace
    std::shared_ptr<Function> fn;

    static Value undef() { return {}; }
    static Value null() { Value v; v.kind = Kind::none; return v; }
    static Value boolean(bool x) { Value v; v.kind = Kind::boolean; v.b = x; return v; }
    static Value integer(int64_t x) { Value v; v.kind = Kind::integer; v.i = x; return v; }
    static Value floating(double x) { Value v; v.kind = Kind::floating; v.f = x; return v; }
    static Value string(std::string x) { Value v; v.kind = Kind::string; v.s = std::move(x); return v; }
    static Value array(Array a);
    static Value object(Kind k = Kind::object);
    static Value function(Function f);

    bool is_numeric() const { return kind == Kind::integer || kind == Kind::floating; }
    bool is_mapping() const { return kind == Kind::object || kind == Kind::ns; }
    double number() const { return kind == Kind::integer ? (double)i : kind == Kind::floating ? f : b ? 1.0 : 0.0; }
};

// Insertion-ordered string map (JavaScript Map semantics: what tojson and items() show).
struct Object {
    std::vector<std::pair<std::string, Value>> entries;
    const Value* find(const std::string& key) const;
    void set(const std::string& key, Value v);
};

const char* kind_name(Kind k);
bool truthy(const Value& v);
// What {{ v }} prints (JavaScript toString of the runtime value).
std::string to_output(const Value& v);
// JavaScript `String(v.value)`: what `+` and `~` concatenate.
std::string to_js_string(const Value& v);
std::string js_number(double x);

struct JsonOptions {
    int indent = 0;                    // 0 = one line
    bool ensure_ascii = false;
    bool sort_keys = false;
    bool has_separators = false;
    std::string item_sep, key_sep;
};
std::string to_json(const Value& v, const JsonOptions& opt, int depth = 0, bool undefined_as_null = true);
Value from_json(const nlohmann::ordered_json& j);

// JavaScript `a.value == b.value` (loose) and `===` (strict) on runtime values.
bool loose_equal(const Value& a, const Value& b);
bool strict_equal(const Value& a, const Value& b);

// Strings: JavaScript semantics on UTF-8 text.
bool is_js_space(uint32_t cp);
std::string js_trim(const std::string& s, bool left, bool right);
std::vector<uint32_t> code_points(const std::string& s);
std::string from_code_points(const std::vector<uint32_t>& cps, size_t begin, size_t end);
void append_utf8(std::string& out, uint32_t cp);
int64_t utf16_length(const std::string& s);

}  // namespace r1::jinja
