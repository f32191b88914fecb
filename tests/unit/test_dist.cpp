// dist::Comm (local back-end) and dist::DataParallel. The MPI back-end needs mpirun and is
// tested end to end by tests/cli/mpi_train.sh; here a scripted two-rank peer (PeerComm: this
// process is rank 0, "rank 1" contributes fixed values) checks the data-parallel maths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "dist/comm.h"
#include "dist/data_parallel.h"
#include "dist/zero.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace r1;
namespace fs = std::filesystem;

namespace {

// Rank 0 of 2 whose peer's contributions are given: allreduce adds peer_floats (by global
// offset across calls of one "generation", or by the offset from `base` when set),
// allgather returns {mine, peer_bytes}; float all-gathers and broadcasts from rank 1 call
// on_allgather / on_broadcast (which play the peer's part).
class PeerComm final : public dist::Comm {
public:
    std::vector<float> peer_floats;   // the peer's buffer, indexed like ours
    int64_t float_cursor = 0;         // offset of the next all-reduce within peer_floats
    const float* base = nullptr;      // set: all-reduce offsets are buf - base
    std::vector<int64_t> starts;      // offset of every all-reduce, in issue order
    std::vector<double> peer_doubles;
    std::vector<uint8_t> peer_bytes;
    std::function<void(float* buf, int64_t count)> on_allgather;   // fill piece 1
    std::function<void(void* buf, size_t bytes)> on_broadcast;     // root 1's bytes
    int calls = 0;

