// GGUF reader/writer tests: round trips of every metadata and tensor type, byte-exact layout
// against a hand-assembled file, typed-getter errors, and hostile input (truncation at every
// byte, a table of corrupted fields, random byte mutations) - all must end in r1::Error
// naming the field, never a crash or another exception type.
//
// GgufSeeds.WriteFuzzCorpus also writes small valid files into $R1_GGUF_SEED_DIR when set:
// the seed corpus for tests/fuzz/fuzz_gguf.cpp (scripts/fuzz_gguf.sh).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"

namespace {
using namespace r1::gguf;
using r1::DType;
namespace fs = std::filesystem;

// A fresh directory under $R1_TEST_TMP (or /tmp), removed when the test ends.
struct Scratch {
    std::string dir;
    explicit Scratch(const std::string& name) {
        const char* base = std::getenv("R1_TEST_TMP");
        fs::path p = fs::path(base && *base ? base : "/tmp") /
                     ("gguf_" + name + "_" + std::to_string(::getpid()));
        fs::remove_all(p);
        fs::create_directories(p);
        dir = p.string();
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
    r1::Rng r(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = (uint8_t)r.next_u64();
    return v;
}

// Hand-assembled GGUF bytes, independent of the Writer, for exact-layout and hostile tests.
struct Raw {
    std::vector<uint8_t> b;
    Raw& u8(uint8_t v) { return put(&v, 1); }
    Raw& u32(uint32_t v) { return put(&v, 4); }
    Raw& u64(uint64_t v) { return put(&v, 8); }
    Raw& str(std::string_view s) { return u64(s.size()).put(s.data(), s.size()); }
    Raw& put(const void* p, size_t n) {
        auto* c = static_cast<const uint8_t*>(p);
        b.insert(b.end(), c, c + n);
        return *this;
    }
    Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        put("GGUF", 4);
        return u32(version).u64(n_tensors).u64(n_kv);
    }
    Raw& kv_u32(std::string_view k, uint32_t v) { return str(k).u32(4).u32(v); }
    Raw& kv_str(std::string_view k, std::string_view v) { return str(k).u32(8).str(v); }
    Raw& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t off) {
        str(name).u32((uint32_t)dims.size());
        for (auto d : dims) u64(d);
        return u32(type).u64(off);
    }
    Raw& pad(size_t a = 32) {
        b.resize((b.size() + a - 1) / a * a, 0);
        return *this;
    }
    Raw& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
};

// Parses and returns the error message ("" if it parsed). Any exception other than
// r1::Error fails the test.
std::string parse_error(const std::vector<uint8_t>& bytes, size_t len = SIZE_MAX) {
    try {
        Reader::parse(bytes.data(), std::min(len, bytes.size()), "mem.gguf");
    } catch (const r1::Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "non-r1 exception: " << e.what();
        return e.what();
    }
    return "";
}

// Every scalar type with edge values, arrays of every element type (including empty ones).
Writer metadata_writer() {
    Writer w;
    w.add_str("general.architecture", "qwen2");
    w.add_u8("t.u8", 255);
    w.add_i8("t.i8", -128);
    w.add_u16("t.u16", 65535);
    w.add_i16("t.i16", -32768);
    w.add_u32("t.u32", 4000000000u);
    w.add_i32("t.i32", -2000000000);
    w.add_u64("t.u64", std::numeric_limits<uint64_t>::max());
    w.add_i64("t.i64", std::numeric_limits<int64_t>::min());
    w.add_f32("t.f32", -1.5e-7f);
    w.add_f64("t.f64", 3.141592653589793);
    w.add_bool("t.true", true);
    w.add_bool("t.false", false);
    w.add_str("t.str", "h\xC3\xA9llo \xE2\x9C\x93 <\xEF\xBD\x9CUser\xEF\xBD\x9C>");
    w.add_str("t.empty", "");
    w.add_arr<uint8_t>("a.u8", {0, 1, 255});
    w.add_arr<int8_t>("a.i8", {-1, 0, 127});
    w.add_arr<uint16_t>("a.u16", {1, 65535});
    w.add_arr<int16_t>("a.i16", {-5, 5});
    w.add_arr<uint32_t>("a.u32", {7});
    w.add_arr<int32_t>("a.i32", {1, -2, 3, -4});
    w.add_arr<uint64_t>("a.u64", {1ull << 63});
    w.add_arr<int64_t>("a.i64", {-1, 1});
    w.add_arr<float>("a.f32", {0.5f, -0.0f, 1e30f});
    w.add_arr<double>("a.f64", {1e-300, 2.5});
    w.add_arr<bool>("a.bool", {true, false, true});
    w.add_arr_str("a.str", {"a", "", "\xF0\x9F\x98\x80", "<|endoftext|>"});
    w.add_arr<int32_t>("a.empty", {});
    w.add_arr_str("a.empty_str", {});
    return w;
}

void check_metadata(const Reader& r) {
    EXPECT_EQ(r.architecture(), "qwen2");
    EXPECT_EQ(r.get_u8("t.u8"), 255);
    EXPECT_EQ(r.get_i8("t.i8"), -128);
    EXPECT_EQ(r.get_u16("t.u16"), 65535);
    EXPECT_EQ(r.get_i16("t.i16"), -32768);
    EXPECT_EQ(r.get_u32("t.u32"), 4000000000u);
    EXPECT_EQ(r.get_i32("t.i32"), -2000000000);
    EXPECT_EQ(r.get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(r.get_i64("t.i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(r.get_f32("t.f32"), -1.5e-7f);
    EXPECT_EQ(r.get_f64("t.f64"), 3.141592653589793);
    EXPECT_TRUE(r.get_bool("t.true"));
    EXPECT_FALSE(r.get_bool("t.false"));
    EXPECT_EQ(r.get_str("t.str"), "h\xC3\xA9llo \xE2\x9C\x93 <\xEF\xBD\x9CUser\xEF\xBD\x9C>");
    EXPECT_EQ(r.get_str("t.empty"), "");
    EXPECT_EQ(r.get_arr<uint8_t>("a.u8"), (std::vector<uint8_t>{0, 1, 255}));
    EXPECT_EQ(r.get_arr<int8_t>("a.i8"), (std::vector<int8_t>{-1, 0, 127}));
    EXPECT_EQ(r.get_arr<uint16_t>("a.u16"), (std::vector<uint16_t>{1, 65535}));
    EXPECT_EQ(r.get_arr<int16_t>("a.i16"), (std::vector<int16_t>{-5, 5}));
    EXPECT_EQ(r.get_arr<uint32_t>("a.u32"), (std::vector<uint32_t>{7}));
    EXPECT_EQ(r.get_arr<int32_t>("a.i32"), (std::vector<int32_t>{1, -2, 3, -4}));
    EXPECT_EQ(r.get_arr<uint64_t>("a.u64"), (std::vector<uint64_t>{1ull << 63}));
    EXPECT_EQ(r.get_arr<int64_t>("a.i64"), (std::vector<int64_t>{-1, 1}));
    const auto f = r.get_arr<float>("a.f32");
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0], 0.5f);
    EXPECT_TRUE(f[1] == 0.0f && std::signbit(f[1]));
    EXPECT_EQ(f[2], 1e30f);
    EXPECT_EQ(r.get_arr<double>("a.f64"), (std::vector<double>{1e-300, 2.5}));
    EXPECT_EQ(r.get_arr<bool>("a.bool"), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(r.get_arr_str("a.str"),
              (std::vector<std::string>{"a", "", "\xF0\x9F\x98\x80", "<|endoftext|>"}));
    EXPECT_TRUE(r.get_arr<int32_t>("a.empty").empty());
    EXPECT_TRUE(r.get_arr_str("a.empty_str").empty());
    EXPECT_EQ(r.get_or<uint32_t>("absent", 42u), 42u);
    EXPECT_EQ(r.get_or<uint32_t>("t.u32", 42u), 4000000000u);
}

// Tensors of every type r1 supports, 0..4 dims, an empty one, distinct random payloads.
struct TensorCase {
    std::string name;
    std::vector<int64_t> dims;
    DType type;
    size_t nbytes;
};
std::vector<TensorCase> tensor_cases() {
    return {{"tok.f32", {5, 3}, DType::f32, 5 * 3 * 4},
            {"blk.0.f16", {7}, DType::f16, 7 * 2},
            {"blk.0.bf16", {2, 2, 2}, DType::bf16, 8 * 2},
            {"blk.1.q8_0", {64, 3}, DType::q8_0, 2 * 3 * 34},
            {"blk.1.q4_0", {32, 1, 2, 2}, DType::q4_0, 4 * 18},
            {"ids.i32", {3}, DType::i32, 12},
            {"scalar", {}, DType::f32, 4},
            {"empty", {0, 4}, DType::f16, 0}};
}
Writer full_writer(uint32_t alignment = 0) {
    Writer w = metadata_writer();
    if (alignment) w.set_alignment(alignment);
    uint64_t seed = 1;
    for (const auto& c : tensor_cases()) {
        const auto data = random_bytes(c.nbytes, seed++);
        w.add_tensor(c.name, c.dims, c.type, data.data(), c.nbytes);
    }
    return w;
}
void check_tensors(const Reader& r) {
    const auto cases = tensor_cases();
    ASSERT_EQ(r.tensors().size(), cases.size());
    uint64_t seed = 1, expect_offset = 0;
    for (size_t i = 0; i < cases.size(); i++) {
        const auto& c = cases[i];
        const TensorInfo& t = r.tensors()[i];
        SCOPED_TRACE(c.name);
        EXPECT_EQ(&t, &r.tensor(c.name));
        EXPECT_EQ(t.name, c.name);
        EXPECT_EQ(t.n_dims, (int)c.dims.size());
        for (int d = 0; d < kMaxDims; d++)
            EXPECT_EQ(t.ne[d], d < (int)c.dims.size() ? c.dims[d] : 1);
        EXPECT_EQ(t.type, c.type);
        EXPECT_EQ(t.nbytes, c.nbytes);
        // llama.cpp's rule: back to back in info order, each padded to the alignment.
        EXPECT_EQ(t.offset, expect_offset);
        expect_offset += (c.nbytes + r.alignment() - 1) / r.alignment() * r.alignment();
        EXPECT_EQ((size_t)((const uint8_t*)t.data - r.bytes()), r.data_offset() + t.offset);
        const auto data = random_bytes(c.nbytes, seed++);
        if (c.nbytes) {
            EXPECT_EQ(std::memcmp(t.data, data.data(), c.nbytes), 0);
        }
    }
    EXPECT_EQ(r.data_offset() % r.alignment(), 0u);
    EXPECT_EQ(r.find_tensor("nope"), nullptr);
}

TEST(GgufRoundTrip, EveryMetadataType) {
    const auto bytes = metadata_writer().to_bytes();
    Reader r = Reader::parse(bytes.data(), bytes.size());
    EXPECT_EQ(r.version(), 3u);
    EXPECT_EQ(r.alignment(), 32u);
    check_metadata(r);
    // Value equality survives a second trip through the Writer.
    Writer w2;
    for (const auto& kv : r.metadata()) w2.add(kv.key, kv.value);
    EXPECT_EQ(w2.to_bytes(), bytes);
}

TEST(GgufRoundTrip, EveryTensorTypeInMemoryAndMapped) {
    for (uint32_t align : {0u, 1u, 64u, 4096u}) {
        SCOPED_TRACE(align);
        Writer w = full_writer(align);
        const auto bytes = w.to_bytes();
        Reader r = Reader::parse(bytes.data(), bytes.size());
        EXPECT_EQ(r.alignment(), align ? align : 32u);
        check_metadata(r);
        check_tensors(r);

        Scratch tmp("rt");
        const std::string path = tmp.dir + "/model.gguf";
        w.write(path);
        EXPECT_EQ(fs::file_size(path), bytes.size());
        Reader opened = Reader::open(path);
        Reader m = std::move(opened);  // views stay valid: the mapping moves with the reader
        EXPECT_EQ(m.name(), path);
        check_metadata(m);
        check_tensors(m);
        EXPECT_EQ(std::memcmp(m.bytes(), bytes.data(), bytes.size()), 0);
        EXPECT_EQ(m.tensor("blk.1.q8_0").dims(), (std::vector<int64_t>{64, 3}));
    }
}

TEST(GgufRoundTrip, ByteExactAgainstHandAssembledFile) {
    Writer w;
    w.add_str("general.architecture", "qwen2");
    w.add_u32("qwen2.block_count", 2);
    w.add_arr_str("tokenizer.ggml.tokens", {"a", "bc"});
    const float x[3] = {1, 2, 3};
    w.add_tensor("w", {3}, DType::f32, x, sizeof x);
    w.add_tensor("v", {1}, DType::f32, x, 4);

    Raw e;
    e.header(2, 3).kv_str("general.architecture", "qwen2").kv_u32("qwen2.block_count", 2);
    e.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
    e.tensor("w", {3}, 0, 0).tensor("v", {1}, 0, 32).pad();
    e.put(x, sizeof x).pad().put(x, 4).pad();
    EXPECT_EQ(w.to_bytes(), e.b);
}

TEST(GgufRoundTrip, WriteIsAtomicAndOverwrites) {
    Scratch tmp("atomic");
    const std::string dir = tmp.dir;
    const std::string path = dir + "/m.gguf";
    full_writer().write(path);
    metadata_writer().write(path);  // replaces it
    EXPECT_EQ(Reader::open(path).tensors().size(), 0u);
    for (const auto& e : fs::directory_iterator(dir))
        EXPECT_EQ(e.path().filename(), "m.gguf") << "left behind: " << e.path();
    EXPECT_THROW(metadata_writer().write(dir + "/no/such/dir/m.gguf"), r1::Error);
}

TEST(GgufGetters, TypeMismatchNamesKeyAndTypes) {
    Writer w;
    w.add_str("qwen2.block_count", "24");
    w.add_arr_str("tokenizer.ggml.tokens", {"a"});
    const auto b = w.to_bytes();
    Reader r = Reader::parse(b.data(), b.size(), "model.gguf");
    try {
        r.get_u32("qwen2.block_count");
        FAIL() << "no throw";
    } catch (const r1::Error& e) {
        EXPECT_STREQ(e.what(),
                     "[gguf] model.gguf: key 'qwen2.block_count' has type string, expected u32");
    }
    try {
        r.get_arr<int32_t>("tokenizer.ggml.tokens");
        FAIL() << "no throw";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("has type array[string], expected array[i32]"),
                  std::string::npos) << e.what();
    }
    try {
        r.get_f32("missing.key");
        FAIL() << "no throw";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing key 'missing.key'"), std::string::npos);
    }
    EXPECT_THROW(r.get_or<uint32_t>("qwen2.block_count", 1), r1::Error);  // present, wrong type
    EXPECT_THROW(r.tensor("x"), r1::Error);
    EXPECT_THROW(r.architecture(), r1::Error);
}

TEST(GgufWriter, RejectsInvalidInput) {
    const float x[64] = {};
    Writer w;
    w.add_u32("k", 1);
    EXPECT_THROW(w.add_u32("k", 2), r1::Error);                       // duplicate key
    EXPECT_THROW(w.add_str("bad", "\xC3"), r1::Error);                // bad UTF-8
    EXPECT_THROW(w.add_str("general.alignment", "32"), r1::Error);    // wrong type
    EXPECT_THROW(w.set_alignment(48), r1::Error);
    w.add_tensor("t", {4}, DType::f32, x, 16);
    EXPECT_THROW(w.add_tensor("t", {4}, DType::f32, x, 16), r1::Error);  // duplicate name
    EXPECT_THROW(w.add_tensor("u", {4}, DType::f32, x, 12), r1::Error);  // wrong byte count
    EXPECT_THROW(w.add_tensor("u", {1, 1, 1, 1, 1}, DType::f32, x, 4), r1::Error);
    EXPECT_THROW(w.add_tensor("u", {16}, DType::q8_0, x, 17), r1::Error);  // not a block
    EXPECT_THROW(w.add_tensor(std::string(64, 'n'), {1}, DType::f32, x, 4), r1::Error);
    EXPECT_THROW(w.add_tensor("u", {-1}, DType::f32, x, 0), r1::Error);
    EXPECT_THROW(w.add_tensor("u", {1}, (DType)12, x, 4), r1::Error);
    EXPECT_THROW(w.set_alignment(64), r1::Error);  // after tensors: offsets already fixed
    EXPECT_EQ(w.n_tensors(), 1u);
}

// ---- hostile input ---------------------------------------------------------------------

// A small valid file: strings, arrays, a q8_0 and two f32 tensors.
std::vector<uint8_t> small_valid_file() {
    Writer w;
    w.add_str("general.architecture", "qwen2");
    w.add_u32("qwen2.block_count", 1);
    w.add_arr_str("tokenizer.ggml.tokens", {"<|endoftext|>", "a", "\xC4\xA0"});
    w.add_arr<int32_t>("tokenizer.ggml.token_type", {3, 1, 1});
    w.add_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    const auto a = random_bytes(34 * 2, 7), b = random_bytes(40, 8), c = random_bytes(4, 9);
    w.add_tensor("blk.0.attn_q.weight", {32, 2}, DType::q8_0, a.data(), a.size());
    w.add_tensor("output_norm.weight", {10}, DType::f32, b.data(), b.size());
    w.add_tensor("bias", {1}, DType::f32, c.data(), c.size());
    return w.to_bytes();
}

TEST(GgufHostile, TruncationAtEveryByteThrows) {
    const auto bytes = small_valid_file();
    Reader full = Reader::parse(bytes.data(), bytes.size());
    const TensorInfo& last = full.tensors().back();
    const size_t end_of_data = full.data_offset() + last.offset + last.nbytes;
    ASSERT_LT(end_of_data, bytes.size());  // the last tensor is followed by padding
    for (size_t len = 0; len < end_of_data; len++) {
        const std::string err = parse_error(bytes, len);
        ASSERT_FALSE(err.empty()) << "truncated to " << len << " bytes parsed";
        ASSERT_EQ(err.rfind("[gguf] mem.gguf: ", 0), 0u) << err;
        ASSERT_NE(err.find(" at byte "), std::string::npos) << err;
    }
    // The trailing pad after the last tensor is optional (as for llama.cpp's mmap loader).
    for (size_t len = end_of_data; len <= bytes.size(); len++)
        EXPECT_EQ(parse_error(bytes, len), "") << len;
    // Through the mmap path too, including an empty file.
    Scratch tmp("trunc");
    const std::string dir = tmp.dir;
    for (size_t len : {(size_t)0, (size_t)3, (size_t)23, bytes.size() / 2, end_of_data - 1}) {
        const std::string p = dir + "/t" + std::to_string(len) + ".gguf";
        std::ofstream(p, std::ios::binary).write((const char*)bytes.data(), (std::streamsize)len);
        EXPECT_THROW(Reader::open(p), r1::Error) << len;
    }
    EXPECT_THROW(Reader::open(dir + "/absent.gguf"), r1::Error);
    EXPECT_THROW(Reader::open(dir), r1::Error);  // a directory
}

struct Corrupt {
    const char* what;
    std::function<Raw()> make;
    std::vector<const char*> expect;  // substrings of the message
};

TEST(GgufHostile, CorruptedFieldsNameTheField) {
    const uint64_t huge = 1ull << 60;
    const std::string bad_utf8 = "ab\xFF";
    const std::vector<Corrupt> cases = {
        {"bad magic", [] { Raw r; r.put("GGML", 4).u32(3).u64(0).u64(0); return r; }, {"bad magic 'GGML'", "at byte 0"}},
        {"version 1", [] { Raw r; r.header(0, 0, 1); return r; }, {"unsupported version 1", "at byte 4"}},
        {"version 4", [] { Raw r; r.header(0, 0, 4); return r; }, {"unsupported version 4"}},
        {"big-endian", [] { Raw r; r.header(0, 0, 0x03000000); return r; }, {"big-endian"}},
        {"tensor count flipped", [] { Raw r; r.header(1ull << 63 | 1, 0); return r; }, {"tensor count 9223372036854775809", "at byte 8"}},
        {"kv count flipped", [] { Raw r; r.header(0, 0xFFFFFFFFull); return r; }, {"kv count 4294967295", "at byte 16"}},
        {"huge key length", [=] { Raw r; r.header(0, 1).u64(huge).u32(4).u32(0); return r; }, {"key #0", "key length 1152921504606846976", "at byte 24"}},
        {"huge string value", [=] { Raw r; r.header(0, 1).str("general.name").u32(8).u64(huge); return r; }, {"key 'general.name'", "string value length 1152921504606846976"}},
        {"huge u32 array", [=] { Raw r; r.header(0, 1).str("a").u32(9).u32(4).u64(huge).u32(1); return r; }, {"key 'a'", "array length 1152921504606846976 of u32"}},
        {"huge string array", [=] { Raw r; r.header(0, 1).str("a").u32(9).u32(8).u64(huge).str("x"); return r; }, {"key 'a'", "array length 1152921504606846976 (string elements)"}},
        {"array element truncated", [] { Raw r; r.header(0, 1).str("a").u32(9).u32(8).u64(2).str("x").u64(5).put("ab", 2); return r; }, {"key 'a'", "string element length 5 exceeds"}},
        {"unknown value type", [] { Raw r; r.header(0, 1).str("k").u32(13).u32(0); return r; }, {"key 'k'", "unknown value type 13"}},
        {"nested array", [] { Raw r; r.header(0, 1).str("k").u32(9).u32(9).u64(0); return r; }, {"key 'k'", "arrays of arrays"}},
        {"unknown element type", [] { Raw r; r.header(0, 1).str("k").u32(9).u32(77).u64(0); return r; }, {"unknown array element type 77"}},
        {"duplicate key", [] { Raw r; r.header(0, 2).kv_u32("a", 1).kv_u32("a", 2); return r; }, {"duplicate key 'a'"}},
        {"bad utf8 key", [=] { Raw r; r.header(0, 1).kv_u32(bad_utf8, 1); return r; }, {"key #0", "key is not valid UTF-8"}},
        {"bad utf8 value", [=] { Raw r; r.header(0, 1).kv_str("k", bad_utf8); return r; }, {"key 'k'", "string value is not valid UTF-8"}},
        {"bad utf8 element", [=] { Raw r; r.header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok").str("\xED\xA0\x80"); return r; }, {"key 'k' element 1", "not valid UTF-8"}},
        {"alignment type", [] { Raw r; r.header(0, 1).kv_str("general.alignment", "32"); return r; }, {"key 'general.alignment'", "has type string, expected u32"}},
        {"alignment 48", [] { Raw r; r.header(0, 1).kv_u32("general.alignment", 48); return r; }, {"alignment 48 is not a power of two"}},
        {"alignment 0", [] { Raw r; r.header(0, 1).kv_u32("general.alignment", 0); return r; }, {"alignment 0 is not a power of two"}},
        {"n_dims 5", [] { Raw r; r.header(1, 0).tensor("w", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32); return r; }, {"tensor 'w'", "n_dims 5 exceeds 4", "at byte 33"}},
        {"negative dim", [] { Raw r; r.header(1, 0).tensor("w", {1ull << 63}, 0, 0).pad(); return r; }, {"tensor 'w'", "dimension 0 is negative"}},
        {"dims overflow", [] { Raw r; r.header(1, 0).tensor("w", {1ull << 40, 1ull << 40}, 0, 0).pad(); return r; }, {"tensor 'w'", "element count overflows int64 at dimension 1"}},
        {"unknown ggml type", [] { Raw r; r.header(1, 0).tensor("blk.0.w", {256}, 12, 0).pad().zeros(144); return r; }, {"tensor 'blk.0.w'", "unsupported ggml type 12 (q4_K)"}},
        {"type id out of range", [] { Raw r; r.header(1, 0).tensor("w", {1}, 1000, 0).pad(); return r; }, {"tensor 'w'", "ggml type 1000 (unknown)"}},
        {"row not a block", [] { Raw r; r.header(1, 0).tensor("w", {16}, 8, 0).pad().zeros(64); return r; }, {"tensor 'w'", "row of 16 elements is not a multiple of the q8_0 block size 32"}},
        {"huge data size", [] { Raw r; r.header(1, 0).tensor("w", {1ull << 40}, 0, 0).pad(); return r; }, {"tensor 'w'", "data size 4398046511104 exceeds the file size"}},
        {"offset past end", [] { Raw r; r.header(1, 0).tensor("w", {4}, 0, 64).pad().zeros(32); return r; }, {"tensor 'w'", "runs past the end of the file"}},
        {"offset 2^63", [] { Raw r; r.header(1, 0).tensor("w", {4}, 0, 1ull << 63).pad().zeros(32); return r; }, {"tensor 'w'", "runs past the end of the file"}},
        {"misaligned offset", [] { Raw r; r.header(1, 0).tensor("w", {4}, 0, 4).pad().zeros(64); return r; }, {"tensor 'w'", "data offset 4 is not a multiple of the alignment 32"}},
        {"overlapping tensors", [] { Raw r; r.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32).pad().zeros(64); return r; }, {"tensor 'b'", "overlaps tensor 'a'"}},
        {"duplicate tensor", [] { Raw r; r.header(2, 0).tensor("a", {4}, 0, 0).tensor("a", {4}, 0, 32).pad().zeros(64); return r; }, {"tensor #1", "duplicate tensor name 'a'"}},
        {"name too long", [] { Raw r; r.header(1, 0).tensor(std::string(64, 'x'), {1}, 0, 0).pad().zeros(32); return r; }, {"tensor #0", "name is 64 bytes long (max 63)"}},
        {"bad utf8 name", [=] { Raw r; r.header(1, 0).tensor(bad_utf8, {1}, 0, 0).pad().zeros(32); return r; }, {"tensor #0", "name is not valid UTF-8"}},
        {"padding truncated", [] { Raw r; r.header(1, 0).tensor("w", {0}, 0, 0); return r; }, {"data section", "truncated padding"}},
        {"tensor count vs data", [] { Raw r; r.header(3, 1).kv_str("k", std::string(100, 'x')).tensor("w", {1}, 0, 0).pad(); return r; }, {"tensor count 3", "bytes left after the metadata"}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        const std::string err = parse_error(c.make().b);
        ASSERT_FALSE(err.empty()) << "parsed without error";
        EXPECT_EQ(err.rfind("[gguf] mem.gguf: ", 0), 0u) << err;
        EXPECT_NE(err.find(" at byte "), std::string::npos) << err;
        for (const char* s : c.expect) EXPECT_NE(err.find(s), std::string::npos) << err << "\n  lacks: " << s;
    }
    // Sanity: the same builders give a valid file when nothing is wrong.
    Raw ok;
    ok.header(2, 1).kv_u32("general.alignment", 32).tensor("a", {4}, 0, 32).tensor("b", {4}, 0, 0).pad().zeros(64);
    EXPECT_EQ(parse_error(ok.b), "");  // out of order and with a gap: allowed, not overlapping
    Raw v2;  // GGUF v2 has the same little-endian layout as v3
    v2.header(1, 1, 2).kv_str("general.architecture", "llama").tensor("w", {2}, 1, 0).pad().zeros(4);
    EXPECT_EQ(parse_error(v2.b), "");
    EXPECT_EQ(Reader::parse(v2.b.data(), v2.b.size()).version(), 2u);
}

TEST(GgufHostile, RandomMutationsNeverCrash) {
    const auto base = small_valid_file();
    r1::Rng rng(1234);
    int parsed = 0;
    for (int it = 0; it < 3000; it++) {
        auto b = base;
        const int flips = 1 + (int)rng.below(4);
        for (int k = 0; k < flips; k++) {
            const size_t at = rng.below(b.size());
            b[at] = rng.below(3) == 0 ? (uint8_t)0xFF : (uint8_t)rng.next_u64();
        }
        try {
            Reader r = Reader::parse(b.data(), b.size());
            parsed++;
            for (const auto& t : r.tensors()) {  // every view lies inside the buffer
                const auto* p = (const uint8_t*)t.data;
                ASSERT_TRUE(p >= b.data() && p + t.nbytes <= b.data() + b.size()) << t.name;
            }
        } catch (const r1::Error&) {
        }
    }
    EXPECT_GT(parsed, 0);  // mutations inside tensor data still parse
}

TEST(GgufSeeds, WriteFuzzCorpus) {
    // Small valid files; written to $R1_GGUF_SEED_DIR for the fuzzer when that is set.
    std::vector<std::vector<uint8_t>> seeds = {small_valid_file(), metadata_writer().to_bytes(),
                                               Writer().to_bytes()};
    {
        Writer w;
        w.set_alignment(8);
        const float x[2] = {1, 2};
        w.add_tensor("x", {2}, DType::f32, x, sizeof x);
        seeds.push_back(w.to_bytes());
    }
    for (const auto& s : seeds) EXPECT_EQ(parse_error(s), "");
    const char* dir = std::getenv("R1_GGUF_SEED_DIR");
    if (!dir || !*dir) return;
    fs::create_directories(dir);
    for (size_t i = 0; i < seeds.size(); i++) {
        std::ofstream f(std::string(dir) + "/seed" + std::to_string(i) + ".gguf", std::ios::binary);
        f.write((const char*)seeds[i].data(), (std::streamsize)seeds[i].size());
        ASSERT_TRUE(f.good());
    }
}

TEST(GgufFormat, ValueFormattingAndUtf8) {
    EXPECT_EQ(format_value(Value::of<uint32_t>(24)), "24");
    EXPECT_EQ(format_value(Value::of(-1.5f)), "-1.5");
    EXPECT_EQ(format_value(Value::of(true)), "true");
    EXPECT_EQ(format_value(Value::of("a\"b\n")), "\"a\\\"b\\n\"");
    EXPECT_EQ(format_value(Value::array(std::vector<int32_t>{1, 2, 3}), 2), "array[i32] x 3 [1, 2, ...]");
    EXPECT_EQ(format_value(Value::array(std::vector<std::string>{"x"})), "array[string] x 1 [\"x\"]");
    EXPECT_TRUE(valid_utf8("\xE4\xB8\xAD\xF0\x9F\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xC0\x80"));          // overlong NUL
    EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
    EXPECT_FALSE(valid_utf8("\xE4\xB8"));          // truncated
    EXPECT_EQ(std::string(ggml_type_name(8)), "q8_0");
    EXPECT_EQ(std::string(ggml_type_name(4)), "unknown");
}

}  // namespace
