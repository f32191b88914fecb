// safetensors reader/writer: round trip (dtypes, metadata, conversions) and every validation
// error on hand-corrupted files (the message must name the file and the tensor).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"

namespace {

std::string tmp_dir() {
    const char* t = std::getenv("R1_TEST_TMP");
    std::string d = std::string(t ? t : "/tmp") + "/safetensors";
    std::filesystem::create_directories(d);
    return d;
}

// Writes a file with the given JSON header and n_data zero bytes of data.
std::string raw_file(const std::string& name, const std::string& header, size_t n_data,
                     int64_t header_len_override = -1) {
    const std::string path = tmp_dir() + "/" + name;
    std::ofstream f(path, std::ios::binary);
    const uint64_t len = header_len_override >= 0 ? (uint64_t)header_len_override : header.size();
    for (int i = 0; i < 8; i++) f.put((char)(len >> (8 * i)));
    f << header;
    for (size_t i = 0; i < n_data; i++) f.put(0);
    return path;
}

std::string open_error(const std::string& path) {
    try {
        r1::SafetensorsReader r(path);
    } catch (const r1::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Safetensors, RoundTrip) {
    r1::SafetensorsWriter w;
    std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
    std::vector<int32_t> ids = {3, -1, 7};
    std::vector<int64_t> big = {1ll << 40, -5};
    std::vector<uint16_t> h = {r1::f32_to_f16(0.5f), r1::f32_to_f16(-3.0f)};
    std::vector<uint16_t> bf = {r1::f32_to_bf16(1.0f), r1::f32_to_bf16(-0.25f)};
    w.add_f32("a", {2, 3}, a.data());
    w.add("ids", r1::StDType::I32, {3}, ids.data());
    w.add("big", r1::StDType::I64, {2}, big.data());
    w.add("h", r1::StDType::F16, {2}, h.data());
    w.add("bf", r1::StDType::BF16, {1, 2}, bf.data());
    w.add_f32("empty", {0, 4}, nullptr);
    w.set_metadata("format", "pt");
    const std::string path = tmp_dir() + "/rt.safetensors";
    w.write(path);

    r1::SafetensorsReader r(path);
    ASSERT_EQ(r.tensors().size(), 6u);
    EXPECT_EQ(r.tensors()[0].name, "a");  // file order kept
    EXPECT_EQ(r.at("a").shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(r.read_f32("a"), a);
    EXPECT_EQ(r.read_i64("ids"), (std::vector<int64_t>{3, -1, 7}));
    EXPECT_EQ(r.read_i64("big"), big);
    EXPECT_EQ(r.read_f32("h"), (std::vector<float>{0.5f, -3.0f}));
    EXPECT_EQ(r.read_f32("bf"), (std::vector<float>{1.0f, -0.25f}));
    EXPECT_EQ(r.at("empty").numel(), 0);
    EXPECT_EQ(r.metadata().at("format"), "pt");
    EXPECT_EQ(r.find("nope"), nullptr);
    std::string e;
    try {
        r.read_f32("ids");
    } catch (const r1::Error& x) {
        e = x.what();
    }
    EXPECT_NE(e.find("'ids'"), std::string::npos);
    try {
        std::vector<float> dst(5);
        r.read_f32_into("a", dst.data(), 5);
        e = "";
    } catch (const r1::Error& x) {
        e = x.what();
    }
    EXPECT_NE(e.find("expected 5"), std::string::npos);
    // header is 8-byte aligned, as the reference writer does
    std::ifstream f(path, std::ios::binary);
    uint64_t len = 0;
    f.read(reinterpret_cast<char*>(&len), 8);
    EXPECT_EQ(len % 8, 0u);
}

TEST(Safetensors, RejectsCorruptFiles) {
    const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    EXPECT_EQ(open_error(raw_file("ok.st", ok, 8)), "");

    std::string e = open_error(raw_file("len.st", ok, 8, 1 << 20));
    EXPECT_NE(e.find("len.st"), std::string::npos) << e;
    EXPECT_NE(e.find("exceeds file size"), std::string::npos) << e;

    e = open_error(raw_file("json.st", R"({"t":{"dtype":"F32",)", 0));
    EXPECT_NE(e.find("bad JSON"), std::string::npos) << e;

    e = open_error(raw_file("range.st", ok, 4));
    EXPECT_NE(e.find("tensor 't'"), std::string::npos) << e;
    EXPECT_NE(e.find("out of range"), std::string::npos) << e;

    e = open_error(raw_file("size.st", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
    EXPECT_NE(e.find("size mismatch"), std::string::npos) << e;
    EXPECT_NE(e.find("'t'"), std::string::npos) << e;

    e = open_error(raw_file("dtype.st", R"({"t":{"dtype":"F8","shape":[8],"data_offsets":[0,8]}})", 8));
    EXPECT_NE(e.find("unsupported dtype"), std::string::npos) << e;

    e = open_error(raw_file(
        "overlap.st",
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
        12));
    EXPECT_NE(e.find("overlap"), std::string::npos) << e;

    e = open_error(raw_file("meta.st", R"({"__metadata__":{"k":1}})", 0));
    EXPECT_NE(e.find("__metadata__"), std::string::npos) << e;

    e = open_error(raw_file("short.st", "", 0, 0).substr(0) + "-missing");
    EXPECT_NE(e.find("cannot open"), std::string::npos) << e;

    const std::string tiny = tmp_dir() + "/tiny.st";
    std::ofstream(tiny, std::ios::binary) << "abc";
    e = open_error(tiny);
    EXPECT_NE(e.find("too small"), std::string::npos) << e;
}
