// Pre-tokenization for byte-level BPE (see pretokenizer.h): PCRE2 wrapper, the Oniguruma ->
// PCRE2 pattern rewrite, Split behaviours as in HF tokenizers' SplitDelimiterBehavior, and
// parsing of the pre_tokenizer section of tokenizer.json.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace r1 {

namespace {
pcre2_code* as_code(void* p) { return static_cast<pcre2_code*>(p); }

// JIT matching needs more stack than the default 32 KiB on long runs of whitespace or
// letters; one growable stack per thread serves every pattern.
struct JitContext {
    pcre2_match_context* mctx = nullptr;
    pcre2_jit_stack* stack = nullptr;
    JitContext() {
        mctx = pcre2_match_context_create(nullptr);
        stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
        if (mctx && stack) pcre2_jit_stack_assign(mctx, nullptr, stack);
    }
    ~JitContext() {
        if (stack) pcre2_jit_stack_free(stack);
        if (mctx) pcre2_match_context_free(mctx);
    }
};
pcre2_match_context* thread_match_context() {
    thread_local JitContext ctx;
    return ctx.mctx;
}

struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
    ~MatchData() { pcre2_match_data_free(md); }
};

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char other_case(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : (char)(c + 32); }
bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

const char* kWordClassBody = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}";
}  // namespace

std::string onig_to_pcre2(const std::string& p) {
    std::string out;
    std::vector<bool> fold_stack;
    bool fold = false;
    bool in_class = false;
    size_t class_start = 0;  // index of the first char after '[' (and '^')
    size_t n = p.size();
    auto fail_unsupported = [&](const char* what, size_t at) {
        fail("unsupported regex construct (", what, ") at offset ", at, " of pattern '", p, "'");
    };
    for (size_t i = 0; i < n;) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 >= n) fail_unsupported("trailing backslash", i);
            char e = p[i + 1];
            if ((e == 'p' || e == 'P') && i + 2 < n && p[i + 2] == '{') {
                size_t close = p.find('}', i);
                if (close == std::string::npos) fail_unsupported("unterminated \\p{", i);
                out.append(p, i, close + 1 - i);
                i = close + 1;
                continue;
            }
            std::string hex;
            size_t len = 0;
            if (e == 'u' && i + 5 < n + 0 && i + 6 <= n && is_hex(p[i + 2]) && is_hex(p[i + 3]) &&
                is_hex(p[i + 4]) && is_hex(p[i + 5])) {
                hex = p.substr(i + 2, 4), len = 6;
            } else if (e == 'x' && i + 2 < n && p[i + 2] == '{') {
                size_t close = p.find('}', i);
                if (close == std::string::npos) fail_unsupported("unterminated \\x{", i);
                hex = p.substr(i + 3, close - i - 3), len = close + 1 - i;
            } else if (e == 'x' && i + 4 <= n && is_hex(p[i + 2]) && is_hex(p[i + 3])) {
                hex = p.substr(i + 2, 2), len = 4;
            }
            if (len) {
                unsigned long cp = std::stoul(hex, nullptr, 16);
                char ch = (char)cp;
                if (fold && cp < 128 && is_ascii_letter(ch)) {
                    if (in_class) out += ch, out += other_case(ch);
                    else out += '[', out += ch, out += other_case(ch), out += ']';
                } else {
                    out += "\\x{" + hex + "}";
                }
                i += len;
                continue;
            }
            switch (e) {
                case 's': out += "\\p{White_Space}"; break;
                case 'S': out += "\\P{White_Space}"; break;
                case 'h': out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]"; break;
                case 'w':
                    out += in_class ? std::string(kWordClassBody)
                                    : "[" + std::string(kWordClassBody) + "]";
                    break;
                case 'H':
                case 'W':
                    if (in_class) fail_unsupported("\\H or \\W inside a class", i);
                    out += e == 'H' ? "[^0-9A-Fa-f]" : "[^" + std::string(kWordClassBody) + "]";
                    break;
                default: out += c, out += e;
            }
            i += 2;
            continue;
        }
        if (in_class) {
            if (c == ']' && i != class_start) {
                in_class = false;
                out += c;
                i++;
                continue;
            }
            if (c == '[') {
                if (p.compare(i, 2, "[:") == 0) {
                    size_t close = p.find(":]", i + 2);
                    if (close == std::string::npos) fail_unsupported("unterminated [:", i);
                    out.append(p, i, close + 2 - i);
                    i = close + 2;
                    continue;
                }
                fail_unsupported("nested character class", i);
            }
            if (c == '&' && i + 1 < n && p[i + 1] == '&') fail_unsupported("class intersection", i);
            if (fold && is_ascii_letter(c)) {
                if (i + 2 < n && p[i + 1] == '-' && is_ascii_letter(p[i + 2])) {
                    out.append(p, i, 3);
                    out += other_case(c), out += '-', out += other_case(p[i + 2]);
                    i += 3;
                } else {
                    out += c, out += other_case(c);
                    i++;
                }
                continue;
            }
            out += c;
            i++;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            i++;
            if (i < n && p[i] == '^') out += p[i++];
            class_start = i;
            continue;
        }
        if (c == '(') {
            fold_stack.push_back(fold);
            if (p.compare(i, 4, "(?i:") == 0) {
                fold = true;
                out += "(?:";
                i += 4;
                continue;
            }
            if (p.compare(i, 4, "(?i)") == 0) fail_unsupported("(?i) flag", i);
            out += c;
            i++;
            continue;
        }
        if (c == ')') {
            if (!fold_stack.empty()) fold = fold_stack.back(), fold_stack.pop_back();
            out += c;
            i++;
            continue;
        }
        if (fold && is_ascii_letter(c)) {
            out += '[', out += c, out += other_case(c), out += ']';
            i++;
            continue;
        }
        out += c;
        i++;
    }
    return out;
}

