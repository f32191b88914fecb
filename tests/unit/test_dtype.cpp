// Data types: f16/bf16 conversions (known bit patterns, exhaustive round trips and rounding
// of every midpoint), Q8_0/Q4_0 block bytes against hand-computed blocks, quantisation error
// bounds, fast row conversions bit-identical to the scalar ones for every ISA, and the
// generic to_f32/from_f32 and size helpers.
//
// The expected Q8_0/Q4_0 bytes were computed by hand from ggml's quantize_row_*_ref rules
// (cross-checked with a Python transcription using float32 rounding per operation).
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "testing.h"

namespace {

using r1::testing::for_each_isa;

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// ------------------------------------------------------------------------------ f16

TEST(DType, F16KnownPatterns) {
    struct Case {
        float f;
        uint16_t h;
    };
    const Case cases[] = {
        {0.0f, 0x0000},
        {-0.0f, 0x8000},
        {1.0f, 0x3c00},
        {-2.0f, 0xc000},
        {0.5f, 0x3800},
        {0.1f, 0x2e66},                          // 0.0999755859375 (round down)
        {65504.0f, 0x7bff},                      // max half
        {65519.99f, 0x7bff},                     // just below the half-way point
        {65520.0f, 0x7c00},                      // tie to even -> Inf
        {1e6f, 0x7c00},                          // overflow -> Inf
        {-1e6f, 0xfc00},
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
        {0x1p-14f, 0x0400},                      // smallest normal
        {0x1p-24f, 0x0001},                      // smallest subnormal
        {0x1p-25f, 0x0000},                      // tie between 0 and 2^-24 -> even (0)
        {0x1.8p-25f, 0x0001},                    // above the tie
        {0x1.8p-24f, 0x0002},                    // 1.5 * 2^-24: tie between 1 and 2 -> 2
        {0x1.ff8p-15f, 0x03ff},                  // largest subnormal, 1023 * 2^-24
        {0x1.ffcp-15f, 0x0400},                  // tie above it: carries into the smallest normal
        {1.0f + 0x1p-11f, 0x3c00},               // tie -> even mantissa 0
        {1.0f + 0x3p-11f, 0x3c02},               // tie -> even mantissa 2
        {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01},    // just above the tie
        {1e-40f, 0x0000},                        // f32 subnormal underflows
        {-1e-40f, 0x8000},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(r1::f32_to_f16(c.f), c.h) << std::hexfloat << c.f;
        if ((c.h & 0x7c00) != 0x7c00 && c.f == r1::f16_to_f32(c.h))
            EXPECT_EQ(bits(r1::f16_to_f32(c.h)), bits(c.f));
    }
    EXPECT_EQ(r1::f16_to_f32(0x7bff), 65504.0f);
    EXPECT_EQ(r1::f16_to_f32(0x0001), 0x1p-24f);
    EXPECT_EQ(r1::f16_to_f32(0x03ff), 0x3ffp-24f);
    EXPECT_EQ(r1::f16_to_f32(0x7c00), INFINITY);
    EXPECT_EQ(r1::f16_to_f32(0xfc00), -INFINITY);
    // NaN: sign kept, quiet bit set, top payload bits kept (vcvtps2ph / vcvtph2ps behaviour)
    EXPECT_EQ(r1::f32_to_f16(from_bits(0x7fc00000)), 0x7e00);
    EXPECT_EQ(r1::f32_to_f16(from_bits(0xffc00000)), 0xfe00);
    EXPECT_EQ(r1::f32_to_f16(from_bits(0x7f800001)), 0x7e00);  // signalling, payload lost below
    EXPECT_EQ(r1::f32_to_f16(from_bits(0x7fa02000)), 0x7f01);
    EXPECT_EQ(bits(r1::f16_to_f32(0x7e00)), 0x7fc00000u);
    EXPECT_EQ(bits(r1::f16_to_f32(0x7c01)), 0x7fc02000u);  // signalling half -> quiet float
}

// f16 -> f32 against the definition, for all 65536 patterns; f32 -> f16 returns every
// non-NaN pattern unchanged.
TEST(DType, F16ExhaustiveRoundTrip) {
    for (uint32_t h = 0; h < 65536; h++) {
        const uint32_t e = (h >> 10) & 31, m = h & 1023;
        const float sign = (h & 0x8000) ? -1.0f : 1.0f;
        const float f = r1::f16_to_f32((uint16_t)h);
        if (e == 31) {
            if (m) ASSERT_TRUE(std::isnan(f)) << h;
            else ASSERT_EQ(f, sign * INFINITY);
            if (m) continue;
        } else {
            const double want = e == 0 ? std::ldexp((double)m, -24)
                                       : std::ldexp(1024.0 + m, (int)e - 25);
            ASSERT_EQ(f, (float)(sign * want)) << h;
        }
        ASSERT_EQ(r1::f32_to_f16(f), h) << h;
    }
}

// Every midpoint between neighbouring halves rounds to the even one; one float ulp either
// side rounds to the nearer one.
TEST(DType, F16RoundsEveryMidpointToEven) {
    for (uint32_t h = 0; h < 0x7bff; h++) {
        const float a = r1::f16_to_f32((uint16_t)h), b = r1::f16_to_f32((uint16_t)(h + 1));
        const float mid = (a + b) / 2;  // exact: halves have 11 significant bits
        const uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        ASSERT_EQ(r1::f32_to_f16(mid), even) << h;
        ASSERT_EQ(r1::f32_to_f16(-mid), even | 0x8000) << h;
        ASSERT_EQ(r1::f32_to_f16(std::nextafter(mid, 0.0f)), h) << h;
        ASSERT_EQ(r1::f32_to_f16(std::nextafter(mid, INFINITY)), h + 1) << h;
    }
}

// ------------------------------------------------------------------------------ bf16

TEST(DType, Bf16KnownPatterns) {
    EXPECT_EQ(r1::f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(r1::f32_to_bf16(-2.0f), 0xc000);
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even -> down
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd -> up
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x3f808001)), 0x3f81);
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to Inf
    EXPECT_EQ(r1::f32_to_bf16(INFINITY), 0x7f80);
    EXPECT_EQ(r1::f32_to_bf16(-INFINITY), 0xff80);
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x7f800001)), 0x7fc0);  // NaN -> quiet
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0xffc00000)), 0xffc0);
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x00018000)), 0x0002);  // subnormal kept (ggml)
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x00008000)), 0x0000);
    EXPECT_EQ(r1::f32_to_bf16(from_bits(0x80010000)), 0x8001);
    EXPECT_EQ(bits(r1::bf16_to_f32(0x3f80)), 0x3f800000u);
    EXPECT_EQ(bits(r1::bf16_to_f32(0x8001)), 0x80010000u);
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = r1::bf16_to_f32((uint16_t)h);
        if (std::isnan(f)) ASSERT_EQ(r1::f32_to_bf16(f), h | 0x40) << h;
        else ASSERT_EQ(r1::f32_to_bf16(f), h) << h;
        if (h < 0x7f7f) {
            const float b = r1::bf16_to_f32((uint16_t)(h + 1));
            const float mid = f + (b - f) / 2;  // (f + b) / 2 would overflow near FLT_MAX
            ASSERT_EQ(r1::f32_to_bf16(mid), (h & 1) ? h + 1 : h) << h;
        }
    }
}

