// Element-wise activations over n floats. In-place (y == x) is allowed in forward.
//   GELU: erf form (PyTorch nn.GELU() default) or tanh approximation (GPT-2, approximate='tanh')
//   SiLU: x * sigmoid(x)
//   SwiGLU: y = silu(g) * u   (Llama/Qwen/DeepSeek MLP; g = gate proj, u = up proj)
#pragma once
#include <cstdint>

namespace r1 {

enum class GeluKind { erf, tanh };

void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind);
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind);
void silu_forward(float* y, const float* x, int64_t n);
void silu_backward(float* dx, const float* dy, const float* x, int64_t n);

// Rows of g and u may be strided (e.g. g and u halves of one fused [N, 2F] GEMM output):
// y[N,F] = silu(g[N,F]) * u[N,F], with row strides g_stride, u_stride (y dense, stride F).
void swiglu_forward(float* y, const float* g, const float* u, int64_t N, int64_t F,
                    int64_t g_stride, int64_t u_stride);
// dg, du overwritten, with the same strides as g, u.
void swiglu_backward(float* dg, float* du, const float* dy, const float* g, const float* u,
                     int64_t N, int64_t F, int64_t g_stride, int64_t u_stride);

// y += x (n floats); the residual stream.
void add_inplace(float* y, const float* x, int64_t n);

namespace ref {
void gelu_forward(float* y, const float* x, int64_t n, GeluKind kind);
void gelu_backward(float* dx, const float* dy, const float* x, int64_t n, GeluKind kind);
void silu_forward(float* y, const float* x, int64_t n);
void silu_backward(float* dx, const float* dy, const float* x, int64_t n);
void swiglu_forward(float* y, const float* g, const float* u, int64_t N, int64_t F,
                    int64_t g_stride, int64_t u_stride);
void swiglu_backward(float* dg, float* du, const float* dy, const float* g, const float* u,
                     int64_t N, int64_t F, int64_t g_stride, int64_t u_stride);
}  // namespace ref

}  // namespace r1
