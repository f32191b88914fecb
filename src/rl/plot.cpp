// r1 plot's library side: read metrics.jsonl files, write gnuplot data + script, run gnuplot.
// See plot.h for the contract.
#include "rl/plot.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace fs = std::filesystem;

namespace r1::rl {

namespace {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// A gnuplot single-quoted string ('' is a literal quote inside).
std::string gp_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s)
        out += (std::isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.') ? c : '_';
    return out.empty() ? std::string("metric") : out;
}

}  // namespace

MetricsSeries read_metrics_jsonl(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    R1_CHECK(f.good(), "[plot] cannot open '", path, "'");
    MetricsSeries s;
    s.path = path;
    std::string line;
    for (int64_t ln = 1; std::getline(f, line); ln++) {
        if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            fail("[plot] ", path, ":", ln, ": not valid JSON (", e.what(), ")");
        }
        R1_CHECK(j.is_object(), "[plot] ", path, ":", ln, ": expected a JSON object per line");
        double step = (double)s.rows;
        if (j.contains("step")) {
            R1_CHECK(j["step"].is_number(), "[plot] ", path, ":", ln, ": field 'step' is not a number");
            step = j["step"].get<double>();
        }
        // nested objects flatten to "outer.inner" (a few levels; deeper ones are skipped)
        std::function<void(const nlohmann::json&, const std::string&, int)> add =
            [&](const nlohmann::json& obj, const std::string& prefix, int depth) {
                for (const auto& [key, v] : obj.items()) {
                    if (prefix.empty() && key == "step") continue;
                    const std::string name = prefix.empty() ? key : prefix + "." + key;
                    if (v.is_object()) {
                        if (depth < 4) add(v, name, depth + 1);
                        continue;
                    }
                    double x;
                    if (v.is_boolean()) x = v.get<bool>() ? 1.0 : 0.0;
                    else if (v.is_number()) x = v.get<double>();
                    else continue;
                    if (!std::isfinite(x)) continue;
                    s.metrics[name].push_back({step, x});
                }
            };
        add(j, "", 0);
        s.rows++;
    }
    R1_CHECK(s.rows > 0, "[plot] ", path, ": no rows");
    return s;
}

