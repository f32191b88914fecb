// Lexer and parser of the Jinja subset (see jinja.h). Both follow @huggingface/jinja's
// lexer.ts / parser.ts closely — including their precedence (filters bind tighter than unary
// minus's operand chain, `is` tests tighter than `*`, `~` at the level of `+`) — because the
// goal is byte-identical output with that library on real chat templates.
#include <cctype>
#include <cstring>

#include "chat/jinja_ast.h"
#include "core/error.h"

namespace r1::jinja {
namespace {

bool is_word(char c) { return std::isalnum((unsigned char)c) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length in bytes of the JavaScript whitespace character at s[i] (\s in a JS regex), or 0.
size_t space_len(const std::string& s, size_t i) {
    if (i >= s.size()) return 0;
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) return (c == ' ' || (c >= 0x09 && c <= 0x0d)) ? 1 : 0;
    size_t n = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : (c >= 0xc0) ? 2 : 1;
    if (i + n > s.size()) return 0;
    std::vector<uint32_t> cp = code_points(s.substr(i, n));
    return (cp.size() == 1 && is_js_space(cp[0])) ? n : 0;
}

// trim_blocks / lstrip_blocks / trailing newline / {% generation %} handling of lexer.ts.
std::string preprocess(std::string t) {
    if (!t.empty() && t.back() == '\n') t.pop_back();
    // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1" (line starts after \n, \r, U+2028, U+2029)
    {
        std::string out;
        out.reserve(t.size());
        size_t i = 0;
        bool line_start = true;
        while (i < t.size()) {
            if (line_start) {
                size_t j = i;
                while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) j++;
                if (j + 1 < t.size() && t[j] == '{' && (t[j + 1] == '#' || t[j + 1] == '%' || t[j + 1] == '-'))
                    i = j;
                line_start = false;
                continue;
            }
            char c = t[i];
            out += c;
            i++;
            if (c == '\n' || c == '\r') line_start = true;
            else if ((unsigned char)c == 0xe2 && i + 1 < t.size() && (unsigned char)t[i] == 0x80 &&
                     ((unsigned char)t[i + 1] == 0xa8 || (unsigned char)t[i + 1] == 0xa9)) {
                out += t[i];
                out += t[i + 1];
                i += 2;
                line_start = true;
            }
        }
        t = std::move(out);
    }
    // trim_blocks: /([#%-]})\n/g -> "$1"
    {
        std::string out;
        out.reserve(t.size());
        for (size_t i = 0; i < t.size(); i++) {
            if ((t[i] == '#' || t[i] == '%' || t[i] == '-') && i + 2 < t.size() && t[i + 1] == '}' &&
                t[i + 2] == '\n') {
                out += t[i];
                out += '}';
                i += 2;
                continue;
            }
            out += t[i];
        }
        t = std::move(out);
    }
    // transformers' {% generation %} / {% endgeneration %} markers are dropped (with the
    // whitespace around them unless the tag has '-' on that side).
    for (size_t from = 0;;) {
        size_t p = t.find("{%", from);
        if (p == std::string::npos) break;
        size_t q = p + 2;
        bool lstrip = q < t.size() && t[q] == '-';
        if (lstrip) q++;
        while (size_t n = space_len(t, q)) q += n;
        if (t.compare(q, 3, "end") == 0 && t.compare(q + 3, 10, "generation") == 0) q += 3;
        if (t.compare(q, 10, "generation") != 0) { from = p + 2; continue; }
        q += 10;
        while (size_t n = space_len(t, q)) q += n;
        bool rstrip = q < t.size() && t[q] == '-';
        if (rstrip) q++;
        if (t.compare(q, 2, "%}") != 0) { from = p + 2; continue; }
        q += 2;
        size_t b = p;
        while (b > 0) {  // whitespace before (ASCII and multi-byte)
            size_t k = b - 1;
            while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80) k--;
            if (space_len(t, k) != b - k) break;
            b = k;
        }
        size_t e = q;
        while (size_t n = space_len(t, e)) e += n;
        std::string repl = (lstrip ? "" : t.substr(b, p - b)) + (rstrip ? "" : t.substr(q, e - q));
        t = t.substr(0, b) + repl + t.substr(e);
        from = b + repl.size();
    }
    return t;
}

