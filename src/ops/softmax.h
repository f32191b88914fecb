// Row-wise softmax over [rows, cols]. In-place allowed in forward.
#pragma once
#include <cstdint>

namespace r1 {

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);
// dx = y * (dy - Σ dy*y)   (overwritten)
void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols);

namespace ref {
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);
void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols);
}  // namespace ref

}  // namespace r1
