// Decode-shaped qlinear_forward measurement: M = 1 (or --m) products with stored weights,
// reported as GB/s of weight bytes streamed (and GFLOP/s, the figure that matters for --m
// in the prefill range), next to a plain read-bandwidth probe on the
// same threads (the ceiling a memory-bound matvec can reach).
//
// Several copies of each weight matrix (--rotate-mb in total, default 512: this AMD EPYC
// guest may sit on a very large L3) are used in rotation so every call streams its weights
// from DRAM, not from the last-level cache, as decoding a real model does. Built by scripts/bench_qmatmul.sh (g++ against libr1core.a; not CMake).
// The development machine is shared: numbers are indicative only.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/rng.h"
#include "core/threads.h"
#include "ops/qmatmul.h"

namespace {

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Read bandwidth, measured like the products: a --rotate-mb buffer read in 4 MB pieces
// (AVX-512 loads; the script builds with -march=native) split over the r1 thread team, each
// piece timed alone; the best piece is the estimate.
double probe_read_gbs(int iters, int64_t mb) {
    const int64_t piece = (int64_t{4} << 20) / 4, pieces = std::max<int64_t>(2, mb / 4);
    std::vector<float> buf(piece * pieces, 1.0f);
    double best = 0;
    volatile float sink = 0;
    for (int it = 0; it < iters; it++) {
        const float* p = buf.data() + (it % pieces) * piece;
        float part[64] = {};
        const double t0 = now();
        r1::parallel_for(
            piece,
            [&](int64_t a, int64_t b) {
                __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                int64_t i = a;
                for (; i + 64 <= b; i += 64) {
                    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(p + i));
                    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(p + i + 16));
                    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(p + i + 32));
                    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(p + i + 48));
                }
                float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
                for (; i < b; i++) s += p[i];
                part[(a * 64) / piece] = s;
            },
            1 << 14);
        const double dt = now() - t0;
        for (float v : part) sink = sink + v;
        best = std::max(best, piece * 4.0 / dt / 1e9);
    }
    return best;
}

struct Result {
    double gbs, us_best, us_median;  // gbs from the best call
};

Result run(r1::DType t, int64_t N, int64_t K, int64_t M, int iters, int64_t mb) {
    const int64_t bytes = r1::dtype_row_bytes(t, K) * N;
    const int copies = (int)std::max<int64_t>(2, ((mb << 20) + bytes - 1) / bytes);
    std::vector<std::vector<uint8_t>> ws(copies);
    r1::Rng rng(1);
    std::vector<float> src(N * K);
    for (auto& v : src) v = rng.normal() * 0.05f;
    for (auto& w : ws) {
        w.resize(bytes);
        r1::from_f32(w.data(), src.data(), t, N * K);
    }
    std::vector<float> x(M * K), y(M * N);
    for (auto& v : x) v = rng.normal();
    for (int i = 0; i < copies; i++)  // warm-up: page faults, thread team, scratch
        r1::qlinear_forward(y.data(), x.data(), {t, ws[i].data(), N, K}, M);
    // Each call timed alone: on a shared machine the best call is the estimate of what a
    // quiet machine does, the median shows how noisy the run was.
    std::vector<double> dt(iters);
    for (int i = 0; i < iters; i++) {
        const double t0 = now();
        r1::qlinear_forward(y.data(), x.data(), {t, ws[i % copies].data(), N, K}, M);
        dt[i] = now() - t0;
    }
    std::sort(dt.begin(), dt.end());
    return {bytes / dt[0] / 1e9, dt[0] * 1e6, dt[iters / 2] * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, iters = 400;
    int64_t M = 1, mb = 512;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--threads") threads = std::atoi(argv[i + 1]);
        else if (a == "--iters") iters = std::atoi(argv[i + 1]);
        else if (a == "--m") M = std::atoi(argv[i + 1]);
        else if (a == "--rotate-mb") mb = std::atoi(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--iters N] [--m M] [--rotate-mb MB]\n", argv[0]);
            return 2;
        }
    }
    r1::set_num_threads(threads);
    const double bw = probe_read_gbs(iters, mb);
    std::printf("qlinear_forward, M=%lld, %d threads, isa %s; read-bandwidth probe %.1f GB/s\n",
                (long long)M, threads, r1::cpu_summary().c_str(), bw);
    std::printf("%-6s %6s %6s %9s %9s %8s %6s %8s\n", "type", "N", "K", "us-best", "us-median",
                "GB/s", "of-bw", "GFLOP/s");
    struct Shape {
        r1::DType t;
        int64_t N, K;
    };
    const Shape shapes[] = {{r1::DType::q8_0, 4864, 896}, {r1::DType::q8_0, 896, 4864},
                            {r1::DType::q4_0, 4864, 896}, {r1::DType::f16, 4864, 896},
                            {r1::DType::bf16, 4864, 896}, {r1::DType::f32, 4864, 896}};
    std::string json = "{\"bench\":\"qmatmul\",\"M\":" + std::to_string(M) +
                       ",\"threads\":" + std::to_string(threads) +
                       ",\"read_bw_gbs\":" + std::to_string(bw) + ",\"cases\":[";
    bool first = true;
    for (const Shape& s : shapes) {
        const Result r = run(s.t, s.N, s.K, M, iters, mb);
        const double gflops = 2.0 * M * s.N * s.K / r.us_best / 1e3;  // best call
        std::printf("%-6s %6lld %6lld %9.1f %9.1f %8.1f %5.0f%% %8.1f\n", r1::dtype_name(s.t),
                    (long long)s.N, (long long)s.K, r.us_best, r.us_median, r.gbs, 100 * r.gbs / bw,
                    gflops);
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s{\"type\":\"%s\",\"N\":%lld,\"K\":%lld,\"us_best\":%.2f,\"us_median\":%.2f,\"gbs\":%.2f,\"gflops\":%.1f}",
                      first ? "" : ",", r1::dtype_name(s.t), (long long)s.N, (long long)s.K,
                      r.us_best, r.us_median, r.gbs, gflops);
        json += buf;
        first = false;
    }
    std::printf("%s]}\n", json.c_str());
    return 0;
}
