// r1 info — what this build and this CPU can do.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/cpu.h"
#include "core/threads.h"

namespace {
int run_info(bool as_json) {
    nlohmann::json j = {{"version", "0.1.0"},
                        {"isa", r1::isa_name(r1::active_isa())},
                        {"cpu", r1::cpu_summary()},
                        {"threads", r1::num_threads()}};
    if (as_json)
        std::printf("%s\n", j.dump().c_str());
    else
        std::printf("r1.cpp 0.1.0\n  kernels: %s\n  threads: %d\n", r1::cpu_summary().c_str(),
                    r1::num_threads());
    return 0;
}
r1::cli::Register reg("info", "Show build and CPU capabilities", [](CLI::App& app) {
    auto as_json = std::make_shared<bool>(false);
    app.add_flag("--json", *as_json, "print one JSON object");
    return [as_json] { return run_info(*as_json); };
});
}  // namespace
