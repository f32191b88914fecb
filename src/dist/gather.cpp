// Variable-size gathers over dist::Comm (contract in gather.h).
#include "dist/gather.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace r1::dist {

std::vector<std::string> allgather_strings(Comm& comm, const std::string& mine) {
    const int R = comm.size();
    if (R == 1) return {mine};
    const std::vector<uint64_t> lens = comm.allgather_value<uint64_t>(mine.size());
    const uint64_t longest = *std::max_element(lens.begin(), lens.end());
    std::vector<std::string> out((size_t)R);
    if (longest == 0) return out;
    std::vector<char> in((size_t)longest, 0), all((size_t)longest * (size_t)R, 0);
    std::memcpy(in.data(), mine.data(), mine.size());
    comm.allgather(in.data(), (size_t)longest, all.data());
    for (int r = 0; r < R; r++) {
        R1_CHECK(lens[(size_t)r] <= longest, "[dist] allgather_strings: bad length from rank ", r);
        out[(size_t)r].assign(all.data() + (size_t)r * longest, (size_t)lens[(size_t)r]);
    }
    return out;
}

double max_over_ranks(Comm& comm, double v) {
    if (comm.size() == 1) return v;
    const std::vector<double> all = comm.allgather_value(v);
    return *std::max_element(all.begin(), all.end());
}

}  // namespace r1::dist
