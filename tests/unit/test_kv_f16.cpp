// f16 KV cache (KvType::f16, generate/kv_cache.h + kv_attention.h):
//  - KvCache: rows stored as IEEE half (bit-exact with the scalar f32_to_f16, i.e. ggml's
//    GGML_FP32_TO_FP16), read back, copy_prefix, sizes in bytes (half of f32), typed
//    accessors that refuse the wrong type, the name parser's error.
//  - kv_attend (tiled, f16 tiles converted on the fly) vs the plain ref:: loop, f32 and f16,
//    strided GQA rows and contiguous MLA-latent rows, tile edges; splitting the query heads
//    differently is bit-identical (what batch invariance rests on); f32 rows reproduce the
//    pre-f16 per-head loop exactly.
//  - BatchForward with an f16 cache vs an f32 cache on small random qwen2-like (GQA 4/2) and
//    MLA (latent and plain) models: logits within a documented tolerance, greedy argmax equal
//    wherever the f32 top-1 margin exceeds it; batched decode equals one-at-a-time decode;
//    the Generator with GeneratorOptions::kv_type = f16; the server's engine worker with
//    WorkerOptions::kv_type = f16 (what `r1 serve --kv-type f16` builds).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"
#include "generate/engine.h"
#include "generate/forward.h"
#include "generate/infer_model.h"
#include "generate/kv_attention.h"
#include "generate/kv_cache.h"
#include "model/config.h"
#include "model/model.h"
#include "server/metrics.h"
#include "server/worker.h"
#include "testing.h"
#include "train/checkpoint.h"

