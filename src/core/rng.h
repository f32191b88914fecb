// Deterministic random numbers with a serialisable state (checkpoints save it, so a
// resumed run draws exactly the numbers an uninterrupted one would).
// xoshiro256** seeded through splitmix64; normal() by Box-Muller.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace r1 {

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }

    void reseed(uint64_t seed) {
        uint64_t x = seed;
        for (auto& w : s_) w = splitmix64(x);
        has_spare_ = false;
    }

    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // uniform in [0, 1) with 24 random bits (exact in float)
    float uniform() { return (float)(next_u64() >> 40) * (1.0f / 16777216.0f); }
    // uniform integer in [0, n)
    uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }
    // standard normal
    float normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = ((next_u64() >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
        double u2 = (next_u64() >> 11) * (1.0 / 9007199254740992.0);
        double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = (float)(r * std::sin(2 * M_PI * u2));
        has_spare_ = true;
        return (float)(r * std::cos(2 * M_PI * u2));
    }

    // The whole state as four words plus the cached normal (for checkpoints).
    struct State {
        std::array<uint64_t, 4> s;
        bool has_spare;
        float spare;
    };
    State state() const { return {s_, has_spare_, spare_}; }
    void set_state(const State& st) {
        s_ = st.s;
        has_spare_ = st.has_spare;
        spare_ = st.spare;
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static uint64_t splitmix64(uint64_t& x) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::array<uint64_t, 4> s_{};
    bool has_spare_ = false;
    float spare_ = 0;
};

}  // namespace r1
