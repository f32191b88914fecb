// Internal: the ISA copies of generate/kv_attention.h's kv_attend_block (the same source,
// generate/kv_attention_impl.h, compiled with each file's flags; bit-identical results).
#pragma once
#include <cstdint>

#include "generate/kv_attention.h"

namespace r1::cpu {
#define R1_KV_ATTENTION_KERNELS                                                          \
    void kv_attend_block(const KvHeadRows& kv, int64_t dqk, int64_t dv, float scale,     \
                         const KvQueryBlock& b, KvAttnScratch& scratch);
namespace avx2 {
R1_KV_ATTENTION_KERNELS
}
namespace avx512 {
R1_KV_ATTENTION_KERNELS
}
#undef R1_KV_ATTENTION_KERNELS
}  // namespace r1::cpu
