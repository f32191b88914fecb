// Training checkpoints: one self-validating file with everything needed to continue a run
// bit-identically — model config, weights, AdamW m/v/t, step, RNG states, data cursor and
// the training options.
//
// File layout (little-endian):
//   0   "R1CKPT\0\0"               magic (8 bytes)
//   8   u32 version (= 1), u32 0   format version, reserved
//   16  u64 header_len             bytes of the JSON header
//   24  u64 file_size              total bytes including the checksum (truncation check)
//   32  JSON header                {"format_version", "model": ModelConfig JSON, "step",
//                                   "adamw": {t, beta1, beta2, eps, weight_decay} | null,
//                                   "rng": {name: {s:[4 u64], has_spare, spare_bits}},
//                                   "data": DataCursor, "train_options": {...},
//                                   "extra": {...}, "data_bytes",
//                                   "tensors": [{name, dtype "f32", shape, offset, nbytes}]}
//   ...  zero padding to a 64-byte boundary = data start
//   data: raw f32 tensors at 64-aligned offsets relative to data start. Names: "w/<param>"
//         (weights), "m/<param>", "v/<param>" (AdamW moments, absent in weights-only files)
//   last 8 bytes: u64 FNV-1a 64 of every preceding byte.
//
// Writes are atomic (FILE.tmp, fflush + fsync, rename over FILE, fsync the directory), so a
// crash or SIGKILL at any moment leaves either the old or the new checkpoint, never a torn
// one. Loading checks size, magic, checksum, version, header, then every tensor against the
// live model before touching it: data goes into temporaries, then buffers are swapped in —
// a failed load never leaves a half-loaded model. Errors name the file and what is wrong:
//   "[ckpt] FILE: truncated: expected N bytes, found M"
//   "[ckpt] FILE: n_embd is 256 in the checkpoint, 128 requested"
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/buffer.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/params.h"
#include "train/adamw.h"
#include "train/data.h"

namespace r1 {

constexpr uint32_t kCheckpointVersion = 1;

struct CheckpointMeta {
    ModelConfig config;
    int64_t step = 0;
    DataCursor data;
    std::map<std::string, Rng::State> rngs;
    nlohmann::json train_options = nlohmann::json::object();
    nlohmann::json extra = nlohmann::json::object();
};

// Writes path atomically (see above). opt == nullptr: weights only.
void save_checkpoint(const std::string& path, const CheckpointMeta& meta, const ParamSet& params,
                     const AdamW* opt);

// A checkpoint read and validated as a file (size, magic, checksum, version, header, tensor
// table bounds) but not yet applied to a model.
struct Checkpoint {
    std::string path;
    CheckpointMeta meta;
    bool has_optimizer = false;
    int64_t adam_t = 0;
    AdamWConfig adam_cfg;
    struct Entry {
        std::vector<int64_t> shape;
        uint64_t offset = 0, nbytes = 0;
    };
    std::map<std::string, Entry> tensors;
    Buffer<uint8_t> bytes;   // the whole file
    uint64_t data_start = 0;
};

// Reads + validates path. With `expected`, the checkpoint's config must equal it field by
// field ("[ckpt] FILE: n_embd is 256 in the checkpoint, 128 requested").
Checkpoint read_checkpoint(const std::string& path, const ModelConfig* expected = nullptr);

// Copies the checkpoint into params (and opt, if non-null: the checkpoint must then hold
// optimizer state). Every tensor is checked (missing, unexpected, shape) while filling
// temporaries; only when all succeed are the buffers swapped in. Throws r1::Error naming the
// file and tensor otherwise, leaving params/opt untouched.
void apply_checkpoint(const Checkpoint& ck, ParamSet& params, AdamW* opt);

// FNV-1a 64 (exposed for tests).
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace r1
