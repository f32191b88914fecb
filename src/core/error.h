// Errors: one exception type, messages that say where and what.
//   "[gguf] tensor 'blk.3.attn_q' offset past end of file"
// Library code throws r1::Error; the CLI catches it at the top and prints it. Code never
// aborts on bad input. Internal invariants (programming errors) use R1_ASSERT.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace r1 {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
}  // namespace detail

// fail("[ckpt] ", path, ": bad magic") — throws r1::Error with the pieces concatenated.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
    throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace r1

// Checks a condition on input data; on failure throws r1::Error with the message pieces.
#define R1_CHECK(cond, ...)                        \
    do {                                           \
        if (!(cond)) ::r1::fail(__VA_ARGS__);      \
    } while (0)

// Internal invariant; a failure is a bug in r1.cpp, reported with file and line.
#define R1_ASSERT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) ::r1::fail("internal error: ", #cond, " at ", __FILE__, ":", __LINE__); \
    } while (0)