Regex::Regex(const std::string& pattern, bool literal, const std::string& source) {
    std::string pcre = literal ? pattern : onig_to_pcre2(pattern);
    int err = 0;
    PCRE2_SIZE off = 0;
    uint32_t opts = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;  // UCP is not allowed with LITERAL
    pcre2_code* code =
        pcre2_compile((PCRE2_SPTR)pcre.data(), pcre.size(), opts, &err, &off, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        fail(source, ": cannot compile regex '", pattern, "': ", (const char*)msg, " at offset ",
             off);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // failure is fine: the interpreter runs it
    code_ = code;
}

Regex::~Regex() { pcre2_code_free(as_code(code_)); }

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
    pcre2_code* code = as_code(code_);
    MatchData m(code);
    pcre2_match_context* mctx = thread_match_context();
    size_t pos = 0;
    while (pos <= s.size()) {
        int rc = pcre2_match(code, (PCRE2_SPTR)s.data(), s.size(), pos, PCRE2_NO_UTF_CHECK, m.md,
                             mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            fail("[tokenizer] regex match failed: ", (const char*)msg);
        }
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
        size_t b = ov[0], e = ov[1];
        out.emplace_back(b, e);
        if (e > b) {
            pos = e;
        } else {  // empty match: step over one character
            if (b >= s.size()) break;
            pos = b + 1;
            while (pos < s.size() && ((unsigned char)s[pos] & 0xC0) == 0x80) pos++;
        }
    }
}

bool Regex::full_match(std::string_view s) const {
    pcre2_code* code = as_code(code_);
    MatchData m(code);
    int rc = pcre2_match(code, (PCRE2_SPTR)s.data(), s.size(), 0,
                         PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, m.md,
                         thread_match_context());
    return rc >= 0;
}

void apply_split(const SplitStep& step, std::vector<std::string_view>& pieces) {
    std::vector<std::string_view> out;
    out.reserve(pieces.size() * 2);
    std::vector<std::pair<size_t, size_t>> matches;
    struct Seg {
        size_t b, e;
        bool is_match;
    };
    std::vector<Seg> segs, acc;
    for (std::string_view piece : pieces) {
        matches.clear();
        step.regex->find_all(piece, matches);
        // Segments covering the piece; with invert the matches play the delimiters' role
        // the other way round (as HF's Split does).
        segs.clear();
        size_t prev = 0;
        for (auto [b, e] : matches) {
            if (b > prev) segs.push_back({prev, b, step.invert});
            segs.push_back({b, e, !step.invert});
            prev = e;
        }
        if (prev < piece.size()) segs.push_back({prev, piece.size(), step.invert});
        acc.clear();
        switch (step.behavior) {
            case SplitBehavior::isolated: acc = segs; break;
            case SplitBehavior::removed:
                for (auto& s : segs)
                    if (!s.is_match) acc.push_back(s);
                break;
            case SplitBehavior::merged_with_previous: {
                bool prev_match = false;
                for (auto& s : segs) {
                    if (s.is_match && !prev_match && !acc.empty()) acc.back().e = s.e;
                    else acc.push_back(s);
                    prev_match = s.is_match;
                }
                break;
            }
            case SplitBehavior::merged_with_next: {
                bool prev_match = false;
                for (size_t k = segs.size(); k-- > 0;) {
                    const Seg& s = segs[k];
                    if (s.is_match && !prev_match && !acc.empty()) acc.back().b = s.b;
                    else acc.push_back(s);
                    prev_match = s.is_match;
                }
                std::reverse(acc.begin(), acc.end());
                break;
            }
            case SplitBehavior::contiguous: {
                bool prev_match = false;
                for (auto& s : segs) {
                    if (s.is_match && prev_match && !acc.empty()) acc.back().e = s.e;
                    else acc.push_back(s);
                    prev_match = s.is_match;
                }
                break;
            }
        }
        for (auto& s : acc)
            if (s.e > s.b) out.push_back(piece.substr(s.b, s.e - s.b));
    }
    pieces.swap(out);
}

