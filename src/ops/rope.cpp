// Rotary position embedding: the cos/sin table (plain RoPE or YaRN), ref:: loops, and the
// public entry points (tokens split across threads, AVX2/AVX-512 kernels from
// backend/cpu/rope_*.cpp).
//
// Table: inv_freq follows HF transformers (float32 inv_freq; angle = float32(pos * inv_freq),
// as torch.outer computes it) so positions rotate exactly as in the checkpoints' reference
// code; cos/sin of that angle are taken in double. YaRN follows HF's DeepSeek-V2/V3
// DeepseekV3YarnRotaryEmbedding: inv_freq blended between interpolation (inv_freq/factor)
// and extrapolation (inv_freq) by a linear ramp between the correction dims of beta_fast and
// beta_slow, and cos/sin multiplied by mscale = get_mscale(factor, mscale) /
// get_mscale(factor, mscale_all_dim) (also returned as attn_factor).
//
// Out of place, only the first rot_dim floats of each head of y are written (the rest of y
// is left as it is); callers that rotate part of a head pass y == x or copy the rest.
#include "ops/rope.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/elementwise_kernels.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1 {

namespace {
constexpr double kPi = 3.14159265358979323846;

// HF yarn_find_correction_dim: the dim whose wavelength makes num_rot turns over max_pos.
double yarn_correction_dim(double num_rot, double dim, double base, double max_pos) {
    return dim * std::log(max_pos / (num_rot * 2 * kPi)) / (2 * std::log(base));
}
double yarn_get_mscale(double scale, double mscale) {
    return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

void check_rope(const char* op, const int32_t* pos, int64_t N, int64_t n_head,
                const RopeTable& t) {
    R1_CHECK(N >= 0 && n_head >= 0, "[", op, "] bad shape N=", N, " n_head=", n_head);
    R1_CHECK(t.rot_dim > 0 && t.rot_dim % 2 == 0 &&
                 (int64_t)t.cos.size() == t.max_pos * (t.rot_dim / 2) &&
                 t.sin.size() == t.cos.size(),
             "[", op, "] rope table is empty or inconsistent (rot_dim=", t.rot_dim,
             ", max_pos=", t.max_pos, ")");
    for (int64_t n = 0; n < N; n++)
        R1_CHECK(pos[n] >= 0 && pos[n] < t.max_pos, "[", op, "] position ", pos[n], " at token ",
                 n, " outside the rope table [0, ", t.max_pos, ")");
}

// Rotates by +angle (sign = 1) or -angle (sign = -1).
void rope_ref(float* y, const float* x, const int32_t* pos, int64_t N, int64_t n_head,
              int64_t token_stride, int64_t head_stride, const RopeTable& t, RopeLayout layout,
              float sign) {
    const int64_t half = t.rot_dim / 2;
    for (int64_t n = 0; n < N; n++) {
        const float* cs = t.cos.data() + (int64_t)pos[n] * half;  // [half]
        const float* sn = t.sin.data() + (int64_t)pos[n] * half;
        for (int64_t h = 0; h < n_head; h++) {
            const float* xh = x + n * token_stride + h * head_stride;
            float* yh = y + n * token_stride + h * head_stride;
            for (int64_t i = 0; i < half; i++) {
                const int64_t i0 = layout == RopeLayout::neox ? i : 2 * i;
                const int64_t i1 = layout == RopeLayout::neox ? i + half : 2 * i + 1;
                const float a = xh[i0], b = xh[i1], c = cs[i], s = sign * sn[i];
                yh[i0] = a * c - b * s;
                yh[i1] = a * s + b * c;
            }
        }
    }
}
}  // namespace

RopeTable rope_table(int64_t rot_dim, int64_t max_pos, float freq_base, const YarnParams& yarn) {
    R1_CHECK(rot_dim > 0 && rot_dim % 2 == 0, "[rope] rot_dim must be positive and even, got ",
             rot_dim);
    R1_CHECK(max_pos > 0, "[rope] max_pos must be positive, got ", max_pos);
    R1_CHECK(freq_base > 1.0f, "[rope] freq_base (rope_theta) must be > 1, got ", freq_base);
    R1_CHECK(yarn.factor >= 1.0f, "[rope] yarn factor must be >= 1 (1 = no scaling), got ",
             yarn.factor);
    const int64_t half = rot_dim / 2;
    std::vector<float> inv_freq(half);
    for (int64_t i = 0; i < half; i++)
        inv_freq[i] = (float)(1.0 / std::pow((double)freq_base, (double)(2 * i) / rot_dim));
    double mscale = 1.0;
    if (yarn.factor != 1.0f) {
        R1_CHECK(yarn.original_max_pos > 0,
                 "[rope] yarn needs original_max_position_embeddings > 0");
        R1_CHECK(yarn.beta_fast > 0 && yarn.beta_slow > 0, "[rope] yarn beta_fast/beta_slow must be > 0");
        double low = std::floor(
            yarn_correction_dim(yarn.beta_fast, rot_dim, freq_base, (double)yarn.original_max_pos));
        double high = std::ceil(
            yarn_correction_dim(yarn.beta_slow, rot_dim, freq_base, (double)yarn.original_max_pos));
        low = std::max(low, 0.0);
        high = std::min(high, (double)(rot_dim - 1));
        if (low == high) high += 0.001;  // HF: prevent a zero-width ramp
        for (int64_t i = 0; i < half; i++) {
            const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
            const double extra = 1.0 - ramp;  // weight of the un-scaled (extrapolated) freq
            const double f = inv_freq[i];
            inv_freq[i] = (float)(f / yarn.factor * (1.0 - extra) + f * extra);
        }
        mscale = yarn_get_mscale(yarn.factor, yarn.mscale) /
                 yarn_get_mscale(yarn.factor, yarn.mscale_all_dim);
    }
    RopeTable t;
    t.rot_dim = rot_dim;
    t.max_pos = max_pos;
    t.attn_factor = (float)mscale;
    t.cos.resize((size_t)(max_pos * half));
    t.sin.resize((size_t)(max_pos * half));
    for (int64_t p = 0; p < max_pos; p++)
        for (int64_t i = 0; i < half; i++) {
            const float angle = (float)p * inv_freq[i];  // float32, as torch.outer(t, inv_freq)
            t.cos[p * half + i] = (float)(std::cos((double)angle) * mscale);
            t.sin[p * half + i] = (float)(std::sin((double)angle) * mscale);
        }
    return t;
}

namespace ref {
void rope_forward(float* y, const float* x, const int32_t* pos, int64_t N, int64_t n_head,
                  int64_t token_stride, int64_t head_stride, const RopeTable& t,
                  RopeLayout layout) {
    check_rope("rope_forward", pos, N, n_head, t);
    rope_ref(y, x, pos, N, n_head, token_stride, head_stride, t, layout, 1.0f);
}
void rope_backward(float* dx, const float* dy, const int32_t* pos, int64_t N, int64_t n_head,
                   int64_t token_stride, int64_t head_stride, const RopeTable& t,
                   RopeLayout layout) {
    check_rope("rope_backward", pos, N, n_head, t);
    rope_ref(dx, dy, pos, N, n_head, token_stride, head_stride, t, layout, -1.0f);
}
}  // namespace ref

namespace {
void rope_dispatch(const char* op, float* y, const float* x, const int32_t* pos, int64_t N,
                   int64_t n_head, int64_t token_stride, int64_t head_stride, const RopeTable& t,
                   RopeLayout layout, float sign) {
    check_rope(op, pos, N, n_head, t);
    const Isa isa = active_isa();
    if (isa == Isa::scalar)
        return rope_ref(y, x, pos, N, n_head, token_stride, head_stride, t, layout, sign);
    if (n_head == 0) return;
    parallel_for(
        N,
        [&](int64_t n0, int64_t n1) {
            if (isa == Isa::avx512)
                cpu::avx512::rope_rows(y, x, pos, n0, n1, n_head, token_stride, head_stride, t,
                                       layout, sign);
            else
                cpu::avx2::rope_rows(y, x, pos, n0, n1, n_head, token_stride, head_stride, t,
                                     layout, sign);
        },
        std::max<int64_t>(1, 8192 / (n_head * t.rot_dim)));
}
}  // namespace

void rope_forward(float* y, const float* x, const int32_t* pos, int64_t N, int64_t n_head,
                  int64_t token_stride, int64_t head_stride, const RopeTable& t,
                  RopeLayout layout) {
    rope_dispatch("rope_forward", y, x, pos, N, n_head, token_stride, head_stride, t, layout, 1.0f);
}

void rope_backward(float* dx, const float* dy, const int32_t* pos, int64_t N, int64_t n_head,
                   int64_t token_stride, int64_t head_stride, const RopeTable& t,
                   RopeLayout layout) {
    rope_dispatch("rope_backward", dx, dy, pos, N, n_head, token_stride, head_stride, t, layout,
                  -1.0f);
}

}  // namespace r1
