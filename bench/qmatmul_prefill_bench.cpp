// Prefill-shaped qlinear_forward on qwen2-0.5b's Q8_0 shapes (M activation rows, default
// 128), measured in CPU seconds of the process, not wall-clock: the development machine is
// shared by several engineers and wall time under load says little, while the CPU time of a
// single-threaded run (default --threads 1) barely moves with load. GFLOP/s = 2·M·N·K / CPU
// seconds (median call); "layer" sums one transformer layer's products (q|k|v, o, gate|up,
// down), and the last line multiplies it by 24 layers as a prefill estimate.
//
//   scripts/bench_qmatmul.sh --prefill [--m 128] [--threads 1] [--iters 9] [--type q8_0]
//
// Built by scripts/bench_qmatmul.sh (g++ against libr1core.a; not CMake).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/rng.h"
#include "core/threads.h"
#include "ops/qmatmul.h"

namespace {

double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 1, iters = 9;
    int64_t M = 128;
    std::string type = "q8_0";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--threads") threads = std::atoi(argv[i + 1]);
        else if (a == "--iters") iters = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--m") M = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--type") type = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--iters N] [--m M] [--type q8_0|q4_0|f16|bf16|f32]\n", argv[0]);
            return 2;
        }
    }
    r1::DType t = r1::DType::q8_0;
    if (type == "q4_0") t = r1::DType::q4_0;
    else if (type == "f16") t = r1::DType::f16;
    else if (type == "bf16") t = r1::DType::bf16;
    else if (type == "f32") t = r1::DType::f32;
    else if (type != "q8_0") {
        std::fprintf(stderr, "qmatmul_prefill_bench: unknown --type '%s'\n", type.c_str());
        return 2;
    }
    r1::set_num_threads(threads);
    struct Shape {
        const char* name;
        int64_t N, K;
    };
    const Shape shapes[] = {{"attn_qkv", 1152, 896}, {"attn_output", 896, 896},
                            {"ffn_gate_up", 9728, 896}, {"ffn_down", 896, 4864}};
    std::printf("qlinear_forward %s, M=%lld, %d thread(s), isa %s; CPU time per call (median of %d)\n",
                r1::dtype_name(t), (long long)M, threads, r1::cpu_summary().c_str(), iters);
    std::printf("%-12s %6s %6s %10s %10s %9s\n", "product", "N", "K", "cpu-ms", "cpu-ms-min", "GFLOP/s");
    r1::Rng rng(1);
    double layer_s = 0, layer_flop = 0;
    for (const Shape& s : shapes) {
        std::vector<float> src(s.N * s.K);
        for (auto& v : src) v = rng.normal() * 0.05f;
        std::vector<uint8_t> w(r1::dtype_row_bytes(t, s.K) * s.N);
        r1::from_f32(w.data(), src.data(), t, s.N * s.K);
        std::vector<float> x(M * s.K), y(M * s.N);
        for (auto& v : x) v = rng.normal();
        const r1::WeightView v{t, w.data(), s.N, s.K};
        r1::qlinear_forward(y.data(), x.data(), v, M);  // warm-up: scratch, thread team
        std::vector<double> dt(iters);
        for (int i = 0; i < iters; i++) {
            const double t0 = cpu_seconds();
            r1::qlinear_forward(y.data(), x.data(), v, M);
            dt[i] = cpu_seconds() - t0;
        }
        std::sort(dt.begin(), dt.end());
        const double med = dt[iters / 2], flop = 2.0 * M * s.N * s.K;
        layer_s += med;
        layer_flop += flop;
        std::printf("%-12s %6lld %6lld %10.3f %10.3f %9.1f\n", s.name, (long long)s.N, (long long)s.K,
                    med * 1e3, dt[0] * 1e3, flop / med / 1e9);
    }
    std::printf("%-12s %6s %6s %10.3f %10s %9.1f\n", "layer", "", "", layer_s * 1e3, "", layer_flop / layer_s / 1e9);
    std::printf("24 layers: %.1f CPU-ms for %lld rows = %.0f rows per CPU-second (products only)\n",
                24 * layer_s * 1e3, (long long)M, M / (24 * layer_s));
    return 0;
}
