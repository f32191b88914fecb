// StageLog: completed stages are skipped on re-run, a changed fingerprint re-runs that stage
// and every later one, and a damaged record is a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "pipeline/stages.h"

namespace {

std::string fresh_dir(const std::string& name) {
    const auto d = std::filesystem::temp_directory_path() / ("r1_test_pipeline_" + name);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d.string();
}

}  // namespace

TEST(Pipeline, CompletedStagesAreSkippedOnRerun) {
    const std::string dir = fresh_dir("skip");
    int runs_a = 0, runs_b = 0;
    {
        r1::StageLog log(dir);
        auto ra = log.run("a", {{"steps", 3}}, [&] { runs_a++; return nlohmann::json{{"acc", 0.5}}; });
        EXPECT_FALSE(log.last_skipped());
        EXPECT_EQ(ra["acc"], 0.5);
        EXPECT_TRUE(ra.contains("wall_seconds"));
        log.run("b", 1, [&] { runs_b++; return nlohmann::json::object(); });
    }
    r1::StageLog again(dir);
    auto ra = again.run("a", {{"steps", 3}}, [&] { runs_a++; return nlohmann::json{{"acc", 0.9}}; });
    EXPECT_TRUE(again.last_skipped());
    EXPECT_EQ(ra["acc"], 0.5);  // the recorded result, not a new one
    again.run("b", 1, [&] { runs_b++; return nlohmann::json::object(); });
    EXPECT_EQ(runs_a, 1);
    EXPECT_EQ(runs_b, 1);
}

TEST(Pipeline, ChangedFingerprintRerunsThatStageAndLaterOnes) {
    const std::string dir = fresh_dir("rerun");
    int runs[3] = {0, 0, 0};
    auto all = [&](int fp_b) {
        r1::StageLog log(dir);
        log.run("a", 1, [&] { runs[0]++; return nlohmann::json::object(); });
        log.run("b", fp_b, [&] { runs[1]++; return nlohmann::json::object(); });
        log.run("c", 1, [&] { runs[2]++; return nlohmann::json::object(); });
        EXPECT_EQ(log.record()["stages"].size(), 3u);
    };
    all(1);
    all(2);  // b changed: b and c re-run, a is kept
    EXPECT_EQ(runs[0], 1);
    EXPECT_EQ(runs[1], 2);
    EXPECT_EQ(runs[2], 2);
}

TEST(Pipeline, FailedStageIsNotRecorded) {
    const std::string dir = fresh_dir("fail");
    {
        r1::StageLog log(dir);
        EXPECT_THROW(log.run("a", 1, []() -> nlohmann::json { r1::fail("boom"); }), r1::Error);
    }
    r1::StageLog log(dir);
    int runs = 0;
    log.run("a", 1, [&] { runs++; return nlohmann::json::object(); });
    EXPECT_EQ(runs, 1);
}

TEST(Pipeline, DamagedRecordIsAClearError) {
    const std::string dir = fresh_dir("bad");
    r1::write_text_atomic(dir + "/pipeline.json", "{\"stages\": 3}");
    try {
        r1::StageLog log(dir);
        FAIL() << "expected an error";
    } catch (const r1::Error& e) {
        EXPECT_NE(std::string(e.what()).find("pipeline.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("stages"), std::string::npos) << e.what();
    }
    r1::write_text_atomic(dir + "/pipeline.json", "{not json");
    EXPECT_THROW(r1::StageLog{dir}, r1::Error);
}

// A stage interrupted in flight resumes its own checkpoints only when it is re-run with the
// same fingerprint; with other options (or after another stage ran) it starts over.
TEST(Pipeline, ResumingOnlyAnInterruptedStageWithTheSameFingerprint) {
    const std::string dir = fresh_dir("resuming");
    auto interrupt = [&](const char* name, int fp) {
        r1::StageLog log(dir);
        EXPECT_THROW(log.run(name, fp, [&]() -> nlohmann::json {
                         EXPECT_FALSE(log.resuming());
                         r1::fail("interrupted");
                     }),
                     r1::Error);
    };
    auto resumes = [&](const char* name, int fp) {
        r1::StageLog log(dir);
        bool seen = false;
        log.run(name, fp, [&] { seen = log.resuming(); return nlohmann::json::object(); });
        EXPECT_FALSE(log.resuming());  // only inside the stage
        return seen;
    };
    interrupt("a", 1);
    EXPECT_TRUE(resumes("a", 1));
    std::filesystem::remove(dir + "/pipeline.json");
    interrupt("a", 1);
    EXPECT_FALSE(resumes("a", 2));  // other options: the old checkpoint is not this stage's
    std::filesystem::remove(dir + "/pipeline.json");
    interrupt("a", 1);
    EXPECT_FALSE(resumes("b", 1));  // another stage
}
