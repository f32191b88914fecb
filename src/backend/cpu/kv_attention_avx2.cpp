// kv_attend_block compiled with the AVX2 flags (CMakeLists: *_avx2.cpp): the loops of
// generate/kv_attention_impl.h vectorise wider; f16 rows convert inline with F16C.
#include "backend/cpu/kv_attention_kernels.h"
#include "generate/kv_attention_impl.h"

namespace r1::cpu::avx2 {

void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                     const KvQueryBlock& b, KvAttnScratch& scratch) {
    kv_attend_block_impl(kv, dqk, dv, scale, b, scratch,
                         [](float* d, const uint16_t* s, int64_t n) { kv_f16c_rows(d, s, n); });
}

}  // namespace r1::cpu::avx2