// ------------------------------------------------------------------------------ fast rows

std::vector<float> special_floats(size_t n, uint64_t seed) {
    r1::Rng r(seed);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) {
        switch (i % 4) {
            case 0: v[i] = r.normal() * 100.0f; break;
            case 1: v[i] = from_bits((uint32_t)r.next_u64()); break;  // any pattern: NaNs too
            case 2: v[i] = r.normal() * 1e-6f; break;                 // f16 subnormal range
            default: v[i] = from_bits((uint32_t)(r.next_u64() & 0x807fffffu)); break;  // f32 subnormals
        }
    }
    return v;
}

TEST(DType, FastRowConversionsBitExact) {
    for (int64_t n : {1, 7, 15, 16, 17, 33, 1000, 300001}) {
        SCOPED_TRACE(::testing::Message() << "n=" << n);
        const auto src = special_floats(n, 7 + n);
        std::vector<uint16_t> h0(n), b0(n), hsrc(n);
        r1::Rng r(n);
        for (auto& h : hsrc) h = (uint16_t)r.next_u64();
        std::vector<float> fh0(n), fb0(n);
        r1::ref::convert_f32_to_f16(h0.data(), src.data(), n);
        r1::ref::convert_f32_to_bf16(b0.data(), src.data(), n);
        r1::ref::convert_f16_to_f32(fh0.data(), hsrc.data(), n);
        r1::ref::convert_bf16_to_f32(fb0.data(), hsrc.data(), n);
        for_each_isa([&](r1::Isa) {
            std::vector<uint16_t> h(n + 1, 0xabcd), b(n + 1, 0xabcd);
            std::vector<float> fh(n + 1, 42.0f), fb(n + 1, 42.0f);
            r1::convert_f32_to_f16(h.data(), src.data(), n);
            r1::convert_f32_to_bf16(b.data(), src.data(), n);
            r1::convert_f16_to_f32(fh.data(), hsrc.data(), n);
            r1::convert_bf16_to_f32(fb.data(), hsrc.data(), n);
            EXPECT_EQ(0, std::memcmp(h.data(), h0.data(), n * 2));
            EXPECT_EQ(0, std::memcmp(b.data(), b0.data(), n * 2));
            EXPECT_EQ(0, std::memcmp(fh.data(), fh0.data(), n * 4));
            EXPECT_EQ(0, std::memcmp(fb.data(), fb0.data(), n * 4));
            // no write past the end (masked tails)
            EXPECT_EQ(h[n], 0xabcd);
            EXPECT_EQ(b[n], 0xabcd);
            EXPECT_EQ(fh[n], 42.0f);
            EXPECT_EQ(fb[n], 42.0f);
        });
    }
}

