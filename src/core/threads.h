// Thread pool. r1.cpp uses the OpenMP team as its pool: oneDNN (our GEMM) is built on
// libgomp, and a second pool of our own would fight it for the same two cores (both spin
// after each parallel region). All parallel work goes through these calls so the runtime
// can be swapped in one place.
//
// Determinism: parallel_for splits [0, n) into the same contiguous chunks for a given
// thread count, so results are bit-identical run to run with the same R1 thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace r1 {

// Sets the number of worker threads (>= 1) for r1 kernels and oneDNN. Default: the
// R1_THREADS environment variable, else the number of online cores.
void set_num_threads(int n);
int num_threads();

// Calls fn(begin, end) on disjoint contiguous chunks covering [0, n). Chunks are at least
// `grain` long (small n runs on the calling thread). Static partition: deterministic.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

// Calls fn(thread_index, n_threads) once on each thread of the pool.
void parallel_run(const std::function<void(int, int)>& fn);

}  // namespace r1
