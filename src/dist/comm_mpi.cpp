// MPI back-end of dist::Comm (contract and the NCCL mapping in comm.h). Compiled only when
// CMake's R1_MPI option is on; r1 builds and runs without MPI otherwise.
//
// Every collective is non-blocking underneath (MPI_Iallreduce/Ibcast/Ibarrier/Iallgather)
// and waited for by polling MPI_Test against a deadline, so a dead or stuck peer becomes a
// clear r1::Error instead of a hang. Errors are returned (MPI_ERRORS_RETURN), not fatal.
// Only the main thread calls MPI (MPI_THREAD_FUNNELED); OpenMP workers never do.
// The C API only: OpenMPI's (deprecated) C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "core/error.h"
#include "dist/comm.h"

namespace r1::dist {

namespace {

std::string mpi_error_string(int rc) {
    char buf[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
    return std::string(buf, (size_t)len);
}

void check_mpi(int rc, int rank, const char* what) {
    if (rc != MPI_SUCCESS) fail("[dist] rank ", rank, ": ", what, " failed: ", mpi_error_string(rc));
}

// Polls reqs until all complete or the deadline passes. Spins briefly (latency of small
// collectives), then yields, then sleeps (a waiting rank should not steal a core from the
// rank it waits for on an oversubscribed node).
void wait_all(std::vector<MPI_Request>& reqs, int rank, double timeout_s, const std::string& what) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (int64_t spin = 0;; spin++) {
        int done = 0;
        check_mpi(MPI_Testall((int)reqs.size(), reqs.data(), &done, MPI_STATUSES_IGNORE), rank,
                  what.c_str());
        if (done) return;
        if (spin < 2000) continue;
        if (spin < 4000) {
            std::this_thread::yield();
            continue;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (timeout_s > 0 && (spin & 63) == 0) {
            const double s = std::chrono::duration<double>(clock::now() - t0).count();
            if (s > timeout_s)
                fail("[dist] rank ", rank, ": ", what, " did not complete within ", timeout_s,
                     " s: a peer rank died, is stuck, or took another code path "
                     "(set R1_DIST_TIMEOUT to wait longer)");
        }
    }
}

class MpiWork final : public Work {
public:
    MpiWork(std::vector<MPI_Request> reqs, int rank, double timeout, std::string what)
        : reqs_(std::move(reqs)), rank_(rank), timeout_(timeout), what_(std::move(what)) {}
    ~MpiWork() override {
        // During unwinding the job is going down (abort follows): do not block on peers.
        if (std::uncaught_exceptions() > 0) return;
        try {
            wait();
        } catch (...) {
        }
    }
    void wait() override {
        if (done_) return;
        done_ = true;
        wait_all(reqs_, rank_, timeout_, what_);
    }
    bool test() override {
        if (done_) return true;
        int flag = 0;
        check_mpi(MPI_Testall((int)reqs_.size(), reqs_.data(), &flag, MPI_STATUSES_IGNORE), rank_,
                  what_.c_str());
        done_ = flag != 0;   // completed requests are MPI_REQUEST_NULL: wait() would be a no-op
        return done_;
    }

private:
    std::vector<MPI_Request> reqs_;
    int rank_;
    double timeout_;
    std::string what_;
    bool done_ = false;
};

class MpiComm final : public Comm {
public:
    MpiComm() {
        int inited = 0;
        MPI_Initialized(&inited);
        if (!inited) {
            int provided = 0;
            const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
            if (rc != MPI_SUCCESS) fail("[dist] MPI_Init_thread failed: ", mpi_error_string(rc));
            owns_ = true;
        }
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
    }
    ~MpiComm() override {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owns_ && !finalized) MPI_Finalize();
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    const char* backend() const override { return "mpi"; }

    WorkPtr allreduce_sum_start(float* buf, int64_t n) override {
        R1_CHECK(n >= 0, "[dist] allreduce: negative count ", n);
        std::vector<MPI_Request> reqs;
        for (int64_t off = 0; off < n; off += INT_MAX) {   // MPI counts are int
            const int cnt = (int)std::min<int64_t>(INT_MAX, n - off);
            MPI_Request r;
            check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM,
                                     MPI_COMM_WORLD, &r),
                      rank_, "MPI_Iallreduce");
            reqs.push_back(r);
        }
        return std::make_unique<MpiWork>(std::move(reqs), rank_, timeout_s,
                                         "all-reduce of " + std::to_string(n) + " floats");
    }
    WorkPtr allgather_start(float* buf, int64_t count) override {
        // One collective (MPI counts are int: a slice of 2^31 floats = 8 GiB per rank is the
        // limit; more ranks make the slices smaller).
        R1_CHECK(count >= 0 && count <= INT_MAX, "[dist] allgather: ", count,
                 " floats per rank is out of range (at most 2^31-1; use more ranks)");
        std::vector<MPI_Request> reqs(1);
        check_mpi(MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)count, MPI_FLOAT,
                                 MPI_COMM_WORLD, &reqs[0]),
                  rank_, "MPI_Iallgather");
        return std::make_unique<MpiWork>(std::move(reqs), rank_, timeout_s,
                                         "all-gather of " + std::to_string(count) +
                                             " floats per rank");
    }
    void allreduce_sum(double* buf, int64_t n) override {
        R1_CHECK(n >= 0 && n <= INT_MAX, "[dist] allreduce: bad count ", n);
        std::vector<MPI_Request> reqs(1);
        check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD,
                                 &reqs[0]),
                  rank_, "MPI_Iallreduce");
        wait_all(reqs, rank_, timeout_s, "all-reduce of " + std::to_string(n) + " doubles");
    }
    void broadcast(void* buf, size_t bytes, int root) override {
        R1_CHECK(root >= 0 && root < size_, "[dist] broadcast: root ", root, " out of range (",
                 size_, " ranks)");
        std::vector<MPI_Request> reqs;
        for (size_t off = 0; off < bytes; off += INT_MAX) {
            const int cnt = (int)std::min<size_t>(INT_MAX, bytes - off);
            MPI_Request r;
            check_mpi(MPI_Ibcast((char*)buf + off, cnt, MPI_BYTE, root, MPI_COMM_WORLD, &r),
                      rank_, "MPI_Ibcast");
            reqs.push_back(r);
        }
        wait_all(reqs, rank_, timeout_s, "broadcast of " + std::to_string(bytes) + " bytes");
    }
    void barrier() override {
        std::vector<MPI_Request> reqs(1);
        check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &reqs[0]), rank_, "MPI_Ibarrier");
        wait_all(reqs, rank_, timeout_s, "barrier");
    }
    void allgather(const void* in, size_t bytes, void* out) override {
        R1_CHECK(bytes <= (size_t)INT_MAX, "[dist] allgather: ", bytes, " bytes is too large");
        std::vector<MPI_Request> reqs(1);
        check_mpi(MPI_Iallgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE,
                                 MPI_COMM_WORLD, &reqs[0]),
                  rank_, "MPI_Iallgather");
        wait_all(reqs, rank_, timeout_s, "allgather");
    }
    [[noreturn]] void abort(const std::string& msg, int code) override {
        std::fprintf(stderr, "%s\n", msg.c_str());
        std::fflush(stderr);
        std::fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);   // MPI_Abort should not return
    }

private:
    int rank_ = 0, size_ = 1;
    bool owns_ = false;
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm() { return std::make_unique<MpiComm>(); }

}  // namespace r1::dist