const std::pair<const char*, Tok> kTable[] = {
    {"{%", Tok::open_stmt}, {"%}", Tok::close_stmt}, {"{{", Tok::open_expr}, {"}}", Tok::close_expr},
    {"(", Tok::lparen}, {")", Tok::rparen}, {"{", Tok::lbrace}, {"}", Tok::rbrace},
    {"[", Tok::lbracket}, {"]", Tok::rbracket}, {",", Tok::comma}, {".", Tok::dot},
    {":", Tok::colon}, {"|", Tok::pipe}, {"<=", Tok::comparison}, {">=", Tok::comparison},
    {"==", Tok::comparison}, {"!=", Tok::comparison}, {"<", Tok::comparison}, {">", Tok::comparison},
    {"+", Tok::additive}, {"-", Tok::additive}, {"~", Tok::additive}, {"**", Tok::power},
    {"*", Tok::multiplicative}, {"//", Tok::multiplicative}, {"/", Tok::multiplicative},
    {"%", Tok::multiplicative}, {"=", Tok::equals},
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
    const std::string src = preprocess(source);
    std::vector<Token> toks;
    size_t pos = 0;
    int curly = 0;
    auto at = [&](size_t k) -> char { return k < src.size() ? src[k] : '\0'; };
    auto starts = [&](const char* s) { return src.compare(pos, std::strlen(s), s) == 0; };
    auto strip_trailing = [&] {
        if (!toks.empty() && toks.back().type == Tok::text) {
            toks.back().value = js_trim(toks.back().value, false, true);
            if (toks.back().value.empty()) toks.pop_back();
        }
    };
    auto skip_spaces = [&] {
        while (size_t n = space_len(src, pos)) pos += n;
    };
    auto read_digits = [&] {
        std::string d;
        while (pos < src.size() && is_digit(src[pos])) d += src[pos++];
        return d;
    };

    while (pos < src.size()) {
        Tok last = toks.empty() ? Tok::close_stmt : toks.back().type;
        if (toks.empty() || last == Tok::close_stmt || last == Tok::close_expr || last == Tok::comment) {
            std::string text;
            while (pos < src.size() && !(src[pos] == '{' && (at(pos + 1) == '%' || at(pos + 1) == '{' || at(pos + 1) == '#')))
                text += src[pos++];
            if (!text.empty()) {
                toks.push_back({std::move(text), Tok::text});
                continue;
            }
        }
        if (starts("{#")) {
            pos += 2;
            bool strip_before = at(pos) == '-';
            if (strip_before) pos++;
            std::string comment;
            while (!(at(pos) == '#' && at(pos + 1) == '}')) {
                R1_CHECK(pos + 2 < src.size(), "[jinja] missing end of comment tag");
                comment += src[pos++];
            }
            bool strip_after = !comment.empty() && comment.back() == '-';
            if (strip_after) comment.pop_back();
            if (strip_before) strip_trailing();
            toks.push_back({comment, Tok::comment});
            pos += 2;
            if (strip_after) skip_spaces();
            continue;
        }
        if (starts("{%-")) { strip_trailing(); toks.push_back({"{%", Tok::open_stmt}); pos += 3; continue; }
        if (starts("{{-")) { strip_trailing(); toks.push_back({"{{", Tok::open_expr}); curly = 0; pos += 3; continue; }
        skip_spaces();
        if (pos >= src.size()) break;
        if (starts("-%}")) { toks.push_back({"%}", Tok::close_stmt}); pos += 3; skip_spaces(); continue; }
        if (starts("-}}")) { toks.push_back({"}}", Tok::close_expr}); pos += 3; skip_spaces(); continue; }

        char ch = src[pos];
        if (ch == '-' || ch == '+') {
            R1_CHECK(!toks.empty() && toks.back().type != Tok::text, "[jinja] unexpected character '", ch, "'");
            Tok lt = toks.back().type;
            if (!(lt == Tok::ident || lt == Tok::number || lt == Tok::string || lt == Tok::rparen || lt == Tok::rbracket)) {
                pos++;
                std::string num = read_digits();
                if (!num.empty() && at(pos) == '.' && is_digit(at(pos + 1))) {
                    pos++;
                    num += "." + read_digits();
                }
                toks.push_back({std::string(1, ch) + num, num.empty() ? Tok::unary : Tok::number});
                continue;
            }
        }
        bool matched = false;
        for (const auto& [seq, type] : kTable) {
            if (type == Tok::close_expr && curly > 0) continue;
            if (!starts(seq)) continue;
            toks.push_back({seq, type});
            if (type == Tok::open_expr) curly = 0;
            else if (type == Tok::lbrace) curly++;
            else if (type == Tok::rbrace) curly--;
            pos += std::strlen(seq);
            matched = true;
            break;
        }
        if (matched) continue;
        if (ch == '\'' || ch == '"') {
            pos++;
            std::string str;
            while (true) {
                R1_CHECK(pos < src.size(), "[jinja] unexpected end of input in a string literal");
                char c = src[pos];
                if (c == ch) break;
                if (c == '\\') {
                    pos++;
                    R1_CHECK(pos < src.size(), "[jinja] unexpected end of input in a string literal");
                    char e = src[pos++];
                    if (e == 'x' || e == 'u') {
                        size_t len = e == 'x' ? 2 : 4;
                        std::string hex = src.substr(pos, len);
                        R1_CHECK(hex.size() == len && hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos,
                                 "[jinja] invalid hexadecimal escape sequence \\", e, hex);
                        append_utf8(str, (uint32_t)std::stoul(hex, nullptr, 16));
                        pos += len;
                        continue;
                    }
                    switch (e) {
                        case 'n': str += '\n'; break;
                        case 't': str += '\t'; break;
                        case 'r': str += '\r'; break;
                        case 'b': str += '\b'; break;
                        case 'f': str += '\f'; break;
                        case 'v': str += '\v'; break;
                        case '\'': str += '\''; break;
                        case '"': str += '"'; break;
                        case '\\': str += '\\'; break;
                        default: fail("[jinja] unexpected escaped character '\\", e, "' in a string literal");
                    }
                    continue;
                }
                str += c;
                pos++;
                R1_CHECK(pos < src.size(), "[jinja] unexpected end of input in a string literal");
            }
            pos++;
            toks.push_back({std::move(str), Tok::string});
            continue;
        }
        if (is_digit(ch)) {
            std::string num = read_digits();
            if ((toks.empty() || toks.back().type != Tok::dot) && at(pos) == '.' && is_digit(at(pos + 1))) {
                pos++;
                num += "." + read_digits();
            }
            toks.push_back({std::move(num), Tok::number});
            continue;
        }
        if (is_word(ch)) {
            std::string w;
            while (pos < src.size() && is_word(src[pos])) w += src[pos++];
            toks.push_back({std::move(w), Tok::ident});
            continue;
        }
        fail("[jinja] unexpected character '", ch, "' at byte ", pos, " of the template");
    }
    return toks;
}

