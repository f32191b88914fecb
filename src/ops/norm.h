// LayerNorm (GPT-2) and RMSNorm (Llama/Qwen/DeepSeek), row-wise over the last dim.
// Shapes: x, y, dx, dy: [N, C] (row stride C);  w, b, dw, db: [C];  mean, rstd: [N].
#pragma once
#include <cstdint>

namespace r1 {

// y = (x - mean) * rstd * w + b   (b may be null). Saves mean/rstd (may be null at inference).
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int64_t C, float eps);
// dx overwritten; dw, db accumulated (db may be null).
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N,
                        int64_t C);

// y = x * rstd * w,  rstd = 1/sqrt(mean(x²) + eps). Saves rstd (may be null at inference).
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t N,
                     int64_t C, float eps);
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C);

namespace ref {
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int64_t C, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N,
                        int64_t C);
void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t N,
                     int64_t C, float eps);
void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C);
}  // namespace ref

}  // namespace r1
