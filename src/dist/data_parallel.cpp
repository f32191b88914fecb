// Data-parallel helpers (contract in data_parallel.h).
#include "dist/data_parallel.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "train/checkpoint.h"

namespace r1::dist {

DataParallel::DataParallel(Comm* comm) : comm_(comm) {
    if (!comm_) {
        own_ = make_local_comm();
        comm_ = own_.get();
    }
}

void DataParallel::broadcast_params(ParamSet& params, AdamW* opt) {
    if (size() == 1) return;
    comm_->broadcast(params.data().data(), (size_t)params.size() * sizeof(float), 0);
    if (opt) {
        comm_->broadcast(opt->m().data(), opt->m().size() * sizeof(float), 0);
        comm_->broadcast(opt->v().data(), opt->v().size() * sizeof(float), 0);
        int64_t t = opt->t();
        comm_->broadcast(&t, sizeof t, 0);
        opt->set_t(t);
    }
}

void DataParallel::allreduce_grads(ParamSet& params) {
    if (size() == 1) return;
    float* g = params.grad().data();
    const int64_t n = params.size();
    const int64_t bucket = std::max<int64_t>(1, bucket_floats);
    std::vector<WorkPtr> inflight;
    for (int64_t off = 0; off < n; off += bucket)
        inflight.push_back(comm_->allreduce_sum_start(g + off, std::min(bucket, n - off)));
    for (auto& w : inflight) w->wait();
}

// ---- overlap ---------------------------------------------------------------------------------

void DataParallel::overlap_begin(ParamSet& params) {
    R1_CHECK(ov_inflight_.empty() && ov_grad_ == nullptr,
             "[dist] overlap_begin: the previous overlapped all-reduce was not finished");
    overlapped_ = 0;
    if (size() == 1) return;
    ov_grad_ = params.grad().data();
    ov_n_ = params.size();
    ov_ready_ = ov_n_;
    const int64_t bucket = std::max<int64_t>(1, bucket_floats);
    ov_next_ = (ov_n_ + bucket - 1) / bucket - 1;   // highest bucket first
}

void DataParallel::start_bucket(int64_t k) {
    const int64_t bucket = std::max<int64_t>(1, bucket_floats);
    const int64_t off = k * bucket;
    ov_inflight_.push_back(comm_->allreduce_sum_start(ov_grad_ + off, std::min(bucket, ov_n_ - off)));
}

void DataParallel::grads_ready(int64_t offset, int64_t count) {
    if (!ov_grad_) return;   // one rank, or not armed
    R1_CHECK(count >= 0 && offset >= 0 && offset + count == ov_ready_,
             "[dist] grads_ready: range [", offset, ", ", offset + count,
             ") does not end where the ready region [", ov_ready_, ", ", ov_n_,
             ") begins (the hook must report adjacent ranges from the end of the buffer down)");
    ov_ready_ = offset;
    const int64_t bucket = std::max<int64_t>(1, bucket_floats);
    for (; ov_next_ >= 0 && ov_next_ * bucket >= ov_ready_; ov_next_--) {
        start_bucket(ov_next_);
        overlapped_++;
    }
    for (auto& w : ov_inflight_) w->test();   // drive MPI progress (cheap)
}

void DataParallel::overlap_finish() {
    if (!ov_grad_) return;
    for (; ov_next_ >= 0; ov_next_--) start_bucket(ov_next_);
    std::vector<WorkPtr> inflight = std::move(ov_inflight_);
    ov_inflight_.clear();
    ov_grad_ = nullptr;
    for (auto& w : inflight) w->wait();
}

// ---- ZeRO-1 ----------------------------------------------------------------------------------

Shard DataParallel::zero_shard(int64_t n) const { return dist::zero_shard(n, size(), rank()); }

void DataParallel::allgather_params(ParamSet& params) {
    allgather_shards(*comm_, params.data().data(), params.size());
}

// ---- small values ----------------------------------------------------------------------------

bool DataParallel::any(bool flag) {
    if (size() == 1) return flag;
    double v = flag ? 1.0 : 0.0;
    comm_->allreduce_sum(&v, 1);
    return v > 0;
}

ExpertLoad DataParallel::sum_expert_load(const ExpertLoad& local) {
    ExpertLoad out = local;
    if (size() == 1) return out;
    std::vector<double> flat;
    for (const auto& layer : local.counts)
        for (int64_t c : layer) flat.push_back((double)c);
    sum(flat);
    size_t i = 0;
    for (auto& layer : out.counts)
        for (int64_t& c : layer) c = (int64_t)flat[i++];
    return out;
}

uint64_t state_hash(const ParamSet& params, const AdamW* opt) {
    uint64_t h = fnv1a64(params.data().data(), (size_t)params.size() * sizeof(float));
    if (opt) {
        h = fnv1a64(opt->m().data(), opt->m().size() * sizeof(float), h);
        h = fnv1a64(opt->v().data(), opt->v().size() * sizeof(float), h);
    }
    return h;
}

void DataParallel::check_sync(const ParamSet& params, const AdamW* opt, int64_t step) {
    const uint64_t h = state_hash(params, opt);
    const std::vector<uint64_t> all = comm_->allgather_value(h);
    if (std::all_of(all.begin(), all.end(), [&](uint64_t x) { return x == all[0]; })) return;
    std::ostringstream os;
    os << std::hex;
    for (size_t r = 0; r < all.size(); r++) os << (r ? ", " : "") << "rank " << std::dec << r << std::hex << " " << all[r];
    fail("[dist] --check-sync: weights/optimiser state differ across ranks after step ", step,
         " (", os.str(), ")");
}

}  // namespace r1::dist
