// GGUF (llama.cpp's model file format, versions 2 and 3) reader and writer.
//
// Layout, little-endian throughout (ggml docs/gguf.md, ggml/src/gguf.cpp):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x   { string key | u32 value type | value }      string = u64 length + UTF-8 bytes
//            array value = u32 element type | u64 n | n elements (no arrays of arrays)
//   n_tensors x { string name | u32 n_dims (<= 4) | n_dims x u64 ne (ne[0] innermost)
//                 | u32 ggml type | u64 offset (relative to the data section) }
//   zero padding to `general.alignment` (u32, default 32) | data section
//
// Reader: the file is memory-mapped read-only (or any caller-owned buffer is parsed in place -
// the fuzz target and tests use that); tensors are views into the mapping, nothing is copied.
// The parser treats the input as hostile: every count and length is checked against the bytes
// left BEFORE anything is allocated, so a corrupt file gives an r1::Error of the form
//   "[gguf] FILE: <what> at byte N"
// and never a crash, an abort or a huge allocation. It is a little more permissive than
// llama.cpp in one place: tensor data may come in any order with gaps (llama.cpp wants them
// back to back in info order), but must be aligned, inside the file and non-overlapping.
// A missing pad after the last tensor is accepted (llama.cpp's mmap loader accepts it too).
//
// Writer: builds metadata and tensors in memory, then writes exactly llama.cpp's layout
// (tensors back to back in insertion order, each padded to the alignment), atomically
// through a temporary file and rename().
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"

namespace r1::gguf {

constexpr uint32_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;           // GGML_MAX_DIMS
constexpr size_t kMaxNameBytes = 63;  // GGML_MAX_NAME (64) minus the terminating NUL

// Metadata value types; the numbers are the on-disk ids (enum gguf_type).
enum class Type : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    str = 8, arr = 9, u64 = 10, i64 = 11, f64 = 12,
};
constexpr uint32_t kTypeCount = 13;

const char* type_name(Type t);  // "u32", "string", "array", ...; "?" for ids out of range
size_t type_size(Type t);       // bytes of a fixed-size scalar; 0 for string and array

template <class T> struct type_of;
template <> struct type_of<uint8_t> { static constexpr Type value = Type::u8; };
template <> struct type_of<int8_t> { static constexpr Type value = Type::i8; };
template <> struct type_of<uint16_t> { static constexpr Type value = Type::u16; };
template <> struct type_of<int16_t> { static constexpr Type value = Type::i16; };
template <> struct type_of<uint32_t> { static constexpr Type value = Type::u32; };
template <> struct type_of<int32_t> { static constexpr Type value = Type::i32; };
template <> struct type_of<float> { static constexpr Type value = Type::f32; };
template <> struct type_of<bool> { static constexpr Type value = Type::boolean; };
template <> struct type_of<uint64_t> { static constexpr Type value = Type::u64; };
template <> struct type_of<int64_t> { static constexpr Type value = Type::i64; };
template <> struct type_of<double> { static constexpr Type value = Type::f64; };
template <class T> constexpr Type type_of_v = type_of<T>::value;

// One metadata value. Fixed-size scalars keep their on-disk bytes in `bits` (zero-extended);
// numeric and bool arrays keep their packed on-disk bytes in `raw`; strings are copied.
struct Value {
    Type type = Type::u8;
    Type elem = Type::u8;            // element type (arrays only)
    uint64_t bits = 0;               // fixed-size scalars
    std::string str;                 // Type::str
    uint64_t n = 0;                  // array length
    std::vector<uint8_t> raw;        // numeric/bool arrays: n * type_size(elem) bytes
    std::vector<std::string> strs;   // string arrays

    template <class T> static Value of(T v) {
        Value r;
        r.type = type_of_v<T>;
        if constexpr (std::is_same_v<T, bool>) r.bits = v ? 1 : 0;
        else std::memcpy(&r.bits, &v, sizeof(T));
        return r;
    }
    static Value of(std::string s) {
        Value r;
        r.type = Type::str;
        r.str = std::move(s);
        return r;
    }
    static Value of(const char* s) { return of(std::string(s)); }
    template <class T> static Value array(const std::vector<T>& v) {
        Value r;
        r.type = Type::arr;
        r.elem = type_of_v<T>;
        r.n = v.size();
        r.raw.resize(v.size() * sizeof(T));
        if constexpr (std::is_same_v<T, bool>) {
            for (size_t i = 0; i < v.size(); i++) r.raw[i] = v[i] ? 1 : 0;
        } else if (!v.empty()) {
            std::memcpy(r.raw.data(), v.data(), r.raw.size());
        }
        return r;
    }
    static Value array(std::vector<std::string> v) {
        Value r;
        r.type = Type::arr;
        r.elem = Type::str;
        r.n = v.size();
        r.strs = std::move(v);
        return r;
    }

