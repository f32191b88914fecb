// Run-time values of the Jinja subset: truthiness, printing, JSON in and out, equality and
// the JavaScript string rules the reference library (@huggingface/jinja) applies to them.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja_ast.h"
#include "core/error.h"

namespace r1::jinja {

Value Value::array(Array a) {
    Value v;
    v.kind = Kind::array;
    v.arr = std::make_shared<Array>(std::move(a));
    return v;
}
Value Value::object(Kind k) {
    Value v;
    v.kind = k;
    v.obj = std::make_shared<Object>();
    return v;
}
Value Value::function(Function f) {
    Value v;
    v.kind = Kind::function;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
}

const Value* Object::find(const std::string& key) const {
    for (const auto& [k, v] : entries)
        if (k == key) return &v;
    return nullptr;
}
void Object::set(const std::string& key, Value v) {
    for (auto& [k, old] : entries)
        if (k == key) { old = std::move(v); return; }
    entries.emplace_back(key, std::move(v));
}

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::undefined: return "undefined";
        case Kind::none: return "none";
        case Kind::boolean: return "boolean";
        case Kind::integer: return "integer";
        case Kind::floating: return "float";
        case Kind::string: return "string";
        case Kind::array: return "list";
        case Kind::object: return "dict";
        case Kind::ns: return "namespace";
        case Kind::function: return "function";
    }
    return "?";
}

bool truthy(const Value& v) {
    switch (v.kind) {
        case Kind::undefined: case Kind::none: return false;
        case Kind::boolean: return v.b;
        case Kind::integer: return v.i != 0;
        case Kind::floating: return v.f != 0 && !std::isnan(v.f);
        case Kind::string: return !v.s.empty();
        case Kind::array: return !v.arr->empty();
        case Kind::object: return !v.obj->entries.empty();
        case Kind::ns: case Kind::function: return true;
    }
    return false;
}

// JavaScript Number.prototype.toString(): shortest round-trip digits, exponent form when the
// decimal exponent is >= 21 or <= -7.
std::string js_number(double x) {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    if (x == 0) return "0";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // "-d.ddde+XX"
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    size_t e = sci.find('e');
    std::string mant = sci.substr(0, e);
    int exp = std::stoi(sci.substr(e + 1));
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    int k = (int)digits.size(), n = exp + 1;  // value = 0.digits * 10^n
    std::string out;
    if (k <= n && n <= 21) {
        out = digits + std::string(n - k, '0');
    } else if (0 < n && n <= 21) {
        out = digits.substr(0, n) + "." + digits.substr(n);
    } else if (-6 < n && n <= 0) {
        out = "0." + std::string(-n, '0') + digits;
    } else {
        out = digits.substr(0, 1);
        if (k > 1) out += "." + digits.substr(1);
        out += (n - 1 >= 0) ? "e+" : "e-";
        out += std::to_string(std::abs(n - 1));
    }
    return neg ? "-" + out : out;
}

std::string to_js_string(const Value& v) {
    switch (v.kind) {
        case Kind::undefined: return "undefined";
        case Kind::none: return "null";
        case Kind::boolean: return v.b ? "true" : "false";
        case Kind::integer: return std::to_string(v.i);
        case Kind::floating: return js_number(v.f);
        case Kind::string: return v.s;
        case Kind::array: {
            std::string s;
            for (size_t i = 0; i < v.arr->size(); i++) {
                if (i) s += ",";
                s += to_output((*v.arr)[i]);
            }
            return s;
        }
        case Kind::object: case Kind::ns: return "[object Map]";
        case Kind::function: return "[function]";
    }
    return "";
}

std::string to_output(const Value& v) {
    switch (v.kind) {
        case Kind::floating:
            if (v.f == 0 && std::signbit(v.f)) return "-0.0";
            if (std::isfinite(v.f) && v.f == std::floor(v.f) && std::fabs(v.f) < 1e21) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.1f", v.f);
                return buf;
            }
            return js_number(v.f);
        case Kind::array: case Kind::object: case Kind::ns: return to_json(v, {}, 0, false);
        default: return to_js_string(v);
    }
}

// ---- UTF-8 / JavaScript string helpers ----------------------------------------------------
void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += (char)cp;
    } else if (cp < 0x800) {
        out += (char)(0xc0 | (cp >> 6));
        out += (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += (char)(0xe0 | (cp >> 12));
        out += (char)(0x80 | ((cp >> 6) & 0x3f));
        out += (char)(0x80 | (cp & 0x3f));
    } else {
        out += (char)(0xf0 | (cp >> 18));
        out += (char)(0x80 | ((cp >> 12) & 0x3f));
        out += (char)(0x80 | ((cp >> 6) & 0x3f));
        out += (char)(0x80 | (cp & 0x3f));
    }
}

