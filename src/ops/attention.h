// Causal scaled-dot-product attention with grouped KV heads (GQA/MQA/MHA).
// Training layout: B sequences of T tokens, q/k/v read with row strides so they can be
// column blocks of one fused QKV GEMM output.
//   q:   element (b, t, h, d)  at q[(b*T + t) * q_stride + h * hd_qk + d]      h < n_head
//   k:   element (b, t, g, d)  at k[(b*T + t) * k_stride + g * hd_qk + d]      g < n_head_kv
//   v:   element (b, t, g, d)  at v[(b*T + t) * v_stride + g * hd_v + d]
//   out: element (b, t, h, d)  at out[(b*T + t) * out_stride + h * hd_v + d]
// Head h reads kv head h / (n_head / n_head_kv). Query t attends to keys 0..t.
// The forward never materialises a T×T score matrix (online softmax over key tiles); it
// saves the log-sum-exp of every (b, h, t) row so backward can recompute probabilities.
#pragma once
#include <cstdint>

namespace r1 {

struct AttnShape {
    int64_t B = 1, T = 0;
    int64_t n_head = 1, n_head_kv = 1;
    int64_t hd_qk = 0, hd_v = 0;
    int64_t q_stride = 0, k_stride = 0, v_stride = 0, out_stride = 0;
    float scale = 0;  // usually 1/sqrt(hd_qk) (MLA with YaRN multiplies in mscale²)
};

// lse: [B, n_head, T] (may be null at inference).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttnShape& s);
// dq, dk, dv: same layouts/strides as q, k, v; OVERWRITTEN (only the head columns are
// written, other columns of a fused buffer are left alone).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const AttnShape& s);

namespace ref {
// Plain loops with an explicit T×T probability matrix.
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const AttnShape& s);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out,
                        const float* lse, const float* q, const float* k, const float* v,
                        const AttnShape& s);
}  // namespace ref

}  // namespace r1
