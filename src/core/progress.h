// A reusable progress bar on stderr: "label  [#####.....]  i/n  rate/s  ETA 1m02s  extra".
// On a TTY it redraws in place (at most ~10 times a second); otherwise (logs, CI, pipes) it
// prints a full line at most every `line_interval_s` seconds, plus the final line, so logs
// stay readable. Disabled entirely with enabled = false (e.g. --json or quiet runs).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace r1 {

class Progress {
public:
    Progress(std::string label, int64_t total, std::string unit = "it", bool enabled = true,
             double line_interval_s = 5.0);
    ~Progress();

    // Where counting starts (a resumed run starts at its checkpoint's step, so the rate and
    // ETA are its own); default 0. Call before the first update; resets the clock.
    void set_start(int64_t i0);
    // i items done of total. extra: free text after the ETA.
    void update(int64_t i, const std::string& extra = {});
    // Prints the final state and a newline (idempotent; the destructor calls it).
    void finish();
    // Clears the in-place line so other output can be printed, then redraws on next update.
    void clear();

    static std::string format_duration(double seconds);  // "59s", "3m07s", "2h05m"

private:
    void draw(bool final);

    std::string label_, unit_, extra_;
    int64_t total_, i_ = 0, i0_ = -1;
    bool enabled_, tty_, finished_ = false, drawn_ = false;
    double line_interval_s_;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace r1
