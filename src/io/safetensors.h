// safetensors (Hugging Face): 8-byte little-endian header length, a JSON header mapping
// tensor name → {dtype, shape, data_offsets [begin, end)} relative to the data section
// (plus an optional "__metadata__" string→string map), then the raw little-endian data.
//
// Reader: the file is memory-mapped; open() validates everything before anything is read —
// header length against file size, JSON syntax, dtype names, shape × dtype size against
// the offsets, offsets inside the data section and not overlapping — and throws r1::Error
// naming the file and the tensor. Writer: tensors in insertion order, 8-byte aligned header
// padding (as the reference implementation), metadata strings.
// Used by the golden tests (PyTorch twin fixtures) and for HF checkpoints.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace r1 {

// F8_E4M3: DeepSeek-V3's fp8 weights (read raw; io/hf_checkpoint dequantises them).
enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3 };

const char* st_dtype_name(StDType t);   // "F32", ...
int64_t st_dtype_size(StDType t);       // bytes per element

struct StTensor {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<int64_t> shape;
    int64_t begin = 0, end = 0;         // byte offsets into the data section
    int64_t numel() const;
};

class SafetensorsReader {
public:
    // Maps and validates path; throws r1::Error ("[safetensors] f.safetensors: ...").
    explicit SafetensorsReader(const std::string& path);
    ~SafetensorsReader();
    SafetensorsReader(const SafetensorsReader&) = delete;
    SafetensorsReader& operator=(const SafetensorsReader&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<StTensor>& tensors() const { return tensors_; }  // in file order
    const StTensor* find(const std::string& name) const;
    const StTensor& at(const std::string& name) const;  // throws if missing
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    // Raw bytes of a tensor (little-endian, dtype as stored).
    const uint8_t* data(const StTensor& t) const { return base_ + data_start_ + t.begin; }
    // Converted copies. read_f32 accepts F32/F16/BF16/F64; read_i64 accepts any integer type.
    std::vector<float> read_f32(const std::string& name) const;
    std::vector<int64_t> read_i64(const std::string& name) const;
    // Copies into dst, checking that the tensor has exactly n elements.
    void read_f32_into(const std::string& name, float* dst, int64_t n) const;

private:
    std::string path_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    int64_t data_start_ = 0;
    std::vector<StTensor> tensors_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
};

class SafetensorsWriter {
public:
    // data holds numel(shape) · size(dtype) bytes; copied.
    void add(const std::string& name, StDType dtype, const std::vector<int64_t>& shape,
             const void* data);
    void add_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
        add(name, StDType::F32, shape, data);
    }
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
    // Writes the file (throws r1::Error on I/O failure).
    void write(const std::string& path) const;

private:
    struct Entry {
        std::string name;
        StDType dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace r1
