// GGUF reader: bounds-checked parse of a mapped file or a caller's buffer (see gguf.h).
//
// Safety contract: every read goes through Cursor, which checks the bytes left first; every
// count or length read from the file is compared with the bytes left before it sizes an
// allocation (a u64 string length of 2^60 fails, it does not allocate); all offset and size
// arithmetic is overflow-checked. Errors name the field and the byte where it starts.
#include "io/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "core/error.h"

namespace r1::gguf {

// ---- names, values ---------------------------------------------------------------------

const char* type_name(Type t) {
    switch (t) {
        case Type::u8: return "u8";
        case Type::i8: return "i8";
        case Type::u16: return "u16";
        case Type::i16: return "i16";
        case Type::u32: return "u32";
        case Type::i32: return "i32";
        case Type::f32: return "f32";
        case Type::boolean: return "bool";
        case Type::str: return "string";
        case Type::arr: return "array";
        case Type::u64: return "u64";
        case Type::i64: return "i64";
        case Type::f64: return "f64";
    }
    return "?";
}

size_t type_size(Type t) {
    switch (t) {
        case Type::u8: case Type::i8: case Type::boolean: return 1;
        case Type::u16: case Type::i16: return 2;
        case Type::u32: case Type::i32: case Type::f32: return 4;
        case Type::u64: case Type::i64: case Type::f64: return 8;
        case Type::str: case Type::arr: return 0;
    }
    return 0;
}

const char* ggml_type_name(uint32_t id) {
    // ggml.h enum ggml_type; empty slots are ids ggml has retired.
    static const char* const names[] = {
        "f32", "f16", "q4_0", "q4_1", "", "", "q5_0", "q5_1", "q8_0", "q8_1",
        "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
        "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m",
        "bf16", "", "", "", "tq1_0", "tq2_0", "", "", "", "mxfp4"};
    if (id < sizeof(names) / sizeof(names[0]) && names[id][0]) return names[id];
    return "unknown";
}

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return false;  // continuation byte, overlong lead (C0/C1) or > F4
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

bool Value::operator==(const Value& o) const {
    if (type != o.type) return false;
    switch (type) {
        case Type::str: return str == o.str;
        case Type::arr:
            if (elem != o.elem || n != o.n) return false;
            return elem == Type::str ? strs == o.strs : raw == o.raw;
        case Type::boolean: return as<bool>() == o.as<bool>();
        default: return bits == o.bits;
    }
}

std::string Value::type_string() const {
    if (type != Type::arr) return type_name(type);
    return std::string("array[") + type_name(elem) + "]";
}

namespace {

// Quoted string with control characters and quotes escaped; long strings cut at 80 bytes.
std::string quote(const std::string& s) {
    std::string out = "\"";
    size_t shown = std::min<size_t>(s.size(), 80);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') out += '\\', out += (char)c;
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else out += (char)c;
    }
    if (shown < s.size()) out += "...";
    return out + "\"";
}

template <class T> std::string num_string(T v) {
    char b[40];
    if constexpr (std::is_same_v<T, float>) std::snprintf(b, sizeof b, "%.9g", (double)v);
    else if constexpr (std::is_same_v<T, double>) std::snprintf(b, sizeof b, "%.17g", v);
    else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
    else if constexpr (std::is_signed_v<T>) std::snprintf(b, sizeof b, "%" PRId64, (int64_t)v);
    else std::snprintf(b, sizeof b, "%" PRIu64, (uint64_t)v);
    return b;
}

// Calls f(T{}) with T the C++ type of the fixed-size GGUF type t.
template <class F> auto visit_scalar(Type t, F&& f) {
    switch (t) {
        case Type::u8: return f(uint8_t{});
        case Type::i8: return f(int8_t{});
        case Type::u16: return f(uint16_t{});
        case Type::i16: return f(int16_t{});
        case Type::u32: return f(uint32_t{});
        case Type::i32: return f(int32_t{});
        case Type::f32: return f(float{});
        case Type::boolean: return f(bool{});
        case Type::u64: return f(uint64_t{});
        case Type::i64: return f(int64_t{});
        default: return f(double{});
    }
}

}  // namespace

