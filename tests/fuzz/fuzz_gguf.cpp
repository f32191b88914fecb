// libFuzzer target for the GGUF reader (src/io/gguf.cpp), built and run by
// scripts/fuzz_gguf.sh with clang's -fsanitize=fuzzer,address,undefined.
//
// Contract under test: for ANY input bytes, Reader::parse either throws r1::Error or returns
// a reader whose every tensor view lies inside the input; nothing else may escape (a
// std::bad_alloc or length_error from a size taken on trust is a finding, and so is any
// sanitizer report). Accepted inputs are also pushed through the Writer and parsed back: the
// metadata and tensor bytes must survive unchanged (the writer accepts what the reader does).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "io/gguf.h"

namespace {
using namespace r1::gguf;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_gguf: invariant broken: %s\n", what);
    std::abort();
}

void check(const Reader& r, const uint8_t* data, size_t size) {
    for (const auto& t : r.tensors()) {
        const auto* p = static_cast<const uint8_t*>(t.data);
        if (p < data || t.nbytes > size || p > data + size - t.nbytes) finding("tensor view outside the input");
        if (t.offset % r.alignment() != 0) finding("misaligned tensor accepted");
        if (t.n_dims < 0 || t.n_dims > kMaxDims) finding("n_dims out of range");
        if (r.find_tensor(t.name) != &t) finding("tensor index");
        // Touch every byte so ASan sees any out-of-bounds view.
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < t.nbytes; i++) sink = sink ^ p[i];
        (void)sink;
    }
    // Typed getters: the value's own type works, another type throws r1::Error.
    for (const auto& kv : r.metadata()) {
        if (r.find(kv.key) != &kv.value) finding("kv index");
        if (kv.value.type == Type::arr) r.expect_array(kv.key, kv.value.elem);
        else r.expect(kv.key, kv.value.type);
        const Type other = kv.value.type == Type::u32 ? Type::str : Type::u32;
        try {
            r.expect(kv.key, other);
            finding("getter accepted the wrong type");
        } catch (const r1::Error&) {
        }
        (void)format_value(kv.value);
    }
}

void round_trip(const Reader& r) {
    Writer w;
    for (const auto& kv : r.metadata()) w.add(kv.key, kv.value);
    for (const auto& t : r.tensors())
        w.add_tensor_ref(t.name, t.dims(),
                         t.type, t.data, t.nbytes);
    const std::vector<uint8_t> bytes = w.to_bytes();
    const Reader back = Reader::parse(bytes.data(), bytes.size(), "rewritten");
    if (back.metadata().size() != r.metadata().size()) finding("kv count changed");
    for (size_t i = 0; i < r.metadata().size(); i++)
        if (back.metadata()[i].key != r.metadata()[i].key ||
            !(back.metadata()[i].value == r.metadata()[i].value))
            finding("kv changed in the round trip");
    if (back.tensors().size() != r.tensors().size()) finding("tensor count changed");
    for (size_t i = 0; i < r.tensors().size(); i++) {
        const auto &a = r.tensors()[i], &b = back.tensors()[i];
        if (a.name != b.name || a.ne != b.ne || a.n_dims != b.n_dims || a.type != b.type ||
            a.nbytes != b.nbytes || (a.nbytes && std::memcmp(a.data, b.data, a.nbytes) != 0))
            finding("tensor changed in the round trip");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const Reader r = Reader::parse(data, size, "fuzz");
        check(r, data, size);
        round_trip(r);
    } catch (const r1::Error&) {
        // The expected outcome for almost every input.
    }
    return 0;
}