namespace {
const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

SplitBehavior parse_behavior(const nlohmann::json& j, const std::string& where) {
    if (!j.is_string()) fail(where, ": expected a string");
    std::string b = j.get<std::string>();
    if (b == "Isolated") return SplitBehavior::isolated;
    if (b == "Removed") return SplitBehavior::removed;
    if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
    if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
    if (b == "Contiguous") return SplitBehavior::contiguous;
    fail(where, ": unknown behavior '", b, "'");
}

bool get_bool(const nlohmann::json& j, const char* key, bool dflt, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) fail(where, ".", key, ": expected true or false");
    return it->get<bool>();
}

void parse_step(const nlohmann::json& j, const std::string& where, PreTokenizer& pt) {
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        fail(where, ": expected an object with a string \"type\"");
    std::string type = j["type"].get<std::string>();
    if (pt.byte_level.present)
        fail(where, ": ", type, " after ByteLevel is not supported (ByteLevel must be last)");
    if (type == "Sequence") {
        auto it = j.find("pretokenizers");
        if (it == j.end() || !it->is_array()) fail(where, ".pretokenizers: expected an array");
        for (size_t k = 0; k < it->size(); k++)
            parse_step((*it)[k], where + ".pretokenizers[" + std::to_string(k) + "]", pt);
    } else if (type == "Split") {
        auto pat = j.find("pattern");
        if (pat == j.end() || !pat->is_object())
            fail(where, ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
        SplitStep s;
        if (pat->contains("Regex") && (*pat)["Regex"].is_string())
            s.regex = std::make_shared<Regex>((*pat)["Regex"].get<std::string>(), false,
                                              where + ".pattern.Regex");
        else if (pat->contains("String") && (*pat)["String"].is_string())
            s.regex = std::make_shared<Regex>((*pat)["String"].get<std::string>(), true,
                                              where + ".pattern.String");
        else
            fail(where, ".pattern: expected {\"Regex\": string} or {\"String\": string}");
        if (!j.contains("behavior")) fail(where, ".behavior: missing");
        s.behavior = parse_behavior(j["behavior"], where + ".behavior");
        s.invert = get_bool(j, "invert", false, where);
        pt.splits.push_back(std::move(s));
    } else if (type == "Digits") {
        SplitStep s;
        s.regex = std::make_shared<Regex>("\\p{N}", false, where);
        s.behavior = get_bool(j, "individual_digits", false, where) ? SplitBehavior::isolated
                                                                      : SplitBehavior::contiguous;
        pt.splits.push_back(std::move(s));
    } else if (type == "ByteLevel") {
        pt.byte_level.present = true;
        pt.byte_level.add_prefix_space = get_bool(j, "add_prefix_space", true, where);
        if (get_bool(j, "use_regex", true, where))
            pt.byte_level.regex = std::make_shared<Regex>(kGpt2Pattern, false, where);
    } else {
        fail(where, ": unsupported pre-tokenizer type '", type, "'");
    }
}
}  // namespace

PreTokenizer parse_pre_tokenizer(const nlohmann::json& j, const std::string& file) {
    PreTokenizer pt;
    if (j.is_null()) return pt;
    parse_step(j, "[tokenizer] " + file + ": pre_tokenizer", pt);
    return pt;
}

}  // namespace r1
