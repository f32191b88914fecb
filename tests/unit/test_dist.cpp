// dist::Comm (local back-end) and dist::DataParallel. The MPI back-end needs mpirun and is
// tested end to end by tests/cli/mpi_train.sh; here a scripted two-rank peer (PeerComm: this
// process is rank 0, "rank 1" contributes fixed values) checks the data-parallel maths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "dist/comm.h"
#include "dist/data_parallel.h"
#include "model/model.h"
#include "train/trainer.h"

using namespace r1;
namespace fs = std::filesystem;

namespace {

// Rank 0 of 2 whose peer's contributions are given: allreduce adds peer_floats (by global
// offset across calls of one "generation"), allgather returns {mine, peer_bytes}.
class PeerComm final : public dist::Comm {
public:
    std::vector<float> peer_floats;   // the peer's buffer, indexed like ours
    int64_t float_cursor = 0;         // offset of the next all-reduce within peer_floats
    std::vector<double> peer_doubles;
    std::vector<uint8_t> peer_bytes;
    int calls = 0;

    int rank() const override { return 0; }
    int size() const override { return 2; }
    const char* backend() const override { return "peer"; }
    dist::WorkPtr allreduce_sum_start(float* buf, int64_t n) override {
        struct W : dist::Work {
            void wait() override {}
        };
        for (int64_t i = 0; i < n; i++) buf[i] += peer_floats[(size_t)(float_cursor + i)];
        float_cursor += n;
        calls++;
        return std::make_unique<W>();
    }
    void allreduce_sum(double* buf, int64_t n) override {
        for (int64_t i = 0; i < n; i++) buf[i] += i < (int64_t)peer_doubles.size() ? peer_doubles[(size_t)i] : 0.0;
    }
    void broadcast(void*, size_t, int) override {}   // rank 0 is the root: nothing changes
    void barrier() override {}
    void allgather(const void* in, size_t bytes, void* out) override {
        std::memcpy(out, in, bytes);
        std::memcpy((char*)out + bytes, peer_bytes.data(), bytes);
    }
    [[noreturn]] void abort(const std::string& msg, int) override { fail(msg); }
};

ModelConfig tiny_moe() {
    ModelConfig c = ModelConfig::preset("tiny-moe");
    c.n_layer = 2;
    return c;
}

}  // namespace

TEST(DistComm, LocalBackendIsIdentity) {
    auto c = dist::make_local_comm();
    EXPECT_EQ(c->rank(), 0);
    EXPECT_EQ(c->size(), 1);
    EXPECT_STREQ(c->backend(), "local");
    std::vector<float> f = {1.5f, -2.0f};
    c->allreduce_sum_start(f.data(), 2)->wait();
    EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
    double d[2] = {3, 4};
    c->allreduce_sum(d, 2);
    EXPECT_EQ(d[0], 3);
    EXPECT_EQ(c->allgather_value<int64_t>(42), (std::vector<int64_t>{42}));
    c->broadcast(f.data(), 8, 0);
    c->barrier();
    EXPECT_THROW(c->broadcast(f.data(), 8, 1), Error);
    EXPECT_THROW(c->allreduce_sum_start(f.data(), -1), Error);
}

