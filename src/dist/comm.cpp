// The local (single-process) communicator and the process-wide world() factory. The MPI
// back-end lives in comm_mpi.cpp, compiled only when CMake's R1_MPI is on (R1_HAVE_MPI).
#include "dist/comm.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace r1::dist {

#ifdef R1_HAVE_MPI
std::unique_ptr<Comm> make_mpi_comm();   // comm_mpi.cpp
#endif

namespace {

struct DoneWork final : Work {
    void wait() override {}
    bool test() override { return true; }
};

// Rank 0 of 1: sums over one rank are the identity, gathers are copies.
class LocalComm final : public Comm {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    const char* backend() const override { return "local"; }
    WorkPtr allreduce_sum_start(float*, int64_t n) override {
        R1_CHECK(n >= 0, "[dist] allreduce: negative count ", n);
        return std::make_unique<DoneWork>();
    }
    WorkPtr allgather_start(float*, int64_t count) override {   // one piece: already in place
        R1_CHECK(count >= 0, "[dist] allgather: negative count ", count);
        return std::make_unique<DoneWork>();
    }
    void allreduce_sum(double*, int64_t n) override {
        R1_CHECK(n >= 0, "[dist] allreduce: negative count ", n);
    }
    void broadcast(void*, size_t, int root) override {
        R1_CHECK(root == 0, "[dist] broadcast: root ", root, " out of range (1 rank)");
    }
    void barrier() override {}
    void allgather(const void* in, size_t bytes, void* out) override {
        if (bytes) std::memmove(out, in, bytes);
    }
    [[noreturn]] void abort(const std::string& msg, int code) override {
        std::fprintf(stderr, "%s\n", msg.c_str());
        std::fflush(stderr);
        std::_Exit(code);
    }
};

}  // namespace

WorkPtr Comm::allgather_start(float* buf, int64_t count) {
    R1_CHECK(count >= 0, "[dist] allgather: negative count ", count);
    const size_t bytes = (size_t)count * sizeof(float);
    std::vector<float> mine(buf + (size_t)rank() * (size_t)count,
                            buf + (size_t)(rank() + 1) * (size_t)count);
    allgather(mine.data(), bytes, buf);   // out = size() pieces in rank order = buf itself
    return std::make_unique<DoneWork>();
}

namespace {

std::mutex g_mu;
std::unique_ptr<Comm> g_world;
std::string g_backend;

int env_int(const char* name, int fallback) {
    const char* s = std::getenv(name);
    if (!s || !*s) return fallback;
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    return (end && *end == 0 && v > 0) ? (int)v : fallback;
}

}  // namespace

std::unique_ptr<Comm> make_local_comm() { return std::make_unique<LocalComm>(); }

bool mpi_built() {
#ifdef R1_HAVE_MPI
    return true;
#else
    return false;
#endif
}

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (const char* s = std::getenv(v); s && *s) return true;
    return false;
}

int local_size() {
    const int n = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 0);
    return n > 0 ? n : env_int("MPI_LOCALNRANKS", 1);
}

Comm& world(const std::string& backend) {
    std::lock_guard<std::mutex> lock(g_mu);
    R1_CHECK(backend == "auto" || backend == "mpi" || backend == "local",
             "[dist] unknown backend '", backend, "' (auto | mpi | local)");
    std::string want = backend;
    if (want == "auto") want = g_world ? g_backend : (mpi_built() && launched_by_mpi() ? "mpi" : "local");
    if (g_world) {
        R1_CHECK(want == g_backend, "[dist] the communicator is already '", g_backend,
                 "', cannot switch to '", want, "'");
        return *g_world;
    }
    if (want == "mpi") {
#ifdef R1_HAVE_MPI
        g_world = make_mpi_comm();
#else
        fail("[dist] --dist mpi: this r1 was built without MPI (install libopenmpi-dev and "
             "rebuild with -DR1_MPI=ON)");
#endif
    } else {
        g_world = make_local_comm();
    }
    g_backend = want;
    if (const char* s = std::getenv("R1_DIST_TIMEOUT"); s && *s) {
        char* end = nullptr;
        const double t = std::strtod(s, &end);
        R1_CHECK(end && *end == 0 && t >= 0, "[dist] R1_DIST_TIMEOUT='", s,
                 "': expected seconds >= 0");
        g_world->timeout_s = t;
    }
    return *g_world;
}

}  // namespace r1::dist
