// Shared verifier machinery: format rule, answer extraction, reflection markers, exact
// number parsing (see verify.h for the rules). Everything here is a linear scan or a bounded
// loop over its input: no recursion, no regex backtracking, no exceptions on any text.
#include "rl/verify.h"

#include <algorithm>
#include <cctype>

namespace r1::rl {

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>";
constexpr std::string_view kAnswerClose = "</answer>";
constexpr std::string_view kEosText = "<｜end▁of▁sentence｜>";
constexpr std::string_view kUnicodeMinus = "\xE2\x88\x92";  // U+2212
constexpr size_t kMaxNumberBytes = 256;
constexpr size_t kMaxStringBytes = 4096;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

size_t count(std::string_view s, std::string_view what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string_view::npos; p = s.find(what, p + what.size())) n++;
    return n;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); i++)
        if (lower(s[i]) != lower(prefix[i])) return false;
    return true;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, i)) {
        out.append(s, i, p - i);
        out.append(to);
        i = p + from.size();
    }
    out.append(s, i, std::string::npos);
    s.swap(out);
}

// Position just past the '}' matching the '{' at s[open]; npos if unbalanced.
size_t match_brace(std::string_view s, size_t open) {
    int64_t depth = 0;
    for (size_t i = open; i < s.size(); i++) {
        if (s[i] == '{') depth++;
        else if (s[i] == '}' && --depth == 0) return i + 1;
    }
    return std::string_view::npos;
}

// "\text{cm}" -> "cm" for every \cmd{…} of the given name (one level; braces inside kept).
void unwrap_command(std::string& s, std::string_view cmd) {
    for (size_t guard = 0; guard < 64; guard++) {
        const size_t p = s.find(cmd);
        if (p == std::string::npos) return;
        size_t q = p + cmd.size();
        if (q >= s.size() || s[q] != '{') {
            s.erase(p, cmd.size());
            continue;
        }
        const size_t end = match_brace(s, q);
        if (end == std::string_view::npos) {
            s.erase(p, cmd.size());
            continue;
        }
        s = s.substr(0, p) + " " + s.substr(q + 1, end - q - 2) + s.substr(end);
    }
}

// Strips the wrappers that never change a value: $…$, \(…\), \[…\], \boxed{…}, {…},
// trailing '.', leading "answer:"-style phrases and "x =" / "… =" prefixes.
std::string strip_wrappers(std::string_view in) {
    std::string s(trim(in));
    for (int guard = 0; guard < 16; guard++) {
        const std::string before = s;
        if (s.size() >= 2 && s.front() == '$' && s.back() == '$') s = s.substr(1, s.size() - 2);
        else if (s.size() >= 4 && (s.rfind("\\(", 0) == 0 && s.compare(s.size() - 2, 2, "\\)") == 0))
            s = s.substr(2, s.size() - 4);
        else if (s.size() >= 4 && (s.rfind("\\[", 0) == 0 && s.compare(s.size() - 2, 2, "\\]") == 0))
            s = s.substr(2, s.size() - 4);
        else if (s.rfind("\\boxed{", 0) == 0 && match_brace(s, 6) == s.size())
            s = s.substr(7, s.size() - 8);
        else if (s.size() >= 2 && s.front() == '{' && match_brace(s, 0) == s.size())
            s = s.substr(1, s.size() - 2);
        else if (!s.empty() && s.back() == '.')
            s.pop_back();
        for (std::string_view pre : {"the final answer is", "final answer:", "the answer is",
                                     "answer:", "answer is"})
            if (starts_with_ci(s, pre)) {
                s = s.substr(pre.size());
                break;
            }
        const size_t eq = s.rfind('=');
        if (eq != std::string::npos) s = s.substr(eq + 1);
        s = std::string(trim(s));
        if (s == before) break;
    }
    return s;
}