std::vector<std::string> plot_metrics(const std::vector<std::string>& files, const PlotOptions& opt) {
    R1_CHECK(!files.empty(), "[plot] give at least one METRICS.jsonl file");
    R1_CHECK(!opt.out_dir.empty(), "[plot] give the output directory with -o DIR");
    std::string gnuplot = opt.gnuplot;
    if (const char* env = std::getenv("R1_GNUPLOT"); env && *env && gnuplot == "gnuplot") gnuplot = env;
    R1_CHECK(std::system((shell_quote(gnuplot) + " --version > /dev/null 2>&1").c_str()) == 0,
             "[plot] gnuplot not found ('", gnuplot,
             "'): install it (Debian: apt-get install gnuplot-nox; scripts/install-deps.sh)");

    std::vector<MetricsSeries> series;
    for (const std::string& p : files) series.push_back(read_metrics_jsonl(p));
    // labels: parent directory names when they differ, else file stems, else paths
    auto labels_by = [&](auto fn) {
        std::set<std::string> seen;
        for (auto& s : series) seen.insert(fn(s.path));
        return seen.size() == series.size();
    };
    auto parent = [](const std::string& p) {
        const fs::path a = fs::absolute(p);
        return a.parent_path().filename().string();
    };
    auto stem = [](const std::string& p) { return fs::path(p).stem().string(); };
    for (auto& s : series)
        s.label = labels_by(parent) ? parent(s.path) : labels_by(stem) ? stem(s.path) : s.path;

    std::set<std::string> names;
    for (const auto& s : series)
        for (const auto& [k, v] : s.metrics) names.insert(k);
    R1_CHECK(!names.empty(), "[plot] no numeric metric in ", files.size() == 1 ? files[0] : "the given files");

    const fs::path out(opt.out_dir), work = out / ".plot";
    std::error_code ec;
    fs::create_directories(work, ec);
    R1_CHECK(!ec, "[plot] cannot create '", work.string(), "': ", ec.message());

    // data: one file per (series, metric)
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> data;  // metric -> (dat, label)
    std::set<std::string> used_names;
    std::map<std::string, std::string> png_name;
    for (const std::string& m : names) {
        std::string base = file_safe(m);
        while (used_names.count(base) || base == "overview") base += "_";
        used_names.insert(base);
        png_name[m] = base;
        for (size_t si = 0; si < series.size(); si++) {
            auto it = series[si].metrics.find(m);
            if (it == series[si].metrics.end()) continue;
            const fs::path dat = work / (std::to_string(si) + "_" + base + ".dat");
            std::ofstream d(dat, std::ios::trunc);
            for (const auto& [x, y] : it->second) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.17g %.17g\n", x, y);
                d << buf;
            }
            R1_CHECK(d.good(), "[plot] cannot write '", dat.string(), "'");
            data[m].push_back({dat.string(), series[si].label});
        }
    }

    auto plot_cmd = [&](const std::string& m) {
        std::string cmd = "plot ";
        const auto& ds = data[m];
        for (size_t i = 0; i < ds.size(); i++) {
            if (i) cmd += ", ";
            cmd += gp_quote(ds[i].first) + " using 1:2 with linespoints pt 7 ps 0.3 lw 2 title " +
                   gp_quote(ds[i].second);
        }
        return cmd + "\n";
    };

    std::vector<std::string> pngs;
    std::string script = "set termoption noenhanced\nset grid\nset key top left\n";
    for (const std::string& m : names) {
        const std::string png = (out / (png_name[m] + ".png")).string();
        pngs.push_back(png);
        script += "set terminal pngcairo size 900,540 noenhanced\nset output " + gp_quote(png) +
                  "\nset title " + gp_quote(m) + "\nset xlabel 'step'\n" +
                  (series.size() > 1 ? "set key\n" : "unset key\n") + plot_cmd(m) + "unset output\n";
    }
    const int64_t n = (int64_t)names.size();
    const int64_t cols = (int64_t)std::ceil(std::sqrt((double)n));
    const int64_t rows = (n + cols - 1) / cols;
    const std::string overview = (out / "overview.png").string();
    script += "set terminal pngcairo size " + std::to_string(420 * cols) + "," +
              std::to_string(300 * rows) + " noenhanced font ',8'\nset output " + gp_quote(overview) +
              "\nset multiplot layout " + std::to_string(rows) + "," + std::to_string(cols) + "\n" +
              (series.size() > 1 ? "set key\n" : "unset key\n") + "unset xlabel\n";
    for (const std::string& m : names) script += "set title " + gp_quote(m) + "\n" + plot_cmd(m);
    script += "unset multiplot\nunset output\n";
    pngs.push_back(overview);

    const fs::path sp = work / "plot.gp", log = work / "gnuplot.log";
    {
        std::ofstream f(sp, std::ios::trunc);
        f << script;
        R1_CHECK(f.good(), "[plot] cannot write '", sp.string(), "'");
    }
    const int rc = std::system((shell_quote(gnuplot) + " " + shell_quote(sp.string()) + " > " +
                                shell_quote(log.string()) + " 2>&1").c_str());
    if (rc != 0) {
        std::ifstream l(log);
        std::string msg((std::istreambuf_iterator<char>(l)), std::istreambuf_iterator<char>());
        if (msg.size() > 2000) msg = msg.substr(0, 2000);
        fail("[plot] gnuplot failed on ", sp.string(), ":\n", msg);
    }
    for (const std::string& p : pngs)
        R1_CHECK(fs::exists(p) && fs::file_size(p) > 0, "[plot] gnuplot wrote no ", p);
    return pngs;
}

}  // namespace r1::rl