// ---- parser -------------------------------------------------------------------------------
namespace {

class Parser {
public:
    explicit Parser(const std::vector<Token>& t) : t_(t) {}

    Program run() {
        Program p;
        while (cur_ < t_.size()) p.body.push_back(any());
        return p;
    }

private:
    const std::vector<Token>& t_;
    size_t cur_ = 0;

    static NodePtr mk(NodeKind k) { return std::make_unique<Node>(k); }
    const Token& peek(size_t k = 0) const {
        R1_CHECK(cur_ + k < t_.size(), "[jinja] unexpected end of template");
        return t_[cur_ + k];
    }
    bool is(Tok type, size_t k = 0) const { return cur_ + k < t_.size() && t_[cur_ + k].type == type; }
    bool is_ident(const char* name, size_t k = 0) const {
        return is(Tok::ident, k) && t_[cur_ + k].value == name;
    }
    bool is_stmt(std::initializer_list<const char*> names) const {
        if (!is(Tok::open_stmt) || !is(Tok::ident, 1)) return false;
        for (const char* n : names)
            if (t_[cur_ + 1].value == n) return true;
        return false;
    }
    const Token& expect(Tok type, const char* what) {
        R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template: expected ", what);
        R1_CHECK(t_[cur_].type == type, "[jinja] expected ", what, ", got '", t_[cur_].value, "'");
        return t_[cur_++];
    }
    void expect_ident(const char* name) {
        R1_CHECK(is_ident(name), "[jinja] expected '", name, "'", cur_ < t_.size() ? ", got '" + t_[cur_].value + "'" : std::string(" at end of template"));
        cur_++;
    }
    void block_until(NodeList& out, std::initializer_list<const char*> ends) {
        while (!is_stmt(ends)) {
            R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template: missing {% ", *ends.begin(), " %}");
            out.push_back(any());
        }
    }

