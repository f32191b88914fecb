#include "core/cpu.h"

#include <cstdlib>
#include <cstring>

namespace r1 {
namespace {
CpuFeatures detect() {
    CpuFeatures f;
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = true;  // every AVX2 CPU we target has F16C; checked together with avx2 below
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
    f.avxvnni = __builtin_cpu_supports("avxvnni");
    return f;
}

Isa env_cap() {
    const char* s = std::getenv("R1_ISA");
    if (!s) return Isa::avx512;
    if (!std::strcmp(s, "scalar")) return Isa::scalar;
    if (!std::strcmp(s, "avx2")) return Isa::avx2;
    return Isa::avx512;
}

Isa g_cap = env_cap();
}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

Isa best_isa() {
    const auto& f = cpu_features();
    // The AVX-512 kernels use F, BW, VL, DQ (and VNNI/BF16 only behind their own checks).
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma) return Isa::avx512;
    if (f.avx2 && f.fma) return Isa::avx2;
    return Isa::scalar;
}

Isa active_isa() {
    Isa b = best_isa();
    return (int)g_cap < (int)b ? g_cap : b;
}

void force_isa(Isa cap) { g_cap = cap; }

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
    }
    return "?";
}

std::string cpu_summary() {
    const auto& f = cpu_features();
    std::string s = isa_name(active_isa());
    if (f.avx512vnni) s += " vnni";
    if (f.avx512bf16) s += " bf16";
    return s;
}

}  // namespace r1
