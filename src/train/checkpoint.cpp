// Checkpoint writer/reader (format in checkpoint.h).
#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace r1 {
namespace {

constexpr char kMagic[8] = {'R', '1', 'C', 'K', 'P', 'T', 0, 0};
constexpr uint64_t kPreamble = 32;

uint64_t align64(uint64_t x) { return (x + 63) / 64 * 64; }

nlohmann::json rng_to_json(const Rng::State& s) {
    uint32_t bits;
    std::memcpy(&bits, &s.spare, 4);
    return {{"s", {s.s[0], s.s[1], s.s[2], s.s[3]}}, {"has_spare", s.has_spare},
            {"spare_bits", bits}};
}
Rng::State rng_from_json(const nlohmann::json& j) {
    Rng::State s{};
    for (int i = 0; i < 4; i++) s.s[(size_t)i] = j.at("s").at((size_t)i).get<uint64_t>();
    s.has_spare = j.at("has_spare").get<bool>();
    const uint32_t bits = j.at("spare_bits").get<uint32_t>();
    std::memcpy(&s.spare, &bits, 4);
    return s;
}

// Sequential writer that hashes everything it writes.
struct HashingWriter {
    FILE* f;
    const std::string& path;
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t written = 0;
    void write(const void* p, size_t n) {
        if (n == 0) return;
        h = fnv1a64(p, n, h);
        if (std::fwrite(p, 1, n, f) != n)
            fail("[ckpt] ", path, ": write failed: ", std::strerror(errno));
        written += n;
    }
    void pad_to(uint64_t pos) {
        static const uint8_t zeros[64] = {};
        while (written < pos) write(zeros, (size_t)std::min<uint64_t>(64, pos - written));
    }
};

void fsync_dir(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

std::string value_str(const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t n, uint64_t h) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void save_checkpoint(const std::string& path, const CheckpointMeta& meta, const ParamSet& params,
                     const AdamW* opt) {
    const auto& infos = params.infos();
    if (opt)
        R1_CHECK(opt->m().size() == params.data().size(), "[ckpt] ", path,
                 ": optimizer state does not match the model");
    // Tensor table: weights, then m, then v, each at a 64-aligned offset.
    nlohmann::json tensors = nlohmann::json::array();
    struct Item {
        const float* p;
        uint64_t offset, nbytes;
    };
    std::vector<Item> items;
    uint64_t off = 0;
    auto add = [&](const std::string& prefix, const float* base) {
        for (const ParamInfo& pi : infos) {
            const uint64_t nb = (uint64_t)pi.numel * 4;
            tensors.push_back({{"name", prefix + pi.name},
                               {"dtype", "f32"},
                               {"shape", pi.shape},
                               {"offset", off},
                               {"nbytes", nb}});
            items.push_back({base + pi.offset, off, nb});
            off = align64(off + nb);
        }
    };
    add("w/", params.data().data());
    if (opt) {
        add("m/", opt->m().data());
        add("v/", opt->v().data());
    }
    const uint64_t data_bytes = off;

    nlohmann::json h;
    h["format_version"] = kCheckpointVersion;
    h["model"] = meta.config;
    h["step"] = meta.step;
    if (opt) {
        const AdamWConfig& c = opt->config();
        h["adamw"] = {{"t", opt->t()},
                      {"beta1", c.beta1},
                      {"beta2", c.beta2},
                      {"eps", c.eps},
                      {"weight_decay", c.weight_decay}};
    } else {
        h["adamw"] = nullptr;
    }
    nlohmann::json rngs = nlohmann::json::object();
    for (const auto& [name, st] : meta.rngs) rngs[name] = rng_to_json(st);
    h["rng"] = rngs;
    h["data"] = meta.data;
    h["train_options"] = meta.train_options;
    h["extra"] = meta.extra;
    h["data_bytes"] = data_bytes;
    h["tensors"] = tensors;
    const std::string header = h.dump();
    const uint64_t data_start = align64(kPreamble + header.size());
    const uint64_t file_size = data_start + data_bytes + 8;

    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    R1_CHECK(f, "[ckpt] ", tmp, ": cannot create: ", std::strerror(errno));
    try {
        HashingWriter w{f, tmp};
        w.write(kMagic, 8);
        const uint32_t ver[2] = {kCheckpointVersion, 0};
        w.write(ver, 8);
        const uint64_t hl = header.size();
        w.write(&hl, 8);
        w.write(&file_size, 8);
        w.write(header.data(), header.size());
        w.pad_to(data_start);
        for (const Item& it : items) {
            w.pad_to(data_start + it.offset);
            w.write(it.p, (size_t)it.nbytes);
        }
        w.pad_to(data_start + data_bytes);
        const uint64_t sum = w.h;
        if (std::fwrite(&sum, 1, 8, f) != 8)
            fail("[ckpt] ", tmp, ": write failed: ", std::strerror(errno));
        if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0)
            fail("[ckpt] ", tmp, ": flush failed: ", std::strerror(errno));
    } catch (...) {
        std::fclose(f);
        std::remove(tmp.c_str());
        throw;
    }
    std::fclose(f);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        fail("[ckpt] ", path, ": cannot rename ", tmp, " over it: ", std::strerror(e));
    }
    fsync_dir(path);
}