    // Scalar of type T (the caller has checked `type == type_of_v<T>`).
    template <class T> T as() const {
        if constexpr (std::is_same_v<T, bool>) return (bits & 0xff) != 0;
        T out;
        std::memcpy(&out, &bits, sizeof(T));
        return out;
    }
    // Element i of a numeric array of element type T (checked by the caller).
    template <class T> T at(size_t i) const {
        if constexpr (std::is_same_v<T, bool>) return raw[i] != 0;
        T out;
        std::memcpy(&out, raw.data() + i * sizeof(T), sizeof(T));
        return out;
    }
    template <class T> std::vector<T> to_vector() const {
        std::vector<T> out(n);
        for (size_t i = 0; i < n; i++) out[i] = at<T>(i);
        return out;
    }
    bool operator==(const Value& o) const;
    // "u32", "string", "array[string]"
    std::string type_string() const;
};

// Human-readable value; arrays show their type, length and at most `max_items` items.
std::string format_value(const Value& v, size_t max_items = 8);

struct KeyValue {
    std::string key;
    Value value;
};

// A tensor as stored in the file: a view, valid while its Reader lives.
struct TensorInfo {
    std::string name;
    int n_dims = 0;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};  // ne[0] innermost; ne[i >= n_dims] = 1
    DType type = DType::f32;
    uint64_t offset = 0;          // from the start of the data section
    const void* data = nullptr;   // into the mapping / caller's buffer
    size_t nbytes = 0;
    int64_t numel() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    std::vector<int64_t> dims() const { return {ne.begin(), ne.begin() + n_dims}; }
};

struct ReadOptions {
    bool check_utf8 = true;  // reject keys, strings and tensor names that are not UTF-8
};

class Reader {
public:
    // Maps `path` read-only and parses it.
    static Reader open(const std::string& path, const ReadOptions& opt = {});
    // Parses a caller-owned buffer in place; it must outlive the Reader (tensor data points
    // into it). `name` is used in error messages.
    static Reader parse(const void* data, size_t size, std::string name = "<memory>",
                        const ReadOptions& opt = {});

    Reader(Reader&&) noexcept;
    Reader& operator=(Reader&&) noexcept;
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader();