namespace {

using r1::KvLayout;
using r1::KvType;
using r1::ModelConfig;

ModelConfig qwen2_cfg() {
    ModelConfig c = ModelConfig::preset("tiny-dense");
    c.arch = r1::Arch::qwen2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 40, c.n_head = 4, c.n_head_kv = 2;
    c.head_dim = 8, c.n_ff = 48, c.qkv_bias = true, c.tie_embeddings = true;
    c.validate();
    return c;
}

ModelConfig mla_cfg() {
    ModelConfig c;
    c.arch = r1::Arch::deepseek2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 2, c.n_ctx = 40, c.n_head = 4;
    c.attn = r1::AttnKind::mla;
    c.q_lora_rank = 16, c.kv_lora_rank = 16, c.qk_nope_head_dim = 8, c.qk_rope_head_dim = 4;
    c.v_head_dim = 8;
    c.rope_layout = r1::RopeLayout::interleaved;
    c.n_ff = 48;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.validate();
    return c;
}

// Random weights; q/k projections scaled so attention is peaky (as test_generate_engine),
// the output head scaled so the next-token distribution is peaked like a trained model's.
r1::Model make_model(const ModelConfig& c, uint64_t seed) {
    r1::Model m(c);
    m.init_weights(seed);
    for (const auto& p : m.params().infos()) {
        auto ends = [&](const char* suf) {
            return p.name.size() > std::strlen(suf) &&
                   p.name.compare(p.name.size() - std::strlen(suf), std::string::npos, suf) == 0;
        };
        float mul = 1.0f;
        for (const char* qk : {"attn_q.weight", "attn_k.weight", "attn_qkv.weight",
                               "attn_q_b.weight", "attn_kv_a_mqa.weight", "attn_kv_b.weight"})
            if (ends(qk)) mul = 12.0f;
        if (p.name == "token_embd.weight" || p.name == "output.weight") mul = 6.0f;
        if (mul != 1.0f) {
            float* w = m.params().ptr(p.name);
            for (int64_t i = 0; i < p.numel; i++) w[i] *= mul;
        }
    }
    return m;
}

std::vector<int32_t> rand_tokens(int64_t n, int64_t V, uint64_t seed) {
    r1::Rng r(seed);
    std::vector<int32_t> t((size_t)n);
    for (auto& x : t) x = (int32_t)r.below((uint64_t)V);
    return t;
}

using r1::testing::error_of;

// ---- KvCache --------------------------------------------------------------------------

TEST(KvCacheF16, RoundTripCopyPrefixAndBytes) {
    const ModelConfig c = qwen2_cfg();
    r1::KvCache f32(c, 2, 8), f16(c, 2, 8, KvLayout::automatic, KvType::f16);
    EXPECT_EQ(f16.type(), KvType::f16);
    EXPECT_EQ(f32.type(), KvType::f32);
    const int64_t row = c.n_head_kv * c.head_dim;
    EXPECT_EQ(f32.bytes_per_token(), c.n_layer * 2 * row * 4);
    EXPECT_EQ(f16.bytes_per_token(), c.n_layer * 2 * row * 2);
    EXPECT_EQ(f16.bytes(), 2 * 8 * f16.bytes_per_token());
    EXPECT_EQ(f32.bytes(), 2 * f16.bytes());

    const int32_t a = f16.acquire(), b = f16.acquire();
    const auto vals = r1::testing::randn((size_t)(c.n_layer * 8 * 2 * row), 3, 3.0f);
    auto val = [&](int64_t l, int64_t p, bool v) { return vals.data() + ((l * 8 + p) * 2 + v) * row; };
    for (int64_t l = 0; l < c.n_layer; l++)
        for (int64_t p = 0; p < 8; p++) {
            f16.store_k(a, l, p, 0, val(l, p, false), row);
            f16.store_v(a, l, p, 0, val(l, p, true), row);
        }
    // stored bits == scalar round-to-nearest-even; loads give the rounded values back
    std::vector<float> got((size_t)row);
    for (int64_t l = 0; l < c.n_layer; l++)
        for (int64_t p = 0; p < 8; p++) {
            const uint16_t* kb = f16.k_f16(a, l) + p * row;
            const uint16_t* vb = f16.v_f16(a, l) + p * row;
            for (int64_t i = 0; i < row; i++) {
                ASSERT_EQ(kb[i], r1::f32_to_f16(val(l, p, false)[i]));
                ASSERT_EQ(vb[i], r1::f32_to_f16(val(l, p, true)[i]));
            }
            f16.load_v(a, l, p, 0, got.data(), row);
            for (int64_t i = 0; i < row; i++)
                ASSERT_EQ(got[(size_t)i], r1::f16_to_f32(r1::f32_to_f16(val(l, p, true)[i])));
        }
    // partial row at an offset
    const float two[2] = {1.0f / 3.0f, -65504.0f};
    f16.store_k(a, 1, 7, row - 2, two, 2);
    f16.load_k(a, 1, 7, row - 2, got.data(), 2);
    EXPECT_EQ(got[0], r1::f16_to_f32(r1::f32_to_f16(1.0f / 3.0f)));
    EXPECT_EQ(got[1], -65504.0f);

    f16.advance(a, 6);
    f16.copy_prefix(a, b, 5);
    EXPECT_EQ(f16.length(b), 5);
    for (int64_t l = 0; l < c.n_layer; l++) {
        EXPECT_EQ(0, std::memcmp(f16.k_f16(b, l), f16.k_f16(a, l), (size_t)(5 * row * 2)));
        EXPECT_EQ(0, std::memcmp(f16.v_f16(b, l), f16.v_f16(a, l), (size_t)(5 * row * 2)));
        EXPECT_EQ(f16.k_f16(b, l)[5 * row], 0);  // position 5 not copied
    }
    f16.truncate(b, 2);
    EXPECT_EQ(f16.length(b), 2);
    f16.release(b);
    EXPECT_EQ(f16.acquire(), b);
    EXPECT_EQ(f16.length(b), 0);

    // type-honest accessors and bounds
    EXPECT_NE(error_of([&] { f16.k_f32(a, 0); }).find("stores f16"), std::string::npos);
    EXPECT_NE(error_of([&] { f32.acquire(); f32.v_f16(0, 0); }).find("stores f32"),
              std::string::npos);
    EXPECT_NE(error_of([&] { f16.store_k(a, 0, 8, 0, two, 1); }).find("outside"), std::string::npos);
    EXPECT_NE(error_of([&] { f16.store_v(a, 0, 0, row - 1, two, 2); }).find("outside"),
              std::string::npos);
    EXPECT_NE(error_of([&] { f16.k_data(a, c.n_layer); }).find("layer"), std::string::npos);
}

TEST(KvCacheF16, MlaLatentRowsAndNames) {
    const ModelConfig c = mla_cfg();
    r1::KvCache lat(c, 1, 8, KvLayout::automatic, KvType::f16);
    EXPECT_EQ(lat.layout(), KvLayout::mla_latent);
    EXPECT_EQ(lat.bytes_per_token(), c.n_layer * (c.kv_lora_rank + c.qk_rope_head_dim) * 2);
    r1::KvCache plain(c, 1, 8, KvLayout::plain, KvType::f16);
    EXPECT_EQ(plain.bytes_per_token(),
              c.n_layer * c.n_head * (c.qk_nope_head_dim + c.qk_rope_head_dim + c.v_head_dim) * 2);

    EXPECT_EQ(r1::kv_type_from_name("f16"), KvType::f16);
    EXPECT_EQ(r1::kv_type_from_name("f32"), KvType::f32);
    EXPECT_STREQ(r1::kv_type_name(KvType::f16), "f16");
    const std::string e = error_of([] { r1::kv_type_from_name("q4", "--kv-type"); });
    EXPECT_NE(e.find("--kv-type"), std::string::npos) << e;
    EXPECT_NE(e.find("q4"), std::string::npos) << e;
}

// ---- kv_attend fast vs ref ------------------------------------------------------------

struct AttnCase {
    int64_t n_q, dqk, dv, L, stride_k, stride_v;  // strides in elements
    bool shared_v;                                // MLA latent: V = first dv of the K row
};

TEST(KvAttendF16, FastMatchesRefAndHeadSplitIsBitIdentical) {
    const AttnCase cases[] = {
        {1, 8, 8, 1, 16, 16, false},      // one position
        {2, 8, 8, 31, 16, 16, false},     // just under a tile
        {7, 64, 64, 70, 128, 128, false}, // qwen2-0.5b-like group of 7, three tiles
        {4, 12, 12, 33, 48, 48, false},   // MLA plain-like, dims not a multiple of 8
        {16, 288, 256, 45, 288, 288, true},  // deepseek2-small latent: contiguous rows
    };
    for (const AttnCase& t : cases) {
        for (KvType type : {KvType::f32, KvType::f16}) {
            SCOPED_TRACE(std::to_string(t.n_q) + "x" + std::to_string(t.dqk) + " L=" +
                         std::to_string(t.L) + " " + r1::kv_type_name(type));
            const auto kf = r1::testing::randn((size_t)(t.L * t.stride_k), 1, 1.0f);
            const auto vf = r1::testing::randn((size_t)(t.L * t.stride_v), 2, 1.0f);
            const auto q = r1::testing::randn((size_t)(t.n_q * t.dqk), 4, 1.0f);
            std::vector<uint16_t> kh(kf.size()), vh(vf.size());
            r1::convert_f32_to_f16(kh.data(), kf.data(), (int64_t)kf.size());
            r1::convert_f32_to_f16(vh.data(), vf.data(), (int64_t)vf.size());
            r1::KvHeadRows kv;
            kv.type = type;
            kv.k = type == KvType::f16 ? (const void*)kh.data() : (const void*)kf.data();
            kv.v = t.shared_v ? kv.k
                              : type == KvType::f16 ? (const void*)vh.data() : (const void*)vf.data();
            kv.k_stride = t.stride_k, kv.v_stride = t.shared_v ? t.stride_k : t.stride_v;
            const float scale = 1.0f / std::sqrt((float)t.dqk) * 2.0f;  // peaky softmax

            std::vector<float> fast((size_t)(t.n_q * t.dv)), ref(fast.size()), one(fast.size());
            r1::KvAttnScratch scratch;
            r1::kv_attend(kv, t.dqk, t.dv, t.L, scale, q.data(), t.dqk, t.n_q, fast.data(), t.dv,
                          scratch);
            r1::ref::kv_attend(kv, t.dqk, t.dv, t.L, scale, q.data(), t.dqk, t.n_q, ref.data(),
                               t.dv);
            EXPECT_TRUE(r1::testing::allclose(fast, ref, 2e-5f, 2e-4f));
            // one head per call (a different head split, fresh scratch): bit-identical
            for (int64_t h = 0; h < t.n_q; h++) {
                r1::KvAttnScratch s2;
                r1::kv_attend(kv, t.dqk, t.dv, t.L, scale, q.data() + h * t.dqk, t.dqk, 1,
                              one.data() + h * t.dv, t.dv, s2);
            }
            EXPECT_EQ(0, std::memcmp(one.data(), fast.data(), fast.size() * sizeof(float)));
        }
    }
}

// The loop generate/forward.cpp ran before f16 caches existed (one (token, head) at a time,
// the scores' dot product with 8 partial sums): kv_attend on f32 rows must reproduce it bit
// for bit, so the default f32 cache changes no number anywhere (training parity, GRPO).
float old_dot8(const float* a, const float* b, int64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    const int64_t n8 = n - n % 8;  // (not `i + 8 <= n`: GCC 12 then warns falsely of overflow)
    for (; i < n8; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float d = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) d += a[i] * b[i];
    return d;
}
void old_attend_head(const float* q, const float* K, const float* V, int64_t krow, int64_t vrow,
                     int64_t dqk, int64_t dv, int64_t L, float scale, float* o) {
    std::vector<float> sc((size_t)L);
    float mx = -INFINITY;
    for (int64_t j = 0; j < L; j++) {
        sc[(size_t)j] = old_dot8(q, K + j * krow, dqk) * scale;
        mx = std::max(mx, sc[(size_t)j]);
    }
    float sum = 0;
    for (int64_t j = 0; j < L; j++) {
        sc[(size_t)j] = std::exp(sc[(size_t)j] - mx);
        sum += sc[(size_t)j];
    }
    std::fill(o, o + dv, 0.0f);
    for (int64_t j = 0; j < L; j++)
        for (int64_t i = 0; i < dv; i++) o[i] += sc[(size_t)j] * V[j * vrow + i];
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < dv; i++) o[i] *= inv;
}

