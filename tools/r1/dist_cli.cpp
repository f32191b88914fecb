// See dist_cli.h.
#include "dist_cli.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <thread>

#include "core/threads.h"

namespace r1::cli {

void add_dist_options(CLI::App& app, DistOptions& d, bool& check_sync,
                      const std::string& check_sync_help) {
    app.add_option("--dist", d.dist, "data parallel: auto (MPI under mpirun) | mpi | local")
        ->capture_default_str();
    app.add_option("--dist-timeout", d.timeout_s,
                   "seconds a collective may wait for the other ranks before the job "
                   "aborts (default: R1_DIST_TIMEOUT or 600)");
    app.add_flag("--check-sync", check_sync, check_sync_help);
}

int run_data_parallel(CLI::App& app, const DistOptions& d,
                      const std::function<int(r1::dist::Comm&)>& body) {
    r1::dist::Comm& comm = r1::dist::world(d.dist);
    if (d.timeout_s >= 0) comm.timeout_s = d.timeout_s;
    // Several ranks on one node share its cores: unless told otherwise, each takes its part.
    const bool threads_given = (app.get_parent() && app.get_parent()->count("--threads") > 0) ||
                               std::getenv("R1_THREADS") != nullptr;
    if (comm.size() > 1 && !threads_given)
        r1::set_num_threads(std::max(1, (int)std::thread::hardware_concurrency() /
                                            std::max(1, r1::dist::local_size())));
    try {
        return body(comm);
    } catch (const std::exception& e) {
        if (comm.size() == 1) throw;
        comm.abort("error (rank " + std::to_string(comm.rank()) + " of " +
                   std::to_string(comm.size()) + "): " + e.what(), 1);
    }
    return 1;  // not reached: abort() ends the process
}

}  // namespace r1::cli
