// Exact rational numbers for the verifiers: int64 numerator / positive int64 denominator in
// lowest terms, every operation computed in __int128 and checked, so an answer like
// "99999999999*99999999999" or a 1 MB run of digits fails cleanly (std::nullopt) instead of
// wrapping around into a wrong "correct". Verifiers compare answers exactly with these
// (0.1 + 0.2 == 3/10), never in floating point.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace r1::rl {

struct Rational {
    int64_t num = 0;
    int64_t den = 1;  // > 0, gcd(|num|, den) == 1

    // Reduced num/den; nullopt when den == 0 or the reduced value does not fit int64.
    static std::optional<Rational> make(__int128 num, __int128 den);
    static Rational integer(int64_t v) { return {v, 1}; }

    bool is_integer() const { return den == 1; }
    // "42", "-3/4"
    std::string str() const;
    bool operator==(const Rational&) const = default;
};

// nullopt on overflow; div also on division by zero.
std::optional<Rational> add(const Rational& a, const Rational& b);
std::optional<Rational> sub(const Rational& a, const Rational& b);
std::optional<Rational> mul(const Rational& a, const Rational& b);
std::optional<Rational> div(const Rational& a, const Rational& b);

}  // namespace r1::rl