// Decodes UTF-8; an invalid byte decodes as U+FFFD (as JavaScript sees text decoded from it).
std::vector<uint32_t> code_points(const std::string& s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) { cp = c; n = 1; }
        else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; n = 2; }
        else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; n = 3; }
        else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; n = 4; }
        else { out.push_back(0xfffd); i++; continue; }
        if (i + n > s.size()) { out.push_back(0xfffd); i++; continue; }
        bool ok = true;
        for (size_t k = 1; k < n; k++) {
            unsigned char d = (unsigned char)s[i + k];
            if ((d & 0xc0) != 0x80) { ok = false; break; }
            cp = (cp << 6) | (d & 0x3f);
        }
        if (!ok) { out.push_back(0xfffd); i++; continue; }
        out.push_back(cp);
        i += n;
    }
    return out;
}

std::string from_code_points(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
    std::string s;
    for (size_t i = begin; i < end && i < cps.size(); i++) append_utf8(s, cps[i]);
    return s;
}

int64_t utf16_length(const std::string& s) {
    int64_t n = 0;
    for (uint32_t cp : code_points(s)) n += cp >= 0x10000 ? 2 : 1;
    return n;
}

// String.prototype.trim's set: WhiteSpace and LineTerminator code points.
bool is_js_space(uint32_t c) {
    return c == 0x09 || c == 0x0a || c == 0x0b || c == 0x0c || c == 0x0d || c == 0x20 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000 || c == 0xfeff;
}

namespace {
// Length of the whitespace code point starting at byte i (0 if none / invalid).
size_t space_at(const std::string& s, size_t i) {
    unsigned char c = (unsigned char)s[i];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    std::vector<uint32_t> cp = code_points(s.substr(i, n));
    return (cp.size() == 1 && cp[0] != 0xfffd && is_js_space(cp[0])) ? n : 0;
}
}  // namespace

std::string js_trim(const std::string& s, bool left, bool right) {
    size_t b = 0, e = s.size();
    if (left)
        while (b < e) {
            size_t n = space_at(s, b);
            if (n == 0) break;
            b += n;
        }
    if (right)
        while (e > b) {
            size_t k = e - 1;
            while (k > b && e - k < 4 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
            size_t n = space_at(s, k);
            if (n == 0 || k + n != e) break;
            e = k;
        }
    return s.substr(b, e - b);
}

// ---- JSON -----------------------------------------------------------------------------------
namespace {

// JSON.stringify of a string (ensure_ascii: non-ASCII as \uXXXX UTF-16 units, like Python).
std::string json_string(const std::string& s, bool ensure_ascii) {
    std::string out = "\"";
    for (uint32_t cp : code_points(s)) {
        char buf[16];
        switch (cp) {
            case '"': out += "\\\""; continue;
            case '\\': out += "\\\\"; continue;
            case '\b': out += "\\b"; continue;
            case '\f': out += "\\f"; continue;
            case '\n': out += "\\n"; continue;
            case '\r': out += "\\r"; continue;
            case '\t': out += "\\t"; continue;
            default: break;
        }
        if (cp < 0x20) {
            std::snprintf(buf, sizeof buf, "\\u%04x", cp);
            out += buf;
        } else if (ensure_ascii && cp >= 0x7f) {
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
            } else {
                std::snprintf(buf, sizeof buf, "\\u%04x", cp);
            }
            out += buf;
        } else {
            append_utf8(out, cp);
        }
    }
    return out + "\"";
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& opt, int depth, bool undefined_as_null) {
    std::string item_sep = opt.has_separators ? opt.item_sep : opt.indent ? "," : ", ";
    std::string key_sep = opt.has_separators ? opt.key_sep : ": ";
    switch (v.kind) {
        case Kind::none: return "null";
        case Kind::undefined: return undefined_as_null ? "null" : "undefined";
        case Kind::boolean: return v.b ? "true" : "false";
        case Kind::integer: return std::to_string(v.i);
        case Kind::floating: return std::isfinite(v.f) ? js_number(v.f) : "null";
        case Kind::string: return json_string(v.s, opt.ensure_ascii);
        case Kind::function: fail("[jinja] cannot convert a function to JSON");
        case Kind::array: case Kind::object: case Kind::ns: break;
    }
    std::string ind(opt.indent > 0 ? opt.indent : 0, ' ');
    std::string base = "\n", child;
    for (int d = 0; d < depth; d++) base += ind;
    child = base + ind;
    if (v.kind == Kind::array) {
        std::vector<std::string> core;
        for (const Value& x : *v.arr) core.push_back(to_json(x, opt, depth + 1, undefined_as_null));
        std::string s = "[";
        if (opt.indent && !core.empty()) s += child;
        for (size_t i = 0; i < core.size(); i++) {
            if (i) s += item_sep + (opt.indent ? child : "");
            s += core[i];
        }
        if (opt.indent && !core.empty()) s += base;
        return s + "]";
    }
    auto entries = v.obj->entries;
    if (opt.sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::string s = "{";
    for (size_t i = 0; i < entries.size(); i++) {
        if (i) s += item_sep;
        if (opt.indent) s += child;
        s += json_string(entries[i].first, opt.ensure_ascii) + key_sep +
             to_json(entries[i].second, opt, depth + 1, undefined_as_null);
    }
    if (opt.indent && !entries.empty()) s += base;
    return s + "}";
}

Value from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return Value::null();
        case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: {
            uint64_t u = j.get<uint64_t>();
            return u <= (uint64_t)INT64_MAX ? Value::integer((int64_t)u) : Value::floating((double)u);
        }
        case nlohmann::ordered_json::value_t::number_float: {
            double d = j.get<double>();
            // JSON.parse gives a JS number; @huggingface/jinja makes integral numbers integers.
            if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15)
                return Value::integer((int64_t)d);
            return Value::floating(d);
        }
        case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            Array a;
            for (const auto& x : j) a.push_back(from_json(x));
            return Value::array(std::move(a));
        }
        case nlohmann::ordered_json::value_t::object: {
            Value o = Value::object();
            for (auto it = j.begin(); it != j.end(); ++it) o.obj->set(it.key(), from_json(it.value()));
            return o;
        }
        default: return Value::undef();
    }
}