std::string format_value(const Value& v, size_t max_items) {
    if (v.type == Type::str) return quote(v.str);
    if (v.type != Type::arr)
        return visit_scalar(v.type, [&](auto z) { return num_string(v.as<decltype(z)>()); });
    std::string out = v.type_string() + " x " + std::to_string(v.n) + " [";
    size_t shown = std::min<uint64_t>(v.n, max_items);
    for (size_t i = 0; i < shown; i++) {
        if (i) out += ", ";
        if (v.elem == Type::str) out += quote(v.strs[i]);
        else out += visit_scalar(v.elem, [&](auto z) { return num_string(v.at<decltype(z)>(i)); });
    }
    if (shown < v.n) out += ", ...";
    return out + "]";
}

// ---- reader ----------------------------------------------------------------------------

struct Reader::Mapping {
    void* addr = nullptr;
    size_t len = 0;
    ~Mapping() {
        if (addr) munmap(addr, len);
    }
};

Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;
Reader::~Reader() = default;

namespace {

// Minimum bytes a record can occupy, used to bound counts before reserving anything.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;           // key length, type, 1-byte value
constexpr uint64_t kMinTensorBytes = 8 + 4 + 4 + 8;   // name length, n_dims, type, offset
// Counts are bounded by the bytes left, but a record in memory is larger than its minimum
// on disk; reserve at most this many up front and let real data grow the rest.
constexpr uint64_t kReserveCap = 4096;

// Bounds-checked little-endian reads over [p, p+size). `ctx` names the record being read
// ("key 'x'", "tensor #3") so that errors say where they are.
struct Cursor {
    const uint8_t* p;
    size_t size;
    const std::string& file;
    size_t pos = 0;
    std::string ctx = "header";

    size_t left() const { return size - pos; }

