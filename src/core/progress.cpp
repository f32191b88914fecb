// Progress bar (see progress.h).
#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace r1 {

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled,
                   double line_interval_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(2) != 0),
      line_interval_s_(line_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

std::string Progress::format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    char buf[32];
    const long t = (long)std::lround(s);
    if (t < 60)
        std::snprintf(buf, sizeof buf, "%lds", t);
    else if (t < 3600)
        std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
    return buf;
}

void Progress::update(int64_t i, const std::string& extra) {
    if (!enabled_ || finished_) return;
    if (i0_ < 0) i0_ = 0;
    i_ = i;
    extra_ = extra;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    const double min_gap = tty_ ? 0.1 : line_interval_s_;
    if (drawn_ && since < min_gap) return;  // finish() prints the final state
    draw(false);
}

void Progress::draw(bool final) {
    const auto now = std::chrono::steady_clock::now();
    last_draw_ = now;
    drawn_ = true;
    const double el = std::chrono::duration<double>(now - start_).count();
    const double done = (double)(i_ - std::max<int64_t>(i0_, 0));
    const double rate = el > 0 ? done / el : 0;
    const double eta = rate > 0 ? (double)(total_ - i_) / rate : NAN;
    char bar[24];
    const int w = 20;
    const int fill = total_ > 0 ? (int)(w * std::min(1.0, (double)i_ / (double)total_)) : 0;
    for (int k = 0; k < w; k++) bar[k] = k < fill ? '#' : '.';
    bar[w] = 0;
    char line[512];
    std::snprintf(line, sizeof line, "%s [%s] %lld/%lld  %.2f %s/s  %s %s  %s", label_.c_str(),
                  bar, (long long)i_, (long long)total_, rate, unit_.c_str(),
                  final ? "elapsed" : "ETA",
                  format_duration(final ? el : eta).c_str(), extra_.c_str());
    if (tty_)
        std::fprintf(stderr, "\r\033[2K%s%s", line, final ? "\n" : "");
    else
        std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
}

void Progress::set_start(int64_t i0) {
    i0_ = i0;
    i_ = i0;
    start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::clear() {
    if (enabled_ && tty_ && drawn_ && !finished_) {
        std::fprintf(stderr, "\r\033[2K");
        std::fflush(stderr);
        drawn_ = false;
    }
}

void Progress::finish() {
    if (!enabled_ || finished_) return;
    if (i0_ >= 0) draw(true);
    finished_ = true;
}

}  // namespace r1
