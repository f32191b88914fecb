// kv_attend / kv_attend_block (kv_attention.h): the baseline copy of the kernel
// (kv_attention_impl.h), dispatch to the AVX2 / AVX-512 copies, and the plain ref:: loop.
#include "generate/kv_attention.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/kv_attention_kernels.h"
#include "core/cpu.h"
#include "core/dtype.h"
#include "generate/kv_attention_impl.h"

namespace r1 {

void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                     const KvQueryBlock& b, KvAttnScratch& scratch) {
    switch (active_isa()) {
        case Isa::avx512: return cpu::avx512::kv_attend_block(kv, dqk, dv, scale, b, scratch);
        case Isa::avx2: return cpu::avx2::kv_attend_block(kv, dqk, dv, scale, b, scratch);
        case Isa::scalar: break;
    }
    kv_attend_block_impl(kv, dqk, dv, scale, b, scratch,
                         [](float* d, const uint16_t* s, int64_t n) {
                             for (int64_t i = 0; i < n; i++) d[i] = f16_to_f32(s[i]);
                         });
}

void kv_attend(const KvHeadRows& kv, int64_t dqk, int64_t dv, int64_t L, float scale,
               const float* q, int64_t q_stride, int64_t n_q, float* o, int64_t o_stride,
               KvAttnScratch& scratch) {
    KvQueryBlock b;
    b.q = q, b.q_head_stride = q_stride, b.q_tok_stride = 0;
    b.o = o, b.o_head_stride = o_stride, b.o_tok_stride = 0;
    b.n_q = n_q, b.n_tok = 1, b.L0 = L;
    kv_attend_block(kv, dqk, dv, scale, b, scratch);
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
