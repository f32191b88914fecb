// Row-wise softmax forward/backward: ref:: plain loops (double sums, the oracle) and the
// public entry points (rows split across threads, AVX2/AVX-512 kernels from
// backend/cpu/softmax_*.cpp). A row of all -Inf gives NaN, as in PyTorch.
#include "ops/softmax.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/elementwise_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace ref {
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        const float* xr = x + r * cols;  // [cols]
        float* yr = y + r * cols;
        float m = -INFINITY;
        for (int64_t c = 0; c < cols; c++) m = std::max(m, xr[c]);
        double sum = 0;
        for (int64_t c = 0; c < cols; c++) {
            const double e = std::exp((double)xr[c] - m);
            yr[c] = (float)e;
            sum += e;
        }
        for (int64_t c = 0; c < cols; c++) yr[c] = (float)(yr[c] / sum);
    }
}

void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        const float* dyr = dy + r * cols;
        const float* yr = y + r * cols;
        float* dxr = dx + r * cols;
        double dot = 0;
        for (int64_t c = 0; c < cols; c++) dot += (double)dyr[c] * yr[c];
        for (int64_t c = 0; c < cols; c++) dxr[c] = (float)(yr[c] * (dyr[c] - dot));
    }
}
}  // namespace ref

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    R1_CHECK(rows >= 0 && cols > 0, "[softmax_forward] bad shape rows=", rows, " cols=", cols);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::softmax_forward(y, x, rows, cols);
    parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512) cpu::avx512::softmax_fwd_rows(y, x, r0, r1, cols);
            else cpu::avx2::softmax_fwd_rows(y, x, r0, r1, cols);
        },
        std::max<int64_t>(1, 4096 / cols));
}

void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols) {
    R1_CHECK(rows >= 0 && cols > 0, "[softmax_backward] bad shape rows=", rows, " cols=", cols);
    const Isa isa = active_isa();
    if (isa == Isa::scalar) return ref::softmax_backward(dx, dy, y, rows, cols);
    parallel_for(
        rows,
        [&](int64_t r0, int64_t r1) {
            if (isa == Isa::avx512) cpu::avx512::softmax_bwd_rows(dx, dy, y, r0, r1, cols);
            else cpu::avx2::softmax_bwd_rows(dx, dy, y, r0, r1, cols);
        },
        std::max<int64_t>(1, 8192 / cols));
}

}  // namespace r1
