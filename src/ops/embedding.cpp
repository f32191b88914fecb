// Embedding lookup and its gradient scatter-add.
// ref:: is the plain loop. The public versions are the same arithmetic, threaded: forward
// splits tokens, backward splits the C dimension (each thread owns dtable[:, c0:c1) and walks
// the tokens in order), so repeated ids accumulate deterministically without atomics.
// There is no SIMD variant: both directions are row copies/adds the compiler vectorises and
// memory bandwidth bounds.
// The vocabulary size is not part of the interface, so only id >= 0 can be checked here;
// callers validate ids < V where tokens enter the model.
#include "ops/embedding.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace {
void check_ids(const char* op, const int32_t* ids, int64_t N, int64_t C) {
    R1_CHECK(N >= 0 && C >= 0, "[", op, "] bad shape N=", N, " C=", C);
    for (int64_t n = 0; n < N; n++)
        R1_CHECK(ids[n] >= 0, "[", op, "] negative token id ", ids[n], " at position ", n);
}
}  // namespace

namespace ref {
void embedding_forward(float* y, const int32_t* ids, const float* table, int64_t N, int64_t C,
                       bool accumulate) {
    check_ids("embedding_forward", ids, N, C);
    for (int64_t n = 0; n < N; n++) {
        const float* row = table + (int64_t)ids[n] * C;  // [C]
        for (int64_t c = 0; c < C; c++) y[n * C + c] = (accumulate ? y[n * C + c] : 0.0f) + row[c];
    }
}

void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t N,
                        int64_t C) {
    check_ids("embedding_backward", ids, N, C);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) dtable[(int64_t)ids[n] * C + c] += dy[n * C + c];
}
}  // namespace ref

void embedding_forward(float* y, const int32_t* ids, const float* table, int64_t N, int64_t C,
                       bool accumulate) {
    check_ids("embedding_forward", ids, N, C);
    if (C == 0) return;
    parallel_for(
        N,
        [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; n++) {
                const float* row = table + (int64_t)ids[n] * C;
                float* yr = y + n * C;
                if (accumulate)
                    for (int64_t c = 0; c < C; c++) yr[c] += row[c];
                else
                    std::memcpy(yr, row, (size_t)C * sizeof(float));
            }
        },
        std::max<int64_t>(1, 16384 / C));
}

void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t N,
                        int64_t C) {
    check_ids("embedding_backward", ids, N, C);
    if (N == 0) return;
    // Column slices of >= 16 floats (one cache line) and ~8K updates per task.
    const int64_t grain = std::max<int64_t>(16, 8192 / N);
    parallel_for(
        C,
        [&](int64_t c0, int64_t c1) {
            for (int64_t n = 0; n < N; n++) {
                float* dst = dtable + (int64_t)ids[n] * C;
                const float* src = dy + n * C;
                for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
            }
        },
        grain);
}

}  // namespace r1
