#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"

TEST(Threads, ParallelForCoversRangeOnce) {
    for (int64_t n : {0, 1, 7, 1000}) {
        std::vector<int> hits(n, 0);
        r1::parallel_for(n, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; i++) hits[i]++;
        });
        for (int64_t i = 0; i < n; i++) EXPECT_EQ(hits[i], 1) << "n=" << n << " i=" << i;
    }
}

TEST(Rng, StateRoundTripReproducesStream) {
    r1::Rng a(42);
    for (int i = 0; i < 10; i++) a.normal();
    auto st = a.state();
    std::vector<float> x;
    for (int i = 0; i < 5; i++) x.push_back(a.normal());
    r1::Rng b(7);
    b.set_state(st);
    for (int i = 0; i < 5; i++) EXPECT_EQ(b.normal(), x[i]);
}

TEST(Rng, UniformInRange) {
    r1::Rng r(1);
    for (int i = 0; i < 10000; i++) {
        float u = r.uniform();
        ASSERT_GE(u, 0.0f);
        ASSERT_LT(u, 1.0f);
    }
}

TEST(Error, CheckThrowsWithMessage) {
    try {
        R1_CHECK(1 == 2, "[test] value ", 3, " is wrong");
        FAIL();
    } catch (const r1::Error& e) {
        EXPECT_STREQ(e.what(), "[test] value 3 is wrong");
    }
}

TEST(Cpu, ForcedIsaCapsChoice) {
    r1::force_isa(r1::Isa::scalar);
    EXPECT_EQ(r1::active_isa(), r1::Isa::scalar);
    r1::force_isa(r1::Isa::avx512);
    EXPECT_EQ(r1::active_isa(), r1::best_isa());
}
