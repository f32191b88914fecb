// r1 gguf-info FILE [--json] [--rewrite OUT] — what a GGUF file holds: header, architecture,
// every metadata key with its value (long arrays summarised), every tensor with dims, type
// and bytes. Reads through the same validating reader the model loader uses, so it doubles
// as a "will r1 accept this file, and if not, which field is wrong" check. --rewrite copies
// the file through r1's writer: for a file laid out as llama.cpp/gguf-py write them the copy
// is byte-identical (tests/cli/gguf_peer_read.sh checks that).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "io/gguf.h"

namespace {
using namespace r1::gguf;

constexpr size_t kShownItems = 8;  // array items shown before "..."

template <class T> nlohmann::json num_json(T v) {
    if constexpr (std::is_same_v<T, float>) return (double)v;
    else return v;
}

nlohmann::json scalar_json(const Value& v) {
    switch (v.type) {
        case Type::u8: return v.as<uint8_t>();
        case Type::i8: return v.as<int8_t>();
        case Type::u16: return v.as<uint16_t>();
        case Type::i16: return v.as<int16_t>();
        case Type::u32: return v.as<uint32_t>();
        case Type::i32: return v.as<int32_t>();
        case Type::f32: return num_json(v.as<float>());
        case Type::boolean: return v.as<bool>();
        case Type::u64: return v.as<uint64_t>();
        case Type::i64: return v.as<int64_t>();
        case Type::f64: return v.as<double>();
        case Type::str: return v.str;
        case Type::arr: break;
    }
    return nullptr;
}

nlohmann::json element_json(const Value& v, size_t i) {
    switch (v.elem) {
        case Type::u8: return v.at<uint8_t>(i);
        case Type::i8: return v.at<int8_t>(i);
        case Type::u16: return v.at<uint16_t>(i);
        case Type::i16: return v.at<int16_t>(i);
        case Type::u32: return v.at<uint32_t>(i);
        case Type::i32: return v.at<int32_t>(i);
        case Type::f32: return num_json(v.at<float>(i));
        case Type::boolean: return v.at<bool>(i);
        case Type::u64: return v.at<uint64_t>(i);
        case Type::i64: return v.at<int64_t>(i);
        case Type::f64: return v.at<double>(i);
        case Type::str: return v.strs[i];
        case Type::arr: break;
    }
    return nullptr;
}

// Scalars as JSON values; arrays as {"type": "array[string]", "n": N, "head": [...]}.
nlohmann::json value_json(const Value& v) {
    if (v.type != Type::arr) return scalar_json(v);
    nlohmann::json head = nlohmann::json::array();
    for (size_t i = 0; i < v.n && i < kShownItems; i++) head.push_back(element_json(v, i));
    return {{"type", v.type_string()}, {"n", v.n}, {"head", head}};
}

std::string dims_string(const TensorInfo& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; d++) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

void rewrite(const Reader& r, const std::string& out) {
    Writer w;
    for (const auto& kv : r.metadata()) w.add(kv.key, kv.value);
    for (const auto& t : r.tensors())
        w.add_tensor_ref(t.name, t.dims(),
                         t.type, t.data, t.nbytes);
    w.write(out);
}

int run_gguf_info(const std::string& path, bool as_json, const std::string& rewrite_to) {
    const Reader r = Reader::open(path);
    if (!rewrite_to.empty()) rewrite(r, rewrite_to);
    const Value* arch = r.find("general.architecture");
    const std::string arch_name = arch && arch->type == Type::str ? arch->str : "";
    uint64_t total = 0;
    for (const auto& t : r.tensors()) total += t.nbytes;

    if (as_json) {
        nlohmann::json meta = nlohmann::json::object();
        for (const auto& kv : r.metadata()) meta[kv.key] = value_json(kv.value);
        nlohmann::json tensors = nlohmann::json::array();
        for (const auto& t : r.tensors()) {
            nlohmann::json dims = nlohmann::json::array();
            for (int d = 0; d < t.n_dims; d++) dims.push_back(t.ne[d]);
            tensors.push_back({{"name", t.name},
                               {"dims", dims},
                               {"type", r1::dtype_name(t.type)},
                               {"offset", t.offset},
                               {"bytes", t.nbytes}});
        }
        nlohmann::json j = {{"file", path},
                            {"version", r.version()},
                            {"alignment", r.alignment()},
                            {"data_offset", r.data_offset()},
                            {"file_size", r.size()},
                            {"architecture", arch_name.empty() ? nlohmann::json() : nlohmann::json(arch_name)},
                            {"n_kv", r.metadata().size()},
                            {"n_tensors", r.tensors().size()},
                            {"tensor_bytes", total},
                            {"metadata", meta},
                            {"tensors", tensors}};
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    std::printf("%s: GGUF v%u, %zu keys, %zu tensors (%llu bytes), alignment %u, data at byte %llu of %zu\n",
                path.c_str(), r.version(), r.metadata().size(), r.tensors().size(),
                (unsigned long long)total, r.alignment(), (unsigned long long)r.data_offset(), r.size());
    std::printf("architecture: %s\n", arch_name.empty() ? "(none)" : arch_name.c_str());
    std::printf("metadata:\n");
    for (const auto& kv : r.metadata())
        std::printf("  %-48s %-14s %s\n", kv.key.c_str(), kv.value.type_string().c_str(),
                    format_value(kv.value, kShownItems).c_str());
    std::printf("tensors:\n");
    for (const auto& t : r.tensors())
        std::printf("  %-40s %-24s %-5s %12zu bytes\n", t.name.c_str(), dims_string(t).c_str(),
                    r1::dtype_name(t.type), t.nbytes);
    return 0;
}

r1::cli::Register reg("gguf-info", "Show a GGUF file's metadata and tensors", [](CLI::App& app) {
    auto path = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    auto rewrite_to = std::make_shared<std::string>();
    app.add_option("file", *path, "GGUF file")->required();
    app.add_flag("--json", *as_json, "print one JSON object");
    app.add_option("--rewrite", *rewrite_to, "also write a copy through r1's GGUF writer");
    return [path, as_json, rewrite_to] { return run_gguf_info(*path, *as_json, *rewrite_to); };
});
}  // namespace