// Non-negative decimal at s[i]: "123", "1,234,567", "0.25", ".5". Advances i.
std::optional<Rational> parse_decimal(std::string_view s, size_t& i) {
    const size_t start = i;
    __int128 num = 0, den = 1;
    int digits = 0;
    auto push_digit = [&](char c) -> bool {
        if (++digits > 36) return false;  // __int128 holds 38 digits
        num = num * 10 + (c - '0');
        return true;
    };
    size_t j = i;
    size_t lead = 0;
    while (j < s.size() && is_digit(s[j])) {
        if (!push_digit(s[j])) return std::nullopt;
        j++;
        lead++;
    }
    // thousands separators: 1-3 leading digits, then groups ",ddd"
    if (lead >= 1 && lead <= 3) {
        size_t k = j;
        while (k + 3 < s.size() && s[k] == ',' && is_digit(s[k + 1]) && is_digit(s[k + 2]) &&
               is_digit(s[k + 3]) && (k + 4 >= s.size() || !is_digit(s[k + 4]))) {
            for (int d = 1; d <= 3; d++)
                if (!push_digit(s[k + d])) return std::nullopt;
            k += 4;
        }
        j = k;
    }
    if (j < s.size() && s[j] == '.' && j + 1 < s.size() && is_digit(s[j + 1])) {
        j++;
        while (j < s.size() && is_digit(s[j])) {
            if (!push_digit(s[j])) return std::nullopt;
            den *= 10;
            j++;
        }
    }
    if (digits == 0) {
        i = start;
        return std::nullopt;
    }
    i = j;
    return Rational::make(num, den);
}

// Optional sign then a decimal (the parts of a fraction).
std::optional<Rational> parse_signed_decimal(std::string_view s, size_t& i) {
    bool neg = false;
    while (i < s.size() && s[i] == ' ') i++;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    } else if (s.substr(i, kUnicodeMinus.size()) == kUnicodeMinus) {
        neg = true;
        i += kUnicodeMinus.size();
    }
    while (i < s.size() && s[i] == ' ') i++;
    auto v = parse_decimal(s, i);
    if (!v) return std::nullopt;
    return neg ? Rational::make(-(__int128)v->num, v->den) : v;
}

// One \frac argument: "{…}" holding a signed decimal, or a single digit.
std::optional<Rational> parse_frac_arg(std::string_view s, size_t& i) {
    while (i < s.size() && s[i] == ' ') i++;
    if (i < s.size() && is_digit(s[i])) return Rational::make(s[i++] - '0', 1);
    if (i >= s.size() || s[i] != '{') return std::nullopt;
    const size_t end = match_brace(s, i);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view inner = trim(s.substr(i + 1, end - i - 2));
    size_t k = 0;
    auto v = parse_signed_decimal(inner, k);
    if (!v || trim(inner.substr(k)).size() != 0) return std::nullopt;
    i = end;
    return v;
}

}  // namespace

std::string_view trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    return s.substr(a, b - a);
}

AnswerParse parse_completion(std::string_view c) {
    AnswerParse out;
    const size_t n_open = count(c, kAnswerOpen), n_close = count(c, kAnswerClose);
    if (n_open != 1 || n_close != 1) return out;
    const size_t open = c.find(kAnswerOpen), close = c.find(kAnswerClose);
    if (close < open) return out;
    const size_t think_close = c.rfind(kThinkClose);
    if (think_close != std::string_view::npos && think_close > close) return out;
    const std::string_view content = c.substr(open + kAnswerOpen.size(), close - open - kAnswerOpen.size());
    if (trim(content).empty()) return out;
    out.answer = std::string(content);
    // format: exactly one </think>, before the answer; no <think> after it; only whitespace
    // (and the EOS text, if a caller decoded it) after </answer>
    if (count(c, kThinkClose) != 1 || think_close > open) return out;
    if (c.find(kThinkOpen, think_close) != std::string_view::npos) return out;
    std::string_view tail = trim(c.substr(close + kAnswerClose.size()));
    if (tail.size() >= kEosText.size() && tail.substr(tail.size() - kEosText.size()) == kEosText)
        tail = trim(tail.substr(0, tail.size() - kEosText.size()));
    out.formatted = tail.empty();
    return out;
}

bool contains_marker(std::string_view text, const std::vector<std::string>& markers) {
    std::string low(text);
    for (char& ch : low) ch = lower(ch);
    for (const std::string& m : markers) {
        std::string lm = m;
        for (char& ch : lm) ch = lower(ch);
        if (!lm.empty() && low.find(lm) != std::string::npos) return true;
    }
    return false;
}

const std::vector<std::string>& generic_reflection_markers() {
    static const std::vector<std::string> m = {
        "let me verify", "let me check", "let me double-check", "double-check", "double check",
        "let me recheck", "re-check", "recheck", "wait,", "wait.", "let me re-examine",
        "verify:", "verification:"};
    return m;
}