TEST(DType, FastF16ToF32AllPatterns) {
    std::vector<uint16_t> all(65536);
    for (uint32_t i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    std::vector<float> want(65536);
    r1::ref::convert_f16_to_f32(want.data(), all.data(), 65536);
    for_each_isa([&](r1::Isa) {
        std::vector<float> got(65536);
        r1::convert_f16_to_f32(got.data(), all.data(), 65536);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), 65536 * 4));
    });
}

// ------------------------------------------------------------------------------ Q8_0 / Q4_0

TEST(DType, Q8_0HandComputedBlocks) {
    // Block A: amax 127 -> d = 1 exactly (fp16 0x3c00); roundf rounds halves away from 0.
    std::vector<float> a = {127.0f, -3.5f, 2.5f, 0.49f, -0.5f, 3.4f, -126.6f, 0.0f};
    for (int j = 8; j < 32; j++) a.push_back((j - 20) * 1.25f);
    const int8_t qa[32] = {127, -4, 3,  0,  -1, 3,  -127, 0,  -15, -14, -13, -11, -10, -9, -8, -6,
                           -5,  -4, -3, -1, 0,  1,  3,    4,  5,   6,   8,   9,   10,  11, 13, 14};
    // Block B: x = (j-16)/16, amax 1 -> d = 1/127 -> fp16 0x2008.
    std::vector<float> b;
    for (int j = 0; j < 32; j++) b.push_back((j - 16) / 16.0f);
    const int8_t qb[32] = {-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48,
                           -40,  -32,  -24,  -16,  -8,  0,   8,   16,  24,  32,  40,
                           48,   56,   64,   71,   79,  87,  95,  103, 111, 119};
    std::vector<float> x = a;
    x.insert(x.end(), b.begin(), b.end());
    r1::BlockQ8_0 blk[2];
    r1::quantize_q8_0(blk, x.data(), 64);
    const uint8_t* bytes = (const uint8_t*)blk;
    EXPECT_EQ(bytes[0], 0x00);  // little-endian fp16 scale first
    EXPECT_EQ(bytes[1], 0x3c);
    EXPECT_EQ(bytes[34], 0x08);
    EXPECT_EQ(bytes[35], 0x20);
    for (int j = 0; j < 32; j++) {
        EXPECT_EQ((int8_t)bytes[2 + j], qa[j]) << j;
        EXPECT_EQ((int8_t)bytes[36 + j], qb[j]) << j;
    }
    std::vector<float> y(64);
    r1::dequantize_q8_0(y.data(), blk, 64);
    for (int j = 0; j < 32; j++) {
        EXPECT_EQ(y[j], (float)qa[j]);
        EXPECT_EQ(y[32 + j], qb[j] * r1::f16_to_f32(0x2008));
    }
    // all-zero block: d = 0, q = 0
    std::vector<float> z(32, 0.0f);
    r1::quantize_q8_0(blk, z.data(), 32);
    EXPECT_EQ(blk[0].d, 0);
    for (int j = 0; j < 32; j++) EXPECT_EQ(blk[0].qs[j], 0);
}

