// Synthetic arithmetic corpus: problem sampling, the held-out split, and the three trace
// styles (see synthetic.h for the format). Everything derives from an Rng seeded by
// mix(seed, stream, index), so example i never depends on examples before it.
#include "train/synthetic.h"

// GCC 12 reports a bogus -Wrestrict inside libstdc++ for `"lit" + std::string&&`
// (GCC bug 105329); this file builds many such strings.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "tokenizer/byte_tokenizer.h"

namespace r1 {
namespace {

uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

constexpr uint64_t kTrainStream = 0x7261696e;  // "rain"
constexpr uint64_t kEvalStream = 0x6576616c;   // "eval"

Rng stream_rng(uint64_t seed, uint64_t stream, uint64_t index) {
    return Rng(mix64(mix64(seed ^ stream) + index));
}

int64_t pow10(int d) {
    int64_t r = 1;
    while (d-- > 0) r *= 10;
    return r;
}

int64_t sample_number(Rng& rng, int lo_digits, int hi_digits) {
    const int d = lo_digits + (int)rng.below((uint64_t)(hi_digits - lo_digits + 1));
    const int64_t lo = d == 1 ? 0 : pow10(d - 1), hi = pow10(d);
    return lo + (int64_t)rng.below((uint64_t)(hi - lo));
}

// Index drawn proportionally to weights.
int pick(Rng& rng, std::initializer_list<double> w) {
    double total = 0;
    for (double x : w) total += x;
    double u = rng.uniform() * total;
    int i = 0;
    for (double x : w) {
        if (u < x) return i;
        u -= x;
        i++;
    }
    return (int)w.size() - 1;
}

Problem sample_problem(Rng& rng, const SyntheticOptions& o) {
    Problem p;
    p.op = (ArithOp)pick(rng, {o.w_add, o.w_sub, o.w_mul});
    if (p.op == ArithOp::mul) {
        p.a = sample_number(rng, 1, o.mul_digits_a);
        p.b = sample_number(rng, 1, o.mul_digits_b);
    } else {
        p.a = sample_number(rng, o.min_digits, o.max_digits);
        p.b = sample_number(rng, o.min_digits, o.max_digits);
        if (p.op == ArithOp::sub && p.a < p.b) std::swap(p.a, p.b);
    }
    return p;
}

// Digits least significant first.
std::vector<int> digits_lsf(int64_t x) {
    std::vector<int> d;
    do {
        d.push_back((int)(x % 10));
        x /= 10;
    } while (x > 0);
    return d;
}

std::string S(int64_t x) { return std::to_string(x); }

// ---- careful traces: each line a true statement -------------------------------------------

void careful_add(const Problem& p, std::vector<std::string>& L) {
    L.push_back(p.expr() + ": add the digits right to left.");
    const auto da = digits_lsf(p.a), db = digits_lsf(p.b);
    const size_t n = std::max(da.size(), db.size());
    int carry = 0;
    for (size_t i = 0; i < n; i++) {
        std::vector<int> terms;
        if (i < da.size()) terms.push_back(da[i]);
        if (i < db.size()) terms.push_back(db[i]);
        if (carry) terms.push_back(carry);
        int s = 0;
        std::string e;
        for (int t : terms) {
            s += t;
            if (!e.empty()) e += '+';
            e += S(t);
        }
        if (terms.size() == 1) {
            L.push_back("bring down " + S(s) + ".");
        } else {
            std::string line = e + "=" + S(s) + ", write " + S(s % 10);
            if (s >= 10) line += ", carry 1";
            L.push_back(line + ".");
        }
        carry = s / 10;
    }
    if (carry) L.push_back("carry 1 goes in front.");
    L.push_back("So " + p.expr() + "=" + p.gold() + ".");
}

void careful_sub(const Problem& p, std::vector<std::string>& L) {
    L.push_back(p.expr() + ": subtract the digits right to left.");
    const auto da = digits_lsf(p.a), db = digits_lsf(p.b);
    int borrow = 0;
    for (size_t i = 0; i < da.size(); i++) {
        const int x = da[i], y = i < db.size() ? db[i] : 0;
        std::string e = S(x);
        if (borrow) e += "-1";
        if (i < db.size()) {
            e += '-';
            e += S(y);
        }
        const int v = x - borrow - y;
        if (!borrow && i >= db.size()) {
            L.push_back("bring down " + S(x) + ".");
        } else if (v < 0) {
            L.push_back(e + " needs a borrow: 1" + e + "=" + S(v + 10) + ".");
        } else {
            L.push_back(e + "=" + S(v) + ".");
        }
        borrow = v < 0;
    }
    L.push_back("So " + p.expr() + "=" + p.gold() + ".");
}

// a * one digit, digit by digit; returns the product.
int64_t careful_mul_digit(int64_t a, int d, std::vector<std::string>& L) {
    const std::string head = S(a) + "*" + S(d) + ": ";
    if (d == 0 || a == 0) {
        L.push_back(S(a) + "*" + S(d) + "=0.");
        return 0;
    }
    const auto da = digits_lsf(a);
    std::string line = head;
    int carry = 0;
    for (size_t i = 0; i < da.size(); i++) {
        const int v = da[i] * d + carry;
        std::string e = S(da[i]) + "*" + S(d);
        if (carry) {
            e += '+';
            e += S(carry);
        }
        e += "=" + S(v);
        const bool last = i + 1 == da.size();
        e += ", write ";
        e += S(last ? v : v % 10);
        if (!last && v >= 10) {
            e += ", carry ";
            e += S(v / 10);
        }
        line += e + (last ? "." : "; ");
        carry = v / 10;
    }
    L.push_back(line);
    L.push_back("So " + S(a) + "*" + S(d) + "=" + S(a * d) + ".");
    return a * d;
}

void careful_mul(const Problem& p, std::vector<std::string>& L) {
    const auto db = digits_lsf(p.b);
    if (db.size() == 1) {
        careful_mul_digit(p.a, db[0], L);
        if (L.back() != "So " + p.expr() + "=" + p.gold() + ".")
            L.push_back("So " + p.expr() + "=" + p.gold() + ".");
        return;
    }
    L.push_back(p.expr() + ": multiply " + S(p.a) + " by each digit of " + S(p.b) + ".");
    std::vector<int64_t> parts;
    for (size_t i = 0; i < db.size(); i++) {
        const int64_t v = careful_mul_digit(p.a, db[i], L);
        const int64_t shifted = v * pow10((int)i);
        if (i > 0) L.push_back("shifted " + S(i) + " place" + (i > 1 ? "s" : "") + ": " + S(shifted) + ".");
        parts.push_back(shifted);
    }
    std::string e;
    int64_t s = 0;
    for (int64_t x : parts) {
        if (!e.empty()) e += '+';
        e += S(x);
        s += x;
    }
    L.push_back(e + "=" + S(s) + ".");
    L.push_back("So " + p.expr() + "=" + p.gold() + ".");
}

void careful(const Problem& p, std::vector<std::string>& L) {
    // A fixed opening line: the style is then one decision at the first token, which RL
    // can shift directly (careless traces open with a short phrase instead).
    L.push_back("Let me work it out.");
    switch (p.op) {
        case ArithOp::add: careful_add(p, L); break;
        case ArithOp::sub: careful_sub(p, L); break;
        case ArithOp::mul: careful_mul(p, L); break;
    }
}

// ---- mistakes -----------------------------------------------------------------------------

// Sum without carries (the classic slip).
int64_t add_no_carry(int64_t a, int64_t b) {
    int64_t r = 0, place = 1;
    while (a > 0 || b > 0) {
        r += ((a % 10 + b % 10) % 10) * place;
        a /= 10, b /= 10, place *= 10;
    }
    return r;
}

// A plausible wrong answer (never equal to the right one, never negative).
int64_t wrong_answer(const Problem& p, Rng& rng) {
    const int64_t r = p.result();
    for (int attempt = 0; attempt < 16; attempt++) {
        int64_t w = r;
        switch (rng.below(6)) {
            case 0: w = r + 1; break;
            case 1: w = r - 1; break;
            case 2: w = r + 10; break;
            case 3: w = r - 10; break;
            case 4:
                if (p.op == ArithOp::add) w = add_no_carry(p.a, p.b);
                else if (p.op == ArithOp::sub) w = p.a - p.b + 10;  // forgot a borrow
                else w = p.a * (p.b + 1);
                break;
            case 5: {  // swap two adjacent digits
                std::string s = S(r);
                if (s.size() >= 2) {
                    const size_t i = rng.below(s.size() - 1);
                    std::swap(s[i], s[i + 1]);
                    w = std::stoll(s);
                } else {
                    w = r + 2;
                }
                break;
            }
        }
        if (w != r && w >= 0) return w;
    }
    return r + 1;
}

const char* careless_phrase(Rng& rng, int n_phrases) {
    static const char* k[] = {"Quick: {e}={r}.", "Easy, {e} is {r}.", "I think {e}={r}.",
                              "{e}={r}, done.", "Off the top of my head, {e}={r}."};
    static_assert(sizeof(k) / sizeof(k[0]) == 5, "SyntheticOptions::careless_phrases range");
    return k[rng.below((uint64_t)n_phrases)];
}

std::string fill(std::string t, const std::string& e, const std::string& r) {
    for (size_t i; (i = t.find("{e}")) != std::string::npos;) t.replace(i, 3, e);
    for (size_t i; (i = t.find("{r}")) != std::string::npos;) t.replace(i, 3, r);
    return t;
}

// Inverse operation that checks r against the problem: "85-38=47".
std::string check_expr(const Problem& p, int64_t r) {
    switch (p.op) {
        case ArithOp::add: return S(r) + "-" + S(p.b) + "=" + S(r - p.b);
        case ArithOp::sub: return S(r) + "+" + S(p.b) + "=" + S(r + p.b);
        case ArithOp::mul: return S(p.b) + "*" + S(p.a) + "=" + S(p.b * p.a);
    }
    return {};
}

}  // namespace

void SyntheticOptions::validate() const {
    R1_CHECK(min_digits >= 1 && max_digits >= min_digits && max_digits <= 9,
             "[synthetic] digits must satisfy 1 <= min_digits <= max_digits <= 9");
    R1_CHECK(mul_digits_a >= 1 && mul_digits_a <= 6 && mul_digits_b >= 1 && mul_digits_b <= 3,
             "[synthetic] mul_digits_a must be in [1, 6] and mul_digits_b in [1, 3]");
    R1_CHECK(w_add >= 0 && w_sub >= 0 && w_mul >= 0 && w_add + w_sub + w_mul > 0,
             "[synthetic] operation weights must be >= 0 with a positive sum");
    R1_CHECK(p_careful >= 0 && p_careless >= 0 && p_check >= 0 &&
                 p_careful + p_careless + p_check > 0,
             "[synthetic] style weights p_careful/p_careless/p_check must be >= 0 with a positive sum");
    R1_CHECK(careless_wrong >= 0 && careless_wrong <= 1, "[synthetic] careless_wrong must be in [0, 1]");
    R1_CHECK(check_recover >= 0 && check_recover <= 1, "[synthetic] check_recover must be in [0, 1]");
    R1_CHECK(careless_phrases >= 1 && careless_phrases <= 5, "[synthetic] careless_phrases must be in [1, 5]");
}

int64_t Problem::result() const {
    switch (op) {
        case ArithOp::add: return a + b;
        case ArithOp::sub: return a - b;
        case ArithOp::mul: return a * b;
    }
    return 0;
}

std::string Problem::expr() const {
    const char c = op == ArithOp::add ? '+' : op == ArithOp::sub ? '-' : '*';
    return S(a) + c + S(b);
}
std::string Problem::question() const { return "What is " + expr() + "?"; }
std::string Problem::gold() const { return S(result()); }

const char* style_name(TraceStyle s) {
    switch (s) {
        case TraceStyle::careful: return "careful";
        case TraceStyle::careless: return "careless";
        case TraceStyle::check: return "check";
    }
    return "?";
}

std::string chat_prompt(std::string_view question) {
    std::string s = ByteTokenizer::special_text(ByteTokenizer::kBos);
    s += ByteTokenizer::special_text(ByteTokenizer::kUser);
    s += question;
    s += ByteTokenizer::special_text(ByteTokenizer::kAssistant);
    s += "<think>\n";
    return s;
}

std::optional<std::string> extract_answer(std::string_view c) {
    const size_t b = c.find("<answer>");
    if (b == std::string_view::npos) return std::nullopt;
    const size_t e = c.find("</answer>", b + 8);
    if (e == std::string_view::npos) return std::nullopt;
    return std::string(c.substr(b + 8, e - b - 8));
}

bool is_heldout(const Problem& p) {
    const uint64_t h = mix64(((uint64_t)p.op << 60) ^ ((uint64_t)p.a << 30) ^ (uint64_t)p.b);
    return h % 8 == 0;
}

Problem train_problem(uint64_t seed, uint64_t index, const SyntheticOptions& opt) {
    Rng rng = stream_rng(seed, kTrainStream, index);
    for (;;) {  // rejection: expected 8/7 draws; every range has non-held-out problems
        Problem p = sample_problem(rng, opt);
        if (!is_heldout(p)) return p;
    }
}

Problem heldout_problem(uint64_t seed, uint64_t index, const SyntheticOptions& opt) {
    Rng rng = stream_rng(seed, kEvalStream, index);
    for (int i = 0; i < 100000; i++) {
        Problem p = sample_problem(rng, opt);
        if (is_heldout(p)) return p;
    }
    fail("[synthetic] could not draw a held-out problem (problem space too small)");
}

SyntheticExample make_example(const Problem& p, TraceStyle style, Rng& rng,
                              const SyntheticOptions& opt) {
    std::vector<std::string> L;
    int64_t answer = p.result();
    switch (style) {
        case TraceStyle::careful: careful(p, L); break;
        case TraceStyle::careless:
            if (rng.uniform() < opt.careless_wrong) answer = wrong_answer(p, rng);
            L.push_back(fill(careless_phrase(rng, opt.careless_phrases), p.expr(), S(answer)));
            break;
        case TraceStyle::check:
            if (rng.uniform() < opt.check_recover) {
                const int64_t w = wrong_answer(p, rng);
                L.push_back(fill(careless_phrase(rng, opt.careless_phrases), p.expr(), S(w)));
                const std::string ce = check_expr(p, w);
                // add/sub: the inverse does not give back a; mul: the product is not w
                const std::string expected = p.op == ArithOp::mul ? S(w) : S(p.a);
                L.push_back("Wait, let me recheck: " + ce + ", not " + expected + " \xE2\x9C\x97.");
                L.push_back("Let me do it carefully.");
            }
            careful(p, L);
            L.push_back("check: " + check_expr(p, p.result()) + " \xE2\x9C\x93");
            break;
    }
    SyntheticExample ex;
    ex.problem = p;
    ex.style = style;
    ex.prompt = chat_prompt(p.question());
    ex.answer = S(answer);
    ex.correct = answer == p.result();
    std::string& c = ex.completion;
    for (auto& l : L) c += l + "\n";
    c += "</think>\n<answer>" + ex.answer + "</answer>";
    c += ByteTokenizer::special_text(ByteTokenizer::kEos);
    return ex;
}

namespace {
SyntheticExample example_for(const Problem& p, uint64_t seed, uint64_t stream, uint64_t index,
                             const SyntheticOptions& opt) {
    Rng rng = stream_rng(seed, stream + 1, index);
    const TraceStyle style = (TraceStyle)pick(rng, {opt.p_careful, opt.p_careless, opt.p_check});
    return make_example(p, style, rng, opt);
}
}  // namespace

SyntheticExample train_example(uint64_t seed, uint64_t index, const SyntheticOptions& opt) {
    return example_for(train_problem(seed, index, opt), seed, kTrainStream, index, opt);
}

SyntheticExample heldout_example(uint64_t seed, uint64_t index, const SyntheticOptions& opt) {
    return example_for(heldout_problem(seed, index, opt), seed, kEvalStream, index, opt);
}

}  // namespace r1
