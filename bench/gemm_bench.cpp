// GEMM library measurement: oneDNN dnnl_sgemm vs OpenBLAS cblas_sgemm, fp32, row-major,
// on the GEMM shapes of the training benchmark (N = B·T = 4096 tokens, d_model 256):
//   fwd  y  = x · Wᵀ      NT  M=4096 N=out K=256
//   bwd  dx = dy · W      NN  M=4096 N=256 K=out
//   bwd  dW = dyᵀ · x     TN  M=out  N=256 K=4096
// for out ∈ {768 (QKV), 1024 (MLP up), 512 (vocab)}, plus a square n=2048 reference.
// Median of `reps` timed runs after 2 warm-ups; prints a table and one JSON line.
// Why this exists: DESIGN.md picks oneDNN for r1::gemm; this re-measures that choice. The
// OpenBLAS kernel is whatever OPENBLAS_CORETYPE selects (left as the environment sets it).
// Built and run by scripts/bench_gemm.sh (not part of the CMake build).
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Shape {
    const char* name;
    bool ta, tb;
    long M, N, K;
};

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

template <class F>
double median_seconds(F&& f, int reps) {
    f();
    f();
    std::vector<double> t;
    for (int i = 0; i < reps; i++) {
        double a = now();
        f();
        t.push_back(now() - a);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, reps = 7;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: gemm_bench [--threads N] [--reps N]\n");
            return 2;
        }
    }
    omp_set_num_threads(threads);        // oneDNN runs on the OpenMP team
    openblas_set_num_threads(threads);   // OpenBLAS has its own pool

    const Shape shapes[] = {
        {"qkv fwd  x*W^T", false, true, 4096, 768, 256},
        {"qkv bwd  dy*W", false, false, 4096, 256, 768},
        {"qkv bwd  dy^T*x", true, false, 768, 256, 4096},
        {"mlp fwd  x*W^T", false, true, 4096, 1024, 256},
        {"mlp bwd  dy*W", false, false, 4096, 256, 1024},
        {"mlp bwd  dy^T*x", true, false, 1024, 256, 4096},
        {"head fwd x*W^T", false, true, 4096, 512, 256},
        {"head bwd dy*W", false, false, 4096, 256, 512},
        {"head bwd dy^T*x", true, false, 512, 256, 4096},
        {"square n=2048", false, false, 2048, 2048, 2048},
    };
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    const char* core = std::getenv("OPENBLAS_CORETYPE");
    std::printf("threads %d, reps %d, OpenBLAS core %s (OPENBLAS_CORETYPE=%s)\n", threads, reps,
                openblas_get_corename(), core ? core : "unset");
    std::printf("%-18s %2s %5s %5s %5s %12s %12s %7s\n", "shape", "op", "M", "N", "K",
                "oneDNN GF/s", "OpenBLAS GF/s", "ratio");
    std::string json = "{\"bench\":\"gemm\",\"threads\":" + std::to_string(threads) +
                       ",\"openblas_core\":\"" + openblas_get_corename() + "\",\"results\":[";
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const Shape& s = shapes[si];
        // Row-major: A is [M,K] or [K,M] (ta); B is [K,N] or [N,K] (tb).
        const long lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N, ldc = s.N;
        std::vector<float> A(s.M * s.K), B(s.K * s.N), C(s.M * s.N, 0.0f);
        for (auto& x : A) x = nd(rng);
        for (auto& x : B) x = nd(rng);
        const double flop = 2.0 * s.M * s.N * s.K;
        const double t_dnnl = median_seconds(
            [&] {
                dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', s.M, s.N, s.K, 1.0f, A.data(), lda,
                           B.data(), ldb, 0.0f, C.data(), ldc);
            },
            reps);
        const double t_blas = median_seconds(
            [&] {
                cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans,
                            s.tb ? CblasTrans : CblasNoTrans, s.M, s.N, s.K, 1.0f, A.data(), lda,
                            B.data(), ldb, 0.0f, C.data(), ldc);
            },
            reps);
        const double g_dnnl = flop / t_dnnl / 1e9, g_blas = flop / t_blas / 1e9;
        const char* op = s.ta ? "TN" : (s.tb ? "NT" : "NN");
        std::printf("%-18s %2s %5ld %5ld %5ld %12.1f %12.1f %7.2f\n", s.name, op, s.M, s.N, s.K,
                    g_dnnl, g_blas, g_dnnl / g_blas);
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "%s{\"shape\":\"%s\",\"op\":\"%s\",\"M\":%ld,\"N\":%ld,\"K\":%ld,"
                      "\"dnnl_gflops\":%.1f,\"openblas_gflops\":%.1f}",
                      si ? "," : "", s.name, op, s.M, s.N, s.K, g_dnnl, g_blas);
        json += buf;
    }
    json += "]}";
    std::printf("%s\n", json.c_str());
    return 0;
}
