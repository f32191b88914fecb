#include "core/threads.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace r1 {
namespace {
int g_threads = 0;

int default_threads() {
    if (const char* s = std::getenv("R1_THREADS")) {
        int n = std::atoi(s);
        if (n > 0) return n;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

void set_num_threads(int n) {
    g_threads = std::max(1, n);
    omp_set_num_threads(g_threads);
}

int num_threads() {
    if (g_threads == 0) set_num_threads(default_threads());
    return g_threads;
}

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int64_t max_chunks = (n + grain - 1) / grain;
    const int nt = (int)std::min<int64_t>(num_threads(), max_chunks);
    if (nt <= 1) {
        fn(0, n);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
        if (begin < end) fn(begin, end);
    }
}

void parallel_run(const std::function<void(int, int)>& fn) {
    const int nt = num_threads();
    if (nt <= 1) {
        fn(0, 1);
        return;
    }
#pragma omp parallel num_threads(nt)
    fn(omp_get_thread_num(), nt);
}

}  // namespace r1