    NodePtr any() {
        const Token& tk = peek();
        switch (tk.type) {
            case Tok::comment: cur_++; return mk(NodeKind::comment);
            case Tok::text: { auto n = mk(NodeKind::str_lit); n->str = tk.value; cur_++; return n; }
            case Tok::open_stmt: return statement();
            case Tok::open_expr: {
                cur_++;
                NodePtr e = expression();
                expect(Tok::close_expr, "'}}'");
                return e;
            }
            default: fail("[jinja] unexpected token '", tk.value, "'");
        }
    }

    NodePtr statement() {
        expect(Tok::open_stmt, "'{%'");
        R1_CHECK(is(Tok::ident), "[jinja] expected a statement name after '{%'");
        std::string name = peek().value;
        cur_++;
        NodePtr r;
        if (name == "set") {
            r = mk(NodeKind::set);
            r->a = expression_sequence(false);
            if (is(Tok::equals)) {
                cur_++;
                r->b = expression_sequence(false);
            } else {
                expect(Tok::close_stmt, "'%}'");
                block_until(r->body, {"endset"});
                expect(Tok::open_stmt, "'{%'");
                expect_ident("endset");
            }
            expect(Tok::close_stmt, "'%}'");
        } else if (name == "if") {
            r = if_statement();
            expect(Tok::open_stmt, "'{%'");
            expect_ident("endif");
            expect(Tok::close_stmt, "'%}'");
        } else if (name == "for") {
            r = mk(NodeKind::for_);
            r->a = expression_sequence(true);
            R1_CHECK(r->a->kind == NodeKind::ident || r->a->kind == NodeKind::tuple_lit,
                     "[jinja] expected a name or tuple as the loop variable");
            expect_ident("in");
            r->b = expression();
            expect(Tok::close_stmt, "'%}'");
            block_until(r->body, {"endfor", "else"});
            if (is_stmt({"else"})) {
                cur_ += 2;
                expect(Tok::close_stmt, "'%}'");
                block_until(r->alt, {"endfor"});
            }
            expect(Tok::open_stmt, "'{%'");
            expect_ident("endfor");
            expect(Tok::close_stmt, "'%}'");
        } else if (name == "macro") {
            r = mk(NodeKind::macro);
            r->a = primary();
            R1_CHECK(r->a->kind == NodeKind::ident, "[jinja] expected a macro name");
            r->items = args();
            for (auto& p : r->items)
                R1_CHECK(p->kind == NodeKind::ident || p->kind == NodeKind::kwarg, "[jinja] bad macro parameter");
            expect(Tok::close_stmt, "'%}'");
            block_until(r->body, {"endmacro"});
            expect(Tok::open_stmt, "'{%'");
            expect_ident("endmacro");
            expect(Tok::close_stmt, "'%}'");
        } else if (name == "break" || name == "continue") {
            r = mk(name == "break" ? NodeKind::break_ : NodeKind::continue_);
            expect(Tok::close_stmt, "'%}'");
        } else if (name == "filter") {
            r = mk(NodeKind::filter_block);
            NodePtr f = primary();
            if (f->kind == NodeKind::ident && is(Tok::lparen)) f = call(std::move(f));
            r->a = std::move(f);
            expect(Tok::close_stmt, "'%}'");
            block_until(r->body, {"endfilter"});
            expect(Tok::open_stmt, "'{%'");
            expect_ident("endfilter");
            expect(Tok::close_stmt, "'%}'");
        } else {
            fail("[jinja] unsupported statement '{% ", name, " %}'");
        }
        return r;
    }

    NodePtr if_statement() {
        auto r = mk(NodeKind::if_);
        r->a = expression();
        expect(Tok::close_stmt, "'%}'");
        block_until(r->body, {"elif", "else", "endif"});
        if (is_stmt({"elif"})) {
            cur_ += 2;
            r->alt.push_back(if_statement());
        } else if (is_stmt({"else"})) {
            cur_ += 2;
            expect(Tok::close_stmt, "'%}'");
            block_until(r->alt, {"endif"});
        }
        return r;
    }

    NodePtr expression_sequence(bool primary_only) {
        NodeList xs;
        xs.push_back(primary_only ? primary() : expression());
        bool tuple = is(Tok::comma);
        while (tuple) {
            cur_++;
            xs.push_back(primary_only ? primary() : expression());
            if (!is(Tok::comma)) break;
        }
        if (!tuple) return std::move(xs[0]);
        auto t = mk(NodeKind::tuple_lit);
        t->items = std::move(xs);
        return t;
    }