// A block of tokens equals each token alone, every ISA copy gives the same bits (f32 and f16
// rows), and f32 rows give exactly the pre-f16 loop's bits.
TEST(KvAttendF16, BlocksIsaCopiesAndF32AreBitIdentical) {
    const int64_t n_tok = 11, n_q = 3, dqk = 40, dv = 24, L0 = 30, stride = 96;
    const int64_t L = L0 + n_tok - 1;
    const auto kf = r1::testing::randn((size_t)(L * stride), 8, 1.0f);
    const auto vf = r1::testing::randn((size_t)(L * stride), 9, 1.0f);
    const auto q = r1::testing::randn((size_t)(n_tok * n_q * dqk), 10, 1.0f);
    std::vector<uint16_t> kh(kf.size()), vh(vf.size());
    r1::convert_f32_to_f16(kh.data(), kf.data(), (int64_t)kf.size());
    r1::convert_f32_to_f16(vh.data(), vf.data(), (int64_t)vf.size());
    const float scale = 0.3f;
    auto run_block = [&](const r1::KvHeadRows& kv) {
        std::vector<float> o((size_t)(n_tok * n_q * dv));
        r1::KvQueryBlock b;
        b.q = q.data(), b.q_head_stride = dqk, b.q_tok_stride = n_q * dqk;
        b.o = o.data(), b.o_head_stride = dv, b.o_tok_stride = n_q * dv;
        b.n_q = n_q, b.n_tok = n_tok, b.L0 = L0;
        r1::KvAttnScratch s;
        r1::kv_attend_block(kv, dqk, dv, scale, b, s);
        return o;
    };
    for (KvType type : {KvType::f32, KvType::f16}) {
        SCOPED_TRACE(r1::kv_type_name(type));
        r1::KvHeadRows kv;
        kv.type = type;
        kv.k = type == KvType::f16 ? (const void*)kh.data() : (const void*)kf.data();
        kv.v = type == KvType::f16 ? (const void*)vh.data() : (const void*)vf.data();
        kv.k_stride = kv.v_stride = stride;
        const std::vector<float> block = run_block(kv);
        // each token alone (decode-style calls)
        std::vector<float> alone(block.size());
        for (int64_t t = 0; t < n_tok; t++) {
            r1::KvAttnScratch s;
            r1::kv_attend(kv, dqk, dv, L0 + t, scale, q.data() + t * n_q * dqk, dqk, n_q,
                          alone.data() + t * n_q * dv, dv, s);
        }
        EXPECT_EQ(0, std::memcmp(block.data(), alone.data(), block.size() * sizeof(float)));
        // vs the plain reference
        std::vector<float> ref(block.size());
        for (int64_t t = 0; t < n_tok; t++)
            r1::ref::kv_attend(kv, dqk, dv, L0 + t, scale, q.data() + t * n_q * dqk, dqk, n_q,
                               ref.data() + t * n_q * dv, dv);
        EXPECT_TRUE(r1::testing::allclose(block, ref, 2e-5f, 2e-4f));
        // every ISA level this CPU has: the same bits
        for (r1::Isa isa : {r1::Isa::scalar, r1::Isa::avx2, r1::Isa::avx512}) {
            if (isa > r1::best_isa()) continue;
            r1::force_isa(isa);
            const std::vector<float> got = run_block(kv);
            r1::force_isa(r1::Isa::avx512);
            EXPECT_EQ(0, std::memcmp(got.data(), block.data(), block.size() * sizeof(float)))
                << "isa " << (int)isa;
        }
        if (type == KvType::f32) {  // the pre-f16 loop
            std::vector<float> old(block.size());
            for (int64_t t = 0; t < n_tok; t++)
                for (int64_t h = 0; h < n_q; h++)
                    old_attend_head(q.data() + (t * n_q + h) * dqk, kf.data(), vf.data(), stride,
                                    stride, dqk, dv, L0 + t, scale, old.data() + (t * n_q + h) * dv);
            EXPECT_EQ(0, std::memcmp(old.data(), block.data(), block.size() * sizeof(float)));
        }
    }
}