TEST(DType, Q4_0HandComputedBlocks) {
    // Block A: first max-|x| element is -8 -> d = -8/-8 = 1 (0x3c00); q = min(15, (int8)(x+8.5)).
    const float a[32] = {-8.0f, 7.0f,  0.0f, -0.4f, 3.6f, 7.4f,  -7.6f, 0.5f,  -0.5f, 1.49f, 2.0f,
                         -2.0f, 4.0f,  -4.0f, 6.5f, -6.5f, 1.0f, -1.0f, 3.0f,  -3.0f, 5.0f, -5.0f,
                         7.9f,  -7.9f, 0.25f, -0.25f, 2.5f, -2.5f, 4.5f, -4.5f, 6.0f,  -6.0f};
    const uint8_t qa[16] = {0x90, 0x7f, 0xb8, 0x58, 0xdc, 0x3f, 0xf0, 0x09,
                            0x88, 0x89, 0xba, 0x66, 0xdc, 0x44, 0xef, 0x22};
    // Block B: first max is +8 -> d = -1 (0xbc00); the later -8 maps to 16 and clamps to 15.
    float b[32] = {8.0f, -8.0f, -7.0f, 1.0f, 0.0f};
    for (int j = 5; j < 32; j++) b[j] = 0.5f * (j - 16);
    const uint8_t qb[16] = {0x80, 0x8f, 0x7f, 0x77, 0x68, 0x6e, 0x5d, 0x5d,
                            0x4c, 0x4c, 0x3b, 0x3b, 0x2a, 0x2a, 0x19, 0x19};
    std::vector<float> x(a, a + 32);
    x.insert(x.end(), b, b + 32);
    r1::BlockQ4_0 blk[2];
    r1::quantize_q4_0(blk, x.data(), 64);
    const uint8_t* bytes = (const uint8_t*)blk;
    EXPECT_EQ(bytes[0], 0x00);
    EXPECT_EQ(bytes[1], 0x3c);
    EXPECT_EQ(bytes[18], 0x00);
    EXPECT_EQ(bytes[19], 0xbc);
    for (int j = 0; j < 16; j++) {
        EXPECT_EQ(bytes[2 + j], qa[j]) << j;
        EXPECT_EQ(bytes[20 + j], qb[j]) << j;
    }
    std::vector<float> y(64);
    r1::dequantize_q4_0(y.data(), blk, 64);
    for (int j = 0; j < 16; j++) {
        EXPECT_EQ(y[j], (float)((qa[j] & 15) - 8));  // low nibble: weight j
        EXPECT_EQ(y[16 + j], (float)((qa[j] >> 4) - 8));  // high nibble: weight j + 16
        EXPECT_EQ(y[32 + j], -(float)((qb[j] & 15) - 8));
        EXPECT_EQ(y[48 + j], -(float)((qb[j] >> 4) - 8));
    }
    EXPECT_EQ(y[32 + 1], -7.0f);  // the clamped -8 comes back as -7
}

