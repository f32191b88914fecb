// r1 plot — PNG curves of every numeric metric in one or more metrics.jsonl files against
// "step" (gnuplot; rl/plot.h): DIR/<metric>.png each, plus DIR/overview.png.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "rl/plot.h"

namespace {

struct PlotCli {
    std::vector<std::string> files;
    r1::rl::PlotOptions opt;
    bool json = false;
};

r1::cli::Register reg("plot", "PNG curves (gnuplot) of every numeric metric in metrics.jsonl files vs step",
                      [](CLI::App& app) {
    auto c = std::make_shared<PlotCli>();
    app.add_option("files", c->files, "METRICS.jsonl files (several: one curve each per plot)")->required();
    app.add_option("-o,--out", c->opt.out_dir, "output directory (created)")->required();
    app.add_option("--gnuplot", c->opt.gnuplot, "gnuplot executable (default: $R1_GNUPLOT, else gnuplot)")
        ->capture_default_str();
    app.add_flag("--json", c->json, "print the written PNG paths as a JSON array");
    return [c] {
        const std::vector<std::string> pngs = r1::rl::plot_metrics(c->files, c->opt);
        if (c->json) {
            std::printf("%s\n", nlohmann::json(pngs).dump().c_str());
        } else {
            for (const auto& p : pngs) std::printf("%s\n", p.c_str());
        }
        return 0;
    };
});

}  // namespace