// f16 rows give the same result as f32 rows holding the f16-rounded values: the only
// difference an f16 cache makes is the rounding of stored values.
TEST(KvAttendF16, F16RowsEqualF32RowsOfRoundedValues) {
    const int64_t n_q = 3, d = 16, L = 40, stride = 32;
    auto kf = r1::testing::randn((size_t)(L * stride), 5, 1.0f);
    auto vf = r1::testing::randn((size_t)(L * stride), 6, 1.0f);
    const auto q = r1::testing::randn((size_t)(n_q * d), 7, 1.0f);
    std::vector<uint16_t> kh(kf.size()), vh(vf.size());
    r1::convert_f32_to_f16(kh.data(), kf.data(), (int64_t)kf.size());
    r1::convert_f32_to_f16(vh.data(), vf.data(), (int64_t)vf.size());
    r1::convert_f16_to_f32(kf.data(), kh.data(), (int64_t)kh.size());  // rounded values
    r1::convert_f16_to_f32(vf.data(), vh.data(), (int64_t)vh.size());
    r1::KvHeadRows a{kh.data(), vh.data(), KvType::f16, stride, stride};
    r1::KvHeadRows b{kf.data(), vf.data(), KvType::f32, stride, stride};
    std::vector<float> oa((size_t)(n_q * d)), ob(oa.size());
    r1::KvAttnScratch s;
    r1::kv_attend(a, d, d, L, 0.5f, q.data(), d, n_q, oa.data(), d, s);
    r1::kv_attend(b, d, d, L, 0.5f, q.data(), d, n_q, ob.data(), d, s);
    EXPECT_EQ(0, std::memcmp(oa.data(), ob.data(), oa.size() * sizeof(float)));
}

