// Resumable multi-stage jobs (the R1 pipeline of `r1 demo`): each stage records, once it has
// finished, its outputs and wall time in OUT/pipeline.json (written atomically). Re-running
// the job skips stages already recorded with the same fingerprint (the options that decide
// their result), so Ctrl-C between or inside stages loses at most the stage in flight — and
// the stages themselves resume from their own checkpoints.
//
// A stage whose fingerprint changed is re-run, and so is every stage after it (later stages
// consume earlier outputs). A stage in flight is recorded as "in_progress" with its
// fingerprint: resuming() tells the stage whether its own checkpoints on disk belong to an
// interrupted run of the SAME stage (resume them) or to different options / a stale run
// (start over — resuming a 3000-step pretraining as a 6000-step one would be wrong).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1 {

class StageLog {
public:
    // Loads OUT/pipeline.json if present (a malformed file is an r1::Error naming it).
    explicit StageLog(std::string out_dir);

    // Runs fn unless `name` was completed with the same fingerprint (and no earlier stage of
    // this run was re-executed); returns the stage's recorded result either way. fn returns
    // the stage's result JSON; its wall time is added as "wall_seconds".
    nlohmann::json run(const std::string& name, const nlohmann::json& fingerprint,
                       const std::function<nlohmann::json()>& fn);

    // True if the last run() call returned a recorded result without executing.
    bool last_skipped() const { return last_skipped_; }
    // Inside fn: true iff this stage was interrupted earlier with the same fingerprint, so
    // its checkpoints on disk may be resumed; false: the stage must start from scratch.
    bool resuming() const { return resuming_; }
    // Sum of the recorded wall times of all completed stages.
    double total_wall_seconds() const;
    const nlohmann::json& record() const { return doc_; }
    const std::string& path() const { return path_; }

private:
    void save() const;

    std::string path_;
    nlohmann::json doc_;  // {"stages": [{"name", "fingerprint", "result"}...],
                          //  "in_progress": {"name", "fingerprint"} while a stage runs}
    bool invalidated_ = false;
    bool last_skipped_ = false;
    bool resuming_ = false;
};

}  // namespace r1
