// See stages.h.
#include "pipeline/stages.h"

#include <chrono>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"

namespace r1 {

StageLog::StageLog(std::string out_dir) : path_(std::move(out_dir) + "/pipeline.json") {
    doc_ = {{"stages", nlohmann::json::array()}};
    if (!std::filesystem::exists(path_)) return;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_text_file(path_));
    } catch (const nlohmann::json::exception& e) {
        fail(path_, ": not valid JSON (", e.what(), "); delete it to start the pipeline over");
    }
    R1_CHECK(j.is_object() && j.contains("stages") && j["stages"].is_array(), path_,
             ": field 'stages' missing or not an array; delete the file to start over");
    for (const auto& s : j["stages"])
        R1_CHECK(s.is_object() && s.contains("name") && s["name"].is_string() &&
                     s.contains("fingerprint") && s.contains("result") && s["result"].is_object(),
                 path_, ": malformed entry in 'stages' (needs name, fingerprint, result)");
    doc_ = std::move(j);
}

nlohmann::json StageLog::run(const std::string& name, const nlohmann::json& fingerprint,
                             const std::function<nlohmann::json()>& fn) {
    auto& stages = doc_["stages"];
    if (!invalidated_) {
        for (const auto& s : stages)
            if (s["name"] == name && s["fingerprint"] == fingerprint) {
                last_skipped_ = true;
                return s["result"];
            }
    }
    // This stage (re)runs: its old record and every later stage's record are stale.
    invalidated_ = true;
    last_skipped_ = false;
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& s : stages) {
        if (s["name"] == name) break;
        kept.push_back(s);
    }
    stages = std::move(kept);
    const nlohmann::json prev = doc_.value("in_progress", nlohmann::json::object());
    resuming_ = prev.is_object() && prev.value("name", "") == name &&
                prev.value("fingerprint", nlohmann::json()) == fingerprint;
    doc_["in_progress"] = {{"name", name}, {"fingerprint", fingerprint}};
    save();

    const auto t0 = std::chrono::steady_clock::now();
    nlohmann::json result = fn();
    resuming_ = false;
    doc_.erase("in_progress");
    R1_CHECK(result.is_object(), "pipeline stage '", name, "' must return a JSON object");
    result["wall_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stages.push_back({{"name", name}, {"fingerprint", fingerprint}, {"result", result}});
    save();
    return result;
}

double StageLog::total_wall_seconds() const {
    double t = 0;
    for (const auto& s : doc_["stages"]) t += s["result"].value("wall_seconds", 0.0);
    return t;
}

void StageLog::save() const { write_text_atomic(path_, doc_.dump(2) + "\n"); }

}  // namespace r1
