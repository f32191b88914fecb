// `r1 plot`: PNG curves of metrics.jsonl files (one JSON object per line, as `r1 train` and
// `r1 grpo` write them) drawn by gnuplot (Debian gnuplot-nox), so training dynamics can be
// looked at without Python.
//
// Every numeric key (numbers and booleans as 0/1) becomes a metric plotted against "step"
// (lines without a "step" use their 0-based row number among that file's rows); nested
// objects flatten to "outer.inner" (up to 4 levels); strings, arrays and nulls are skipped. Several files = several labelled curves per
// plot (label: the file's parent directory name, or its stem when that is ambiguous).
// Output: DIR/<metric>.png for each metric plus DIR/overview.png (a grid of all metrics).
// Data and the gnuplot script are written to DIR/.plot/ (kept: rerun gnuplot by hand).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace r1::rl {

struct MetricsSeries {
    std::string path, label;
    // metric -> (step, value) points in file order
    std::map<std::string, std::vector<std::pair<double, double>>> metrics;
    int64_t rows = 0;
};

// Throws r1::Error naming the file and line for unreadable files, lines that are not JSON
// objects, or a non-numeric "step".
MetricsSeries read_metrics_jsonl(const std::string& path);

struct PlotOptions {
    std::string out_dir;
    std::string gnuplot = "gnuplot";  // executable; when left "gnuplot", $R1_GNUPLOT (if set) is used
};

// Writes the PNGs; returns their paths (overview last). Throws r1::Error when gnuplot is
// missing or fails, when no file has a numeric metric, or for malformed files.
std::vector<std::string> plot_metrics(const std::vector<std::string>& files, const PlotOptions& opt);

}  // namespace r1::rl
