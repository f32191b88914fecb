// Building a BpeTokenizer from tokenizer.json (+ optional tokenizer_config.json): every
// field is checked and errors name the file and the JSON path, e.g.
//   "[tokenizer] tok.json: model.merges[12]: token 'ab' not in model.vocab".
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/bpe_impl.h"
#include "tokenizer/unicode_nfc.h"
#include "tokenizer/utf8.h"

namespace r1 {

using json = nlohmann::json;

ByteUnicode::ByteUnicode() {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        to_cp[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        to_byte[to_cp[b]] = (uint8_t)b;
    }
}
const ByteUnicode& byte_unicode() {
    static const ByteUnicode t;
    return t;
}

void AddedMatcher::add(const std::string& s, int32_t index) {
    if (s.empty()) return;
    int32_t node = 0;
    for (unsigned char c : s) {
        uint64_t key = ((uint64_t)node << 8) | c;
        auto it = edges.find(key);
        if (it == edges.end()) {
            int32_t child = (int32_t)terminal.size();
            terminal.push_back(-1);
            it = edges.emplace(key, child).first;
        }
        node = it->second;
    }
    terminal[node] = index;  // a later duplicate content wins, as in HF's map
    first[(unsigned char)s[0]] = true;
}

size_t AddedMatcher::longest_at(std::string_view s, size_t pos, int32_t& index) const {
    size_t best = 0;
    int32_t node = 0;
    for (size_t i = pos; i < s.size(); i++) {
        auto it = edges.find(((uint64_t)node << 8) | (unsigned char)s[i]);
        if (it == edges.end()) break;
        node = it->second;
        if (terminal[node] >= 0) best = i + 1 - pos, index = terminal[node];
    }
    return best;
}

namespace {
std::string where(const std::string& file, const std::string& field) {
    return "[tokenizer] " + file + ": " + field;
}

bool opt_bool(const json& j, const char* key, bool dflt, const std::string& w) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) fail(w, ".", key, ": expected true or false");
    return it->get<bool>();
}

std::string token_content(const json& j) {  // tokenizer_config's "x_token": string or object
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string())
        return j["content"].get<std::string>();
    return {};
}

void parse_normalizer(const json& j, const std::string& w, std::vector<NormKind>& out) {
    if (j.is_null()) return;
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        fail(w, ": expected an object with a string \"type\"");
    std::string type = j["type"].get<std::string>();
    if (type == "Sequence") {
        if (!j.contains("normalizers") || !j["normalizers"].is_array())
            fail(w, ".normalizers: expected an array");
        for (size_t k = 0; k < j["normalizers"].size(); k++)
            parse_normalizer(j["normalizers"][k], w + ".normalizers[" + std::to_string(k) + "]",
                             out);
    } else if (type == "NFC") {
        out.push_back(NormKind::nfc);
    } else if (type == "NFD") {
        out.push_back(NormKind::nfd);
    } else {
        fail(w, ": unsupported normalizer type '", type, "'");
    }
}

int32_t lookup_special(const BpeTokenizer::Impl& t, const std::string& name, const std::string& w) {
    auto a = t.added_by_content.find(name);
    if (a != t.added_by_content.end()) return a->second;
    auto v = t.vocab.find(name);
    if (v != t.vocab.end()) return v->second;
    fail(w, ": token '", name, "' is neither an added token nor in model.vocab");
}

