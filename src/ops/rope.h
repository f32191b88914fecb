// Rotary position embedding, two layouts:
//   neox:        pairs (x[i], x[i + rot/2])  — HF Llama/Qwen2 ("rotate_half"), llama.cpp NEOX
//   interleaved: pairs (x[2i], x[2i+1])      — DeepSeek's reference code, GPT-J, llama.cpp NORM
// Pair i rotates by angle pos * theta_i, theta_i = freq_base^(-2i/rot) (optionally YaRN-scaled:
// the table is built once and shared by every layer).
#pragma once
#include <cstdint>
#include <vector>

namespace r1 {

enum class RopeLayout { neox, interleaved };

struct RopeTable {
    int64_t rot_dim = 0;      // rotated dims per head (even)
    int64_t max_pos = 0;
    std::vector<float> cos;   // [max_pos, rot_dim/2]
    std::vector<float> sin;   // [max_pos, rot_dim/2]
    float attn_factor = 1.0f; // YaRN mscale applied to cos/sin already (1 without YaRN)
};

struct YarnParams {
    float factor = 1.0f;               // 1 = no scaling
    int64_t original_max_pos = 0;
    float beta_fast = 32.0f, beta_slow = 1.0f;
    float mscale = 1.0f, mscale_all_dim = 0.0f;
};

RopeTable rope_table(int64_t rot_dim, int64_t max_pos, float freq_base,
                     const YarnParams& yarn = {});

// Rotates, in place or out of place, the first rot_dim floats of each head. Out of place,
// only those floats of y are written (the rest of each head in y is left as it was).
// x, y: element (n, h, d) at [n * token_stride + h * head_stride + d]; pos: [N].
void rope_forward(float* y, const float* x, const int32_t* pos, int64_t N, int64_t n_head,
                  int64_t token_stride, int64_t head_stride, const RopeTable& t,
                  RopeLayout layout);
// The transpose (inverse rotation) of the above; dx overwritten (in place allowed).
void rope_backward(float* dx, const float* dy, const int32_t* pos, int64_t N, int64_t n_head,
                   int64_t token_stride, int64_t head_stride, const RopeTable& t,
                   RopeLayout layout);

namespace ref {
void rope_forward(float* y, const float* x, const int32_t* pos, int64_t N, int64_t n_head,
                  int64_t token_stride, int64_t head_stride, const RopeTable& t,
                  RopeLayout layout);
void rope_backward(float* dx, const float* dy, const int32_t* pos, int64_t N, int64_t n_head,
                   int64_t token_stride, int64_t head_stride, const RopeTable& t,
                   RopeLayout layout);
}  // namespace ref

}  // namespace r1
