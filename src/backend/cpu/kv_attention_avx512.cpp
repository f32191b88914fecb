// kv_attend_block compiled with the AVX512 flags (CMakeLists: *_avx512.cpp): the loops of
// generate/kv_attention_impl.h vectorise wider; f16 rows convert inline with F16C
// (vcvtph2ps: exact, the same values as the scalar f16_to_f32).
#include <immintrin.h>

#include "backend/cpu/kv_attention_kernels.h"
#include "generate/kv_attention_impl.h"

namespace r1::cpu::avx512 {

namespace {
void f16c_rows(float* dst, const uint16_t* src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}
}  // namespace

void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,
                     const KvQueryBlock& b, KvAttnScratch& scratch) {
    kv_attend_block_impl(kv, dqk, dv, scale, b, scratch,
                         [](float* d, const uint16_t* s, int64_t n) { f16c_rows(d, s, n); });
}

}  // namespace r1::cpu::avx512
