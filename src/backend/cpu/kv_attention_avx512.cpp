// kv_attend_block compiled with the AVX512 flags (CMakeLists: *_avx512.cpp): the loops of
// generate/kv_attention_impl.h vectorise wider; f16 rows convert with the avx512 kernel.
#include "backend/cpu/convert_kernels.h"
#include "backend/cpu/kv_attention_kernels.h"
#include "generate/kv_attention_impl.h"

namespace r1::cpu::avx512 {

void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                     const KvQueryBlock& b, KvAttnScratch& scratch) {
    kv_attend_block_impl(kv, dqk, dv, scale, b, scratch, convert_f16_to_f32);
}

}  // namespace r1::cpu::avx512