TEST(DType, QuantiseErrorBounds) {
    const int64_t n = 32 * 256;
    auto x = r1::testing::randn(n, 5, 3.0f);
    for (int64_t i = 0; i < n; i += 97) x[i] *= 50.0f;  // outliers in some blocks
    std::vector<r1::BlockQ8_0> q8(n / 32);
    std::vector<r1::BlockQ4_0> q4(n / 32);
    std::vector<float> y8(n), y4(n);
    r1::quantize_q8_0(q8.data(), x.data(), n);
    r1::dequantize_q8_0(y8.data(), q8.data(), n);
    r1::quantize_q4_0(q4.data(), x.data(), n);
    r1::dequantize_q4_0(y4.data(), q4.data(), n);
    for (int64_t b = 0; b < n / 32; b++) {
        float amax = 0, mx = 0;
        for (int j = 0; j < 32; j++)
            if (std::fabs(x[b * 32 + j]) > amax) amax = std::fabs(x[b * 32 + j]), mx = x[b * 32 + j];
        // Q8_0: rounding error d/2 plus the fp16 scale error (|q| <= 127, relative 2^-11)
        const double d8 = amax / 127.0;
        const double d4 = std::fabs(mx) / 8.0;
        for (int j = 0; j < 32; j++) {
            const int64_t i = b * 32 + j;
            ASSERT_LE(std::fabs(x[i] - y8[i]), d8 * (0.5 + 127.0 / 2048) + 1e-6 * amax) << i;
            // Q4_0: d/2 + fp16 scale error, except the clamp at the far end (x/d in (7.5, 8])
            // where the error can reach one step
            const double step = x[i] / (mx / -8.0);
            const double bound = step > 7.5 ? d4 * (1.0 + 8.0 / 2048) : d4 * (0.5 + 8.0 / 2048);
            ASSERT_LE(std::fabs(x[i] - y4[i]), bound + 1e-6 * amax) << i;
        }
    }
    EXPECT_THROW(r1::quantize_q8_0(q8.data(), x.data(), 33), r1::Error);
    EXPECT_THROW(r1::dequantize_q4_0(y4.data(), q4.data(), 31), r1::Error);
}

TEST(DType, FastQuantKernelsBitExact) {
    const int64_t nb = 5000, n = nb * 32;  // > 2 task grains: threaded too
    auto x = r1::testing::randn(n, 17, 2.0f);
    r1::Rng r(3);
    for (int64_t b = 0; b < nb; b++) {
        float* blk = x.data() + b * 32;
        switch (b % 8) {
            case 0:  // amax 127 -> id = 1: x*id hits exact .5 ties (roundf: away from zero)
                for (int j = 0; j < 32; j++) blk[j] = (float)((int)(r.below(255)) - 127) / 2.0f;
                blk[0] = 127.0f;
                break;
            case 1: for (int j = 0; j < 32; j++) blk[j] = 0.0f; break;  // d = 0
            case 2: blk[r.below(32)] = std::numeric_limits<float>::quiet_NaN(); break;
            case 3: blk[5] = -INFINITY; break;
            case 4: for (int j = 0; j < 32; j++) blk[j] *= 1e-6f; break;  // f16-subnormal scale
            default: break;
        }
    }
    std::vector<r1::BlockQ8_0> q0(nb);
    std::vector<r1::BlockQ4_0> q4(nb);
    r1::ref::quantize_q8_0(q0.data(), x.data(), n);
    r1::ref::quantize_q4_0(q4.data(), x.data(), n);
    std::vector<float> d0(n), d4(n);
    r1::ref::dequantize_q8_0(d0.data(), q0.data(), n);
    r1::ref::dequantize_q4_0(d4.data(), q4.data(), n);
    for_each_isa([&](r1::Isa) {
        std::vector<r1::BlockQ8_0> q(nb);
        std::vector<r1::BlockQ4_0> qq(nb);
        r1::quantize_q8_0(q.data(), x.data(), n);
        r1::quantize_q4_0(qq.data(), x.data(), n);
        EXPECT_EQ(0, std::memcmp(q.data(), q0.data(), nb * sizeof(r1::BlockQ8_0)));
        EXPECT_EQ(0, std::memcmp(qq.data(), q4.data(), nb * sizeof(r1::BlockQ4_0)));
        std::vector<float> y(n), y4(n);
        r1::dequantize_q8_0(y.data(), q0.data(), n);
        r1::dequantize_q4_0(y4.data(), q4.data(), n);
        EXPECT_EQ(0, std::memcmp(y.data(), d0.data(), n * 4));
        EXPECT_EQ(0, std::memcmp(y4.data(), d4.data(), n * 4));
    });
}