    const std::string& name() const { return name_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // absolute start of tensor data
    size_t size() const { return size_; }
    const uint8_t* bytes() const { return base_; }

    // ---- metadata ----
    const std::vector<KeyValue>& metadata() const { return kv_; }
    const Value* find(std::string_view key) const;  // nullptr if absent
    bool has(std::string_view key) const { return find(key) != nullptr; }
    // The value of `key`, which must exist and have type `t`; otherwise throws
    //   "[gguf] FILE: key 'qwen2.block_count' has type string, expected u32".
    const Value& expect(std::string_view key, Type t) const;
    // An array whose elements have type `elem`.
    const Value& expect_array(std::string_view key, Type elem) const;

    template <class T> T get(std::string_view key) const {
        return expect(key, type_of_v<T>).template as<T>();
    }
    template <class T> T get_or(std::string_view key, T fallback) const {
        return has(key) ? get<T>(key) : fallback;
    }
    uint8_t get_u8(std::string_view k) const { return get<uint8_t>(k); }
    int8_t get_i8(std::string_view k) const { return get<int8_t>(k); }
    uint16_t get_u16(std::string_view k) const { return get<uint16_t>(k); }
    int16_t get_i16(std::string_view k) const { return get<int16_t>(k); }
    uint32_t get_u32(std::string_view k) const { return get<uint32_t>(k); }
    int32_t get_i32(std::string_view k) const { return get<int32_t>(k); }
    uint64_t get_u64(std::string_view k) const { return get<uint64_t>(k); }
    int64_t get_i64(std::string_view k) const { return get<int64_t>(k); }
    float get_f32(std::string_view k) const { return get<float>(k); }
    double get_f64(std::string_view k) const { return get<double>(k); }
    bool get_bool(std::string_view k) const { return get<bool>(k); }
    const std::string& get_str(std::string_view k) const { return expect(k, Type::str).str; }
    const std::vector<std::string>& get_arr_str(std::string_view k) const {
        return expect_array(k, Type::str).strs;
    }
    template <class T> std::vector<T> get_arr(std::string_view k) const {
        return expect_array(k, type_of_v<T>).template to_vector<T>();
    }
    // general.architecture ("qwen2", "deepseek2", ...).
    const std::string& architecture() const { return get_str("general.architecture"); }

    // ---- tensors ----
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;  // nullptr if absent
    const TensorInfo& tensor(std::string_view name) const;       // throws if absent

private:
    Reader() = default;
    struct Mapping;
    void parse_all(const ReadOptions& opt);

    std::unique_ptr<Mapping> map_;  // owns the mmap (open()); null for parse()
    std::string name_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> kv_;
    std::unordered_map<std::string, size_t> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file. Keys and tensor names are validated when added (duplicates, UTF-8,
// name length, dims, byte counts) so write() cannot produce a file the Reader rejects.
class Writer {
public:
    // Sets general.alignment (a power of two) and records it as a u32 metadata key.
    void set_alignment(uint32_t alignment);
    uint32_t alignment() const { return alignment_; }

    // Any metadata value; `general.alignment` must be a u32 power of two and sets alignment.
    void add(std::string key, Value v);
    void add_u8(std::string k, uint8_t v) { add(std::move(k), Value::of(v)); }
    void add_i8(std::string k, int8_t v) { add(std::move(k), Value::of(v)); }
    void add_u16(std::string k, uint16_t v) { add(std::move(k), Value::of(v)); }
    void add_i16(std::string k, int16_t v) { add(std::move(k), Value::of(v)); }
    void add_u32(std::string k, uint32_t v) { add(std::move(k), Value::of(v)); }
    void add_i32(std::string k, int32_t v) { add(std::move(k), Value::of(v)); }
    void add_u64(std::string k, uint64_t v) { add(std::move(k), Value::of(v)); }
    void add_i64(std::string k, int64_t v) { add(std::move(k), Value::of(v)); }
    void add_f32(std::string k, float v) { add(std::move(k), Value::of(v)); }
    void add_f64(std::string k, double v) { add(std::move(k), Value::of(v)); }
    void add_bool(std::string k, bool v) { add(std::move(k), Value::of(v)); }
    void add_str(std::string k, std::string v) { add(std::move(k), Value::of(std::move(v))); }
    template <class T> void add_arr(std::string k, const std::vector<T>& v) {
        add(std::move(k), Value::array(v));
    }
    void add_arr_str(std::string k, std::vector<std::string> v) {
        add(std::move(k), Value::array(std::move(v)));
    }

    // dims: ne[0] (innermost) first, at most 4; nbytes must equal what dims and type imply.
    // add_tensor copies the bytes; add_tensor_ref borrows them until write()/to_bytes().
    void add_tensor(std::string name, const std::vector<int64_t>& dims, DType type,
                    const void* data, size_t nbytes);
    void add_tensor_ref(std::string name, const std::vector<int64_t>& dims, DType type,
                        const void* data, size_t nbytes);

    size_t n_tensors() const { return tensors_.size(); }
    size_t n_kv() const { return kv_.size(); }

    // The whole file in memory.
    std::vector<uint8_t> to_bytes() const;
    // Writes PATH.tmp.<pid>, fsyncs it and renames it over PATH.
    void write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        int n_dims = 0;
        std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};
        DType type = DType::f32;
        std::vector<uint8_t> owned;
        const uint8_t* data = nullptr;
        size_t nbytes = 0;
        uint64_t offset = 0;
    };
    Tensor& new_tensor(std::string name, const std::vector<int64_t>& dims, DType type,
                       size_t nbytes);
    std::vector<uint8_t> header_bytes() const;  // everything before the data section, padded

    uint32_t alignment_ = kDefaultAlignment;
    std::vector<KeyValue> kv_;
    std::unordered_map<std::string, size_t> kv_index_;
    std::vector<Tensor> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
    uint64_t data_size_ = 0;  // padded size of the data section so far
};

// UTF-8 well-formedness (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);
// ggml's name for a tensor type id, including types r1 does not support ("q4_K").
const char* ggml_type_name(uint32_t id);

}  // namespace r1::gguf