Checkpoint read_checkpoint(const std::string& path, const ModelConfig* expected) {
    Checkpoint ck;
    ck.path = path;
    FILE* f = std::fopen(path.c_str(), "rb");
    R1_CHECK(f, "[ckpt] ", path, ": cannot open: ", std::strerror(errno));
    std::fseek(f, 0, SEEK_END);
    const long size_l = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    const uint64_t size = size_l < 0 ? 0 : (uint64_t)size_l;
    ck.bytes.resize(size);
    const size_t got = size ? std::fread(ck.bytes.data(), 1, size, f) : 0;
    std::fclose(f);
    R1_CHECK(got == size, "[ckpt] ", path, ": read error");
    const uint8_t* b = ck.bytes.data();

    R1_CHECK(size >= 8 && std::memcmp(b, kMagic, 8) == 0, "[ckpt] ", path,
             ": bad magic (not an r1 checkpoint)");
    R1_CHECK(size >= kPreamble + 8, "[ckpt] ", path, ": truncated: expected at least ",
             kPreamble + 8, " bytes, found ", size);
    uint64_t header_len, file_size;
    std::memcpy(&header_len, b + 16, 8);
    std::memcpy(&file_size, b + 24, 8);
    R1_CHECK(size >= file_size, "[ckpt] ", path, ": truncated: expected ", file_size,
             " bytes, found ", size);
    R1_CHECK(size == file_size, "[ckpt] ", path, ": size mismatch: expected ", file_size,
             " bytes, found ", size, " (trailing data or corrupt size field)");
    uint64_t stored;
    std::memcpy(&stored, b + size - 8, 8);
    const uint64_t actual = fnv1a64(b, (size_t)(size - 8));
    R1_CHECK(stored == actual, "[ckpt] ", path,
             ": bad checksum (file is corrupt: stored FNV-1a ", stored, ", computed ", actual, ")");
    uint32_t version;
    std::memcpy(&version, b + 8, 4);
    R1_CHECK(version == kCheckpointVersion, "[ckpt] ", path, ": unsupported format version ",
             version, " (this build reads version ", kCheckpointVersion, ")");
    R1_CHECK(header_len <= size - kPreamble - 8, "[ckpt] ", path, ": header length ", header_len,
             " exceeds the file");

    nlohmann::json h = nlohmann::json::parse(b + kPreamble, b + kPreamble + header_len, nullptr,
                                             /*allow_exceptions=*/false);
    R1_CHECK(h.is_object(), "[ckpt] ", path, ": header is not valid JSON");
    try {
        ck.meta.config = h.at("model").get<ModelConfig>();
        ck.meta.step = h.at("step").get<int64_t>();
        ck.meta.data = h.at("data").get<DataCursor>();
        for (auto& [name, st] : h.at("rng").items()) ck.meta.rngs[name] = rng_from_json(st);
        ck.meta.train_options = h.at("train_options");
        ck.meta.extra = h.at("extra");
        const auto& a = h.at("adamw");
        ck.has_optimizer = !a.is_null();
        if (ck.has_optimizer) {
            ck.adam_t = a.at("t").get<int64_t>();
            ck.adam_cfg.beta1 = a.at("beta1").get<float>();
            ck.adam_cfg.beta2 = a.at("beta2").get<float>();
            ck.adam_cfg.eps = a.at("eps").get<float>();
            ck.adam_cfg.weight_decay = a.at("weight_decay").get<float>();
        }
        const uint64_t data_bytes = h.at("data_bytes").get<uint64_t>();
        ck.data_start = align64(kPreamble + header_len);
        R1_CHECK(ck.data_start + data_bytes + 8 == size, "[ckpt] ", path,
                 ": header says ", data_bytes, " data bytes, which does not match the file size");
        for (const auto& t : h.at("tensors")) {
            Checkpoint::Entry e;
            const std::string name = t.at("name").get<std::string>();
            R1_CHECK(t.at("dtype").get<std::string>() == "f32", "[ckpt] ", path, ": tensor '",
                     name, "' has unsupported dtype ", t.at("dtype").dump());
            e.shape = t.at("shape").get<std::vector<int64_t>>();
            e.offset = t.at("offset").get<uint64_t>();
            e.nbytes = t.at("nbytes").get<uint64_t>();
            uint64_t numel = 1;
            for (int64_t d : e.shape) {
                R1_CHECK(d > 0, "[ckpt] ", path, ": tensor '", name, "' has a bad shape");
                numel *= (uint64_t)d;
            }
            R1_CHECK(e.nbytes == numel * 4, "[ckpt] ", path, ": tensor '", name, "' has ",
                     e.nbytes, " bytes for ", numel, " floats");
            R1_CHECK(e.offset % 4 == 0 && e.offset <= data_bytes && e.nbytes <= data_bytes - e.offset,
                     "[ckpt] ", path, ": tensor '", name, "' lies outside the data section");
            R1_CHECK(ck.tensors.emplace(name, std::move(e)).second, "[ckpt] ", path,
                     ": duplicate tensor '", name, "'");
        }
    } catch (const nlohmann::json::exception& e) {
        fail("[ckpt] ", path, ": malformed header: ", e.what());
    }

    if (expected) {
        // Field-by-field comparison; the most telling field is named first.
        const nlohmann::json want = *expected, have = ck.meta.config;
        static const char* kOrder[] = {"arch",     "n_vocab",   "n_embd",  "n_layer",
                                       "n_head",   "n_head_kv", "head_dim", "n_ff",
                                       "n_expert", "n_expert_used", "n_ctx"};
        std::vector<std::string> keys;
        for (const char* k : kOrder)
            if (want.contains(k)) keys.push_back(k);
        for (auto it = want.begin(); it != want.end(); ++it)
            if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
        std::string first;
        std::vector<std::string> others;
        for (const std::string& k : keys) {
            const auto hv = have.find(k);
            std::string msg;
            if (hv == have.end())
                msg = k + " is missing in the checkpoint, " + value_str(want[k]) + " requested";
            else if (*hv != want[k])
                msg = k + " is " + value_str(*hv) + " in the checkpoint, " + value_str(want[k]) +
                      " requested";
            else
                continue;
            if (first.empty())
                first = msg;
            else
                others.push_back(k);
        }
        if (!first.empty()) {
            std::string more;
            for (auto& k : others) more += (more.empty() ? "" : ", ") + k;
            fail("[ckpt] ", path, ": ", first,
                 others.empty() ? std::string() : " (also different: " + more + ")");
        }
    }
    return ck;
}