// ------------------------------------------------------------------------------ generic

TEST(DType, NamesSizesAndGenericConversions) {
    for (auto t : {r1::DType::f32, r1::DType::f16, r1::DType::bf16, r1::DType::q8_0,
                   r1::DType::q4_0, r1::DType::i32}) {
        r1::DType back;
        ASSERT_TRUE(r1::dtype_from_name(r1::dtype_name(t), &back));
        EXPECT_EQ(back, t);
        EXPECT_TRUE(r1::dtype_is_valid((uint32_t)t));
    }
    EXPECT_FALSE(r1::dtype_from_name("q5_k", nullptr));
    EXPECT_FALSE(r1::dtype_is_valid(3));  // ggml's removed Q4_2 id
    EXPECT_EQ((uint32_t)r1::DType::q8_0, 8u);  // ggml ids
    EXPECT_EQ((uint32_t)r1::DType::bf16, 30u);
    EXPECT_EQ(r1::dtype_row_bytes(r1::DType::f32, 10), 40);
    EXPECT_EQ(r1::dtype_row_bytes(r1::DType::bf16, 10), 20);
    EXPECT_EQ(r1::dtype_row_bytes(r1::DType::q8_0, 64), 68);
    EXPECT_EQ(r1::dtype_row_bytes(r1::DType::q4_0, 64), 36);
    EXPECT_EQ(r1::dtype_row_bytes(r1::DType::q4_0, 33), -1);
    EXPECT_EQ(r1::dtype_block_size(r1::DType::q4_0), 32);
    EXPECT_EQ(r1::dtype_block_size(r1::DType::f16), 1);
    EXPECT_THROW(r1::dtype_block_bytes((r1::DType)77), r1::Error);

    const int64_t n = 96;
    const auto x = r1::testing::randn(n, 9);
    for (auto t : {r1::DType::f32, r1::DType::f16, r1::DType::bf16, r1::DType::q8_0,
                   r1::DType::q4_0}) {
        SCOPED_TRACE(r1::dtype_name(t));
        std::vector<uint8_t> raw(r1::dtype_row_bytes(t, n));
        std::vector<float> y(n);
        r1::from_f32(raw.data(), x.data(), t, n);
        r1::to_f32(y.data(), raw.data(), t, n);
        const float tol = t == r1::DType::f32   ? 0.0f
                          : t == r1::DType::f16  ? 2e-3f
                          : t == r1::DType::bf16 ? 2e-2f
                          : t == r1::DType::q8_0 ? 0.05f
                                                 : 0.6f;
        for (int64_t i = 0; i < n; i++) ASSERT_NEAR(y[i], x[i], tol * (1 + std::fabs(x[i]))) << i;
        // the conversions are deterministic functions of their input: a second pass is identical
        std::vector<uint8_t> raw2(raw.size());
        r1::from_f32(raw2.data(), y.data(), t, n);
        if (t == r1::DType::f32 || t == r1::DType::f16 || t == r1::DType::bf16)
            EXPECT_EQ(raw2, raw);
    }
    const int32_t ids[3] = {1, -2, 70000};
    float f[3];
    r1::to_f32(f, ids, r1::DType::i32, 3);
    EXPECT_EQ(f[2], 70000.0f);
    EXPECT_THROW(r1::from_f32((void*)ids, f, r1::DType::i32, 3), r1::Error);
}

}  // namespace