// ---- forward with an f16 cache --------------------------------------------------------

// Documented tolerance of f16-cache logits vs f32-cache logits on these peaked random models
// (|logits| up to ~10): f16 keeps 11 significant bits, so stored K/V carry a relative error
// of <= 2^-12 ≈ 2.4e-4 (round to nearest), which attention and the later layers pass on at
// that order; measured max |diff| 5e-5 (GQA) .. 1.5e-4 (MLA) here, the bound has ~10x room.
constexpr float kF16Atol = 2e-3f, kF16Rtol = 2e-3f;

struct FwdCase {
    const char* name;
    ModelConfig (*cfg)();
    KvLayout layout;
};
const FwdCase kFwd[] = {{"qwen2-gqa", qwen2_cfg, KvLayout::automatic},
                        {"mla-latent", mla_cfg, KvLayout::mla_latent},
                        {"mla-plain", mla_cfg, KvLayout::plain}};

TEST(KvForwardF16, LogitsCloseAndGreedyTokensAgree) {
    for (const FwdCase& fc : kFwd) {
        SCOPED_TRACE(fc.name);
        const ModelConfig c = fc.cfg();
        r1::Model m = make_model(c, 31);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const int64_t V = c.n_vocab, P = 12, G = 20;
        const auto prompt = rand_tokens(P, V, 8);
        r1::KvCache c32(c, 1, c.n_ctx, fc.layout), c16(c, 1, c.n_ctx, fc.layout, KvType::f16);
        r1::BatchForward f32(im), f16(im);
        const int32_t s32 = c32.acquire(), s16 = c16.acquire();
        // prefill: every position's logits
        const float* a = f32.run(c32, {{s32, prompt.data(), P}}, true);
        const float* b = f16.run(c16, {{s16, prompt.data(), P}}, true);
        EXPECT_TRUE(r1::testing::allclose(b, a, (size_t)(P * V), kF16Atol, kF16Rtol));
        const float* la = a + (P - 1) * V;
        const float* lb = b + (P - 1) * V;
        // greedy decode on the f32 path, the f16 path fed the same tokens (teacher forcing)
        double worst = 0;
        int64_t agree = 0, decisive = 0;
        for (int64_t t = 0; t < G; t++) {
            const int64_t ia = std::max_element(la, la + V) - la;
            const int64_t ib = std::max_element(lb, lb + V) - lb;
            std::vector<float> sorted(la, la + V);
            std::sort(sorted.begin(), sorted.end(), std::greater<float>());
            for (int64_t i = 0; i < V; i++) worst = std::max(worst, (double)std::fabs(la[i] - lb[i]));
            agree += ia == ib;
            if (sorted[0] - sorted[1] > 2 * kF16Atol) {  // a clear winner must be the same
                decisive++;
                EXPECT_EQ(ia, ib) << "step " << t;
            }
            EXPECT_TRUE(r1::testing::allclose(lb, la, (size_t)V, kF16Atol, kF16Rtol)) << "step " << t;
            const int32_t tok = (int32_t)ia;
            la = f32.run(c32, {{s32, &tok, 1}});
            lb = f16.run(c16, {{s16, &tok, 1}});
        }
        EXPECT_GE(decisive, G / 2) << "the model should be peaked (most steps decisive)";
        std::printf("[kv f16] %s: greedy argmax agree %lld/%lld, max |logit diff| %.2e\n", fc.name,
                    (long long)agree, (long long)G, worst);
        // the f16 cache really changed something (else the test proves nothing)
        EXPECT_GT(worst, 0.0);
    }
}

