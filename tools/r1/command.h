// Subcommand registry: each tools/r1/<cmd>.cpp registers itself, so adding a command never
// touches main.cpp.
//
//   static r1::cli::Register reg("train", "Train a model on a corpus", [](CLI::App& app) {
//       auto opt = std::make_shared<Options>();
//       app.add_option("--data", opt->data, "corpus file")->required();
//       return [opt] { return run_train(*opt); };   // exit code
//   });
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace r1::cli {

using RunFn = std::function<int()>;
using SetupFn = std::function<RunFn(CLI::App&)>;

struct CommandSpec {
    std::string name, description;
    SetupFn setup;
};

std::vector<CommandSpec>& registry();

struct Register {
    Register(std::string name, std::string description, SetupFn setup) {
        registry().push_back({std::move(name), std::move(description), std::move(setup)});
    }
};

}  // namespace r1::cli
