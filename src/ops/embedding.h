// Token / position embedding lookup.  table: [V, C];  ids: [N] (0 <= id < V);  y: [N, C].
#pragma once
#include <cstdint>

namespace r1 {

// y[n] = table[ids[n]]; if accumulate, y[n] += table[ids[n]] (adding positions to tokens).
void embedding_forward(float* y, const int32_t* ids, const float* table, int64_t N, int64_t C,
                       bool accumulate = false);
// dtable[ids[n]] += dy[n]. Deterministic (no atomics: threads split the C dimension).
void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t N,
                        int64_t C);

namespace ref {
void embedding_forward(float* y, const int32_t* ids, const float* table, int64_t N, int64_t C,
                       bool accumulate = false);
void embedding_backward(float* dtable, const float* dy, const int32_t* ids, int64_t N,
                        int64_t C);
}  // namespace ref

}  // namespace r1