// Batch invariance with an f16 cache: sequences of different lengths decoded together give
// the same logits as each decoded alone.
TEST(KvForwardF16, BatchedDecodeEqualsAlone) {
    for (const FwdCase& fc : kFwd) {
        SCOPED_TRACE(fc.name);
        const ModelConfig c = fc.cfg();
        r1::Model m = make_model(c, 32);
        const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
        const int64_t V = c.n_vocab;
        const int64_t len[3] = {14, 25, 6}, prompt[3] = {5, 11, 1};
        std::vector<std::vector<int32_t>> seqs;
        for (int i = 0; i < 3; i++) seqs.push_back(rand_tokens(len[i], V, 50 + i));
        std::vector<std::vector<float>> alone(3), batched(3);
        for (int i = 0; i < 3; i++) {
            r1::KvCache cache(c, 1, c.n_ctx, fc.layout, KvType::f16);
            r1::BatchForward fwd(im);
            const int32_t s = cache.acquire();
            const float* lg = fwd.run(cache, {{s, seqs[i].data(), prompt[i]}});
            alone[i].insert(alone[i].end(), lg, lg + V);
            for (int64_t t = prompt[i]; t < len[i]; t++) {
                lg = fwd.run(cache, {{s, seqs[i].data() + t, 1}});
                alone[i].insert(alone[i].end(), lg, lg + V);
            }
        }
        r1::KvCache cache(c, 3, c.n_ctx, fc.layout, KvType::f16);
        r1::BatchForward fwd(im);
        int32_t slot[3];
        for (int i = 0; i < 3; i++) slot[i] = cache.acquire();
        std::vector<r1::SeqInput> b;
        std::vector<int> who = {0, 1, 2};
        int64_t fed[3];
        for (int i = 0; i < 3; i++) b.push_back({slot[i], seqs[i].data(), prompt[i]}), fed[i] = prompt[i];
        while (!b.empty()) {
            const float* lg = fwd.run(cache, b);
            for (size_t j = 0; j < who.size(); j++)
                batched[who[j]].insert(batched[who[j]].end(), lg + j * V, lg + (j + 1) * V);
            b.clear(), who.clear();
            for (int i = 0; i < 3; i++)
                if (fed[i] < len[i]) b.push_back({slot[i], seqs[i].data() + fed[i]++, 1}), who.push_back(i);
        }
        for (int i = 0; i < 3; i++) {
            SCOPED_TRACE(i);
            ASSERT_EQ(batched[i].size(), alone[i].size());
            EXPECT_TRUE(r1::testing::allclose(batched[i], alone[i], 1e-5f, 1e-4f));
        }
    }
}