void apply_checkpoint(const Checkpoint& ck, ParamSet& params, AdamW* opt) {
    const std::string& path = ck.path;
    R1_CHECK(!opt || ck.has_optimizer, "[ckpt] ", path,
             ": holds weights only (no optimizer state) and cannot resume training");
    const uint8_t* data = ck.bytes.data() + ck.data_start;
    const size_t n = params.data().size();
    auto fill = [&](const std::string& prefix, Buffer<float>& out) {
        out.resize(n);
        size_t used = 0;
        for (const ParamInfo& pi : params.infos()) {
            const auto it = ck.tensors.find(prefix + pi.name);
            R1_CHECK(it != ck.tensors.end(), "[ckpt] ", path, ": missing tensor '", prefix,
                     pi.name, "'");
            const auto& e = it->second;
            if (e.shape != pi.shape) {
                std::string a, bs;
                for (int64_t d : e.shape) a += (a.empty() ? "" : ", ") + std::to_string(d);
                for (int64_t d : pi.shape) bs += (bs.empty() ? "" : ", ") + std::to_string(d);
                fail("[ckpt] ", path, ": tensor '", prefix, pi.name, "' has shape [", a,
                     "] in the checkpoint, [", bs, "] expected");
            }
            std::memcpy(out.data() + pi.offset, data + e.offset, (size_t)e.nbytes);
            used++;
        }
        return used;
    };
    Buffer<float> w, m, v;
    size_t used = fill("w/", w);
    if (opt) {
        R1_CHECK(opt->m().size() == n, "[ckpt] ", path, ": optimizer does not match the model");
        used += fill("m/", m);
        used += fill("v/", v);
    }
    // Tensors the model does not have (excluding m/v when only weights are requested).
    for (const auto& [name, e] : ck.tensors) {
        const bool is_w = name.rfind("w/", 0) == 0;
        if (!is_w && !opt) continue;
        if (!params.find(name.substr(2)))
            fail("[ckpt] ", path, ": unexpected tensor '", name, "' (not in the requested model)");
    }
    (void)used;
    // Everything validated: swap in (no throws past this point).
    params.data().swap(w);
    if (opt) {
        opt->m().swap(m);
        opt->v().swap(v);
        opt->set_t(ck.adam_t);
    }
}

}  // namespace r1