TEST(DistComm, WorldOutsideMpirunIsLocalAndBackendIsFixed) {
    if (dist::launched_by_mpi()) GTEST_SKIP() << "running under an MPI launcher";
    dist::Comm& w = dist::world("auto");
    EXPECT_EQ(w.size(), 1);
    EXPECT_STREQ(w.backend(), "local");
    EXPECT_EQ(&dist::world("local"), &w);
    try {
        dist::world("mpi");
        ADD_FAILURE() << "switching the backend must fail";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("already 'local'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(dist::world("nccl"), Error);
}

TEST(DistDataParallel, BucketedAllreduceSumsEveryFloatOnce) {
    ParamSet ps(tiny_moe());
    const int64_t n = ps.size();
    for (int64_t i = 0; i < n; i++) ps.grad()[i] = (float)(i % 97) * 0.25f;
    PeerComm peer;
    peer.peer_floats.resize((size_t)n);
    for (int64_t i = 0; i < n; i++) peer.peer_floats[(size_t)i] = (float)(i % 13);
    dist::DataParallel dp(&peer);
    dp.bucket_floats = 1000;   // many buckets, a ragged last one
    dp.allreduce_grads(ps);
    EXPECT_EQ(peer.calls, (int)((n + 999) / 1000));
    EXPECT_EQ(peer.float_cursor, n);
    for (int64_t i = 0; i < n; i++)
        ASSERT_EQ(ps.grad()[i], (float)(i % 97) * 0.25f + (float)(i % 13)) << i;
}

TEST(DistDataParallel, SingleRankIsANoOp) {
    ParamSet ps(tiny_moe());
    for (int64_t i = 0; i < ps.size(); i++) ps.grad()[i] = (float)i;
    dist::DataParallel dp(nullptr);
    EXPECT_EQ(dp.size(), 1);
    EXPECT_TRUE(dp.is_root());
    dp.allreduce_grads(ps);
    dp.broadcast_params(ps);
    for (int64_t i = 0; i < ps.size(); i++) ASSERT_EQ(ps.grad()[i], (float)i);
    EXPECT_TRUE(dp.any(true));
    EXPECT_FALSE(dp.any(false));
    ExpertLoad l;
    l.counts = {{1, 2}, {}};
    EXPECT_EQ(dp.sum_expert_load(l).counts, l.counts);
    dp.check_sync(ps, nullptr, 1);
}

TEST(DistDataParallel, ExpertLoadAndFlagsAreSummed) {
    PeerComm peer;
    peer.peer_doubles = {10, 20, 30, 1};
    dist::DataParallel dp(&peer);
    ExpertLoad l;
    l.counts = {{}, {1, 2, 3}};
    EXPECT_EQ(dp.sum_expert_load(l).counts, (std::vector<std::vector<int64_t>>{{}, {11, 22, 33}}));
    peer.peer_doubles = {1};
    EXPECT_TRUE(dp.any(false));   // the peer raised the flag
    peer.peer_doubles = {0};
    EXPECT_FALSE(dp.any(false));
}

TEST(DistDataParallel, CheckSyncNamesTheStepWhenRanksDiffer) {
    ParamSet ps(tiny_moe());
    AdamW opt(ps, AdamWConfig{});
    PeerComm peer;
    dist::DataParallel dp(&peer);
    const uint64_t h = dist::state_hash(ps, &opt);
    peer.peer_bytes.resize(8);
    std::memcpy(peer.peer_bytes.data(), &h, 8);
    dp.check_sync(ps, &opt, 7);   // same hash: passes
    // One optimiser moment differs on this rank: the hash must change and the check fail.
    opt.v()[3] = 1e-3f;
    EXPECT_NE(dist::state_hash(ps, &opt), h);
    EXPECT_EQ(dist::state_hash(ps, nullptr), dist::state_hash(ps, nullptr));
    try {
        dp.check_sync(ps, &opt, 7);
        ADD_FAILURE() << "expected a sync error";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("differ across ranks after step 7"), std::string::npos) << m;
        EXPECT_NE(m.find("rank 1"), std::string::npos) << m;
    }
}

TEST(DistModel, SelectionBiasFromAGivenLoadMatchesTheModelsOwn) {
    const ModelConfig cfg = tiny_moe();
    ASSERT_TRUE(cfg.expert_sel_bias);
    Model a(cfg), b(cfg);
    a.init_weights(3);
    b.init_weights(3);
    const int64_t B = 2, T = 16;
    std::vector<int32_t> tok((size_t)(B * T)), tgt((size_t)(B * T));
    for (size_t i = 0; i < tok.size(); i++) tok[i] = (int32_t)((i * 7) % 200), tgt[i] = (int32_t)((i * 11) % 200);
    a.loss(tok.data(), tgt.data(), B, T);
    a.update_selection_bias();
    b.update_selection_bias(a.expert_load());   // b never ran a forward: only the load matters
    EXPECT_EQ(std::memcmp(a.params().data().data(), b.params().data().data(),
                          (size_t)a.params().size() * sizeof(float)), 0);
    ExpertLoad bad = a.expert_load();
    for (auto& l : bad.counts)
        if (!l.empty()) l.push_back(0);
    EXPECT_THROW(b.update_selection_bias(bad), Error);
}

TEST(DistTrain, LocalCommunicatorTrainsBitIdentically) {
    // train() with an explicit one-rank communicator takes the data-parallel code path with
    // R = 1: it must log exactly the losses of a plain run.
    const int saved = num_threads();
    set_num_threads(1);
    TrainOptions o;
    o.model = "tiny-moe";
    o.config = tiny_moe();
    o.steps = 3;
    o.batch = 2;
    o.seq = 16;
    o.eval_batches = 1;
    o.log_every = 0;
    o.progress = false;
    o.handle_signals = false;
    const char* base = std::getenv("R1_TEST_TMP");
    const fs::path root = fs::path(base ? base : fs::temp_directory_path().string());
    auto run = [&](dist::Comm* comm, const std::string& name) {
        TrainOptions x = o;
        x.out_dir = (root / ("dist_" + name)).string();
        fs::remove_all(x.out_dir);
        x.comm = comm;
        x.check_sync = comm != nullptr;
        train(x);
        std::ifstream f(x.out_dir + "/metrics.jsonl");
        std::vector<std::pair<double, double>> v;
        for (std::string l; std::getline(f, l);) {
            const auto j = nlohmann::json::parse(l);
            v.emplace_back(j["loss"].get<double>(), j.value("eval_loss", -1.0));
        }
        return v;
    };
    auto local = dist::make_local_comm();
    const auto plain = run(nullptr, "plain");
    const auto withc = run(local.get(), "local");
    set_num_threads(saved);
    ASSERT_EQ(plain.size(), 3u);
    EXPECT_EQ(plain, withc);
}