    int rank() const override { return 0; }
    int size() const override { return 2; }
    const char* backend() const override { return "peer"; }
    dist::WorkPtr allreduce_sum_start(float* buf, int64_t n) override {
        struct W : dist::Work {
            void wait() override {}
        };
        const int64_t off = base ? buf - base : float_cursor;
        for (int64_t i = 0; i < n; i++) buf[i] += peer_floats[(size_t)(off + i)];
        float_cursor += n;
        starts.push_back(off);
        calls++;
        return std::make_unique<W>();
    }
    dist::WorkPtr allgather_start(float* buf, int64_t count) override {
        if (!on_allgather) return Comm::allgather_start(buf, count);   // the generic default
        on_allgather(buf, count);
        struct W : dist::Work {
            void wait() override {}
        };
        return std::make_unique<W>();
    }
    void allreduce_sum(double* buf, int64_t n) override {
        for (int64_t i = 0; i < n; i++) buf[i] += i < (int64_t)peer_doubles.size() ? peer_doubles[(size_t)i] : 0.0;
    }
    void broadcast(void* buf, size_t bytes, int root) override {
        if (root == 1 && on_broadcast) on_broadcast(buf, bytes);   // root 0: nothing changes
    }
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

// ---- overlap: the model's grads-ready hook and DataParallel's overlapped all-reduce ----------

namespace {

ModelConfig mla_cfg() {   // DeepSeek-V2 style: MLA with q LoRA, MoE after one dense layer
    ModelConfig c;
    c.arch = Arch::deepseek2;
    c.n_vocab = 48, c.n_embd = 32, c.n_layer = 3, c.n_ctx = 24, c.n_head = 4;
    c.attn = AttnKind::mla;
    c.q_lora_rank = 16, c.kv_lora_rank = 16, c.qk_nope_head_dim = 8, c.qk_rope_head_dim = 4;
    c.v_head_dim = 8;
    c.n_ff = 48;
    c.n_expert = 4, c.n_expert_used = 2, c.n_expert_shared = 1, c.n_ff_exp = 16;
    c.n_layer_dense_lead = 1;
    c.gating = GatingFunc::sigmoid;
    c.expert_sel_bias = true;
    c.validate();
    return c;
}

ModelConfig small(const std::string& preset) {   // a preset with 2 layers (fast)
    ModelConfig c = ModelConfig::preset(preset);
    c.n_layer = 2;
    if (c.n_expert > 0) c.n_layer_dense_lead = 1;
    c.n_ctx = std::min<int64_t>(c.n_ctx, 64);
    return c;
}

void batch(const ModelConfig& c, int64_t N, uint64_t seed, std::vector<int32_t>& tok,
           std::vector<int32_t>& tgt) {
    Rng r(seed);
    tok.resize((size_t)N), tgt.resize((size_t)N);
    for (int64_t i = 0; i < N; i++) {
        tok[(size_t)i] = (int32_t)(r.next_u64() % (uint64_t)c.n_vocab);
        tgt[(size_t)i] = i % 5 == 0 ? -1 : (int32_t)(r.next_u64() % (uint64_t)c.n_vocab);
    }
}

}  // namespace

TEST(DistModel, GradsReadyHookReportsFinalRangesFromTheEndDown) {
    // dense tied (llama), MoE untied (deepseek2), gpt2 (learned positions, layernorm biases,
    // untied), MLA + MoE: every hook range must be adjacent to the previous one, the ranges
    // must cover the buffer once, and the gradients of a range must not change after it was
    // reported (snapshot at the hook == final gradient), for forward_backward and for the
    // custom-head backward.
    for (const ModelConfig& cfg : {small("tiny-dense"), small("tiny-moe"), small("bench-dense"),
                                   mla_cfg()}) {
        SCOPED_TRACE(nlohmann::json(cfg).dump().substr(0, 80));
        Model m(cfg);
        m.init_weights(7);
        const int64_t n = m.params().size(), B = 2, T = 8;
        std::vector<int32_t> tok, tgt;
        batch(cfg, B * T, 3, tok, tgt);
        for (int pass = 0; pass < 2; pass++) {
            std::vector<std::pair<int64_t, int64_t>> ranges;
            std::vector<std::vector<float>> snap;
            m.set_grads_ready_hook([&](int64_t off, int64_t cnt) {
                ranges.emplace_back(off, cnt);
                const float* g = m.params().grad().data() + off;
                snap.emplace_back(g, g + cnt);
            });
            m.params().zero_grad();
            if (pass == 0) {
                m.forward_backward(tok.data(), tgt.data(), B, T, 0.5f);
            } else {
                m.forward_backward_head(
                    tok.data(), B, T,
                    [](const float* h, const float* W, float* dh, float* dW, int64_t N,
                       int64_t C, int64_t V) {
                        // loss = sum(h · W[0]): dh = W[0] per row, dW[0] += sum of rows
                        for (int64_t i = 0; i < N; i++)
                            for (int64_t c = 0; c < C; c++) {
                                dh[i * C + c] = W[c];
                                dW[c] += h[i * C + c];
                            }
                        (void)V;
                        return 0.0;
                    });
            }
            m.set_grads_ready_hook({});
            ASSERT_EQ((int64_t)ranges.size(), cfg.n_layer + 2);   // tail, layers, embeddings
            int64_t end = n;
            for (size_t i = 0; i < ranges.size(); i++) {
                EXPECT_EQ(ranges[i].first + ranges[i].second, end) << "range " << i;
                end = ranges[i].first;
                const float* g = m.params().grad().data() + ranges[i].first;
                EXPECT_EQ(std::memcmp(snap[i].data(), g, snap[i].size() * sizeof(float)), 0)
                    << "range " << i << " changed after it was reported final";
            }
            EXPECT_EQ(end, 0);
        }
        // No hook: nothing changes (the hook is only an observer).
        m.params().zero_grad();
        m.forward_backward(tok.data(), tgt.data(), B, T, 0.5f);
    }
}

TEST(DistDataParallel, OverlappedAllreduceIsBitIdenticalAndStartsDuringTheBackward) {
    const ModelConfig cfg = small("tiny-moe");
    const int64_t B = 2, T = 8;
    std::vector<int32_t> tok, tgt;
    batch(cfg, B * T, 5, tok, tgt);
    Model m(cfg);
    m.init_weights(9);
    const int64_t n = m.params().size();
    std::vector<float> peer((size_t)n);
    for (int64_t i = 0; i < n; i++) peer[(size_t)i] = std::sin((float)i) * 1e-3f;

    auto run = [&](bool overlap, int accum, std::vector<int64_t>* starts) {
        PeerComm pc;
        pc.peer_floats = peer;
        pc.base = m.params().grad().data();
        dist::DataParallel dp(&pc);
        dp.bucket_floats = 10007;   // many buckets, ragged, not aligned with layers
        m.params().zero_grad();
        if (overlap) dp.overlap_begin(m.params());
        for (int a = 0; a < accum; a++) {
            if (overlap && a == accum - 1)
                m.set_grads_ready_hook([&](int64_t o, int64_t c) {
                    // while the backward runs, only ranges already reported may be reduced
                    for (size_t k = pc.starts.size(); k > 0; k--) EXPECT_GE(pc.starts[k - 1], o);
                    dp.grads_ready(o, c);
                });
            m.forward_backward(tok.data(), tgt.data(), B, T, 1.0f / (float)accum);
            m.set_grads_ready_hook({});
        }
        if (overlap) dp.overlap_finish(); else dp.allreduce_grads(m.params());
        if (starts) *starts = pc.starts;
        if (overlap) EXPECT_GT(dp.overlapped_buckets(), 0);
        const float* g = m.params().grad().data();
        return std::vector<float>(g, g + n);
    };
    const int64_t n_buckets = (n + 10006) / 10007;
    for (int accum : {1, 2}) {
        std::vector<int64_t> s_plain, s_over;
        const std::vector<float> plain = run(false, accum, &s_plain);
        const std::vector<float> over = run(true, accum, &s_over);
        EXPECT_EQ(std::memcmp(plain.data(), over.data(), (size_t)n * sizeof(float)), 0);
        // every bucket once, the overlapped path highest first
        ASSERT_EQ((int64_t)s_over.size(), n_buckets);
        for (int64_t k = 0; k < n_buckets; k++) {
            EXPECT_EQ(s_plain[(size_t)k], k * 10007);
            EXPECT_EQ(s_over[(size_t)k], (n_buckets - 1 - k) * 10007);
        }
    }
    // A rank whose last micro-batch had no backward: overlap_finish starts every bucket, in
    // the same (highest-first) order as the ranks whose hook fired.
    PeerComm pc;
    pc.peer_floats = peer;
    pc.base = m.params().grad().data();
    dist::DataParallel dp(&pc);
    dp.bucket_floats = 10007;
    m.params().zero_grad();
    dp.overlap_begin(m.params());
    dp.overlap_finish();
    EXPECT_EQ(dp.overlapped_buckets(), 0);
    ASSERT_EQ((int64_t)pc.starts.size(), n_buckets);
    EXPECT_EQ(pc.starts.front(), (n_buckets - 1) * 10007);
    EXPECT_EQ(m.params().grad()[5], peer[5]);
    // Ranges out of order are a contract violation with a clear error.
    dp.overlap_begin(m.params());
    try {
        dp.grads_ready(0, 10);
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("does not end where the ready region"), std::string::npos) << e.what();
    }
    dp.overlap_finish();
}

// ---- ZeRO-1 ------------------------------------------------------------------------------------

TEST(DistZero, SlicesAreContiguousCoverEverythingAndAreNearlyEven) {
    for (int64_t n : {0, 1, 5, 7, 64, 1000003, 828544}) {
        for (int R : {1, 2, 3, 4, 7}) {
            int64_t at = 0, lo = INT64_MAX, hi = 0;
            for (int r = 0; r < R; r++) {
                const dist::Shard s = dist::zero_shard(n, R, r);
                EXPECT_EQ(s.begin, at) << n << " " << R << " " << r;
                EXPECT_GE(s.size(), 0);
                at = s.end;
                lo = std::min(lo, s.size()), hi = std::max(hi, s.size());
            }
            EXPECT_EQ(at, n);
            EXPECT_LT(hi - lo, R);
            EXPECT_EQ(hi, dist::zero_shard(n, R, R - 1).size());   // the last is the largest
            EXPECT_EQ(dist::optimizer_state_bytes(n, R, true), 8 * hi);
            EXPECT_EQ(dist::optimizer_state_bytes(n, R, false), 8 * n);
        }
    }
    EXPECT_EQ(dist::zero_shard(7, 3, 0), (dist::Shard{0, 2}));
    EXPECT_EQ(dist::zero_shard(7, 3, 2), (dist::Shard{4, 7}));
    EXPECT_THROW(dist::zero_shard(7, 3, 3), Error);
    EXPECT_THROW(dist::zero_shard(7, 0, 0), Error);
    EXPECT_THROW(dist::zero_shard(-1, 2, 0), Error);
}

TEST(DistComm, AllgatherStartLocalAndGenericDefault) {
    auto c = dist::make_local_comm();
    std::vector<float> f = {1, 2, 3};
    dist::WorkPtr w = c->allgather_start(f.data(), 3);
    EXPECT_TRUE(w->test());
    w->wait();
    w->wait();   // twice is a no-op
    EXPECT_EQ(f, (std::vector<float>{1, 2, 3}));
    EXPECT_THROW(c->allgather_start(f.data(), -1), Error);
    EXPECT_TRUE(c->allreduce_sum_start(f.data(), 3)->test());
    // The default implementation (a back-end without its own) goes through the byte
    // allgather: piece 0 (ours) stays, piece 1 becomes the peer's.
    PeerComm pc;
    const std::vector<float> peer_piece = {7, 8};
    pc.peer_bytes.resize(8);
    std::memcpy(pc.peer_bytes.data(), peer_piece.data(), 8);
    std::vector<float> buf = {1, 2, -1, -1};
    pc.allgather_start(buf.data(), 2)->wait();
    EXPECT_EQ(buf, (std::vector<float>{1, 2, 7, 8}));
}

TEST(DistZero, ShardedAdamWIsTheFullStepOnItsSlice) {
    ParamSet ps(tiny_moe());
    const int64_t n = ps.size();
    Rng r(4);
    for (int64_t i = 0; i < n; i++) ps.data()[i] = r.normal() * 0.1f, ps.grad()[i] = r.normal();
    const std::vector<float> w0(ps.data().begin(), ps.data().end());
    AdamW full(ps, AdamWConfig{});
    ParamSet ref = ps;
    for (int s = 0; s < 3; s++) full.step(ref, 1e-2f);
    for (int R : {2, 3, 7}) {
        for (int rank = 0; rank < R; rank++) {
            const dist::Shard sh = dist::zero_shard(n, R, rank);
            std::copy(w0.begin(), w0.end(), ps.data().begin());
            AdamW part(ps, AdamWConfig{}, sh.begin, sh.end);
            EXPECT_TRUE(part.sharded());
            EXPECT_EQ((int64_t)part.m().size(), sh.size());
            for (int s = 0; s < 3; s++) part.step(ps, 1e-2f);
            EXPECT_EQ(part.t(), 3);
            // inside the slice: bit-identical weights and moments; outside: untouched
            for (int64_t i = 0; i < n; i++) {
                const bool mine = i >= sh.begin && i < sh.end;
                ASSERT_EQ(ps.data()[i], mine ? ref.data()[i] : w0[(size_t)i]) << R << " " << rank << " " << i;
            }
            EXPECT_EQ(std::memcmp(part.m().data(), full.m().data() + sh.begin, (size_t)sh.size() * 4), 0);
            EXPECT_EQ(std::memcmp(part.v().data(), full.v().data() + sh.begin, (size_t)sh.size() * 4), 0);
        }
    }
    EXPECT_FALSE(full.sharded());
    EXPECT_THROW(AdamW(ps, AdamWConfig{}, 5, 3), Error);
    EXPECT_THROW(AdamW(ps, AdamWConfig{}, 0, n + 1), Error);
}

TEST(DistZero, ParameterAllgatherFillsThePeersSliceAndTheTail) {
    // 2 ranks, n odd: rank 1 owns [S, n) = its piece of the equal all-gather plus the tail.
    ParamSet ps(tiny_moe());
    const int64_t n = ps.size() - 1;   // an odd count inside the buffer
    ASSERT_EQ(n % 2, 1);
    const int64_t S = n / 2;
    std::vector<float> peer((size_t)n);
    for (int64_t i = 0; i < n; i++) peer[(size_t)i] = (float)i + 0.5f;
    PeerComm pc;
    pc.on_allgather = [&](float* buf, int64_t count) {
        ASSERT_EQ(count, S);
        std::memcpy(buf + S, peer.data() + S, (size_t)S * 4);
    };
    pc.on_broadcast = [&](void* buf, size_t bytes) {
        ASSERT_EQ(bytes, sizeof(float));
        std::memcpy(buf, peer.data() + 2 * S, bytes);
    };
    std::vector<float> buf((size_t)n, -1.0f);
    for (int64_t i = 0; i < S; i++) buf[(size_t)i] = (float)-i;   // our slice
    dist::allgather_shards(pc, buf.data(), n);
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(buf[(size_t)i], i < S ? (float)-i : peer[(size_t)i]) << i;
    auto one = dist::make_local_comm();
    dist::allgather_shards(*one, buf.data(), n);   // one rank: nothing to do
    EXPECT_EQ(buf[0], 0.0f);
}

TEST(DistZero, OptimizerGatherAndShardLoadRoundTripThroughTheCheckpointFormat) {
    const ModelConfig cfg = tiny_moe();
    ParamSet ps(cfg);
    const int64_t n = ps.size();
    Rng r(8);
    for (int64_t i = 0; i < n; i++) ps.data()[i] = r.normal();
    AdamW full(ps, AdamWConfig{});
    for (int64_t i = 0; i < n; i++) full.m()[i] = r.normal(), full.v()[i] = std::fabs(r.normal());
    full.set_t(17);
    const char* tmp = std::getenv("R1_TEST_TMP");
    const fs::path dir = fs::path(tmp ? tmp : fs::temp_directory_path().string()) / "dist_zero";
    fs::create_directories(dir);
    CheckpointMeta meta;
    meta.config = cfg;
    const std::string path = (dir / "full.r1").string();
    save_checkpoint(path, meta, ps, &full);
    const Checkpoint ck = read_checkpoint(path, &cfg);

    // Every rank of an uneven 3-way split reads exactly its slice (and t).
    for (int rank = 0; rank < 3; rank++) {
        const dist::Shard sh = dist::zero_shard(n, 3, rank);
        AdamW part(ps, AdamWConfig{}, sh.begin, sh.end);
        dist::load_optimizer_shard(ck, ps, part);
        EXPECT_EQ(part.t(), 17);
        EXPECT_EQ(std::memcmp(part.m().data(), full.m().data() + sh.begin, (size_t)sh.size() * 4), 0);
        EXPECT_EQ(std::memcmp(part.v().data(), full.v().data() + sh.begin, (size_t)sh.size() * 4), 0);
    }
    // A weights-only checkpoint cannot feed an optimiser: clear error, shard untouched.
    const std::string wpath = (dir / "weights.r1").string();
    save_checkpoint(wpath, meta, ps, nullptr);
    AdamW part(ps, AdamWConfig{}, 0, n / 2);
    part.m()[0] = 42.0f;
    EXPECT_THROW(dist::load_optimizer_shard(read_checkpoint(wpath, &cfg), ps, part), Error);
    EXPECT_EQ(part.m()[0], 42.0f);

    // Gather to rank 0 of 2 (rank 1 simulated, small chunks so that several rounds run):
    // the result equals the unsharded optimiser and writes the same checkpoint bytes.
    const dist::Shard s0 = dist::zero_shard(n, 2, 0), s1 = dist::zero_shard(n, 2, 1);
    AdamW mine(ps, AdamWConfig{}, s0.begin, s0.end);
    std::copy(full.m().data(), full.m().data() + s0.end, mine.m().data());
    std::copy(full.v().data(), full.v().data() + s0.end, mine.v().data());
    mine.set_t(17);
    const int64_t K = 100003;
    std::vector<std::vector<float>> peer_pieces;   // what rank 1 contributes, call by call
    for (const Buffer<float>* src : {&full.m(), &full.v()})
        for (int64_t c0 = 0; c0 < s1.size(); c0 += K) {
            std::vector<float> piece((size_t)K, 0.0f);
            const int64_t k = std::min(K, s1.size() - c0);
            std::copy(src->data() + s1.begin + c0, src->data() + s1.begin + c0 + k, piece.begin());
            peer_pieces.push_back(piece);
        }
    PeerComm pc;
    size_t call = 0;
    pc.on_allgather = [&](float* buf, int64_t count) {
        ASSERT_EQ(count, K);
        ASSERT_LT(call, peer_pieces.size());
        std::memcpy(buf + K, peer_pieces[call++].data(), (size_t)K * 4);
    };
    std::unique_ptr<AdamW> got = dist::gather_optimizer(pc, ps, mine, 0, K);
    ASSERT_TRUE(got);
    EXPECT_EQ(call, peer_pieces.size());
    EXPECT_EQ(got->t(), 17);
    EXPECT_EQ(std::memcmp(got->m().data(), full.m().data(), (size_t)n * 4), 0);
    EXPECT_EQ(std::memcmp(got->v().data(), full.v().data(), (size_t)n * 4), 0);
    // The wrong slice for this rank is refused.
    AdamW wrong(ps, AdamWConfig{}, 0, n);
    EXPECT_THROW(dist::gather_optimizer(pc, ps, wrong), Error);
}
