// r1 tokenize — run a Hugging Face tokenizer.json on stdin: text -> ids, or ids -> text.
// Reads ALL of stdin as one string (bytes as they are; invalid UTF-8 is replaced by U+FFFD
// before tokenizing, as HF does for text decoded with errors="replace").
// Hidden --jsonl batch mode (used by tests/cli/tokenizer_oracle.sh): one request per input
// line, one JSON answer per output line, one process for a whole corpus.
//   line = JSON string, or {"hex": "..."} for raw bytes -> line = JSON array of ids (encode)
//   line = JSON array of ids                             -> line = JSON string (decode)
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "tokenizer/bpe_tokenizer.h"

namespace {
struct Options {
    std::string tokenizer;
    bool json = false, add_special = false, decode = false, skip_special = false, jsonl = false;
};

std::string read_stdin() {
    std::ios::sync_with_stdio(false);
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::vector<int32_t> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    size_t i = s.find_first_not_of(" \t\r\n");
    if (i != std::string::npos && s[i] == '[') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(s);
        } catch (const nlohmann::json::exception& e) {
            r1::fail("[tokenize] stdin: invalid JSON array of ids: ", e.what());
        }
        if (!j.is_array()) r1::fail("[tokenize] stdin: expected a JSON array of ids");
        for (auto& x : j) {
            if (!x.is_number_integer()) r1::fail("[tokenize] stdin: ids must be integers");
            ids.push_back(x.get<int32_t>());
        }
        return ids;
    }
    std::istringstream in(s);
    std::string w;
    while (in >> w) {
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(w, &used);
        } catch (...) {
            used = 0;
        }
        if (used != w.size() || v < 0 || v > INT32_MAX) r1::fail("[tokenize] stdin: bad id '", w, "'");
        ids.push_back((int32_t)v);
    }
    return ids;
}

std::string from_hex(const std::string& h) {
    if (h.size() % 2) r1::fail("[tokenize] --jsonl: odd-length hex string");
    std::string out;
    for (size_t i = 0; i < h.size(); i += 2) out += (char)std::stoi(h.substr(i, 2), nullptr, 16);
    return out;
}

std::string ids_json(const std::vector<int32_t>& ids) { return nlohmann::json(ids).dump(); }

int run_jsonl(const r1::BpeTokenizer& tok, const Options& o) {
    std::ios::sync_with_stdio(false);
    std::string line;
    size_t n = 0;
    while (std::getline(std::cin, line)) {
        n++;
        if (line.empty()) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            r1::fail("[tokenize] stdin line ", n, ": invalid JSON: ", e.what());
        }
        if (j.is_array()) {  // decode request
            std::vector<int32_t> ids;
            for (auto& x : j) {
                if (!x.is_number_integer()) r1::fail("[tokenize] stdin line ", n, ": ids must be integers");
                ids.push_back(x.get<int32_t>());
            }
            std::cout << nlohmann::json(tok.decode(ids, o.skip_special)).dump() << '\n';
            continue;
        }
        std::string text;
        if (j.is_string()) text = j.get<std::string>();
        else if (j.is_object() && j.contains("hex") && j["hex"].is_string())
            text = from_hex(j["hex"].get<std::string>());
        else r1::fail("[tokenize] stdin line ", n, ": expected a string, {\"hex\": ...} or an array of ids");
        std::cout << ids_json(tok.encode(text, o.add_special)) << '\n';
    }
    std::cout.flush();
    return 0;
}

int run_tokenize(const Options& o) {
    r1::BpeTokenizer tok = r1::BpeTokenizer::load(o.tokenizer);
    if (o.jsonl) return run_jsonl(tok, o);
    std::string in = read_stdin();
    if (o.decode) {
        std::string text = tok.decode(parse_ids(in), o.skip_special);
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    std::vector<int32_t> ids = tok.encode(in, o.add_special);
    if (o.json) {
        std::printf("%s\n", ids_json(ids).c_str());
    } else {
        std::string s;
        for (size_t i = 0; i < ids.size(); i++) s += (i ? " " : "") + std::to_string(ids[i]);
        std::printf("%s\n", s.c_str());
    }
    return 0;
}

r1::cli::Register reg(
    "tokenize",
    "Tokenize stdin with a Hugging Face tokenizer.json (byte-level BPE), or decode ids",
    [](CLI::App& app) {
        auto o = std::make_shared<Options>();
        app.add_option("--tokenizer", o->tokenizer,
                       "path to tokenizer.json (GGUF-embedded tokenizers: not yet)")
            ->required();
        app.add_flag("--json", o->json, "print the ids as one JSON array");
        app.add_flag("--add-special", o->add_special,
                     "add BOS/EOS as the tokenizer's post-processor (or tokenizer_config.json) says");
        app.add_flag("--decode", o->decode,
                     "read ids (JSON array or whitespace-separated) and print the text");
        app.add_flag("--skip-special", o->skip_special, "with --decode: drop special tokens");
        app.add_flag("--jsonl", o->jsonl, "batch mode for tests: one JSON request per line")
            ->group("");
        app.footer(
            "Reads all of stdin as one string. Text that is not valid UTF-8 is tokenized as if\n"
            "each invalid sequence were U+FFFD. Decoding prints the exact text, no newline.\n"
            "Only tokenizer.json files are read for now; tokenizers embedded in GGUF files\n"
            "will come later.");
        return [o] { return run_tokenize(*o); };
    });
}  // namespace