// ---- equality -------------------------------------------------------------------------------
namespace {

// JavaScript ToNumber(string): trimmed decimal/hex/Infinity, "" -> 0, else NaN.
double js_to_number(const std::string& s) {
    std::string t = js_trim(s, true, true);
    if (t.empty()) return 0;
    if (t == "Infinity" || t == "+Infinity") return INFINITY;
    if (t == "-Infinity") return -INFINITY;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        double v = 0;
        for (size_t i = 2; i < t.size(); i++) {
            int d = std::isdigit((unsigned char)t[i]) ? t[i] - '0'
                  : (t[i] >= 'a' && t[i] <= 'f') ? t[i] - 'a' + 10
                  : (t[i] >= 'A' && t[i] <= 'F') ? t[i] - 'A' + 10 : -1;
            if (d < 0) return NAN;
            v = v * 16 + d;
        }
        return v;
    }
    for (char c : t)
        if (!(std::isdigit((unsigned char)c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return NAN;
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    return (end && *end == '\0') ? v : NAN;
}

bool is_prim_number(const Value& v) { return v.is_numeric() || v.kind == Kind::boolean; }

}  // namespace

bool strict_equal(const Value& a, const Value& b) {
    if (a.is_numeric() && b.is_numeric()) return a.number() == b.number();
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Kind::undefined: case Kind::none: return true;
        case Kind::boolean: return a.b == b.b;
        case Kind::string: return a.s == b.s;
        case Kind::array: return a.arr == b.arr;
        case Kind::object: case Kind::ns: return a.obj == b.obj;
        case Kind::function: return a.fn == b.fn;
        default: return false;
    }
}

bool loose_equal(const Value& a, const Value& b) {
    bool an = a.kind == Kind::none || a.kind == Kind::undefined;
    bool bn = b.kind == Kind::none || b.kind == Kind::undefined;
    if (an || bn) return an && bn;
    if (a.kind == Kind::string && b.kind == Kind::string) return a.s == b.s;
    if (is_prim_number(a) && is_prim_number(b)) return a.number() == b.number();
    if (a.kind == Kind::string && is_prim_number(b)) return js_to_number(a.s) == b.number();
    if (b.kind == Kind::string && is_prim_number(a)) return js_to_number(b.s) == a.number();
    bool ao = a.kind == Kind::array || a.is_mapping() || a.kind == Kind::function;
    bool bo = b.kind == Kind::array || b.is_mapping() || b.kind == Kind::function;
    if (ao && bo) return strict_equal(a, b);
    // object vs primitive: JavaScript compares the object's string form
    const Value& o = ao ? a : b;
    const Value& p = ao ? b : a;
    std::string os = o.kind == Kind::array ? to_js_string(o) : "[object Map]";
    if (p.kind == Kind::string) return os == p.s;
    return js_to_number(os) == p.number();
}

}  // namespace r1::jinja
