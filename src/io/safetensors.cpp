// safetensors reader (mmap + full validation) and writer. See safetensors.h for the format.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"

namespace r1 {

namespace {

struct DTypeName {
    StDType t;
    const char* name;
    int64_t size;
};
constexpr DTypeName kDTypes[] = {
    {StDType::F64, "F64", 8}, {StDType::F32, "F32", 4},  {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::I64, "I64", 8}, {StDType::I32, "I32", 4},
    {StDType::I16, "I16", 2}, {StDType::I8, "I8", 1},     {StDType::U8, "U8", 1},
    {StDType::BOOL, "BOOL", 1}, {StDType::F8_E4M3, "F8_E4M3", 1}};

// Header size limit (the reference implementation uses 100 MB).
constexpr uint64_t kMaxHeader = 100ull << 20;

}  // namespace

const char* st_dtype_name(StDType t) {
    for (const auto& d : kDTypes)
        if (d.t == t) return d.name;
    return "?";
}

int64_t st_dtype_size(StDType t) {
    for (const auto& d : kDTypes)
        if (d.t == t) return d.size;
    return 0;
}

int64_t StTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
    const std::string where = "[safetensors] " + path + ": ";
    int fd = ::open(path.c_str(), O_RDONLY);
    R1_CHECK(fd >= 0, where, "cannot open (", std::strerror(errno), ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        fail(where, "cannot stat");
    }
    size_ = (size_t)st.st_size;
    if (size_ < 8) {
        ::close(fd);
        fail(where, "file too small for a header (", size_, " bytes)");
    }
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    R1_CHECK(m != MAP_FAILED, where, "mmap failed");
    base_ = static_cast<const uint8_t*>(m);

    try {
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)base_[i] << (8 * i);
        R1_CHECK(hlen <= kMaxHeader, where, "header length ", hlen, " too large");
        R1_CHECK(hlen <= size_ - 8, where, "header length ", hlen, " exceeds file size ", size_);
        data_start_ = 8 + (int64_t)hlen;
        const int64_t data_size = (int64_t)size_ - data_start_;

        nlohmann::json h;
        try {
            h = nlohmann::json::parse(base_ + 8, base_ + 8 + hlen);
        } catch (const nlohmann::json::exception& e) {
            fail(where, "bad JSON header: ", e.what());
        }
        R1_CHECK(h.is_object(), where, "header is not a JSON object");
        for (auto it = h.begin(); it != h.end(); ++it) {
            const std::string& name = it.key();
            const auto& v = it.value();
            if (name == "__metadata__") {
                R1_CHECK(v.is_object(), where, "__metadata__ must be an object");
                for (auto m2 = v.begin(); m2 != v.end(); ++m2) {
                    R1_CHECK(m2.value().is_string(), where, "__metadata__ value '", m2.key(),
                             "' is not a string");
                    metadata_[m2.key()] = m2.value().get<std::string>();
                }
                continue;
            }
            const std::string tw = where + "tensor '" + name + "': ";
            R1_CHECK(v.is_object(), tw, "entry is not an object");
            StTensor t;
            t.name = name;
            auto dt = v.find("dtype");
            R1_CHECK(dt != v.end() && dt->is_string(), tw, "missing dtype");
            bool ok = false;
            for (const auto& d : kDTypes)
                if (*dt == d.name) t.dtype = d.t, ok = true;
            R1_CHECK(ok, tw, "unsupported dtype ", dt->get<std::string>());
            auto sh = v.find("shape");
            R1_CHECK(sh != v.end() && sh->is_array(), tw, "missing shape");
            int64_t numel = 1;
            for (const auto& d : *sh) {
                R1_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, tw, "bad shape entry");
                const int64_t di = d.get<int64_t>();
                R1_CHECK(di == 0 || numel <= (int64_t(1) << 56) / di, tw, "shape too large");
                numel *= di;
                t.shape.push_back(di);
            }
            auto off = v.find("data_offsets");
            R1_CHECK(off != v.end() && off->is_array() && off->size() == 2 &&
                         (*off)[0].is_number_integer() && (*off)[1].is_number_integer(),
                     tw, "missing or bad data_offsets");
            t.begin = (*off)[0].get<int64_t>();
            t.end = (*off)[1].get<int64_t>();
            R1_CHECK(t.begin >= 0 && t.begin <= t.end && t.end <= data_size, tw, "data_offsets [",
                     t.begin, ", ", t.end, ") out of range (data section is ", data_size,
                     " bytes)");
            R1_CHECK(t.end - t.begin == numel * st_dtype_size(t.dtype), tw, "size mismatch: shape×",
                     st_dtype_name(t.dtype), " = ", numel * st_dtype_size(t.dtype),
                     " bytes, offsets span ", t.end - t.begin);
            index_[name] = tensors_.size();
            tensors_.push_back(std::move(t));
        }
        // no two tensors may share bytes
        std::vector<const StTensor*> by_off;
        for (const auto& t : tensors_) by_off.push_back(&t);
        std::sort(by_off.begin(), by_off.end(),
                  [](const StTensor* a, const StTensor* b) { return a->begin < b->begin; });
        for (size_t i = 1; i < by_off.size(); i++)
            R1_CHECK(by_off[i]->begin >= by_off[i - 1]->end || by_off[i - 1]->begin == by_off[i - 1]->end,
                     where, "tensors '", by_off[i - 1]->name, "' and '", by_off[i]->name,
                     "' overlap");
    } catch (...) {
        ::munmap(const_cast<uint8_t*>(base_), size_);
        base_ = nullptr;
        throw;
    }
}

