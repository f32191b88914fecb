// r1 — one binary, many subcommands (`r1 --help`, `r1 <cmd> --help`).
#include <algorithm>
#include <cstdio>
#include <map>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"

namespace r1::cli {
std::vector<CommandSpec>& registry() {
    static std::vector<CommandSpec> r;
    return r;
}
}  // namespace r1::cli

int main(int argc, char** argv) {
    CLI::App app{"r1 — train, reinforce, distil and run reasoning language models on a CPU"};
    app.require_subcommand(1);
    app.fallthrough();  // global options (--threads) are accepted after the subcommand too
    app.set_version_flag("--version", std::string("r1.cpp 0.1.0"));
    int threads = 0;
    app.add_option("-t,--threads", threads, "worker threads (default: R1_THREADS or all cores)")
        ->check(CLI::NonNegativeNumber);

    auto& reg = r1::cli::registry();
    std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::map<CLI::App*, r1::cli::RunFn> runs;
    for (auto& spec : reg) {
        CLI::App* sub = app.add_subcommand(spec.name, spec.description);
        runs[sub] = spec.setup(*sub);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (threads > 0) r1::set_num_threads(threads);
    try {
        for (auto& [sub, run] : runs)
            if (sub->parsed()) return run();
    } catch (const r1::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