// post_processor -> prefix/suffix ids for add_special. Returns false when it adds nothing
// of its own (null, ByteLevel), so tokenizer_config's add_bos/eos_token may apply.
bool parse_post_processor(const json& j, const std::string& w, BpeTokenizer::Impl& t) {
    if (j.is_null()) return false;
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
        fail(w, ": expected an object with a string \"type\"");
    std::string type = j["type"].get<std::string>();
    if (type == "ByteLevel") return false;
    if (type == "Sequence") {
        if (!j.contains("processors") || !j["processors"].is_array())
            fail(w, ".processors: expected an array");
        bool any = false;
        for (size_t k = 0; k < j["processors"].size(); k++)
            any |= parse_post_processor(j["processors"][k],
                                        w + ".processors[" + std::to_string(k) + "]", t);
        return any;
    }
    if (type == "TemplateProcessing") {
        if (!j.contains("single") || !j["single"].is_array()) fail(w, ".single: expected an array");
        bool seen_a = false;
        const json& specials = j.contains("special_tokens") ? j["special_tokens"] : json();
        for (size_t k = 0; k < j["single"].size(); k++) {
            const json& item = j["single"][k];
            std::string wi = w + ".single[" + std::to_string(k) + "]";
            if (item.contains("Sequence")) {
                seen_a = true;
            } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
                       item["SpecialToken"]["id"].is_string()) {
                std::string name = item["SpecialToken"]["id"].get<std::string>();
                std::vector<int32_t> ids;
                if (specials.is_object() && specials.contains(name) &&
                    specials[name].contains("ids") && specials[name]["ids"].is_array()) {
                    for (auto& x : specials[name]["ids"]) {
                        if (!x.is_number_integer()) fail(wi, ": special_tokens ids must be integers");
                        ids.push_back(x.get<int32_t>());
                    }
                } else {
                    ids.push_back(lookup_special(t, name, wi));
                }
                auto& dst = seen_a ? t.suffix_ids : t.prefix_ids;
                dst.insert(dst.end(), ids.begin(), ids.end());
            } else {
                fail(wi, ": expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}");
            }
        }
        return true;
    }
    if (type == "RobertaProcessing" || type == "BertProcessing") {
        for (const char* key : {"cls", "sep"}) {
            if (!j.contains(key) || !j[key].is_array() || j[key].size() != 2 ||
                !j[key][1].is_number_integer())
                fail(w, ".", key, ": expected [token, id]");
            (std::string(key) == "cls" ? t.prefix_ids : t.suffix_ids)
                .push_back(j[key][1].get<int32_t>());
        }
        return true;
    }
    fail(w, ": unsupported post_processor type '", type, "'");
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("[tokenizer] cannot open ", path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

json parse_json_file(const std::string& path) {
    try {
        return json::parse(read_file(path));
    } catch (const json::exception& e) {
        fail("[tokenizer] ", path, ": invalid JSON: ", e.what());
    }
}
}  // namespace

BpeTokenizer BpeTokenizer::load(const std::string& path) {
    json tok = parse_json_file(path);
    json config;
    auto cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
    std::error_code ec;
    if (std::filesystem::exists(cfg_path, ec)) config = parse_json_file(cfg_path.string());
    return from_json(tok, config, path);
}

