// The communicator: the narrow set of collectives data-parallel training needs, behind one
// interface with two back-ends:
//   local  one process (rank 0 of 1): every collective is a no-op. Always built.
//   mpi    MPI_COMM_WORLD (OpenMPI), built when CMake finds MPI (option R1_MPI, default ON
//          then). Used when the process was started by mpirun/srun (or --dist mpi).
//
// Why so narrow: the same calls must map one-to-one onto NCCL when the CUDA backend lands,
// so nothing here is MPI-specific:
//   Comm method            MPI (this file's mpi back-end)      NCCL (later)
//   rank()/size()          MPI_Comm_rank/size                  ncclCommUserRank/Count
//   allreduce_sum_start    MPI_Iallreduce(MPI_IN_PLACE, SUM)   ncclAllReduce(ncclSum) on the
//                          → Work = MPI_Request                comm stream → Work = cudaEvent
//   allgather_start        MPI_Iallgather(MPI_IN_PLACE)        ncclAllGather(sendbuff = buf +
//                          (ZeRO-1 parameter slices)           rank·count, recvbuff = buf)
//   Work::wait             MPI_Test loop with a deadline       cudaEventSynchronize/poll +
//                                                              ncclCommGetAsyncError deadline
//   Work::test             one MPI_Testall (drives progress)   cudaEventQuery
//   broadcast              MPI_Ibcast                          ncclBroadcast
//   barrier                MPI_Ibarrier                        ncclAllReduce of 1 int
//   allgather              MPI_Iallgather                      ncclAllGather
//   abort(msg)             MPI_Abort                           ncclCommAbort + exit
// Buffers are plain pointers (host memory for MPI, device memory for NCCL: the interface
// never touches the bytes itself), async handles carry no stream (an NCCL back-end keeps its
// own stream and records an event in Work), and there is no tag/point-to-point API that
// NCCL would have to emulate.
//
// Failure contract (no hangs): every wait has a deadline (Comm::timeout_s, default 600 s like
// PyTorch's NCCL watchdog; env R1_DIST_TIMEOUT, 0 = none). A collective that does not
// complete in time — a peer rank died, is stopped, or diverged onto another code path —
// throws r1::Error("[dist] rank R: all-reduce of N floats did not complete within S s ...").
// The CLI then calls abort(), which takes the whole job down (mpirun kills every rank).
// MPI errors are returned (MPI_ERRORS_RETURN), not fatal, and become r1::Error too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace r1::dist {

// An in-flight collective. wait() blocks until it completes (throws r1::Error on timeout or
// a back-end error); waiting twice is a no-op. Destroying an unwaited Work waits for it.
class Work {
public:
    virtual ~Work() = default;
    virtual void wait() = 0;
    // Non-blocking poll: true once the collective has completed (wait() then returns at
    // once). Cheap; the data-parallel trainer calls it between the layers of the backward
    // because OpenMPI advances non-blocking collectives mostly inside MPI calls. Never
    // throws on a slow peer (the deadline is wait()'s business). Default: "cannot tell".
    virtual bool test() { return false; }
};
using WorkPtr = std::unique_ptr<Work>;

class Comm {
public:
    virtual ~Comm() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual const char* backend() const = 0;   // "local" | "mpi"

    // Every rank calls every collective in the same order with the same sizes (as in MPI and
    // NCCL); buffers are updated in place on every rank.
    //
    // Sum of buf[0, n) over ranks. The buffer must not be touched until wait() returns.
    virtual WorkPtr allreduce_sum_start(float* buf, int64_t n) = 0;
    void allreduce_sum(float* buf, int64_t n) { allreduce_sum_start(buf, n)->wait(); }
    // Small host-side values in double (losses, token counts, flags, expert loads).
    virtual void allreduce_sum(double* buf, int64_t n) = 0;
    // In-place all-gather of equal pieces: buf holds size() pieces of `count` floats; on
    // completion piece r (buf[r·count, (r+1)·count)) holds rank r's piece on every rank. Rank
    // r's own piece is read, the others are overwritten; buf must not be touched until
    // wait(). Same deadline/abort contract as the all-reduce. The default implementation
    // goes through the byte allgather() below (blocking, a temporary copy), so a Comm that
    // only has the small-value collectives still works; local and MPI override it.
    virtual WorkPtr allgather_start(float* buf, int64_t count);
    // Copies root's bytes to every rank.
    virtual void broadcast(void* buf, size_t bytes, int root) = 0;
    virtual void barrier() = 0;
    // Gathers `bytes` from every rank into out[size() * bytes], in rank order. Small values.
    virtual void allgather(const void* in, size_t bytes, void* out) = 0;
    // Ends every rank of the job with `msg` on stderr and exit code `code`. Does not return.
    [[noreturn]] virtual void abort(const std::string& msg, int code = 1) = 0;

    double timeout_s = 600.0;   // deadline of every wait (0 = wait forever)

    template <class T>
    std::vector<T> allgather_value(const T& v) {
        std::vector<T> out((size_t)size());
        allgather(&v, sizeof(T), out.data());
        return out;
    }
};

// A single-process communicator (rank 0 of 1).
std::unique_ptr<Comm> make_local_comm();

// True when this binary was built with the MPI back-end.
bool mpi_built();
// True when the environment says an MPI launcher started this process (OMPI_COMM_WORLD_SIZE,
// PMI_SIZE or PMIX_RANK set).
bool launched_by_mpi();

// The process-wide communicator, created on first call:
//   "auto"  MPI when built with it and launched_by_mpi(), else local
//   "mpi"   MPI (r1::Error if not built with MPI)
//   "local" one process even under mpirun (every rank then trains alone)
// The first call fixes the back-end; later calls must ask for the same one (or "auto").
// MPI is finalised at process exit. The deadline comes from R1_DIST_TIMEOUT (seconds) if set.
Comm& world(const std::string& backend = "auto");

// Ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE / MPI_LOCALNRANKS), 1 if unknown. Used to
// default the thread count to cores / local ranks.
int local_size();

}  // namespace r1::dist