    template <class... A> [[noreturn]] void error_at(size_t at, A&&... a) const {
        fail("[gguf] ", file, ": ", ctx, ": ", std::forward<A>(a)..., " at byte ", at);
    }
    void need(size_t n, const char* what) const {
        if (left() < n) error_at(pos, "truncated ", what, " (", n, " bytes needed, ", left(), " left)");
    }
    template <class T> T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string read_str(const char* what, bool check_utf8) {
        const size_t at = pos;
        const uint64_t len = read<uint64_t>(what);
        if (len > left())
            error_at(at, what, " length ", len, " exceeds the ", left(), " bytes left");
        std::string s(reinterpret_cast<const char*>(p + pos), (size_t)len);
        pos += len;
        if (check_utf8 && !valid_utf8(s)) error_at(at, what, " is not valid UTF-8");
        return s;
    }
};

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

Reader Reader::open(const std::string& path, const ReadOptions& opt) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("[gguf] ", path, ": cannot open: ", std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        fail("[gguf] ", path, ": cannot stat: ", std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail("[gguf] ", path, ": not a regular file");
    }
    Reader r;
    r.name_ = path;
    r.map_ = std::make_unique<Mapping>();
    if (st.st_size > 0) {
        void* a = mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        const int e = errno;
        ::close(fd);
        if (a == MAP_FAILED) fail("[gguf] ", path, ": cannot mmap: ", std::strerror(e));
#ifdef MADV_HUGEPAGE
        // Decode streams every weight once per token: with 4 KiB pages that is ~250k TLB
        // entries per token for a 1 GB model, and the hardware prefetchers stop at each page
        // boundary. Recent kernels (6.x, ext4/xfs large folios) cache a file read cold in
        // 2 MiB folios and map them with 2 MiB entries into a large mapping, which made F16
        // decode ~1.2x faster here (docs/performance.md "Page cache"). A cold read gets such
        // folios by readahead anyway; this hint asks the fault path for whole 2 MiB folios
        // directly. Advisory: THP off, tmpfs or older kernels ignore it.
        madvise(a, (size_t)st.st_size, MADV_HUGEPAGE);
#endif
        r.map_->addr = a;
        r.map_->len = (size_t)st.st_size;
        r.base_ = static_cast<const uint8_t*>(a);
        r.size_ = (size_t)st.st_size;
    } else {
        ::close(fd);
    }
    r.parse_all(opt);
    return r;
}

Reader Reader::parse(const void* data, size_t size, std::string name, const ReadOptions& opt) {
    Reader r;
    r.name_ = std::move(name);
    r.base_ = static_cast<const uint8_t*>(data);
    r.size_ = data ? size : 0;
    r.parse_all(opt);
    return r;
}

void Reader::parse_all(const ReadOptions& opt) {
    static const uint8_t kEmpty = 0;
    Cursor c{base_ ? base_ : &kEmpty, size_, name_};

    // ---- header ----
    c.need(4, "magic");
    if (std::memcmp(c.p, "GGUF", 4) != 0) {
        std::string shown;
        for (int i = 0; i < 4; i++) shown += (c.p[i] >= 0x20 && c.p[i] < 0x7f) ? (char)c.p[i] : '?';
        c.error_at(0, "bad magic '", shown, "' (expected 'GGUF')");
    }
    c.pos = 4;
    version_ = c.read<uint32_t>("version");
    if ((version_ & 0xFFFF) == 0 && version_ != 0)
        c.error_at(4, "version ", version_, " looks byte-swapped (big-endian GGUF is not supported)");
    if (version_ != 2 && version_ != 3)
        c.error_at(4, "unsupported version ", version_, " (supported: 2, 3)");
    const size_t n_tensors_at = c.pos;
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const size_t n_kv_at = c.pos;
    const uint64_t n_kv = c.read<uint64_t>("kv count");
    if (n_kv > c.left() / kMinKvBytes)
        c.error_at(n_kv_at, "kv count ", n_kv, " is more than the ", c.left(), " bytes left can hold");
    if (n_tensors > c.left() / kMinTensorBytes)
        c.error_at(n_tensors_at, "tensor count ", n_tensors, " is more than the ", c.left(),
                   " bytes left can hold");

    // ---- metadata ----
    kv_.reserve((size_t)std::min<uint64_t>(n_kv, kReserveCap));
    size_t alignment_at = 0;  // where general.alignment's value starts, for messages
    for (uint64_t i = 0; i < n_kv; i++) {
        c.ctx = "key #" + std::to_string(i);
        const size_t key_at = c.pos;
        std::string key = c.read_str("key", opt.check_utf8);
        if (kv_index_.count(key)) c.error_at(key_at, "duplicate key '", key, "'");
        c.ctx = "key '" + key + "'";
        Value v;
        const size_t type_at = c.pos;
        const uint32_t type = c.read<uint32_t>("value type");
        if (type >= kTypeCount) c.error_at(type_at, "unknown value type ", type);
        if (key == "general.alignment") alignment_at = c.pos;
        v.type = (Type)type;
        if (v.type == Type::str) {
            v.str = c.read_str("string value", opt.check_utf8);
        } else if (v.type == Type::arr) {
            const size_t elem_at = c.pos;
            const uint32_t elem = c.read<uint32_t>("array element type");
            if (elem >= kTypeCount) c.error_at(elem_at, "unknown array element type ", elem);
            if ((Type)elem == Type::arr)
                c.error_at(elem_at, "arrays of arrays are not supported (llama.cpp rejects them)");
            v.elem = (Type)elem;
            const size_t n_at = c.pos;
            v.n = c.read<uint64_t>("array length");
            if (v.elem == Type::str) {
                // Each string needs at least its 8-byte length.
                if (v.n > c.left() / 8)
                    c.error_at(n_at, "array length ", v.n, " (string elements) exceeds the ",
                               c.left(), " bytes left");
                v.strs.reserve((size_t)std::min<uint64_t>(v.n, kReserveCap));
                const std::string kv_ctx = c.ctx;
                for (uint64_t j = 0; j < v.n; j++) {
                    std::string s = c.read_str("string element", false);
                    if (opt.check_utf8 && !valid_utf8(s)) {
                        c.ctx = kv_ctx + " element " + std::to_string(j);
                        c.error_at(c.pos - s.size() - 8, "string element is not valid UTF-8");
                    }
                    v.strs.push_back(std::move(s));
                }
            } else {
                const size_t es = type_size(v.elem);
                if (v.n > c.left() / es)
                    c.error_at(n_at, "array length ", v.n, " of ", type_name(v.elem),
                               " exceeds the ", c.left(), " bytes left");
                const size_t nbytes = (size_t)v.n * es;
                v.raw.assign(c.p + c.pos, c.p + c.pos + nbytes);
                c.pos += nbytes;
            }
        } else {
            const size_t es = type_size(v.type);
            c.need(es, type_name(v.type));
            std::memcpy(&v.bits, c.p + c.pos, es);
            c.pos += es;
        }
        kv_index_.emplace(key, kv_.size());
        kv_.push_back({std::move(key), std::move(v)});
    }

    // ---- alignment ----
    if (const Value* a = find("general.alignment")) {
        c.ctx = "key 'general.alignment'";
        if (a->type != Type::u32)
            c.error_at(alignment_at, "has type ", a->type_string(), ", expected u32");
        alignment_ = a->as<uint32_t>();
        if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
            c.error_at(alignment_at, "alignment ", alignment_, " is not a power of two");
    }

    // ---- tensor infos ----
    c.ctx = "header";
    if (n_tensors > c.left() / kMinTensorBytes)
        c.error_at(n_tensors_at, "tensor count ", n_tensors, " is more than the ", c.left(),
                   " bytes left after the metadata can hold");
    tensors_.reserve((size_t)std::min<uint64_t>(n_tensors, kReserveCap));
    std::vector<size_t> offset_at;  // where each tensor's offset field is, for messages
    for (uint64_t i = 0; i < n_tensors; i++) {
        c.ctx = "tensor #" + std::to_string(i);
        TensorInfo t;
        const size_t name_at = c.pos;
        t.name = c.read_str("name", opt.check_utf8);
        if (t.name.size() > kMaxNameBytes)
            c.error_at(name_at, "name is ", t.name.size(), " bytes long (max ", kMaxNameBytes, ")");
        if (tensor_index_.count(t.name)) c.error_at(name_at, "duplicate tensor name '", t.name, "'");
        c.ctx = "tensor '" + t.name + "'";
        const size_t dims_at = c.pos;
        const uint32_t n_dims = c.read<uint32_t>("n_dims");
        if (n_dims > (uint32_t)kMaxDims) c.error_at(dims_at, "n_dims ", n_dims, " exceeds ", kMaxDims);
        t.n_dims = (int)n_dims;
        uint64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; d++) {
            const size_t at = c.pos;
            const uint64_t ne = c.read<uint64_t>("dimension");
            if (ne > (uint64_t)INT64_MAX) c.error_at(at, "dimension ", d, " is negative as int64");
            if (!checked_mul(numel, ne, &numel) || numel > (uint64_t)INT64_MAX)
                c.error_at(at, "element count overflows int64 at dimension ", d);
            t.ne[d] = (int64_t)ne;
        }
        const size_t type_at = c.pos;
        const uint32_t type = c.read<uint32_t>("ggml type");
        if (!dtype_is_valid(type))
            c.error_at(type_at, "unsupported ggml type ", type, " (", ggml_type_name(type),
                       "); supported: f32, f16, bf16, q8_0, q4_0, i32");
        t.type = (DType)type;
        const int64_t bs = dtype_block_size(t.type), bb = dtype_block_bytes(t.type);
        if (t.ne[0] % bs != 0)
            c.error_at(type_at, "row of ", t.ne[0], " elements is not a multiple of the ",
                       dtype_name(t.type), " block size ", bs);
        // numel <= INT64_MAX and bb <= 34: the product fits in u64 unless it overflows, checked.
        uint64_t nbytes;
        if (!checked_mul(numel / (uint64_t)bs, (uint64_t)bb, &nbytes))
            c.error_at(type_at, "byte size overflows");
        offset_at.push_back(c.pos);
        t.offset = c.read<uint64_t>("data offset");
        if (nbytes > size_) c.error_at(offset_at[i], "data size ", nbytes, " exceeds the file size ", size_);
        t.nbytes = (size_t)nbytes;
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }

    // ---- data section ----
    c.ctx = "data section";
    const uint64_t end_of_infos = c.pos;
    data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;  // no overflow: pos <= size
    if (!tensors_.empty() && data_offset_ > size_)
        c.error_at(end_of_infos, "truncated padding before the data section (starts at ",
                   data_offset_, ", file size ", size_, ")");
    for (size_t i = 0; i < tensors_.size(); i++) {
        TensorInfo& t = tensors_[i];
        c.ctx = "tensor '" + t.name + "'";
        if (t.offset % alignment_ != 0)
            c.error_at(offset_at[i], "data offset ", t.offset, " is not a multiple of the alignment ",
                       alignment_);
        // data_offset_ <= size_ here, and offset, nbytes are compared without overflow.
        const uint64_t room = size_ - data_offset_;
        if (t.offset > room || t.nbytes > room - t.offset)
            c.error_at(offset_at[i], "data [", t.offset, ", +", t.nbytes, ") runs past the end of the file (",
                       room, " bytes of data section)");
        t.data = c.p + data_offset_ + t.offset;
    }
    // Non-overlap: sort the non-empty ranges by start.
    std::vector<size_t> order;
    for (size_t i = 0; i < tensors_.size(); i++)
        if (tensors_[i].nbytes) order.push_back(i);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); k++) {
        const TensorInfo& prev = tensors_[order[k - 1]];
        const TensorInfo& t = tensors_[order[k]];
        if (t.offset < prev.offset + prev.nbytes) {
            c.ctx = "tensor '" + t.name + "'";
            c.error_at(offset_at[order[k]], "data [", t.offset, ", +", t.nbytes, ") overlaps tensor '",
                       prev.name, "' [", prev.offset, ", +", prev.nbytes, ")");
        }
    }
}

const Value* Reader::find(std::string_view key) const {
    auto it = kv_index_.find(std::string(key));
    return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const Value& Reader::expect(std::string_view key, Type t) const {
    const Value* v = find(key);
    if (!v) fail("[gguf] ", name_, ": missing key '", key, "'");
    if (v->type != t)
        fail("[gguf] ", name_, ": key '", key, "' has type ", v->type_string(), ", expected ",
             type_name(t));
    return *v;
}

const Value& Reader::expect_array(std::string_view key, Type elem) const {
    const Value* v = find(key);
    if (!v) fail("[gguf] ", name_, ": missing key '", key, "'");
    if (v->type != Type::arr || v->elem != elem)
        fail("[gguf] ", name_, ": key '", key, "' has type ", v->type_string(), ", expected array[",
             type_name(elem), "]");
    return *v;
}

const TensorInfo* Reader::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& Reader::tensor(std::string_view name) const {
    const TensorInfo* t = find_tensor(name);
    if (!t) fail("[gguf] ", name_, ": missing tensor '", name, "'");
    return *t;
}

}  // namespace r1::gguf
