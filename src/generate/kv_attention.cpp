// kv_attend: tiled f32/f16 KV-cache attention for a group of query heads (see kv_attention.h).
#include "generate/kv_attention.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/convert_kernels.h"
#include "core/cpu.h"
#include "core/dtype.h"

namespace r1 {

namespace {

// Positions per converted tile: 32 rows of up to 576 floats (DeepSeek-V3 latent) = 72 KiB,
// within L2; small enough that a short decode context converts nothing it does not use.
constexpr int64_t kTile = 32;

// Dot product with 8 independent partial sums (the compiler vectorises it; a single running
// sum cannot be reordered without -ffast-math). Fixed order: deterministic.
inline float dot8(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float d = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) d += a[i] * b[i];
    return d;
}

using ConvertFn = void (*)(float*, const uint16_t*, int64_t);

// The f16 -> f32 row kernel of the active ISA (F16C / AVX-512 vcvtph2ps), chosen once per
// call instead of per row; all are bit-identical to the scalar f16_to_f32 (exact widening).
ConvertFn f16_kernel() {
    switch (active_isa()) {
        case Isa::avx512: return cpu::avx512::convert_f16_to_f32;
        case Isa::avx2: return cpu::avx2::convert_f16_to_f32;
        case Isa::scalar: break;
    }
    return ref::convert_f16_to_f32;
}

// Rows [j0, j1) of width w as f32: the rows themselves for an f32 cache (stride `stride`),
// else converted into `tile` (stride w). Returns the first row; *rs = its row stride.
const float* rows_f32(const void* base, KvType type, int64_t stride, int64_t j0, int64_t j1,
                      int64_t w, std::vector<float>& tile, ConvertFn cvt, int64_t* rs) {
    if (type == KvType::f32) {
        *rs = stride;
        return static_cast<const float*>(base) + j0 * stride;
    }
    const uint16_t* src = static_cast<const uint16_t*>(base);
    if ((int64_t)tile.size() < (j1 - j0) * w) tile.resize((size_t)((j1 - j0) * w));
    if (stride == w) {  // contiguous rows (one kv head, e.g. the MLA latent): one call
        cvt(tile.data(), src + j0 * stride, (j1 - j0) * w);
    } else {
        for (int64_t j = j0; j < j1; j++) cvt(tile.data() + (j - j0) * w, src + j * stride, w);
    }
    *rs = w;
    return tile.data();
}

}  // namespace

void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride,
               KvAttnScratch& scratch) {
    std::vector<float>& sc = scratch.sc;  // [n_q, L] scores, then probabilities
    const ConvertFn cvt = kv.type == KvType::f16 ? f16_kernel() : nullptr;
    if ((int64_t)sc.size() < n_q * L) sc.resize((size_t)(n_q * L));
    // pass 1: scores, one K tile conversion for all heads
    for (int64_t j0 = 0; j0 < L; j0 += kTile) {
        const int64_t j1 = std::min(L, j0 + kTile);
        int64_t rs = 0;
        const float* K = rows_f32(kv.k, kv.type, kv.k_stride, j0, j1, dqk, scratch.tile, cvt, &rs);
        for (int64_t h = 0; h < n_q; h++) {
            const float* qh = q + h * q_stride;
            float* sh = sc.data() + h * L;
            for (int64_t j = j0; j < j1; j++) sh[j] = dot8(qh, K + (j - j0) * rs, dqk) * scale;
        }
    }
    // pass 2: softmax numerators per head; o zeroed
    std::vector<float>& inv = scratch.inv;
    inv.resize((size_t)n_q);
    for (int64_t h = 0; h < n_q; h++) {
        float* sh = sc.data() + h * L;
        float mx = -INFINITY;
        for (int64_t j = 0; j < L; j++) mx = std::max(mx, sh[j]);
        float sum = 0;
        for (int64_t j = 0; j < L; j++) {
            sh[j] = std::exp(sh[j] - mx);
            sum += sh[j];
        }
        inv[(size_t)h] = 1.0f / sum;
        std::fill(o + h * o_stride, o + h * o_stride + dv, 0.0f);
    }
    // pass 3: values, one V tile conversion for all heads, accumulated in position order
    for (int64_t j0 = 0; j0 < L; j0 += kTile) {
        const int64_t j1 = std::min(L, j0 + kTile);
        int64_t rs = 0;
        const float* Vt = rows_f32(kv.v, kv.type, kv.v_stride, j0, j1, dv, scratch.tile, cvt, &rs);
        for (int64_t h = 0; h < n_q; h++) {
            const float* ph = sc.data() + h * L;
            float* oh = o + h * o_stride;
            for (int64_t j = j0; j < j1; j++) {
                const float p = ph[j];
                const float* vr = Vt + (j - j0) * rs;
                for (int64_t i = 0; i < dv; i++) oh[i] += p * vr[i];
            }
        }
    }
    for (int64_t h = 0; h < n_q; h++)
        for (int64_t i = 0; i < dv; i++) o[h * o_stride + i] *= inv[(size_t)h];
}

namespace ref {

void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride) {
    auto at = [&](const void* base, int64_t idx) {
        return kv.type == KvType::f16 ? f16_to_f32(static_cast<const uint16_t*>(base)[idx])
                                      : static_cast<const float*>(base)[idx];
    };
    std::vector<double> p((size_t)L);
    for (int64_t h = 0; h < n_q; h++) {
        const float* qh = q + h * q_stride;
        double mx = -INFINITY;
        for (int64_t j = 0; j < L; j++) {
            double s = 0;
            for (int64_t i = 0; i < dqk; i++) s += (double)qh[i] * at(kv.k, j * kv.k_stride + i);
            p[(size_t)j] = s * scale;
            mx = std::max(mx, p[(size_t)j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < L; j++) sum += (p[(size_t)j] = std::exp(p[(size_t)j] - mx));
        for (int64_t i = 0; i < dv; i++) {
            double acc = 0;
            for (int64_t j = 0; j < L; j++) acc += p[(size_t)j] * at(kv.v, j * kv.v_stride + i);
            o[h * o_stride + i] = (float)(acc / sum);
        }
    }
}

}  // namespace ref

}  // namespace r1