// The Generator with an f16 cache: shared-prompt groups (copy_prefix of f16 rows) and
// continuous batching give each request the tokens it gets alone.
TEST(KvForwardF16, GeneratorGreedyMatchesAlone) {
    const ModelConfig c = qwen2_cfg();
    r1::Model m = make_model(c, 33);
    const r1::InferenceModel im = r1::InferenceModel::from_params(c, m.params());
    const auto p0 = rand_tokens(6, c.n_vocab, 60), p1 = rand_tokens(9, c.n_vocab, 61);
    auto req = [](const std::vector<int32_t>& p) {
        r1::GenRequest r;
        r.prompt = p;
        r.max_tokens = 10;
        r.sampler.temperature = 0;
        return r;
    };
    r1::GeneratorOptions go;
    go.kv_type = KvType::f16;
    go.n_slots = 1;
    std::vector<std::vector<int32_t>> alone;
    for (const auto& p : {p0, p1}) {
        r1::Generator g(im, go);
        g.add(req(p));
        alone.push_back(g.run()[0].tokens);
    }
    go.n_slots = 2;  // 4 requests, 2 slots, two pairs of equal prompts
    r1::Generator g(im, go);
    EXPECT_EQ(g.cache().type(), KvType::f16);
    for (const auto& p : {p0, p0, p1, p1}) g.add(req(p));
    const auto res = g.run();
    ASSERT_EQ(res.size(), 4u);
    for (int i = 0; i < 4; i++) EXPECT_EQ(res[(size_t)i].tokens, alone[(size_t)i / 2]) << i;
    EXPECT_GT(g.stats().shared_prompt_tokens, 0);
}

