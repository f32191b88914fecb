// See signals.h.
#include "core/signals.h"

#include <csignal>

namespace r1 {
namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void r1_on_stop_signal(int sig) {
    g_stop = sig;
    std::signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}

}  // namespace

struct StopSignals::Saved {
    struct sigaction old_int {}, old_term {};
};

StopSignals::StopSignals(bool install) : installed_(install) {
    g_stop = 0;
    if (!installed_) return;
    saved_ = new Saved;
    struct sigaction sa {};
    sa.sa_handler = r1_on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_->old_int);
    sigaction(SIGTERM, &sa, &saved_->old_term);
}

StopSignals::~StopSignals() {
    if (!installed_) return;
    sigaction(SIGINT, &saved_->old_int, nullptr);
    sigaction(SIGTERM, &saved_->old_term, nullptr);
    delete saved_;
}

int StopSignals::pending() { return (int)g_stop; }

}  // namespace r1
