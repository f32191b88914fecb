// GGUF writer: serialises metadata and tensors in llama.cpp's exact layout (gguf.h), and
// writes files atomically (PATH.tmp.<pid>, fsync, rename) so a crash never leaves a
// half-written model under the real name.
//
// Everything is validated when added, with the same rules the Reader enforces, so anything
// this writer produces reads back (tests/unit/test_gguf.cpp checks the round trip).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "core/error.h"
#include "io/gguf.h"

namespace r1::gguf {
namespace {

void put_bytes(std::vector<uint8_t>& b, const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
}
template <class T> void put(std::vector<uint8_t>& b, T v) { put_bytes(b, &v, sizeof(T)); }
void put_str(std::vector<uint8_t>& b, const std::string& s) {
    put<uint64_t>(b, s.size());
    put_bytes(b, s.data(), s.size());
}
uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

bool is_fixed(Type t) { return (uint32_t)t < kTypeCount && type_size(t) != 0; }

}  // namespace

void Writer::set_alignment(uint32_t alignment) {
    R1_CHECK(alignment != 0 && (alignment & (alignment - 1)) == 0,
             "[gguf] writer: alignment ", alignment, " is not a power of two");
    R1_CHECK(tensors_.empty(), "[gguf] writer: set the alignment before adding tensors");
    alignment_ = alignment;
    auto it = kv_index_.find("general.alignment");
    if (it != kv_index_.end()) kv_[it->second].value = Value::of(alignment);
    else add("general.alignment", Value::of(alignment));
}

void Writer::add(std::string key, Value v) {
    R1_CHECK(valid_utf8(key), "[gguf] writer: key is not valid UTF-8");
    R1_CHECK(!kv_index_.count(key), "[gguf] writer: duplicate key '", key, "'");
    const uint32_t type = (uint32_t)v.type;
    R1_CHECK(type < kTypeCount, "[gguf] writer: key '", key, "' has unknown type ", type);
    if (v.type == Type::str) {
        R1_CHECK(valid_utf8(v.str), "[gguf] writer: key '", key, "': string is not valid UTF-8");
    } else if (v.type == Type::arr) {
        R1_CHECK(v.elem == Type::str || is_fixed(v.elem), "[gguf] writer: key '", key,
                 "': unsupported array element type ", (uint32_t)v.elem);
        if (v.elem == Type::str) {
            R1_CHECK(v.strs.size() == v.n, "[gguf] writer: key '", key, "': array length ", v.n,
                     " but ", v.strs.size(), " strings");
            for (const auto& s : v.strs)
                R1_CHECK(valid_utf8(s), "[gguf] writer: key '", key, "': element is not valid UTF-8");
        } else {
            R1_CHECK(v.raw.size() == v.n * type_size(v.elem), "[gguf] writer: key '", key,
                     "': array of ", v.n, " ", type_name(v.elem), " has ", v.raw.size(), " bytes");
        }
    }
    if (key == "general.alignment") {
        R1_CHECK(v.type == Type::u32, "[gguf] writer: key 'general.alignment' must be u32, not ",
                 v.type_string());
        const uint32_t a = v.as<uint32_t>();
        R1_CHECK(a != 0 && (a & (a - 1)) == 0, "[gguf] writer: alignment ", a,
                 " is not a power of two");
        R1_CHECK(tensors_.empty(), "[gguf] writer: set the alignment before adding tensors");
        alignment_ = a;
    }
    kv_index_.emplace(key, kv_.size());
    kv_.push_back({std::move(key), std::move(v)});
}

Writer::Tensor& Writer::new_tensor(std::string name, const std::vector<int64_t>& dims, DType type,
                                   size_t nbytes) {
    // Empty names are legal GGUF (the reader accepts them, so the writer does too).
    R1_CHECK(name.size() <= kMaxNameBytes, "[gguf] writer: tensor name '", name,
             "' is longer than ", kMaxNameBytes, " bytes");
    R1_CHECK(valid_utf8(name), "[gguf] writer: tensor name is not valid UTF-8");
    R1_CHECK(!tensor_index_.count(name), "[gguf] writer: duplicate tensor '", name, "'");
    R1_CHECK(dims.size() <= (size_t)kMaxDims, "[gguf] writer: tensor '", name, "' has ",
             dims.size(), " dims (max ", kMaxDims, ")");
    R1_CHECK(dtype_is_valid((uint32_t)type), "[gguf] writer: tensor '", name, "' has unknown type ",
             (uint32_t)type);
    Tensor t;
    t.name = std::move(name);
    t.n_dims = (int)dims.size();
    uint64_t numel = 1;
    for (size_t d = 0; d < dims.size(); d++) {
        R1_CHECK(dims[d] >= 0, "[gguf] writer: tensor '", t.name, "' dimension ", d, " is negative");
        R1_CHECK(!__builtin_mul_overflow(numel, (uint64_t)dims[d], &numel) &&
                     numel <= (uint64_t)INT64_MAX,
                 "[gguf] writer: tensor '", t.name, "' element count overflows");
        t.ne[d] = dims[d];
    }
    t.type = type;
    const int64_t bs = dtype_block_size(type);
    R1_CHECK(t.ne[0] % bs == 0, "[gguf] writer: tensor '", t.name, "' row of ", t.ne[0],
             " elements is not a multiple of the ", dtype_name(type), " block size ", bs);
    uint64_t expect;
    R1_CHECK(!__builtin_mul_overflow(numel / bs, (uint64_t)dtype_block_bytes(type), &expect),
             "[gguf] writer: tensor '", t.name, "' byte size overflows");
    R1_CHECK(expect == nbytes, "[gguf] writer: tensor '", t.name, "' has ", nbytes,
             " bytes, expected ", expect, " for its dims and type ", dtype_name(type));
    t.nbytes = nbytes;
    t.offset = data_size_;
    data_size_ += pad_to(nbytes, alignment_);
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    return tensors_.back();
}

void Writer::add_tensor(std::string name, const std::vector<int64_t>& dims, DType type,
                        const void* data, size_t nbytes) {
    R1_CHECK(data || nbytes == 0, "[gguf] writer: tensor '", name, "' has no data");
    Tensor& t = new_tensor(std::move(name), dims, type, nbytes);
    const auto* p = static_cast<const uint8_t*>(data);
    if (nbytes) t.owned.assign(p, p + nbytes);
    t.data = t.owned.data();
}

void Writer::add_tensor_ref(std::string name, const std::vector<int64_t>& dims, DType type,
                            const void* data, size_t nbytes) {
    R1_CHECK(data || nbytes == 0, "[gguf] writer: tensor '", name, "' has no data");
    Tensor& t = new_tensor(std::move(name), dims, type, nbytes);
    t.data = static_cast<const uint8_t*>(data);
}

std::vector<uint8_t> Writer::header_bytes() const {
    std::vector<uint8_t> b;
    put_bytes(b, "GGUF", 4);
    put<uint32_t>(b, 3);
    put<uint64_t>(b, tensors_.size());
    put<uint64_t>(b, kv_.size());
    for (const auto& [key, v] : kv_) {
        put_str(b, key);
        put<uint32_t>(b, (uint32_t)v.type);
        if (v.type == Type::str) {
            put_str(b, v.str);
        } else if (v.type == Type::arr) {
            put<uint32_t>(b, (uint32_t)v.elem);
            put<uint64_t>(b, v.n);
            if (v.elem == Type::str)
                for (const auto& s : v.strs) put_str(b, s);
            else
                put_bytes(b, v.raw.data(), v.raw.size());
        } else if (v.type == Type::boolean) {
            put<uint8_t>(b, v.as<bool>() ? 1 : 0);
        } else {
            put_bytes(b, &v.bits, type_size(v.type));
        }
    }
    for (const auto& t : tensors_) {
        put_str(b, t.name);
        put<uint32_t>(b, (uint32_t)t.n_dims);
        for (int d = 0; d < t.n_dims; d++) put<uint64_t>(b, (uint64_t)t.ne[d]);
        put<uint32_t>(b, (uint32_t)t.type);
        put<uint64_t>(b, t.offset);
    }
    b.resize(pad_to(b.size(), alignment_), 0);
    return b;
}

std::vector<uint8_t> Writer::to_bytes() const {
    std::vector<uint8_t> b = header_bytes();
    const size_t data_start = b.size();
    b.reserve(data_start + data_size_);
    for (const auto& t : tensors_) {
        put_bytes(b, t.data, t.nbytes);
        b.resize(pad_to(b.size() - data_start, alignment_) + data_start, 0);
    }
    return b;
}

void Writer::write(const std::string& path) const {
    const std::vector<uint8_t> head = header_bytes();
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) fail("[gguf] ", path, ": cannot create ", tmp, ": ", std::strerror(errno));
    bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
    static const uint8_t zeros[256] = {};
    for (const auto& t : tensors_) {
        if (!ok) break;
        if (t.nbytes) ok = std::fwrite(t.data, 1, t.nbytes, f) == t.nbytes;
        const size_t pad = pad_to(t.nbytes, alignment_) - t.nbytes;
        for (size_t done = 0; ok && done < pad;) {
            const size_t k = std::min(pad - done, sizeof zeros);
            ok = std::fwrite(zeros, 1, k, f) == k;
            done += k;
        }
    }
    const int err = errno;
    ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        fail("[gguf] ", path, ": write failed: ", std::strerror(err ? err : errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        fail("[gguf] ", path, ": cannot rename ", tmp, ": ", std::strerror(e));
    }
}

}  // namespace r1::gguf
