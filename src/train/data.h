// Training data: corpora of documents, and a deterministic packed batch loader.
//
// Sources (open_corpus):
//   "builtin"     the synthetic arithmetic corpus (train/synthetic.h); unbounded, held-out
//                 problems form the eval split.
//   FILE.txt      UTF-8 text (any bytes); documents separated by blank lines, or the whole
//                 file as one document (DataOptions::whole_file).
//   FILE.jsonl    one JSON object per non-empty line: {"text": "..."} or
//                 {"prompt": "...", "completion": "..."} (SFT: loss on the completion only).
// Every document is tokenised (byte tokenizer) as BOS + text + EOS, a prompt/completion pair
// as BOS + prompt + completion + EOS with the BOS and prompt tokens never used as targets
// (one BOS: a prompt or text that already starts with the BOS string gets no second one).
// File corpora put every 20th document (or, below 20 documents, the last one; a single
// document: its last 10%) into the eval split.
//
// Batches: rows of T+1 consecutive tokens are cut from the documents packed back to back
// (a document continues in the next row; documents of a finite corpus are visited in a fresh
// seeded permutation every epoch). tokens = row[0..T), targets = row[1..T] with −1 where the
// target is a prompt token. Where a loader is in the stream is a DataCursor {epoch, pos,
// offset} — three integers that, with the seed, reproduce every later batch exactly; trainers
// store it in checkpoints.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "train/synthetic.h"

namespace r1 {

struct Document {
    std::vector<int32_t> tokens;
    int64_t n_prompt = 0;  // tokens [0, n_prompt) are never targets
};

enum class Split { train, eval };

class Corpus {
public:
    virtual ~Corpus() = default;
    // Number of documents in a split; -1 = unbounded (synthetic).
    virtual int64_t size(Split s) const = 0;
    virtual Document doc(Split s, int64_t i) const = 0;
    virtual std::string describe() const = 0;
};

struct DataOptions {
    uint64_t seed = 1;             // synthetic corpus seed (problems, styles)
    SyntheticOptions synthetic;
    bool mask_prompt = false;      // synthetic: no loss on the question (SFT-style)
    bool whole_file = false;       // text: the whole file is one document
};

// "builtin", a .txt/.text/.md file (or any other extension: plain text) or a .jsonl file.
// Throws r1::Error naming the file and line for unreadable or malformed input.
std::unique_ptr<Corpus> open_corpus(const std::string& spec, const DataOptions& opt);
std::unique_ptr<Corpus> make_synthetic_corpus(const DataOptions& opt);
std::unique_ptr<Corpus> load_text_corpus(const std::string& path, bool whole_file);
std::unique_ptr<Corpus> load_jsonl_corpus(const std::string& path);

struct DataCursor {
    int64_t epoch = 0;   // finite corpora: permutation number
    int64_t pos = 0;     // document index within the epoch (position in the permutation)
    int64_t offset = 0;  // next token within that document
    bool operator==(const DataCursor&) const = default;
};
void to_json(nlohmann::json& j, const DataCursor& c);
void from_json(const nlohmann::json& j, DataCursor& c);

class BatchLoader {
public:
    // shuffle: visit a finite corpus in a seeded permutation per epoch (train); the eval
    // split is read in order.
    BatchLoader(const Corpus& corpus, Split split, uint64_t seed, bool shuffle = true);

    // Fills tokens, targets [B, T]; returns the number of targets >= 0.
    int64_t next(int32_t* tokens, int32_t* targets, int64_t B, int64_t T);

    const DataCursor& cursor() const { return cur_; }
    void set_cursor(const DataCursor& c);
    void reset() { set_cursor(DataCursor{}); }

private:
    const Document& current();
    int64_t doc_index(int64_t epoch, int64_t pos);

    const Corpus* corpus_;
    Split split_;
    uint64_t seed_;
    bool shuffle_;
    int64_t n_docs_;  // -1 unbounded
    DataCursor cur_;
    std::vector<int64_t> perm_;
    int64_t perm_epoch_ = -1;
    Document doc_;
    int64_t doc_epoch_ = -1, doc_pos_ = -1;  // which document doc_ holds
};

}  // namespace r1
