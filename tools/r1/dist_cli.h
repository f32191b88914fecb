// The data-parallel launch shared by r1 train, r1 grpo and r1 distill: the --dist,
// --dist-timeout and --check-sync options, the communicator, threads per rank, and the rule
// that one failing rank ends the whole job (docs/distributed.md).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "dist/comm.h"

namespace r1::cli {

struct DistOptions {
    std::string dist = "auto";  // auto (MPI under mpirun/srun) | mpi | local
    double timeout_s = -1;      // < 0: R1_DIST_TIMEOUT or the communicator's default
};

// Registers --dist, --dist-timeout and --check-sync (with the command's own help text).
void add_dist_options(CLI::App& app, DistOptions& d, bool& check_sync,
                      const std::string& check_sync_help);

// Opens the communicator, gives each rank its share of the node's cores unless --threads or
// R1_THREADS say otherwise, and runs body. An exception on one rank of several aborts every
// rank with the message (the others would otherwise wait in their next collective); with
// one rank it propagates as usual.
int run_data_parallel(CLI::App& app, const DistOptions& d,
                      const std::function<int(r1::dist::Comm&)>& body);

}  // namespace r1::cli
