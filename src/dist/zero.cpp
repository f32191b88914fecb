// ZeRO-1 slices, parameter all-gather and the checkpoint conversions (contract in zero.h).
#include "dist/zero.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace r1::dist {

Shard zero_shard(int64_t n, int ranks, int rank) {
    R1_CHECK(n >= 0, "[zero] negative parameter count ", n);
    R1_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "[zero] rank ", rank,
             " outside [0, ", ranks, ")");
    const int64_t S = n / ranks;
    return {rank * S, rank == ranks - 1 ? n : (rank + 1) * S};
}

int64_t optimizer_state_bytes(int64_t n, int ranks, bool zero) {
    const int64_t floats = zero ? zero_shard(n, ranks, ranks - 1).size() : n;   // last = largest
    return 2 * floats * (int64_t)sizeof(float);
}

void allgather_shards(Comm& comm, float* buf, int64_t n) {
    const int R = comm.size();
    if (R == 1) return;
    const int64_t S = n / R, tail = n - R * S;
    comm.allgather_start(buf, S)->wait();
    if (tail > 0) comm.broadcast(buf + R * S, (size_t)tail * sizeof(float), R - 1);
}

std::unique_ptr<AdamW> gather_optimizer(Comm& comm, const ParamSet& params, const AdamW& shard,
                                        int root, int64_t chunk_floats) {
    const int R = comm.size(), me = comm.rank();
    const int64_t n = params.size();
    R1_CHECK(root >= 0 && root < R, "[zero] gather: root ", root, " outside [0, ", R, ")");
    const Shard mine = zero_shard(n, R, me);
    R1_CHECK(shard.shard_begin() == mine.begin && shard.shard_end() == mine.end,
             "[zero] gather: the optimiser holds [", shard.shard_begin(), ", ", shard.shard_end(),
             ") but rank ", me, " of ", R, " owns [", mine.begin, ", ", mine.end, ")");
    std::unique_ptr<AdamW> full;
    if (me == root) {
        full = std::make_unique<AdamW>(params, shard.config());
        full->set_t(shard.t());
    }
    int64_t longest = 0;
    for (int r = 0; r < R; r++) longest = std::max(longest, zero_shard(n, R, r).size());
    const int64_t K = std::min(std::max<int64_t>(1, chunk_floats), longest);
    if (K == 0) return full;
    std::vector<float> tmp((size_t)(R * K));   // R pieces of K floats
    for (int which = 0; which < 2; which++) {
        const float* src = which == 0 ? shard.m().data() : shard.v().data();
        for (int64_t c0 = 0; c0 < longest; c0 += K) {
            float* piece = tmp.data() + (size_t)me * (size_t)K;
            const int64_t cnt = std::clamp<int64_t>(mine.size() - c0, 0, K);
            std::fill(piece, piece + K, 0.0f);
            if (cnt > 0) std::memcpy(piece, src + c0, (size_t)cnt * sizeof(float));
            comm.allgather_start(tmp.data(), K)->wait();
            if (me != root) continue;
            float* dst = which == 0 ? full->m().data() : full->v().data();
            for (int r = 0; r < R; r++) {
                const Shard sh = zero_shard(n, R, r);
                const int64_t k = std::clamp<int64_t>(sh.size() - c0, 0, K);
                if (k > 0)
                    std::memcpy(dst + sh.begin + c0, tmp.data() + (size_t)r * (size_t)K,
                                (size_t)k * sizeof(float));
            }
        }
    }
    return full;
}

void load_optimizer_shard(const Checkpoint& ck, const ParamSet& params, AdamW& shard) {
    R1_CHECK(ck.has_optimizer, "[ckpt] ", ck.path,
             ": holds weights only (no optimizer state) and cannot resume training");
    const int64_t b = shard.shard_begin(), e = shard.shard_end();
    R1_CHECK((int64_t)shard.m().size() == e - b && e <= params.size(), "[zero] ", ck.path,
             ": the optimiser shard does not match the model");
    const uint8_t* data = ck.bytes.data() + ck.data_start;
    auto fill = [&](const std::string& prefix, Buffer<float>& out) {
        out.resize((size_t)(e - b));
        for (const ParamInfo& p : params.infos()) {
            const int64_t lo = std::max(p.offset, b), hi = std::min(p.offset + p.numel, e);
            if (hi <= lo) continue;
            const auto it = ck.tensors.find(prefix + p.name);
            R1_CHECK(it != ck.tensors.end(), "[ckpt] ", ck.path, ": missing tensor '", prefix,
                     p.name, "'");
            R1_CHECK(it->second.shape == p.shape &&
                         it->second.nbytes == (uint64_t)p.numel * sizeof(float),
                     "[ckpt] ", ck.path, ": tensor '", prefix, p.name,
                     "' does not have the model's shape");
            std::memcpy(out.data() + (lo - b),
                        data + it->second.offset + (uint64_t)(lo - p.offset) * sizeof(float),
                        (size_t)(hi - lo) * sizeof(float));
        }
    };
    Buffer<float> m, v;
    fill("m/", m);
    fill("v/", v);
    shard.m().swap(m);   // everything validated: no throws past this point
    shard.v().swap(v);
    shard.set_t(ck.adam_t);
}

}  // namespace r1::dist