// r1 serve's engine worker with an f16 cache: a greedy job gives the f16 Generator's tokens,
// and the worker reports the type and half the f32 pool's bytes.
TEST(KvForwardF16, ServerWorkerUsesTheF16Cache) {
    namespace fs = std::filesystem;
    const char* base = std::getenv("R1_TEST_TMP");
    const fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) / "kv_f16_worker";
    fs::create_directories(dir);
    const std::string path = (dir / "ckpt.r1").string();
    ModelConfig cfg = ModelConfig::preset("tiny-dense");
    cfg.n_layer = 2, cfg.n_embd = 64, cfg.n_head = 2, cfg.n_head_kv = 2, cfg.n_ff = 128;
    cfg.validate();
    r1::Model m(cfg);
    m.init_weights(12);
    r1::CheckpointMeta meta;
    meta.config = cfg;
    r1::save_checkpoint(path, meta, m.params(), nullptr);
    const std::unique_ptr<r1::LoadedModel> model = r1::load_model_for_inference(path);
    const std::vector<int32_t> prompt = {5, 17, 42, 7, 99};

    r1::GeneratorOptions go;
    go.n_slots = 1;
    go.n_ctx = 64;
    go.kv_type = KvType::f16;
    r1::Generator gen(model->model(), go);
    r1::GenRequest q;
    q.prompt = prompt;
    q.max_tokens = 12;
    q.sampler.temperature = 0;
    q.vocab_limit = model->vocab_limit();
    q.stop_ids = model->codec().stop_ids();
    gen.add(q);
    const r1::GenResult want = gen.run()[0];

    r1::server::Metrics metrics;
    r1::server::WorkerOptions wo;
    wo.n_slots = 2;
    wo.n_ctx = 64;
    wo.kv_type = KvType::f16;
    r1::server::EngineWorker worker(*model, wo, metrics);
    EXPECT_EQ(worker.kv_type(), KvType::f16);
    EXPECT_EQ(worker.kv_cache_bytes(), r1::KvCache(cfg, 2, 64, KvLayout::automatic, KvType::f32).bytes() / 2);
    r1::server::JobSpec s;
    s.prompt = prompt;
    s.max_tokens = 12;
    s.sampler.temperature = 0;
    s.split = false;  // all text in content
    std::shared_ptr<r1::server::Channel> ch;
    ASSERT_EQ(worker.submit(s, ch), r1::server::EngineWorker::Admit::ok);
    int64_t n_tokens = 0;
    std::string text;
    for (;;) {
        const r1::server::Channel::Batch b = ch->wait(std::chrono::milliseconds(100));
        for (const auto& d : b.deltas) text += d.text.content;
        if (b.done) {
            EXPECT_TRUE(b.error.empty()) << b.error;
            n_tokens = b.usage.completion_tokens;
            break;
        }
    }
    EXPECT_EQ(n_tokens, (int64_t)want.tokens.size());
    EXPECT_GE(n_tokens, 4);
    // the same text (an unfinished last UTF-8 character comes out as U+FFFD, as in test_server)
    std::string ref = model->codec().decode_completion(want.tokens);
    const size_t whole = r1::server::utf8_complete_prefix(ref);
    std::string tail;
    for (size_t i = whole; i < ref.size(); i++) tail += "\xEF\xBF\xBD";
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text, ref.substr(0, whole) + tail);
}

}  // namespace
