// Corpora (synthetic, text, JSONL) and the packed batch loader; see data.h for the contract.
#include "train/data.h"

#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "tokenizer/byte_tokenizer.h"

namespace r1 {
namespace {

using Tok = ByteTokenizer;

Document make_doc(std::string_view prompt, std::string_view text) {
    Document d;
    d.tokens.reserve(prompt.size() + text.size() + 2);
    // Chat-formatted prompts (rl/task.h, r1 distill traces) already start with the BOS text:
    // no second BOS, so SFT sees exactly the token stream generation is prompted with.
    const std::string_view first = prompt.empty() ? text : prompt;
    if (!first.starts_with(Tok::special_text(Tok::kBos))) d.tokens.push_back(Tok::kBos);
    Tok::encode_append(prompt, d.tokens);
    d.n_prompt = prompt.empty() ? 0 : (int64_t)d.tokens.size();
    Tok::encode_append(text, d.tokens);
    d.tokens.push_back(Tok::kEos);
    return d;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    R1_CHECK(f.good(), "[data] ", path, ": cannot open file");
    std::ostringstream ss;
    ss << f.rdbuf();
    R1_CHECK(!f.bad(), "[data] ", path, ": read error");
    return ss.str();
}

// ---- synthetic ------------------------------------------------------------------------------

class SyntheticCorpus final : public Corpus {
public:
    explicit SyntheticCorpus(const DataOptions& o) : o_(o) { o_.synthetic.validate(); }
    int64_t size(Split) const override { return -1; }
    Document doc(Split s, int64_t i) const override {
        const SyntheticExample ex = s == Split::train ? train_example(o_.seed, i, o_.synthetic)
                                                      : heldout_example(o_.seed, i, o_.synthetic);
        Document d;
        Tok::encode_append(ex.prompt, d.tokens);  // starts with BOS
        if (o_.mask_prompt) d.n_prompt = (int64_t)d.tokens.size();
        Tok::encode_append(ex.completion, d.tokens);  // ends with EOS
        return d;
    }
    std::string describe() const override {
        return "builtin synthetic arithmetic (seed " + std::to_string(o_.seed) + ")";
    }

private:
    DataOptions o_;
};

// ---- finite corpora --------------------------------------------------------------------------

class DocsCorpus final : public Corpus {
public:
    DocsCorpus(std::string desc, std::vector<Document> docs) : desc_(std::move(desc)) {
        const int64_t n = (int64_t)docs.size();
        if (n == 1) {
            // One document: its last 10% (at least 2 tokens) is the eval split.
            Document& d = docs[0];
            const int64_t len = (int64_t)d.tokens.size();
            int64_t cut = std::max<int64_t>(std::min<int64_t>(len - 2, len * 9 / 10), 1);
            Document tail;
            tail.tokens.assign(d.tokens.begin() + cut, d.tokens.end());
            tail.n_prompt = std::max<int64_t>(0, d.n_prompt - cut);
            d.tokens.resize(cut);
            d.n_prompt = std::min<int64_t>(d.n_prompt, cut);
            train_.push_back(std::move(d));
            eval_.push_back(std::move(tail));
            return;
        }
        for (int64_t i = 0; i < n; i++) {
            const bool is_eval = n >= 20 ? (i % 20 == 19) : (i == n - 1);
            (is_eval ? eval_ : train_).push_back(std::move(docs[i]));
        }
    }
    int64_t size(Split s) const override {
        return (int64_t)(s == Split::train ? train_ : eval_).size();
    }
    Document doc(Split s, int64_t i) const override {
        return (s == Split::train ? train_ : eval_)[(size_t)i];
    }
    std::string describe() const override { return desc_; }

private:
    std::string desc_;
    std::vector<Document> train_, eval_;
};

bool ends_with(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

std::unique_ptr<Corpus> make_synthetic_corpus(const DataOptions& opt) {
    return std::make_unique<SyntheticCorpus>(opt);
}

std::unique_ptr<Corpus> load_text_corpus(const std::string& path, bool whole_file) {
    const std::string text = read_file(path);
    std::vector<Document> docs;
    if (whole_file) {
        if (!text.empty()) docs.push_back(make_doc({}, text));
    } else {
        // Paragraphs: split at runs of lines that are empty or whitespace only.
        std::string cur;
        size_t i = 0;
        auto flush = [&] {
            while (!cur.empty() && (cur.back() == '\n' || cur.back() == '\r')) cur.pop_back();
            if (!cur.empty()) docs.push_back(make_doc({}, cur));
            cur.clear();
        };
        while (i < text.size()) {
            size_t e = text.find('\n', i);
            if (e == std::string::npos) e = text.size();
            const std::string_view line(text.data() + i, e - i);
            if (line.find_first_not_of(" \t\r") == std::string_view::npos)
                flush();
            else {
                cur.append(line);
                cur.push_back('\n');
            }
            i = e + 1;
        }
        flush();
    }
    R1_CHECK(!docs.empty(), "[data] ", path, ": no text (empty file)");
    return std::make_unique<DocsCorpus>(path + " (" + std::to_string(docs.size()) + " documents)",
                                        std::move(docs));
}

std::unique_ptr<Corpus> load_jsonl_corpus(const std::string& path) {
    const std::string text = read_file(path);
    std::vector<Document> docs;
    size_t i = 0;
    int64_t line_no = 0;
    while (i < text.size()) {
        size_t e = text.find('\n', i);
        if (e == std::string::npos) e = text.size();
        line_no++;
        const std::string_view line(text.data() + i, e - i);
        i = e + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        const bool has_text = j.is_object() && j.contains("text") && j["text"].is_string();
        const bool has_pair = j.is_object() && j.contains("prompt") && j["prompt"].is_string() &&
                              j.contains("completion") && j["completion"].is_string();
        R1_CHECK(has_text || has_pair, "[data] ", path, ":", line_no,
                 ": expected a JSON object with a string field 'text' (or string fields "
                 "'prompt' and 'completion')");
        if (has_pair)
            docs.push_back(make_doc(j["prompt"].get<std::string>(),
                                    j["completion"].get<std::string>()));
        else
            docs.push_back(make_doc({}, j["text"].get<std::string>()));
    }
    R1_CHECK(!docs.empty(), "[data] ", path, ": no JSON lines");
    return std::make_unique<DocsCorpus>(path + " (" + std::to_string(docs.size()) + " documents)",
                                        std::move(docs));
}

std::unique_ptr<Corpus> open_corpus(const std::string& spec, const DataOptions& opt) {
    if (spec == "builtin") return make_synthetic_corpus(opt);
    if (ends_with(spec, ".jsonl")) return load_jsonl_corpus(spec);
    return load_text_corpus(spec, opt.whole_file);
}

void to_json(nlohmann::json& j, const DataCursor& c) {
    j = {{"epoch", c.epoch}, {"pos", c.pos}, {"offset", c.offset}};
}
void from_json(const nlohmann::json& j, DataCursor& c) {
    c.epoch = j.at("epoch").get<int64_t>();
    c.pos = j.at("pos").get<int64_t>();
    c.offset = j.at("offset").get<int64_t>();
}

// ---- loader -------------------------------------------------------------------------------------

BatchLoader::BatchLoader(const Corpus& corpus, Split split, uint64_t seed, bool shuffle)
    : corpus_(&corpus), split_(split), seed_(seed), shuffle_(shuffle), n_docs_(corpus.size(split)) {
    R1_CHECK(n_docs_ != 0, "[data] ", corpus.describe(), ": the ",
             split == Split::train ? "train" : "eval", " split is empty");
}

void BatchLoader::set_cursor(const DataCursor& c) {
    R1_CHECK(c.epoch >= 0 && c.pos >= 0 && c.offset >= 0 && (n_docs_ < 0 || c.pos < n_docs_),
             "[data] invalid data cursor (epoch ", c.epoch, ", pos ", c.pos, ", offset ",
             c.offset, ") for ", corpus_->describe());
    cur_ = c;
}

int64_t BatchLoader::doc_index(int64_t epoch, int64_t pos) {
    if (n_docs_ < 0 || !shuffle_) return pos;
    if (perm_epoch_ != epoch) {
        // Fisher–Yates with an RNG derived from (seed, epoch) only: epoch e's order never
        // depends on how far earlier epochs were read.
        perm_.resize((size_t)n_docs_);
        std::iota(perm_.begin(), perm_.end(), 0);
        Rng rng(seed_ * 0x9e3779b97f4a7c15ull + (uint64_t)epoch + 1);
        for (int64_t i = n_docs_ - 1; i > 0; i--)
            std::swap(perm_[(size_t)i], perm_[(size_t)rng.below((uint64_t)i + 1)]);
        perm_epoch_ = epoch;
    }
    return perm_[(size_t)pos];
}

const Document& BatchLoader::current() {
    if (doc_epoch_ != cur_.epoch || doc_pos_ != cur_.pos) {
        doc_ = corpus_->doc(split_, doc_index(cur_.epoch, cur_.pos));
        doc_epoch_ = cur_.epoch;
        doc_pos_ = cur_.pos;
    }
    return doc_;
}

int64_t BatchLoader::next(int32_t* tokens, int32_t* targets, int64_t B, int64_t T) {
    R1_CHECK(B > 0 && T > 0, "[data] batch size and sequence length must be > 0");
    std::vector<int32_t> row((size_t)T + 1);
    std::vector<uint8_t> is_target((size_t)T + 1);
    int64_t n_targets = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t filled = 0;
        while (filled < T + 1) {
            const Document& d = current();
            const int64_t len = (int64_t)d.tokens.size();
            const int64_t take = std::min(len - cur_.offset, T + 1 - filled);
            for (int64_t k = 0; k < take; k++) {
                const int64_t p = cur_.offset + k;
                row[(size_t)(filled + k)] = d.tokens[(size_t)p];
                is_target[(size_t)(filled + k)] = p >= d.n_prompt;
            }
            filled += take;
            cur_.offset += take;
            if (cur_.offset >= len) {  // next document (and epoch)
                cur_.offset = 0;
                cur_.pos++;
                if (n_docs_ > 0 && cur_.pos >= n_docs_) {
                    cur_.pos = 0;
                    cur_.epoch++;
                }
            }
        }
        for (int64_t t = 0; t < T; t++) {
            tokens[b * T + t] = row[(size_t)t];
            const bool tgt = is_target[(size_t)t + 1];
            targets[b * T + t] = tgt ? row[(size_t)t + 1] : -1;
            n_targets += tgt;
        }
    }
    return n_targets;
}

}  // namespace r1
