// Checked exact rational arithmetic (see rational.h).
#include "rl/rational.h"

#include <limits>

namespace r1::rl {

namespace {

__int128 gcd128(__int128 a, __int128 b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b != 0) {
        const __int128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

bool fits64(__int128 v) {
    return v >= (__int128)std::numeric_limits<int64_t>::min() &&
           v <= (__int128)std::numeric_limits<int64_t>::max();
}

}  // namespace

std::optional<Rational> Rational::make(__int128 num, __int128 den) {
    if (den == 0) return std::nullopt;
    if (den < 0) {
        num = -num;
        den = -den;
    }
    const __int128 g = gcd128(num, den);
    if (g > 1) {
        num /= g;
        den /= g;
    }
    if (!fits64(num) || !fits64(den)) return std::nullopt;
    return Rational{(int64_t)num, (int64_t)den};
}

std::string Rational::str() const {
    if (den == 1) return std::to_string(num);
    return std::to_string(num) + "/" + std::to_string(den);
}

// Products of two int64 fit in __int128; sums of two such products may not only at the very
// edge (|x| close to 2^126 each), which int64 operands cannot reach: |a·d| <= 2^126.
std::optional<Rational> add(const Rational& a, const Rational& b) {
    return Rational::make((__int128)a.num * b.den + (__int128)b.num * a.den, (__int128)a.den * b.den);
}

std::optional<Rational> sub(const Rational& a, const Rational& b) {
    return Rational::make((__int128)a.num * b.den - (__int128)b.num * a.den, (__int128)a.den * b.den);
}

std::optional<Rational> mul(const Rational& a, const Rational& b) {
    return Rational::make((__int128)a.num * b.num, (__int128)a.den * b.den);
}

std::optional<Rational> div(const Rational& a, const Rational& b) {
    if (b.num == 0) return std::nullopt;
    return Rational::make((__int128)a.num * b.den, (__int128)a.den * b.num);
}

}  // namespace r1::rl
