// Resumable multi-stage jobs (the R1 pipeline of `r1 demo`): each stage records, once it has
// finished, its outputs and wall time in OUT/pipeline.json (written atomically). Re-running
// the job skips stages already recorded with the same fingerprint (the options that decide
// their result), so Ctrl-C between or inside stages loses at most the stage in flight — and
// the stages themselves resume from their own checkpoints.
//
// A stage whose fingerprint changed is re-run, and so is every stage after it (later stages
// consume earlier outputs).
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
    // Sum of the recorded wall times of all completed stages.
    double total_wall_seconds() const;
    const nlohmann::json& record() const { return doc_; }
    const std::string& path() const { return path_; }

private:
    void save() const;

    std::string path_;
    nlohmann::json doc_;  // {"stages": [{"name", "fingerprint", "result"}...]}
    bool invalidated_ = false;
    bool last_skipped_ = false;
};

}  // namespace r1