    NodePtr expression() { return if_expression(); }

    NodePtr if_expression() {
        NodePtr a = logical_or();
        if (is_ident("if")) {
            cur_++;
            NodePtr test = logical_or();
            if (is_ident("else")) {
                cur_++;
                auto t = mk(NodeKind::ternary);
                t->a = std::move(test);
                t->b = std::move(a);
                t->c = if_expression();
                return t;
            }
            auto s = mk(NodeKind::select);
            s->a = std::move(a);
            s->b = std::move(test);
            return s;
        }
        return a;
    }

    NodePtr binary(std::string op, NodePtr l, NodePtr r) {
        auto n = mk(NodeKind::binary);
        n->str = std::move(op);
        n->a = std::move(l);
        n->b = std::move(r);
        return n;
    }

    NodePtr logical_or() {
        NodePtr l = logical_and();
        while (is_ident("or")) { cur_++; l = binary("or", std::move(l), logical_and()); }
        return l;
    }
    NodePtr logical_and() {
        NodePtr l = logical_not();
        while (is_ident("and")) { cur_++; l = binary("and", std::move(l), logical_not()); }
        return l;
    }
    NodePtr logical_not() {
        if (is_ident("not")) {
            cur_++;
            auto n = mk(NodeKind::unary);
            n->str = "not";
            n->a = logical_not();
            return n;
        }
        return comparison();
    }
    NodePtr comparison() {
        NodePtr l = additive();
        while (true) {
            std::string op;
            if (is_ident("not") && is_ident("in", 1)) { op = "not in"; cur_ += 2; }
            else if (is_ident("in")) { op = "in"; cur_++; }
            else if (is(Tok::comparison)) { op = peek().value; cur_++; }
            else break;
            l = binary(op, std::move(l), additive());
        }
        return l;
    }
    NodePtr additive() {
        NodePtr l = multiplicative();
        while (is(Tok::additive)) { std::string op = peek().value; cur_++; l = binary(op, std::move(l), multiplicative()); }
        return l;
    }
    NodePtr multiplicative() {
        NodePtr l = power();
        while (is(Tok::multiplicative)) { std::string op = peek().value; cur_++; l = binary(op, std::move(l), power()); }
        return l;
    }
    NodePtr power() {
        NodePtr l = test_expr();
        while (is(Tok::power)) { cur_++; l = binary("**", std::move(l), test_expr()); }
        return l;
    }
    NodePtr test_expr() {
        NodePtr operand = filter_expr();
        while (is_ident("is")) {
            cur_++;
            bool negate = is_ident("not");
            if (negate) cur_++;
            NodePtr name = primary();
            R1_CHECK(name->kind == NodeKind::ident, "[jinja] expected a test name after 'is'");
            auto t = mk(NodeKind::test);
            t->str = name->str;
            t->flag = negate;
            t->a = std::move(operand);
            operand = std::move(t);
        }
        return operand;
    }
    NodePtr filter_expr() {
        NodePtr operand = unary_sign();
        while (is(Tok::pipe)) {
            cur_++;
            NodePtr f = primary();
            R1_CHECK(f->kind == NodeKind::ident, "[jinja] expected a filter name after '|'");
            if (is(Tok::lparen)) f = call(std::move(f));
            auto n = mk(NodeKind::filter);
            n->a = std::move(operand);
            n->b = std::move(f);
            operand = std::move(n);
        }
        return operand;
    }
    NodePtr unary_sign() {
        if ((is(Tok::unary) || is(Tok::additive)) && (peek().value == "-" || peek().value == "+")) {
            auto n = mk(NodeKind::unary);
            n->str = peek().value;
            cur_++;
            n->a = unary_sign();
            return n;
        }
        NodePtr m = member(primary());
        if (is(Tok::lparen)) return call(std::move(m));
        return m;
    }
    NodePtr call(NodePtr callee) {
        auto c = mk(NodeKind::call);
        c->a = std::move(callee);
        c->items = args();
        NodePtr e = member(std::move(c));
        if (is(Tok::lparen)) e = call(std::move(e));
        return e;
    }
    NodeList args() {
        expect(Tok::lparen, "'('");
        NodeList out;
        bool saw_kw = false;
        while (!is(Tok::rparen)) {
            R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template in an argument list");
            R1_CHECK(!is(Tok::power) && !(is(Tok::multiplicative) && peek().value == "*"),
                     "[jinja] argument unpacking (* / **) is not supported");
            NodePtr a = expression();
            if (is(Tok::equals)) {
                cur_++;
                R1_CHECK(a->kind == NodeKind::ident, "[jinja] expected a name before '=' in an argument list");
                auto kw = mk(NodeKind::kwarg);
                kw->str = a->str;
                kw->a = expression();
                a = std::move(kw);
                saw_kw = true;
            } else {
                R1_CHECK(!saw_kw, "[jinja] positional arguments must come before keyword arguments");
            }
            out.push_back(std::move(a));
            if (is(Tok::comma)) cur_++;
        }
        cur_++;
        return out;
    }
    NodePtr member(NodePtr object) {
        while (is(Tok::dot) || is(Tok::lbracket)) {
            bool computed = is(Tok::lbracket);
            cur_++;
            auto m = mk(NodeKind::member);
            m->flag = computed;
            m->a = std::move(object);
            if (computed) {
                m->b = subscript();
                expect(Tok::rbracket, "']'");
            } else {
                m->b = primary();
                R1_CHECK(m->b->kind == NodeKind::ident || m->b->kind == NodeKind::int_lit,
                         "[jinja] expected a name or integer after '.'");
            }
            object = std::move(m);
        }
        return object;
    }
    NodePtr subscript() {
        NodeList parts;  // nullptr = omitted slice bound
        bool is_slice = false;
        while (!is(Tok::rbracket)) {
            R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template in a subscript");
            if (is(Tok::colon)) {
                parts.push_back(nullptr);
                cur_++;
                is_slice = true;
            } else {
                parts.push_back(expression());
                if (is(Tok::colon)) { cur_++; is_slice = true; }
            }
        }
        R1_CHECK(!parts.empty(), "[jinja] empty subscript '[]'");
        if (!is_slice) return std::move(parts[0]);
        R1_CHECK(parts.size() <= 3, "[jinja] a slice has at most 3 parts");
        auto s = mk(NodeKind::slice);
        if (parts.size() > 0) s->a = std::move(parts[0]);
        if (parts.size() > 1) s->b = std::move(parts[1]);
        if (parts.size() > 2) s->c = std::move(parts[2]);
        return s;
    }
    NodePtr primary() {
        R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template in an expression");
        const Token& tk = t_[cur_++];
        switch (tk.type) {
            case Tok::number: {
                if (tk.value.find('.') != std::string::npos) {
                    auto n = mk(NodeKind::float_lit);
                    n->f = std::stod(tk.value);
                    return n;
                }
                auto n = mk(NodeKind::int_lit);
                try {
                    n->i = std::stoll(tk.value);
                } catch (...) {
                    fail("[jinja] integer literal out of range: ", tk.value);
                }
                return n;
            }
            case Tok::string: {
                auto n = mk(NodeKind::str_lit);
                n->str = tk.value;
                while (is(Tok::string)) n->str += t_[cur_++].value;  // adjacent literals concatenate
                return n;
            }
            case Tok::ident: {
                auto n = mk(NodeKind::ident);
                n->str = tk.value;
                return n;
            }
            case Tok::lparen: {
                NodePtr e = expression_sequence(false);
                expect(Tok::rparen, "')'");
                return e;
            }
            case Tok::lbracket: {
                auto n = mk(NodeKind::array_lit);
                while (!is(Tok::rbracket)) {
                    R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template in a list literal");
                    n->items.push_back(expression());
                    if (is(Tok::comma)) cur_++;
                }
                cur_++;
                return n;
            }
            case Tok::lbrace: {
                auto n = mk(NodeKind::object_lit);
                while (!is(Tok::rbrace)) {
                    R1_CHECK(cur_ < t_.size(), "[jinja] unexpected end of template in a dict literal");
                    n->items.push_back(expression());
                    expect(Tok::colon, "':' in a dict literal");
                    n->items.push_back(expression());
                    if (is(Tok::comma)) cur_++;
                }
                cur_++;
                return n;
            }
            default: fail("[jinja] unexpected token '", tk.value, "' in an expression");
        }
    }
};

}  // namespace

Program parse(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace r1::jinja