BpeTokenizer BpeTokenizer::from_json(const json& j, const json& config, const std::string& file) {
    auto t = std::make_shared<Impl>();
    t->source = file;
    if (!j.is_object()) fail(where(file, "top level"), ": expected a JSON object");

    // --- model
    if (!j.contains("model") || !j["model"].is_object())
        fail(where(file, "model"), ": missing or not an object");
    const json& m = j["model"];
    if (m.contains("type") && !(m["type"].is_string() && m["type"] == "BPE"))
        fail(where(file, "model.type"), ": only \"BPE\" is supported");
    if (!m.contains("vocab") || !m["vocab"].is_object())
        fail(where(file, "model.vocab"), ": missing or not an object");
    int32_t max_id = -1;
    t->vocab.reserve(m["vocab"].size() * 2);
    for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
        if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
            it.value().get<int64_t>() > INT32_MAX)
            fail(where(file, "model.vocab[\"" + it.key() + "\"]"), ": expected a non-negative id");
        int32_t id = it.value().get<int32_t>();
        t->vocab[it.key()] = id;
        max_id = std::max(max_id, id);
    }
    t->ignore_merges = opt_bool(m, "ignore_merges", false, where(file, "model"));
    if (opt_bool(m, "byte_fallback", false, where(file, "model")))
        fail(where(file, "model.byte_fallback"), ": byte_fallback BPE is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (m.contains(key) && !m[key].is_null() &&
            !(m[key].is_string() && m[key].get<std::string>().empty()))
            fail(where(file, std::string("model.") + key), ": not supported by byte-level BPE");
    if (m.contains("unk_token") && m["unk_token"].is_string()) {
        auto u = t->vocab.find(m["unk_token"].get<std::string>());
        if (u == t->vocab.end()) fail(where(file, "model.unk_token"), ": not in model.vocab");
        t->unk_id = u->second;
    }

    if (!m.contains("merges") || !m["merges"].is_array())
        fail(where(file, "model.merges"), ": missing or not an array");
    const json& merges = m["merges"];
    t->merges.reserve(merges.size() * 2);
    for (size_t k = 0; k < merges.size(); k++) {
        const json& e = merges[k];
        std::string wk = "model.merges[" + std::to_string(k) + "]";
        std::string a, b;
        if (e.is_string()) {  // "a b"
            const std::string& s = e.get_ref<const std::string&>();
            size_t sp = s.find(' ');
            if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
                s.find(' ', sp + 1) != std::string::npos)
                fail(where(file, wk), ": expected \"left right\", got \"", s, "\"");
            a = s.substr(0, sp), b = s.substr(sp + 1);
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
            a = e[0].get<std::string>(), b = e[1].get<std::string>();
        } else {
            fail(where(file, wk), ": expected \"left right\" or [\"left\", \"right\"]");
        }
        auto ia = t->vocab.find(a), ib = t->vocab.find(b), im = t->vocab.find(a + b);
        if (ia == t->vocab.end()) fail(where(file, wk), ": token '", a, "' not in model.vocab");
        if (ib == t->vocab.end()) fail(where(file, wk), ": token '", b, "' not in model.vocab");
        if (im == t->vocab.end())
            fail(where(file, wk), ": merged token '", a + b, "' not in model.vocab");
        uint64_t key = ((uint64_t)(uint32_t)ia->second << 32) | (uint32_t)ib->second;
        t->merges[key] = MergeRule{(int32_t)k, im->second};  // a later duplicate wins, as in HF
    }

    // --- added tokens
    if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
        if (!j["added_tokens"].is_array()) fail(where(file, "added_tokens"), ": expected an array");
        for (size_t k = 0; k < j["added_tokens"].size(); k++) {
            const json& a = j["added_tokens"][k];
            std::string wk = where(file, "added_tokens[" + std::to_string(k) + "]");
            if (!a.is_object() || !a.contains("content") || !a["content"].is_string() ||
                a["content"].get<std::string>().empty())
                fail(wk, ".content: missing or empty");
            if (!a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 ||
                a["id"].get<int64_t>() > INT32_MAX)
                fail(wk, ".id: missing or not a non-negative integer");
            AddedToken at;
            at.content = a["content"].get<std::string>();
            if (!utf8::is_valid(at.content)) fail(wk, ".content: invalid UTF-8");
            at.id = a["id"].get<int32_t>();
            at.special = opt_bool(a, "special", false, wk);
            at.lstrip = opt_bool(a, "lstrip", false, wk);
            at.rstrip = opt_bool(a, "rstrip", false, wk);
            at.single_word = opt_bool(a, "single_word", false, wk);
            at.normalized = opt_bool(a, "normalized", !at.special, wk);
            max_id = std::max(max_id, at.id);
            t->added_by_content[at.content] = at.id;
            t->added.push_back(std::move(at));
        }
    }

    // --- normalizer, pre-tokenizer, decoder
    const json null_json;
    const json& norm = j.contains("normalizer") ? j["normalizer"] : null_json;
    t->has_normalizer = !norm.is_null();
    parse_normalizer(norm, where(file, "normalizer"), t->normalizers);
    t->pre = parse_pre_tokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : null_json, file);
    if (!t->pre.byte_level.present)
        fail(where(file, "pre_tokenizer"),
             ": no ByteLevel step; only byte-level BPE tokenizers are supported");
    if (j.contains("decoder") && !j["decoder"].is_null()) {
        const json& d = j["decoder"];
        if (!d.is_object() || !d.contains("type") || d["type"] != "ByteLevel")
            fail(where(file, "decoder"), ": only a ByteLevel decoder is supported");
    }

    for (size_t k = 0; k < t->added.size(); k++) {
        const AddedToken& at = t->added[k];
        if (at.normalized && t->has_normalizer) t->norm_matcher.add(t->normalize(at.content), (int32_t)k);
        else t->raw_matcher.add(at.content, (int32_t)k);
        if (at.single_word && !t->word_char)
            t->word_char = std::make_shared<Regex>("[\\p{Alphabetic}\\p{N}_]", false, "word_char");
    }

    // --- id tables
    const ByteUnicode& bu = byte_unicode();
    t->id_to_token.assign(max_id + 1, std::string());
    t->id_bytes.assign(max_id + 1, std::string());
    t->id_kind.assign(max_id + 1, 0);
    for (auto& [s, id] : t->vocab) {
        t->id_to_token[id] = s;
        t->id_kind[id] = 1;
        std::string bytes;
        if (utf8::is_valid(s)) {
            for (size_t i = 0; i < s.size();) {
                size_t i0 = i;
                uint32_t cp = utf8::next(s, i);
                auto b = bu.to_byte.find(cp);
                if (b != bu.to_byte.end()) bytes += (char)b->second;
                else bytes.append(s, i0, i - i0);  // not a byte-level char: keep as is
            }
        } else {
            fail(where(file, "model.vocab"), ": token with invalid UTF-8");
        }
        t->id_bytes[id] = std::move(bytes);
    }
    for (auto& at : t->added) {
        t->id_to_token[at.id] = at.content;
        t->id_bytes[at.id] = at.content;
        t->id_kind[at.id] = at.special ? 3 : 2;
    }
    for (int b = 0; b < 256; b++) {
        std::string s;
        utf8::append(s, bu.to_cp[b]);
        auto it = t->vocab.find(s);
        t->byte_ids[b] = it == t->vocab.end() ? -1 : it->second;
    }

    // --- special tokens for add_special
    bool from_post = parse_post_processor(
        j.contains("post_processor") ? j["post_processor"] : null_json,
        where(file, "post_processor"), *t);
    if (config.is_object()) {
        std::string bos = config.contains("bos_token") ? token_content(config["bos_token"]) : "";
        std::string eos = config.contains("eos_token") ? token_content(config["eos_token"]) : "";
        std::string wc = "[tokenizer] tokenizer_config.json";
        if (!bos.empty()) t->bos = lookup_special(*t, bos, wc + ": bos_token");
        if (!eos.empty()) t->eos = lookup_special(*t, eos, wc + ": eos_token");
        if (!from_post) {
            if (opt_bool(config, "add_bos_token", false, wc) && t->bos >= 0)
                t->prefix_ids.push_back(t->bos);
            if (opt_bool(config, "add_eos_token", false, wc) && t->eos >= 0)
                t->suffix_ids.push_back(t->eos);
        }
    }
    for (int32_t id : t->prefix_ids)
        if (id < 0 || id > max_id || !t->id_kind[id]) fail(where(file, "post_processor"), ": unknown id ", id);
    for (int32_t id : t->suffix_ids)
        if (id < 0 || id > max_id || !t->id_kind[id]) fail(where(file, "post_processor"), ": unknown id ", id);

    BpeTokenizer out;
    out.impl_ = std::move(t);
    return out;
}

}  // namespace r1
