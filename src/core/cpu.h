// CPU feature detection and the run-time kernel choice.
// Each fast kernel exists as scalar reference + AVX2 + AVX-512 variants in separate files
// (compiled with their own -m flags); callers ask active_isa() which one to run.
// R1_ISA=scalar|avx2|avx512 in the environment (or force_isa in tests) caps the choice.
#pragma once
#include <string>

namespace r1 {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
};

const CpuFeatures& cpu_features();
Isa best_isa();                 // what this CPU supports
Isa active_isa();               // min(best_isa, forced cap)
void force_isa(Isa cap);        // cap the choice (tests run every level the CPU has)
const char* isa_name(Isa isa);
std::string cpu_summary();      // "avx512 (vnni, bf16)" for logs and bench JSON

}  // namespace r1
