// libFuzzer target for the safetensors header parser (src/io/safetensors.cpp), built and run
// by scripts/fuzz_safetensors.sh with clang's -fsanitize=fuzzer,address,undefined.
//
// The reader takes a path (it memory-maps the file), so each input is written to an
// anonymous in-memory file (memfd) and opened through /proc/self/fd/N: no disk, no names.
// Contract under test: for ANY bytes, the constructor either throws r1::Error or yields
// tensors whose byte ranges lie inside the data section, match shape x dtype size, and do
// not overlap; reading any float tensor through read_f32 stays in bounds. Anything else
// escaping (std::bad_alloc, nlohmann exceptions, sanitizer reports) is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_safetensors: invariant broken: %s\n", what);
    std::abort();
}

int memfd() {
    static int fd = -1;
    if (fd < 0) fd = ::memfd_create("fuzz_safetensors", 0);
    if (fd < 0) finding("memfd_create failed");
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const int fd = memfd();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != (ssize_t)size) finding("memfd write");
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        r1::SafetensorsReader r(path);
        if (size < 8) finding("accepted a file without a header length");
        uint64_t hlen = 0;
        for (int i = 0; i < 8; i++) hlen |= (uint64_t)data[i] << (8 * i);
        const int64_t data_size = (int64_t)size - 8 - (int64_t)hlen;
        if (data_size < 0) finding("header longer than the file accepted");
        std::vector<std::pair<int64_t, int64_t>> spans;
        for (const r1::StTensor& t : r.tensors()) {
            if (t.begin < 0 || t.end < t.begin || t.end > data_size) finding("offsets out of range");
            if (t.end - t.begin != t.numel() * r1::st_dtype_size(t.dtype)) finding("size mismatch accepted");
            if (r.find(t.name) != &t) finding("tensor index");
            if (t.end > t.begin) spans.push_back({t.begin, t.end});
            if (t.dtype == r1::StDType::F32 || t.dtype == r1::StDType::F16 ||
                t.dtype == r1::StDType::BF16 || t.dtype == r1::StDType::F64) {
                const std::vector<float> v = r.read_f32(t.name);
                if ((int64_t)v.size() != t.numel()) finding("read_f32 size");
            } else {
                volatile uint8_t sink = 0;
                const uint8_t* p = r.data(t);
                for (int64_t i = 0; i < t.end - t.begin; i++) sink = sink ^ p[i];
                (void)sink;
            }
        }
        std::sort(spans.begin(), spans.end());
        for (size_t i = 1; i < spans.size(); i++)
            if (spans[i].first < spans[i - 1].second) finding("overlapping tensors accepted");
    } catch (const r1::Error&) {
    }
    return 0;
}
