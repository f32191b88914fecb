// Graceful stop for long jobs (r1 train, grpo, distill): while a StopSignals guard lives,
// SIGINT/SIGTERM only set a flag that the job polls between steps — it finishes the step,
// saves a checkpoint and returns "interrupted". A second signal kills at once (the default
// action is restored by the first). The previous handlers come back when the guard dies.
#pragma once

namespace r1 {

class StopSignals {
public:
    // Clears the flag; installs the handlers when `install` (tests and embedders pass false
    // to keep their own handling).
    explicit StopSignals(bool install);
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // The signal received since the guard was made (SIGINT, SIGTERM), 0 if none.
    static int pending();

private:
    struct Saved;
    bool installed_;
    Saved* saved_ = nullptr;
};

}  // namespace r1
