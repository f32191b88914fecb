// The tree-walking interpreter of the Jinja subset (jinja.h): scopes, statements, operators,
// member access with the built-in methods of strings/lists/dicts, filters and tests. Mirrors
// @huggingface/jinja's runtime.ts (scoping: a `for` body shares one scope per loop and
// `set` inside it does not leak out; `set` inside `if` does).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"
#include "core/error.h"

namespace r1::jinja {
namespace {

struct BreakSignal {};
struct ContinueSignal {};

struct Env {
    std::map<std::string, Value> vars;
    Env* parent = nullptr;

    explicit Env(Env* p = nullptr) : parent(p) {}
    Value lookup(const std::string& name) const {
        for (const Env* e = this; e; e = e->parent) {
            auto it = e->vars.find(name);
            if (it != e->vars.end()) return it->second;
        }
        return Value::undef();
    }
    void set(const std::string& name, Value v) { vars[name] = std::move(v); }
};

bool is_word_byte(char c) { return std::isalnum((unsigned char)c) || c == '_'; }

std::string ascii_upper(std::string s) {
    for (char& c : s) c = (char)std::toupper((unsigned char)c);
    return s;
}
std::string ascii_lower(std::string s) {
    for (char& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

// Python-style slice on n items (utils.ts slice).
std::vector<size_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step) {
    int64_t st = step.kind == Kind::integer ? step.i : 1;
    R1_CHECK(st != 0, "[jinja] slice step cannot be zero");
    int64_t a, b;
    if (st > 0) {
        a = start.kind == Kind::integer ? start.i : 0;
        b = stop.kind == Kind::integer ? stop.i : n;
        a = a < 0 ? std::max<int64_t>(n + a, 0) : std::min(a, n);
        b = b < 0 ? std::max<int64_t>(n + b, 0) : std::min(b, n);
    } else {
        a = start.kind == Kind::integer ? start.i : n - 1;
        b = stop.kind == Kind::integer ? stop.i : -1;
        a = a < 0 ? std::max<int64_t>(n + a, -1) : std::min(a, n - 1);
        b = b < -1 ? std::max<int64_t>(n + b, -1) : std::min(b, n - 1);
    }
    std::vector<size_t> out;
    for (int64_t i = a; st > 0 ? i < b : i > b; i += st) out.push_back((size_t)i);
    return out;
}

// Attribute path "a.b.0" (selectattr / map / sort attribute=).
Value attribute_path(const Value& item, const std::string& path) {
    Value v = item;
    size_t p = 0;
    while (true) {
        size_t q = path.find('.', p);
        std::string part = path.substr(p, q == std::string::npos ? std::string::npos : q - p);
        if (v.is_mapping()) {
            const Value* x = v.obj->find(part);
            v = x ? *x : Value::undef();
        } else if (v.kind == Kind::array) {
            char* end = nullptr;
            long idx = std::strtol(part.c_str(), &end, 10);
            if (end == part.c_str() || idx < 0 || idx >= (long)v.arr->size()) return Value::undef();
            v = (*v.arr)[(size_t)idx];
        } else {
            return Value::undef();
        }
        if (q == std::string::npos) return v;
        p = q + 1;
    }
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
    bool an = a.kind == Kind::none, bn = b.kind == Kind::none;
    if (an && bn) return 0;
    R1_CHECK(!an && !bn, "[jinja] cannot compare ", kind_name(a.kind), " with ", kind_name(b.kind));
    bool au = a.kind == Kind::undefined, bu = b.kind == Kind::undefined;
    if (au && bu) return 0;
    R1_CHECK(!au && !bu, "[jinja] cannot compare ", kind_name(a.kind), " with ", kind_name(b.kind));
    auto numlike = [](const Value& v) { return v.is_numeric() || v.kind == Kind::boolean; };
    if (numlike(a) && numlike(b)) {
        double x = a.number(), y = b.number();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    R1_CHECK(a.kind == b.kind && a.kind == Kind::string, "[jinja] cannot compare ", kind_name(a.kind), " with ",
             kind_name(b.kind));
    std::string x = case_sensitive ? a.s : ascii_lower(a.s), y = case_sensitive ? b.s : ascii_lower(b.s);
    return x < y ? -1 : x > y ? 1 : 0;
}

const Value* kwarg(const Kwargs& kw, const char* name) {
    for (const auto& [k, v] : kw)
        if (k == name) return &v;
    return nullptr;
}

// A positional argument, else a keyword argument, else the default.
Value arg_or(const std::vector<Value>& args, size_t i, const Kwargs& kw, const char* name, Value def) {
    if (i < args.size()) return args[i];
    if (const Value* v = kwarg(kw, name)) return *v;
    return def;
}

std::string js_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    if (count == 0) return s;
    int64_t left = count < 0 ? INT64_MAX : count;
    std::string out;
    if (from.empty()) {  // insert between code points (and at both ends)
        std::vector<uint32_t> cps = code_points(s);
        for (size_t i = 0; i <= cps.size(); i++) {
            if (left > 0) { out += to; left--; }
            if (i < cps.size()) append_utf8(out, cps[i]);
        }
        return out;
    }
    size_t p = 0;
    while (left > 0) {
        size_t q = s.find(from, p);
        if (q == std::string::npos) break;
        out += s.substr(p, q - p) + to;
        p = q + from.size();
        left--;
    }
    return out + s.substr(p);
}

Value string_method(const Value& self, const std::string& name) {
    const std::string s = self.s;
    auto fn = [](Function f) { return Value::function(std::move(f)); };
    if (name == "length") return Value::integer(utf16_length(s));
    if (name == "upper") return fn([s](auto&, auto&) { return Value::string(ascii_upper(s)); });
    if (name == "lower") return fn([s](auto&, auto&) { return Value::string(ascii_lower(s)); });
    if (name == "strip") return fn([s](auto&, auto&) { return Value::string(js_trim(s, true, true)); });
    if (name == "lstrip") return fn([s](auto&, auto&) { return Value::string(js_trim(s, true, false)); });
    if (name == "rstrip") return fn([s](auto&, auto&) { return Value::string(js_trim(s, false, true)); });
    if (name == "title")
        return fn([s](auto&, auto&) {
            std::string t = s;
            for (size_t i = 0; i < t.size(); i++)
                if (is_word_byte(t[i]) && (i == 0 || !is_word_byte(t[i - 1]))) t[i] = (char)std::toupper((unsigned char)t[i]);
            return Value::string(t);
        });
    if (name == "capitalize")
        return fn([s](auto&, auto&) {
            std::string t = s;
            if (!t.empty()) t[0] = (char)std::toupper((unsigned char)t[0]);
            return Value::string(t);
        });
    if (name == "startswith" || name == "endswith") {
        bool starts = name == "startswith";
        return fn([s, starts, name](const std::vector<Value>& args, const Kwargs&) {
            R1_CHECK(!args.empty(), "[jinja] ", name, "() requires an argument");
            auto test = [&](const std::string& p) {
                if (p.size() > s.size()) return false;
                return starts ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
            };
            if (args[0].kind == Kind::string) return Value::boolean(test(args[0].s));
            R1_CHECK(args[0].kind == Kind::array, "[jinja] ", name, "() argument must be a string or tuple of strings");
            for (const Value& x : *args[0].arr) {
                R1_CHECK(x.kind == Kind::string, "[jinja] ", name, "() tuple elements must be strings");
                if (test(x.s)) return Value::boolean(true);
            }
            return Value::boolean(false);
        });
    }
    if (name == "split")
        return fn([s](const std::vector<Value>& args, const Kwargs&) {
            Value sep = args.size() > 0 ? args[0] : Value::null();
            Value maxs = args.size() > 1 ? args[1] : Value::integer(-1);
            R1_CHECK(sep.kind == Kind::string || sep.kind == Kind::none, "[jinja] split(): sep must be a string or none");
            R1_CHECK(maxs.kind == Kind::integer, "[jinja] split(): maxsplit must be an integer");
            Array out;
            if (sep.kind == Kind::none) {
                std::string t = js_trim(s, true, false);
                std::vector<uint32_t> cps = code_points(t);
                size_t i = 0;
                while (i < cps.size()) {
                    while (i < cps.size() && is_js_space(cps[i])) i++;
                    if (i >= cps.size()) break;
                    if (maxs.i != -1 && (int64_t)out.size() >= maxs.i) {
                        out.push_back(Value::string(from_code_points(cps, i, cps.size())));
                        break;
                    }
                    size_t j = i;
                    while (j < cps.size() && !is_js_space(cps[j])) j++;
                    out.push_back(Value::string(from_code_points(cps, i, j)));
                    i = j;
                }
            } else {
                R1_CHECK(!sep.s.empty(), "[jinja] split(): empty separator");
                std::vector<std::string> parts;
                size_t p = 0;
                while (true) {
                    size_t q = s.find(sep.s, p);
                    if (q == std::string::npos) { parts.push_back(s.substr(p)); break; }
                    parts.push_back(s.substr(p, q - p));
                    p = q + sep.s.size();
                }
                if (maxs.i != -1 && (int64_t)parts.size() > maxs.i) {
                    std::string rest;
                    for (size_t k = (size_t)maxs.i; k < parts.size(); k++) rest += (k > (size_t)maxs.i ? sep.s : "") + parts[k];
                    parts.resize((size_t)maxs.i);
                    parts.push_back(rest);
                }
                for (auto& x : parts) out.push_back(Value::string(x));
            }
            return Value::array(std::move(out));
        });
    if (name == "replace")
        return fn([s](const std::vector<Value>& args, const Kwargs& kw) {
            R1_CHECK(args.size() >= 2, "[jinja] replace() requires two arguments");
            R1_CHECK(args[0].kind == Kind::string && args[1].kind == Kind::string, "[jinja] replace() arguments must be strings");
            Value count = args.size() > 2 ? args[2] : kwarg(kw, "count") ? *kwarg(kw, "count") : Value::null();
            R1_CHECK(count.kind == Kind::integer || count.kind == Kind::none, "[jinja] replace() count must be an integer");
            return Value::string(js_replace(s, args[0].s, args[1].s, count.kind == Kind::integer ? count.i : -1));
        });
    return Value::undef();
}

Value object_method(const Value& self, const std::string& name) {
    auto obj = self.obj;
    auto items = [obj] {
        Array a;
        for (const auto& [k, v] : obj->entries) a.push_back(Value::array({Value::string(k), v}));
        return Value::array(std::move(a));
    };
    if (name == "get")
        return Value::function([obj](const std::vector<Value>& args, const Kwargs&) {
            R1_CHECK(!args.empty() && args[0].kind == Kind::string, "[jinja] dict.get(): key must be a string");
            if (const Value* v = obj->find(args[0].s)) return *v;
            return args.size() > 1 ? args[1] : Value::null();
        });
    if (name == "items") return Value::function([items](auto&, auto&) { return items(); });
    if (name == "keys")
        return Value::function([obj](auto&, auto&) {
            Array a;
            for (const auto& e : obj->entries) a.push_back(Value::string(e.first));
            return Value::array(std::move(a));
        });
    if (name == "values")
        return Value::function([obj](auto&, auto&) {
            Array a;
            for (const auto& e : obj->entries) a.push_back(e.second);
            return Value::array(std::move(a));
        });
    if (name == "dictsort")
        return Value::function([obj](const std::vector<Value>& args, const Kwargs& kw) {
            Value cs = arg_or(args, 0, kw, "case_sensitive", Value::boolean(false));
            Value by = arg_or(args, 1, kw, "by", Value::string("key"));
            Value rev = arg_or(args, 2, kw, "reverse", Value::boolean(false));
            R1_CHECK(cs.kind == Kind::boolean && rev.kind == Kind::boolean && by.kind == Kind::string &&
                         (by.s == "key" || by.s == "value"), "[jinja] dictsort: bad arguments");
            Array a;
            for (const auto& [k, v] : obj->entries) a.push_back(Value::array({Value::string(k), v}));
            size_t idx = by.s == "key" ? 0 : 1;
            std::stable_sort(a.begin(), a.end(), [&](const Value& x, const Value& y) {
                int r = compare_values((*x.arr)[idx], (*y.arr)[idx], cs.b);
                return rev.b ? r > 0 : r < 0;
            });
            return Value::array(std::move(a));
        });
    return Value::undef();
}

bool run_test(const std::string& name, const Value& v) {
    if (name == "boolean") return v.kind == Kind::boolean;
    if (name == "callable") return v.kind == Kind::function;
    if (name == "odd" || name == "even") {
        R1_CHECK(v.kind == Kind::integer, "[jinja] cannot test ", name, " on ", kind_name(v.kind));
        return (v.i % 2 != 0) == (name == "odd");
    }
    if (name == "false") return v.kind == Kind::boolean && !v.b;
    if (name == "true") return v.kind == Kind::boolean && v.b;
    if (name == "none") return v.kind == Kind::none;
    if (name == "string") return v.kind == Kind::string;
    if (name == "number") return v.is_numeric();
    if (name == "integer") return v.kind == Kind::integer;
    if (name == "iterable") return v.kind == Kind::array || v.kind == Kind::string;
    if (name == "mapping") return v.kind == Kind::object;
    if (name == "sequence") return v.kind == Kind::array || v.kind == Kind::object || v.kind == Kind::string;
    if (name == "lower") return v.kind == Kind::string && v.s == ascii_lower(v.s);
    if (name == "upper") return v.kind == Kind::string && v.s == ascii_upper(v.s);
    if (name == "defined") return v.kind != Kind::undefined;
    if (name == "undefined") return v.kind == Kind::undefined;
    fail("[jinja] unknown test '", name, "'");
}

class Interpreter {
public:
    std::string block(const NodeList& stmts, Env& env) {
        std::string out;
        for (const NodePtr& s : stmts) {
            Value v = eval(*s, env);
            if (v.kind != Kind::none && v.kind != Kind::undefined) out += to_output(v);
        }
        return out;
    }

    Value eval(const Node& n, Env& env) {
        switch (n.kind) {
            case NodeKind::program: fail("[jinja] internal: nested program");
            case NodeKind::comment: return Value::null();
            case NodeKind::str_lit: return Value::string(n.str);
            case NodeKind::int_lit: return Value::integer(n.i);
            case NodeKind::float_lit: return Value::floating(n.f);
            case NodeKind::ident: return env.lookup(n.str);
            case NodeKind::array_lit: case NodeKind::tuple_lit: {
                Array a;
                for (const auto& x : n.items) a.push_back(eval(*x, env));
                return Value::array(std::move(a));
            }
            case NodeKind::object_lit: {
                Value o = Value::object();
                for (size_t k = 0; k + 1 < n.items.size(); k += 2) {
                    Value key = eval(*n.items[k], env);
                    R1_CHECK(key.kind == Kind::string, "[jinja] dict literal keys must be strings, got ",
                             kind_name(key.kind));
                    o.obj->set(key.s, eval(*n.items[k + 1], env));
                }
                return o;
            }
            case NodeKind::if_: return Value::string(block(truthy(eval(*n.a, env)) ? n.body : n.alt, env));
            case NodeKind::for_: return Value::string(eval_for(n, env));
            case NodeKind::set: eval_set(n, env); return Value::null();
            case NodeKind::macro: define_macro(n, env); return Value::null();
            case NodeKind::break_: throw BreakSignal{};
            case NodeKind::continue_: throw ContinueSignal{};
            case NodeKind::filter_block: return apply_filter(Value::string(block(n.body, env)), *n.a, env);
            case NodeKind::member: return eval_member(n, env);
            case NodeKind::slice: fail("[jinja] a slice outside a subscript");
            case NodeKind::kwarg: fail("[jinja] a keyword argument outside a call");
            case NodeKind::call: return eval_call(n, env);
            case NodeKind::binary: return eval_binary(n, env);
            case NodeKind::unary: {
                Value v = eval(*n.a, env);
                if (n.str == "not") return Value::boolean(!truthy(v));
                R1_CHECK(v.is_numeric() || v.kind == Kind::boolean, "[jinja] unary ", n.str, " on ", kind_name(v.kind));
                double sign = n.str == "-" ? -1 : 1;
                if (v.kind == Kind::floating) return Value::floating(sign * v.f);
                return Value::integer((int64_t)sign * (v.kind == Kind::boolean ? (int64_t)v.b : v.i));
            }
            case NodeKind::filter: return apply_filter(eval(*n.a, env), *n.b, env);
            case NodeKind::test: {
                bool r = run_test(n.str, eval(*n.a, env));
                return Value::boolean(n.flag ? !r : r);
            }
            case NodeKind::select:
                if (!truthy(eval(*n.b, env))) return Value::undef();
                return eval(*n.a, env);
            case NodeKind::ternary: return truthy(eval(*n.a, env)) ? eval(*n.b, env) : eval(*n.c, env);
        }
        return Value::undef();
    }

private:
    void args_of(const NodeList& items, Env& env, std::vector<Value>& args, Kwargs& kw) {
        for (const auto& a : items)
            if (a->kind != NodeKind::kwarg) args.push_back(eval(*a, env));
        for (const auto& a : items)
            if (a->kind == NodeKind::kwarg) {
                R1_CHECK(!kwarg(kw, a->str.c_str()), "[jinja] keyword argument '", a->str, "' given twice");
                kw.emplace_back(a->str, eval(*a->a, env));
            }
    }

    Value eval_call(const Node& n, Env& env) {
        std::vector<Value> args;
        Kwargs kw;
        args_of(n.items, env, args, kw);
        Value f = eval(*n.a, env);
        R1_CHECK(f.kind == Kind::function, "[jinja] cannot call a ", kind_name(f.kind),
                 n.a->kind == NodeKind::ident ? " ('" + n.a->str + "' is not a function)" :
                 n.a->kind == NodeKind::member && !n.a->flag ? " ('" + n.a->b->str + "' is not a method of that value)" : std::string());
        Env* saved = call_env_;
        call_env_ = &env;
        Value r = (*f.fn)(args, kw);
        call_env_ = saved;
        return r;
    }

    Value eval_member(const Node& n, Env& env) {
        Value obj = eval(*n.a, env);
        Value prop;
        if (n.flag) {
            if (n.b->kind == NodeKind::slice) {
                const Node& sl = *n.b;
                Value st = sl.a ? eval(*sl.a, env) : Value::undef();
                Value sp = sl.b ? eval(*sl.b, env) : Value::undef();
                Value step = sl.c ? eval(*sl.c, env) : Value::undef();
                for (const Value* v : {&st, &sp, &step})
                    R1_CHECK(v->kind == Kind::integer || v->kind == Kind::undefined, "[jinja] slice bounds must be integers");
                if (obj.kind == Kind::array) {
                    Array a;
                    for (size_t i : slice_indices((int64_t)obj.arr->size(), st, sp, step)) a.push_back((*obj.arr)[i]);
                    return Value::array(std::move(a));
                }
                R1_CHECK(obj.kind == Kind::string, "[jinja] cannot slice a ", kind_name(obj.kind));
                std::vector<uint32_t> cps = code_points(obj.s);
                std::string s;
                for (size_t i : slice_indices((int64_t)cps.size(), st, sp, step)) append_utf8(s, cps[i]);
                return Value::string(s);
            }
            prop = eval(*n.b, env);
        } else if (n.b->kind == NodeKind::int_lit) {
            prop = Value::integer(n.b->i);
        } else {
            prop = Value::string(n.b->str);
        }
        if (obj.is_mapping()) {
            R1_CHECK(prop.kind == Kind::string, "[jinja] cannot index a ", kind_name(obj.kind), " with a ",
                     kind_name(prop.kind));
            if (const Value* v = obj.obj->find(prop.s)) return *v;
            return obj.kind == Kind::object ? object_method(obj, prop.s) : Value::undef();
        }
        if (obj.kind == Kind::array || obj.kind == Kind::string) {
            if (prop.kind == Kind::integer) {
                if (obj.kind == Kind::array) {
                    int64_t sz = (int64_t)obj.arr->size(), i = prop.i < 0 ? prop.i + sz : prop.i;
                    return (i >= 0 && i < sz) ? (*obj.arr)[(size_t)i] : Value::undef();
                }
                std::vector<uint32_t> cps = code_points(obj.s);
                int64_t sz = (int64_t)cps.size(), i = prop.i < 0 ? prop.i + sz : prop.i;
                return (i >= 0 && i < sz) ? Value::string(from_code_points(cps, (size_t)i, (size_t)i + 1)) : Value::undef();
            }
            R1_CHECK(prop.kind == Kind::string, "[jinja] cannot index a ", kind_name(obj.kind), " with a ",
                     kind_name(prop.kind));
            if (obj.kind == Kind::string) return string_method(obj, prop.s);
            if (prop.s == "length") return Value::integer((int64_t)obj.arr->size());
            return Value::undef();
        }
        R1_CHECK(prop.kind == Kind::string, "[jinja] cannot index a ", kind_name(obj.kind), " with a ",
                 kind_name(prop.kind));
        return Value::undef();
    }

    Value eval_binary(const Node& n, Env& env) {
        const std::string& op = n.str;
        Value l = eval(*n.a, env);
        if (op == "and") return truthy(l) ? eval(*n.b, env) : l;
        if (op == "or") return truthy(l) ? l : eval(*n.b, env);
        Value r = eval(*n.b, env);
        if (op == "==") return Value::boolean(loose_equal(l, r));
        if (op == "!=") return Value::boolean(!loose_equal(l, r));
        if (l.kind == Kind::undefined || r.kind == Kind::undefined) {
            if (r.kind == Kind::undefined && (op == "in" || op == "not in")) return Value::boolean(op == "not in");
            fail("[jinja] cannot apply '", op, "' to an undefined value",
                 n.a->kind == NodeKind::ident && l.kind == Kind::undefined ? " ('" + n.a->str + "')" :
                 n.b->kind == NodeKind::ident && r.kind == Kind::undefined ? " ('" + n.b->str + "')" : std::string());
        }
        R1_CHECK(l.kind != Kind::none && r.kind != Kind::none, "[jinja] cannot apply '", op, "' to none");
        if (op == "~") return Value::string(to_js_string(l) + to_js_string(r));
        auto numlike = [](const Value& v) { return v.is_numeric() || v.kind == Kind::boolean; };
        if (op == "**" && numlike(l) && numlike(r)) {
            double a = l.number(), b = r.number();
            R1_CHECK(!(a == 0 && b < 0), "[jinja] 0.0 cannot be raised to a negative power");
            double res = std::pow(a, b);
            R1_CHECK(std::isfinite(res), "[jinja] exponentiation result is not a finite real number");
            if (l.kind == Kind::floating || r.kind == Kind::floating || b < 0) return Value::floating(res);
            return Value::integer((int64_t)res);
        }
        if (l.is_numeric() && r.is_numeric()) {
            bool fl = l.kind == Kind::floating || r.kind == Kind::floating;
            double a = l.number(), b = r.number();
            auto num = [&](double x) { return fl ? Value::floating(x) : Value::integer((int64_t)x); };
            if (op == "+") return fl ? Value::floating(a + b) : Value::integer(l.i + r.i);
            if (op == "-") return fl ? Value::floating(a - b) : Value::integer(l.i - r.i);
            if (op == "*") return fl ? Value::floating(a * b) : Value::integer(l.i * r.i);
            if (op == "/") return Value::floating(a / b);
            if (op == "//") { R1_CHECK(fl || b != 0, "[jinja] integer division by zero"); return num(std::floor(a / b)); }
            if (op == "%") { R1_CHECK(fl || b != 0, "[jinja] integer modulo by zero"); return num(std::fmod(a, b)); }
            if (op == "<") return Value::boolean(a < b);
            if (op == ">") return Value::boolean(a > b);
            if (op == "<=") return Value::boolean(a <= b);
            if (op == ">=") return Value::boolean(a >= b);
        } else if (l.kind == Kind::array && r.kind == Kind::array) {
            if (op == "+") {
                Array a = *l.arr;
                a.insert(a.end(), r.arr->begin(), r.arr->end());
                return Value::array(std::move(a));
            }
        } else if (r.kind == Kind::array) {
            bool member = false;
            for (const Value& x : *r.arr)
                if (strict_equal(x, l)) { member = true; break; }
            if (op == "in") return Value::boolean(member);
            if (op == "not in") return Value::boolean(!member);
        }
        if ((l.kind == Kind::string || r.kind == Kind::string) && op == "+")
            return Value::string(to_js_string(l) + to_js_string(r));
        if (l.kind == Kind::string && r.kind == Kind::string) {
            if (op == "in") return Value::boolean(r.s.find(l.s) != std::string::npos);
            if (op == "not in") return Value::boolean(r.s.find(l.s) == std::string::npos);
        }
        if (l.kind == Kind::string && r.kind == Kind::object) {
            if (op == "in") return Value::boolean(r.obj->find(l.s) != nullptr);
            if (op == "not in") return Value::boolean(r.obj->find(l.s) == nullptr);
        }
        fail("[jinja] unknown operator '", op, "' between ", kind_name(l.kind), " and ", kind_name(r.kind));
    }

    void assign(const Node& target, const Value& v, Env& env, const char* where) {
        if (target.kind == NodeKind::ident) {
            env.set(target.str, v);
        } else if (target.kind == NodeKind::tuple_lit) {
            R1_CHECK(v.kind == Kind::array, "[jinja] cannot unpack a ", kind_name(v.kind), " in ", where);
            R1_CHECK(v.arr->size() == target.items.size(), "[jinja] too ",
                     target.items.size() > v.arr->size() ? "few" : "many", " items to unpack in ", where);
            for (size_t k = 0; k < target.items.size(); k++) {
                R1_CHECK(target.items[k]->kind == NodeKind::ident, "[jinja] cannot unpack to a non-name in ", where);
                env.set(target.items[k]->str, (*v.arr)[k]);
            }
        } else {
            fail("[jinja] invalid assignment target in ", where);
        }
    }

    void eval_set(const Node& n, Env& env) {
        Value rhs = n.b ? eval(*n.b, env) : Value::string(block(n.body, env));
        if (n.a->kind == NodeKind::member) {
            Value obj = eval(*n.a->a, env);
            R1_CHECK(obj.kind == Kind::ns, "[jinja] cannot assign an attribute of a ", kind_name(obj.kind),
                     " (only of a namespace())");
            R1_CHECK(!n.a->flag && n.a->b->kind == NodeKind::ident, "[jinja] cannot assign to a computed member");
            obj.obj->set(n.a->b->str, rhs);
            return;
        }
        assign(*n.a, rhs, env, "set");
    }

    std::string eval_for(const Node& n, Env& env) {
        Env scope(&env);
        Value it;
        const Node* test = nullptr;
        if (n.b->kind == NodeKind::select) {
            it = eval(*n.b->a, scope);
            test = n.b->b.get();
        } else {
            it = eval(*n.b, scope);
        }
        R1_CHECK(it.kind == Kind::array || it.kind == Kind::object, "[jinja] cannot loop over a ", kind_name(it.kind));
        Array all;
        if (it.kind == Kind::object) {
            for (const auto& e : it.obj->entries) all.push_back(Value::string(e.first));
        } else {
            all = *it.arr;
        }
        Array items;
        for (const Value& cur : all) {
            if (n.a->kind == NodeKind::tuple_lit)
                R1_CHECK(cur.kind == Kind::array, "[jinja] cannot unpack a ", kind_name(cur.kind), " in a for loop");
            if (test) {
                Env ls(&scope);
                assign(*n.a, cur, ls, "a for loop");
                if (!truthy(eval(*test, ls))) continue;
            }
            items.push_back(cur);
        }
        std::string out;
        bool none = true;
        for (size_t i = 0; i < items.size(); i++) {
            Value loop = Value::object();
            int64_t len = (int64_t)items.size(), k = (int64_t)i;
            loop.obj->set("index", Value::integer(k + 1));
            loop.obj->set("index0", Value::integer(k));
            loop.obj->set("revindex", Value::integer(len - k));
            loop.obj->set("revindex0", Value::integer(len - k - 1));
            loop.obj->set("first", Value::boolean(i == 0));
            loop.obj->set("last", Value::boolean(k == len - 1));
            loop.obj->set("length", Value::integer(len));
            loop.obj->set("previtem", i > 0 ? items[i - 1] : Value::undef());
            loop.obj->set("nextitem", k < len - 1 ? items[i + 1] : Value::undef());
            scope.set("loop", loop);
            assign(*n.a, items[i], scope, "a for loop");
            try {
                out += block(n.body, scope);
            } catch (const ContinueSignal&) {
                continue;
            } catch (const BreakSignal&) {
                break;
            }
            none = false;
        }
        if (none) out += block(n.alt, scope);
        return out;
    }

    void define_macro(const Node& n, Env& env) {
        const Node* node = &n;
        env.set(n.a->str, Value::function([this, node](const std::vector<Value>& args, const Kwargs& kw) {
            Env scope(call_env_);
            const NodeList& params = node->items;
            std::vector<std::pair<std::string, const Node*>> defaults;
            Kwargs rest = kw;
            for (size_t k = 0; k < params.size(); k++) {
                const Node& p = *params[k];
                std::string name = p.kind == NodeKind::ident ? p.str : p.str;
                const Node* def = p.kind == NodeKind::kwarg ? p.a.get() : nullptr;
                Value v;
                bool have = false;
                if (k < args.size()) { v = args[k]; have = true; }
                else {
                    for (auto it = rest.begin(); it != rest.end(); ++it)
                        if (it->first == name) { v = it->second; rest.erase(it); have = true; break; }
                }
                if (!have && def) defaults.emplace_back(name, def);
                scope.set(name, have ? v : Value::undef());
            }
            R1_CHECK(rest.empty(), "[jinja] macro '", node->a->str, "' takes no keyword argument '", rest.empty() ? "" : rest[0].first, "'");
            R1_CHECK(args.size() <= params.size(), "[jinja] macro '", node->a->str, "' takes at most ", params.size(), " argument(s)");
            for (auto& [name, def] : defaults) scope.set(name, eval(*def, scope));
            return Value::string(block(node->body, scope));
        }));
    }

    Value apply_filter(const Value& v, const Node& f, Env& env) {
        if (f.kind == NodeKind::ident) {
            const std::string& name = f.str;
            if (name == "safe") return v;
            if (name == "tojson") return Value::string(to_json(v, {}));
            if (v.kind == Kind::array) {
                const Array& a = *v.arr;
                if (name == "list") return v;
                if (name == "first") return a.empty() ? Value::undef() : a.front();
                if (name == "last") return a.empty() ? Value::undef() : a.back();
                if (name == "length") return Value::integer((int64_t)a.size());
                if (name == "reverse") return Value::array(Array(a.rbegin(), a.rend()));
                if (name == "sort") {
                    Array s = a;
                    std::stable_sort(s.begin(), s.end(), [](const Value& x, const Value& y) { return compare_values(x, y, false) < 0; });
                    return Value::array(std::move(s));
                }
                if (name == "join") {
                    std::string s;
                    for (const Value& x : a) s += to_js_string(x);
                    return Value::string(s);
                }
                if (name == "string") return Value::string(to_json(v, {}, 0, false));
                if (name == "unique") {
                    Array out;
                    for (const Value& x : a) {
                        bool seen = false;
                        for (const Value& y : out)
                            if (strict_equal(x, y) && x.kind != Kind::array && !x.is_mapping()) seen = true;
                        if (!seen) out.push_back(x);
                    }
                    return Value::array(std::move(out));
                }
                fail("[jinja] unknown list filter '", name, "'");
            }
            if (v.kind == Kind::string) {
                if (name == "length") return Value::integer(utf16_length(v.s));
                if (name == "upper" || name == "lower" || name == "title" || name == "capitalize")
                    return (*string_method(v, name).fn)({}, {});
                if (name == "trim") return Value::string(js_trim(v.s, true, true));
                if (name == "indent") return indent(v.s, 4, false, false);
                if (name == "join" || name == "string") return v;
                if (name == "int") {
                    char* end = nullptr;
                    std::string t = js_trim(v.s, true, false);
                    long long x = std::strtoll(t.c_str(), &end, 10);
                    return Value::integer(end == t.c_str() ? 0 : x);
                }
                if (name == "float") {
                    char* end = nullptr;
                    std::string t = js_trim(v.s, true, false);
                    double x = std::strtod(t.c_str(), &end);
                    return Value::floating(end == t.c_str() ? 0.0 : x);
                }
                fail("[jinja] unknown string filter '", name, "'");
            }
            if (v.is_numeric()) {
                if (name == "abs") return v.kind == Kind::integer ? Value::integer(std::llabs(v.i)) : Value::floating(std::fabs(v.f));
                if (name == "int") return Value::integer((int64_t)std::floor(v.number()));
                if (name == "float") return Value::floating(v.number());
                if (name == "string") return Value::string(to_output(v));
                fail("[jinja] unknown number filter '", name, "'");
            }
            if (v.kind == Kind::object) {
                if (name == "items") return (*object_method(v, "items").fn)({}, {});
                if (name == "length") return Value::integer((int64_t)v.obj->entries.size());
                Value m = object_method(v, name);
                if (m.kind == Kind::function) return (*m.fn)({}, {});
                fail("[jinja] unknown dict filter '", name, "'");
            }
            if (v.kind == Kind::boolean) {
                if (name == "bool") return v;
                if (name == "int") return Value::integer(v.b ? 1 : 0);
                if (name == "float") return Value::floating(v.b ? 1.0 : 0.0);
                if (name == "string") return Value::string(v.b ? "true" : "false");
                fail("[jinja] unknown boolean filter '", name, "'");
            }
            fail("[jinja] cannot apply filter '", name, "' to a ", kind_name(v.kind), " value");
        }
        R1_CHECK(f.kind == NodeKind::call && f.a->kind == NodeKind::ident, "[jinja] bad filter expression");
        const std::string& name = f.a->str;
        std::vector<Value> args;
        Kwargs kw;
        if (name == "tojson") {
            args_of(f.items, env, args, kw);
            JsonOptions o;
            if (const Value* x = kwarg(kw, "indent")) {
                R1_CHECK(x->kind == Kind::integer || x->kind == Kind::none, "[jinja] tojson: indent must be an integer");
                if (x->kind == Kind::integer) o.indent = (int)x->i;
            }
            if (const Value* x = kwarg(kw, "ensure_ascii")) {
                R1_CHECK(x->kind == Kind::boolean, "[jinja] tojson: ensure_ascii must be a boolean");
                o.ensure_ascii = x->b;
            }
            if (const Value* x = kwarg(kw, "sort_keys")) {
                R1_CHECK(x->kind == Kind::boolean, "[jinja] tojson: sort_keys must be a boolean");
                o.sort_keys = x->b;
            }
            if (const Value* x = kwarg(kw, "separators")) {
                if (x->kind != Kind::none) {
                    R1_CHECK(x->kind == Kind::array && x->arr->size() == 2 && (*x->arr)[0].kind == Kind::string &&
                                 (*x->arr)[1].kind == Kind::string, "[jinja] tojson: separators must be two strings");
                    o.has_separators = true;
                    o.item_sep = (*x->arr)[0].s;
                    o.key_sep = (*x->arr)[1].s;
                }
            }
            return Value::string(to_json(v, o));
        }
        if (name == "join") {
            R1_CHECK(v.kind == Kind::string || v.kind == Kind::array, "[jinja] cannot apply filter 'join' to a ", kind_name(v.kind));
            args_of(f.items, env, args, kw);
            Value sep = arg_or(args, 0, kw, "separator", Value::string(""));
            R1_CHECK(sep.kind == Kind::string, "[jinja] join: separator must be a string");
            std::string s;
            if (v.kind == Kind::string) {
                std::vector<uint32_t> cps = code_points(v.s);
                for (size_t k = 0; k < cps.size(); k++) {
                    if (k) s += sep.s;
                    append_utf8(s, cps[k]);
                }
            } else {
                for (size_t k = 0; k < v.arr->size(); k++) {
                    if (k) s += sep.s;
                    const Value& x = (*v.arr)[k];
                    if (x.kind != Kind::none && x.kind != Kind::undefined) s += to_js_string(x);
                }
            }
            return Value::string(s);
        }
        if (name == "int" || name == "float") {
            args_of(f.items, env, args, kw);
            bool is_int = name == "int";
            Value def = arg_or(args, 0, kw, "default", is_int ? Value::integer(0) : Value::floating(0));
            if (v.kind == Kind::string) {
                std::string t = js_trim(v.s, true, false);
                char* end = nullptr;
                if (is_int) {
                    long long x = std::strtoll(t.c_str(), &end, 10);
                    return end == t.c_str() ? def : Value::integer(x);
                }
                double x = std::strtod(t.c_str(), &end);
                return end == t.c_str() ? def : Value::floating(x);
            }
            if (v.is_numeric()) return v;
            if (v.kind == Kind::boolean) return is_int ? Value::integer(v.b) : Value::floating(v.b);
            fail("[jinja] cannot apply filter '", name, "' to a ", kind_name(v.kind));
        }
        if (name == "default") {
            args_of(f.items, env, args, kw);
            Value def = args.size() > 0 ? args[0] : Value::string("");
            Value boolean = arg_or(args, 1, kw, "boolean", Value::boolean(false));
            R1_CHECK(boolean.kind == Kind::boolean, "[jinja] default: the flag must be a boolean");
            if (v.kind == Kind::undefined || (boolean.b && !truthy(v))) return def;
            return v;
        }
        if (v.kind == Kind::array) {
            if (name == "sort") {
                args_of(f.items, env, args, kw);
                Value rev = arg_or(args, 0, kw, "reverse", Value::boolean(false));
                Value cs = arg_or(args, 1, kw, "case_sensitive", Value::boolean(false));
                Value attr = arg_or(args, 2, kw, "attribute", Value::null());
                R1_CHECK(rev.kind == Kind::boolean && cs.kind == Kind::boolean, "[jinja] sort: bad arguments");
                auto key = [&](const Value& x) {
                    if (attr.kind == Kind::none) return x;
                    return attribute_path(x, attr.kind == Kind::integer ? std::to_string(attr.i) : attr.s);
                };
                Array s = *v.arr;
                std::stable_sort(s.begin(), s.end(), [&](const Value& x, const Value& y) {
                    int r = compare_values(key(x), key(y), cs.b);
                    return rev.b ? r > 0 : r < 0;
                });
                return Value::array(std::move(s));
            }
            if (name == "selectattr" || name == "rejectattr") {
                bool select = name == "selectattr";
                for (const Value& x : *v.arr)
                    R1_CHECK(x.is_mapping(), "[jinja] ", name, " can only be applied to a list of objects");
                for (const auto& a : f.items)
                    R1_CHECK(a->kind == NodeKind::str_lit, "[jinja] arguments of ", name, " must be strings");
                args_of(f.items, env, args, kw);
                R1_CHECK(!args.empty(), "[jinja] ", name, " needs an attribute name");
                Array out;
                for (const Value& x : *v.arr) {
                    const Value* a = x.obj->find(args[0].s);
                    bool r = false;
                    if (a) {
                        if (args.size() > 1) {
                            const std::string& t = args[1].s;
                            if (t == "equalto" || t == "eq" || t == "==")
                                r = args.size() > 2 && strict_equal(*a, args[2]);
                            else
                                r = run_test(t, *a);
                        } else {
                            r = truthy(*a);
                        }
                    }
                    if (r == select) out.push_back(x);
                }
                return Value::array(std::move(out));
            }
            if (name == "map") {
                args_of(f.items, env, args, kw);
                const Value* attr = kwarg(kw, "attribute");
                R1_CHECK(attr, "[jinja] map without attribute= is not supported");
                R1_CHECK(attr->kind == Kind::string, "[jinja] map: attribute must be a string");
                const Value* def = kwarg(kw, "default");
                Array out;
                for (const Value& x : *v.arr) {
                    R1_CHECK(x.is_mapping(), "[jinja] map: items must be objects");
                    Value y = attribute_path(x, attr->s);
                    out.push_back(y.kind == Kind::undefined && def ? *def : y);
                }
                return Value::array(std::move(out));
            }
            fail("[jinja] unknown list filter '", name, "'");
        }
        if (v.kind == Kind::string) {
            args_of(f.items, env, args, kw);
            if (name == "indent") {
                Value w = arg_or(args, 0, kw, "width", Value::integer(4));
                Value first = arg_or(args, 1, kw, "first", Value::boolean(false));
                Value blank = arg_or(args, 2, kw, "blank", Value::boolean(false));
                R1_CHECK(w.kind == Kind::integer, "[jinja] indent: width must be an integer");
                return indent(v.s, (int)w.i, truthy(first), truthy(blank));
            }
            if (name == "replace") return (*string_method(v, "replace").fn)(args, kw);
            fail("[jinja] unknown string filter '", name, "'");
        }
        if (v.kind == Kind::object) {
            Value m = object_method(v, name);
            R1_CHECK(m.kind == Kind::function, "[jinja] unknown dict filter '", name, "'");
            args_of(f.items, env, args, kw);
            return (*m.fn)(args, kw);
        }
        fail("[jinja] cannot apply filter '", name, "' to a ", kind_name(v.kind), " value");
    }

    static Value indent(const std::string& s, int width, bool first, bool blank) {
        std::string out, pad(width > 0 ? width : 0, ' ');
        size_t p = 0, line = 0;
        while (true) {
            size_t q = s.find('\n', p);
            std::string l = s.substr(p, q == std::string::npos ? std::string::npos : q - p);
            if (!((!first && line == 0) || (!blank && l.empty()))) out += pad;
            out += l;
            if (q == std::string::npos) break;
            out += '\n';
            p = q + 1;
            line++;
        }
        return Value::string(out);
    }

    Env* call_env_ = nullptr;
};

void setup_globals(Env& env) {
    env.set("true", Value::boolean(true));
    env.set("false", Value::boolean(false));
    env.set("none", Value::null());
    env.set("True", Value::boolean(true));
    env.set("False", Value::boolean(false));
    env.set("None", Value::null());
    env.set("namespace", Value::function([](const std::vector<Value>& args, const Kwargs& kw) {
        R1_CHECK(args.size() <= 1, "[jinja] namespace() takes at most 1 positional argument");
        Value ns = Value::object(Kind::ns);
        if (args.size() == 1) {
            const Value& src = args[0];
            if (src.kind == Kind::object) {
                for (const auto& e : src.obj->entries) ns.obj->set(e.first, e.second);
            } else if (src.kind == Kind::array) {
                for (const Value& p : *src.arr) {
                    R1_CHECK(p.kind == Kind::array && p.arr->size() == 2 && (*p.arr)[0].kind == Kind::string,
                             "[jinja] namespace() expects [key, value] pairs");
                    ns.obj->set((*p.arr)[0].s, (*p.arr)[1]);
                }
            } else {
                fail("[jinja] namespace(): a ", kind_name(src.kind), " is not iterable");
            }
        }
        for (const auto& [k, v] : kw) ns.obj->set(k, v);
        return ns;
    }));
    env.set("raise_exception", Value::function([](const std::vector<Value>& args, const Kwargs&) -> Value {
        fail("[jinja] raise_exception: ", args.empty() ? std::string("undefined") : to_js_string(args[0]));
    }));
    env.set("range", Value::function([](const std::vector<Value>& args, const Kwargs&) {
        for (const Value& a : args) R1_CHECK(a.is_numeric(), "[jinja] range() arguments must be numbers");
        R1_CHECK(!args.empty() && args.size() <= 3, "[jinja] range() takes 1 to 3 arguments");
        double start = 0, stop, step = 1;
        if (args.size() == 1) stop = args[0].number();
        else { start = args[0].number(); stop = args[1].number(); }
        if (args.size() == 3) step = args[2].number();
        R1_CHECK(step != 0, "[jinja] range() step must not be zero");
        R1_CHECK(std::fabs((stop - start) / step) < 1e7, "[jinja] range() too long");
        Array out;
        for (double i = start; step > 0 ? i < stop : i > stop; i += step)
            out.push_back(i == std::floor(i) ? Value::integer((int64_t)i) : Value::floating(i));
        return Value::array(std::move(out));
    }));
    env.set("strftime_now", Value::function([](const std::vector<Value>& args, const Kwargs&) {
        R1_CHECK(!args.empty() && args[0].kind == Kind::string, "[jinja] strftime_now() needs a format string");
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        localtime_r(&t, &tm);
        char buf[256];
        size_t n = std::strftime(buf, sizeof buf, args[0].s.c_str(), &tm);
        return Value::string(std::string(buf, n));
    }));
}

}  // namespace

Template::Template(const std::string& source) : program_(std::make_unique<Program>(parse(tokenize(source)))) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& context) const {
    R1_CHECK(context.is_object() || context.is_null(), "[jinja] the render context must be a JSON object");
    Env globals;
    setup_globals(globals);
    if (context.is_object())
        for (auto it = context.begin(); it != context.end(); ++it) {
            R1_CHECK(!globals.vars.count(it.key()),
                     "[jinja] context variable '", it.key(), "' would shadow a built-in");
            globals.set(it.key(), from_json(it.value()));
        }
    Interpreter in;
    try {
        return in.block(program_->body, globals);
    } catch (const BreakSignal&) {
        fail("[jinja] 'break' outside a for loop");
    } catch (const ContinueSignal&) {
        fail("[jinja] 'continue' outside a for loop");
    }
}

}  // namespace r1::jinja
