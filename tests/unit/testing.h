// Shared test helpers: random tensors, closeness checks, finite-difference gradients, the
// message of an expected error.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/rng.h"

namespace r1::testing {

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
    r1::Rng r(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = r.normal() * scale;
    return v;
}

// max |a-b| / (atol + rtol*|b|) <= 1 elementwise; reports the worst index.
inline ::testing::AssertionResult allclose(const float* a, const float* b, size_t n,
                                           float atol, float rtol) {
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        if (std::isnan(a[i]) != std::isnan(b[i]))
            return ::testing::AssertionFailure() << "NaN mismatch at " << i;
        double r = std::fabs((double)a[i] - b[i]) / (atol + rtol * std::fabs((double)b[i]));
        if (r > worst) worst = r, wi = i;
    }
    if (worst <= 1.0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "mismatch at " << wi << ": " << a[wi] << " vs "
                                         << b[wi] << " (ratio to tolerance " << worst << ")";
}
inline ::testing::AssertionResult allclose(const std::vector<float>& a,
                                           const std::vector<float>& b, float atol,
                                           float rtol) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << "size mismatch";
    return allclose(a.data(), b.data(), a.size(), atol, rtol);
}

// Central finite differences of a scalar function f over the entries of x, compared with an
// analytic gradient g. Uses double-precision accumulation in f where the caller provides it;
// checks |fd - g| <= atol + rtol*|fd| on `max_checks` entries spread over x.
inline ::testing::AssertionResult check_grad(const std::function<double()>& f,
                                             std::vector<float>& x,
                                             const std::vector<float>& g, float eps = 1e-2f,
                                             float atol = 2e-3f, float rtol = 2e-2f,
                                             size_t max_checks = 64) {
    size_t n = x.size();
    size_t step = n > max_checks ? n / max_checks : 1;
    for (size_t i = 0; i < n; i += step) {
        float old = x[i];
        x[i] = old + eps;
        double fp = f();
        x[i] = old - eps;
        double fm = f();
        x[i] = old;
        double fd = (fp - fm) / (2 * eps);
        if (std::fabs(fd - g[i]) > atol + rtol * std::fabs(fd))
            return ::testing::AssertionFailure()
                   << "grad mismatch at " << i << ": analytic " << g[i] << " vs numeric " << fd;
    }
    return ::testing::AssertionSuccess();
}

// Runs body once per ISA level this CPU supports (scalar, avx2, avx512), restoring the cap.
inline void for_each_isa(const std::function<void(r1::Isa)>& body) {
    for (r1::Isa isa : {r1::Isa::scalar, r1::Isa::avx2, r1::Isa::avx512}) {
        if ((int)isa > (int)r1::best_isa()) continue;
        r1::force_isa(isa);
        SCOPED_TRACE(r1::isa_name(isa));
        body(isa);
    }
    r1::force_isa(r1::Isa::avx512);
}

// The message of the r1::Error that f throws ("" when it throws none), for checks that an
// error names the file, field or option at fault.
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const r1::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace r1::testing
