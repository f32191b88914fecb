// load_model_for_inference / TextCodec: the model-opening logic `r1 generate` used to hold
// inline, shared by every command that generates. See model_loader.h for the contracts.
#include "generate/model_loader.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/hf_checkpoint.h"
#include "tokenizer/bpe_from_gguf.h"
#include "tokenizer/byte_tokenizer.h"
#include "train/checkpoint.h"

namespace r1 {

TextCodec TextCodec::byte() { return TextCodec{}; }

TextCodec TextCodec::bpe(BpeTokenizer tok) {
    TextCodec c;
    c.bpe_ = std::move(tok);
    return c;
}

std::vector<int32_t> TextCodec::encode(std::string_view text) const {
    if (bpe_) return bpe_->encode(text, /*add_special=*/false);
    return ByteTokenizer::encode(text);
}

std::vector<int32_t> TextCodec::encode_raw(std::string_view text) const {
    if (bpe_) return bpe_->encode(text, /*add_special=*/true);
    return ByteTokenizer::encode(text);
}

std::string TextCodec::decode(const std::vector<int32_t>& ids) const {
    if (bpe_) return bpe_->decode(ids);
    return ByteTokenizer::decode(ids);
}

std::string TextCodec::decode_completion(const std::vector<int32_t>& ids) const {
    const std::vector<int32_t> stops = stop_ids();
    if (!ids.empty() && std::find(stops.begin(), stops.end(), ids.back()) != stops.end())
        return decode(std::vector<int32_t>(ids.begin(), ids.end() - 1));
    return decode(ids);
}

std::vector<int32_t> TextCodec::stop_ids() const {
    if (!bpe_) return {ByteTokenizer::kEos};
    if (bpe_->eos_id()) return {*bpe_->eos_id()};
    return {};
}

int64_t TextCodec::n_vocab() const { return bpe_ ? bpe_->n_vocab() : ByteTokenizer::n_vocab(); }

int64_t LoadedModel::vocab_limit() const { return std::min<int64_t>(config().n_vocab, codec_.n_vocab()); }

namespace {

bool looks_like_gguf(const std::string& path) {
    if (path.size() >= 5) {
        std::string ext = path.substr(path.size() - 5);
        for (char& c : ext) c = (char)std::tolower((unsigned char)c);
        if (ext == ".gguf") return true;
    }
    std::ifstream f(path, std::ios::binary);
    char magic[4] = {0, 0, 0, 0};
    if (f && f.read(magic, 4)) return std::memcmp(magic, "GGUF", 4) == 0;
    return false;
}

}  // namespace

std::unique_ptr<LoadedModel> load_model_for_inference(const std::string& path) {
    R1_CHECK(!path.empty(), "[model] no model path given (a ckpt.r1 or a .gguf file)");
    std::unique_ptr<LoadedModel> m(new LoadedModel());
    m->path_ = path;
    if (is_hf_dir(path)) {
        // Hugging Face folder (io/hf_checkpoint.h): f32 weights + tokenizer.json when present
        // (else the byte tokenizer, as for r1 models saved with `r1 convert ckpt.r1 DIR`).
        auto hf = load_hf_checkpoint(path);
        m->params_ = std::make_unique<ParamSet>(std::move(hf->params));
        m->model_ = std::make_unique<InferenceModel>(InferenceModel::from_params(hf->config, *m->params_));
        const std::string tj = path + "/tokenizer.json";
        if (std::ifstream(tj).good()) m->codec_ = TextCodec::bpe(BpeTokenizer::load(tj));
        else m->codec_ = TextCodec::byte();
        return m;
    }
    if (looks_like_gguf(path)) {
        m->gguf_ = GgufModel::open(path);
        m->codec_ = TextCodec::bpe(bpe_from_gguf(m->gguf_->reader));
        return m;
    }
    // weights: read + validate the checkpoint, fill a ParamSet of its config
    const Checkpoint ck = read_checkpoint(path);
    const ModelConfig& cfg = ck.meta.config;
    R1_CHECK(cfg.n_vocab >= ByteTokenizer::n_vocab(), "[model] ", path, ": n_vocab ", cfg.n_vocab,
             " is smaller than the byte tokenizer's ", ByteTokenizer::n_vocab());
    m->params_ = std::make_unique<ParamSet>(cfg);
    apply_checkpoint(ck, *m->params_, nullptr);
    m->model_ = std::make_unique<InferenceModel>(InferenceModel::from_params(cfg, *m->params_));
    m->codec_ = TextCodec::byte();
    return m;
}

}  // namespace r1