std::optional<std::string_view> last_boxed(std::string_view text) {
    size_t best = std::string_view::npos, len = 0;
    for (std::string_view cmd : {"\\boxed", "\\fbox"}) {
        const size_t p = text.rfind(cmd);
        if (p != std::string_view::npos && (best == std::string_view::npos || p > best)) {
            best = p;
            len = cmd.size();
        }
    }
    if (best == std::string_view::npos) return std::nullopt;
    size_t i = best + len;
    while (i < text.size() && text[i] == ' ') i++;
    if (i >= text.size() || text[i] != '{') return std::nullopt;
    const size_t end = match_brace(text, i);
    if (end == std::string_view::npos) return std::nullopt;
    return text.substr(i + 1, end - i - 2);
}

std::string_view final_answer(std::string_view text) {
    const size_t hashes = text.rfind("####");
    if (hashes != std::string_view::npos) return trim(text.substr(hashes + 4));
    if (auto b = last_boxed(text)) return trim(*b);
    return trim(text);
}

std::optional<Rational> parse_number(std::string_view text) {
    if (trim(text).size() > kMaxNumberBytes) return std::nullopt;
    std::string s = strip_wrappers(text);
    for (std::string_view noise : {"\\!", "\\,", "\\;", "\\:", "\\ ", "\\left", "\\right", "^\\circ",
                                   "^{\\circ}", "\\displaystyle"})
        replace_all(s, noise, "");
    replace_all(s, "{,}", ",");
    replace_all(s, "\\%", "%");
    replace_all(s, "\\$", "$");
    replace_all(s, "\\dfrac", "\\frac");
    replace_all(s, "\\tfrac", "\\frac");
    unwrap_command(s, "\\text");
    unwrap_command(s, "\\mathrm");
    unwrap_command(s, "\\mbox");
    s = strip_wrappers(s);

    size_t i = 0;
    auto skip_spaces = [&] { while (i < s.size() && is_space(s[i])) i++; };
    skip_spaces();
    bool neg = false;
    auto take_sign = [&] {
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
            neg = neg != (s[i] == '-');
            i++;
            return true;
        }
        if (std::string_view(s).substr(i, kUnicodeMinus.size()) == kUnicodeMinus) {
            neg = !neg;
            i += kUnicodeMinus.size();
            return true;
        }
        return false;
    };
    take_sign();
    skip_spaces();
    if (i < s.size() && s[i] == '$') i++;  // "$5", "-$5"
    skip_spaces();
    if (!neg) {  // "$-5"
        take_sign();
        skip_spaces();
    }
    std::optional<Rational> v;
    if (std::string_view(s).substr(i, 5) == "\\frac") {
        i += 5;
        auto a = parse_frac_arg(s, i);
        if (!a) return std::nullopt;
        auto b = parse_frac_arg(s, i);
        if (!b) return std::nullopt;
        v = div(*a, *b);
    } else {
        v = parse_decimal(s, i);
        if (!v) return std::nullopt;
        size_t k = i;
        while (k < s.size() && s[k] == ' ') k++;
        if (k < s.size() && s[k] == '/') {
            k++;
            auto b = parse_signed_decimal(s, k);
            if (!b) return std::nullopt;
            v = div(*v, *b);
            i = k;
        }
    }
    if (!v) return std::nullopt;
    // what follows must be units / a percent sign, not more mathematics
    const std::string_view rest = std::string_view(s).substr(i);
    if (!rest.empty() && is_alpha(rest[0])) return std::nullopt;  // "5x", "2pi"
    for (char ch : rest)
        if (is_digit(ch) || ch == '+' || ch == '-' || ch == '*' || ch == '/' || ch == '^' ||
            ch == '=' || ch == '<' || ch == '>' || ch == '\\' || ch == '(' || ch == '!')
            return std::nullopt;
    if (neg) v = Rational::make(-(__int128)v->num, v->den);
    return v;
}

std::string normalize_answer(std::string_view text) {
    if (auto v = parse_number(text)) return v->str();
    std::string s = strip_wrappers(text.substr(0, std::min(text.size(), kMaxStringBytes)));
    unwrap_command(s, "\\text");
    unwrap_command(s, "\\mathrm");
    std::string out;
    out.reserve(s.size());
    for (char ch : s)
        if (!is_space(ch)) out.push_back(lower(ch));
    while (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

bool answers_match(std::string_view a, std::string_view b) {
    const auto na = parse_number(a), nb = parse_number(b);
    if (na && nb) return *na == *nb;
    const std::string sa = normalize_answer(a), sb = normalize_answer(b);
    return !sa.empty() && sa == sb;
}

}  // namespace r1::rl