SafetensorsReader::~SafetensorsReader() {
    if (base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

const StTensor* SafetensorsReader::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const StTensor& SafetensorsReader::at(const std::string& name) const {
    const StTensor* t = find(name);
    if (!t) fail("[safetensors] ", path_, ": no tensor '", name, "'");
    return *t;
}

void SafetensorsReader::read_f32_into(const std::string& name, float* dst, int64_t n) const {
    const StTensor& t = at(name);
    R1_CHECK(t.numel() == n, "[safetensors] ", path_, ": tensor '", name, "' has ", t.numel(),
             " elements, expected ", n);
    const uint8_t* p = data(t);
    switch (t.dtype) {
        case StDType::F32: std::memcpy(dst, p, sizeof(float) * n); break;
        case StDType::F16: {
            std::vector<uint16_t> h((size_t)n);
            std::memcpy(h.data(), p, 2 * n);
            for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(h[i]);
            break;
        }
        case StDType::BF16: {
            std::vector<uint16_t> h((size_t)n);
            std::memcpy(h.data(), p, 2 * n);
            for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
            break;
        }
        case StDType::F64:
            for (int64_t i = 0; i < n; i++) {
                double d;
                std::memcpy(&d, p + 8 * i, 8);
                dst[i] = (float)d;
            }
            break;
        default:
            fail("[safetensors] ", path_, ": tensor '", name, "' has dtype ",
                 st_dtype_name(t.dtype), ", expected a float type");
    }
}

std::vector<float> SafetensorsReader::read_f32(const std::string& name) const {
    const StTensor& t = at(name);
    std::vector<float> v((size_t)t.numel());
    read_f32_into(name, v.data(), t.numel());
    return v;
}

std::vector<int64_t> SafetensorsReader::read_i64(const std::string& name) const {
    const StTensor& t = at(name);
    const int64_t n = t.numel();
    std::vector<int64_t> v((size_t)n);
    const uint8_t* p = data(t);
    for (int64_t i = 0; i < n; i++) {
        switch (t.dtype) {
            case StDType::I64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); v[i] = x; break; }
            case StDType::I32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); v[i] = x; break; }
            case StDType::I16: { int16_t x; std::memcpy(&x, p + 2 * i, 2); v[i] = x; break; }
            case StDType::I8: v[i] = (int8_t)p[i]; break;
            case StDType::U8:
            case StDType::BOOL: v[i] = p[i]; break;
            default:
                fail("[safetensors] ", path_, ": tensor '", name, "' has dtype ",
                     st_dtype_name(t.dtype), ", expected an integer type");
        }
    }
    return v;
}

void SafetensorsWriter::add(const std::string& name, StDType dtype,
                            const std::vector<int64_t>& shape, const void* data) {
    R1_CHECK(name != "__metadata__", "[safetensors] reserved tensor name __metadata__");
    for (const auto& e : entries_)
        R1_CHECK(e.name != name, "[safetensors] duplicate tensor '", name, "'");
    Entry e{name, dtype, shape, {}};
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    e.bytes.resize((size_t)(n * st_dtype_size(dtype)));
    if (!e.bytes.empty()) std::memcpy(e.bytes.data(), data, e.bytes.size());
    entries_.push_back(std::move(e));
}

void SafetensorsWriter::write(const std::string& path) const {
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    if (!metadata_.empty()) h["__metadata__"] = metadata_;
    int64_t off = 0;
    for (const auto& e : entries_) {
        const int64_t end = off + (int64_t)e.bytes.size();
        h[e.name] = {{"dtype", st_dtype_name(e.dtype)}, {"shape", e.shape},
                     {"data_offsets", {off, end}}};
        off = end;
    }
    std::string hs = h.dump();
    while ((hs.size() + 8) % 8) hs.push_back(' ');  // data section 8-byte aligned
    std::ofstream f(path, std::ios::binary);
    R1_CHECK(f.good(), "[safetensors] ", path, ": cannot create");
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)hs.size() >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(hs.data(), (std::streamsize)hs.size());
    for (const auto& e : entries_)
        f.write(reinterpret_cast<const char*>(e.bytes.data()), (std::streamsize)e.bytes.size());
    f.close();
    R1_CHECK(f.good(), "[safetensors] ", path, ": write failed");
}

}  // namespace r1
