// The transformer's forward and backward, llm.c style: explicit calls per layer over an
// activation arena owned by the model (grown to the largest B·T seen, then reused — a
// training step allocates nothing after the first one).
//
// Per layer (pre-norm):
//   ln1 = norm(res[l]);  mid = res[l] + attn(ln1);  ln2 = norm(mid);
//   res[l+1] = mid + (MLP | MoE)(ln2)
// then lnf = norm(res[L]) and the loss through the fused chunked LM head (lm_head_xent), so
// training never holds [N, V] logits. Backward walks the same list in reverse with one
// residual-gradient buffer dres; norm backwards overwrite a scratch that is added into dres.
// Shape legend: model/model.h.
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "model/blocks.h"
#include "model/mlp.h"
#include "model/moe_layer.h"
#include "ops/activation.h"
#include "ops/embedding.h"
#include "ops/lm_head.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ops/rope.h"

namespace r1 {

double ExpertLoad::imbalance() const {
    // 0 when nothing was measured (dense model or no forward yet)
    double sum = 0;
    int n = 0;
    for (const auto& c : counts) {
        if (c.empty()) continue;
        int64_t tot = 0, mx = 0;
        for (int64_t v : c) tot += v, mx = std::max(mx, v);
        if (tot == 0) continue;
        sum += (double)mx / ((double)tot / (double)c.size());
        n++;
    }
    return n ? sum / n : 0.0;
}

namespace {

// Offsets of one layer's tensors in the flat buffers (-1 = absent).
struct LayerOff {
    int64_t n1_w = -1, n1_b = -1, n2_w = -1, n2_b = -1;
    AttnParams attn;
    int64_t gate = -1, up = -1, down = -1;  // dense MLP
    int64_t gate_inp = -1, sel_bias = -1, gate_exps = -1, up_exps = -1, down_exps = -1;
    int64_t gate_sh = -1, up_sh = -1, down_sh = -1;
    bool moe = false;
};

// Activations of one layer kept for backward.
struct LayerActs {
    Buffer<float> ln1, ln1_mean, ln1_rstd;  // [N, C], [N], [N]
    Buffer<float> mid;                      // [N, C] residual after attention
    Buffer<float> ln2, ln2_mean, ln2_rstd;  // [N, C], [N], [N]
    AttnActs attn;
    MlpCache mlp;
};

}  // namespace

struct Model::Impl {
    ModelConfig cfg;
    ParamSet params;
    std::vector<LayerOff> off;
    int64_t tok_emb = -1, pos_emb = -1, outn_w = -1, outn_b = -1, out_w = -1;
    RopeTable rope;
    std::vector<MoeLayer> moe;  // [n_layer]; used only where off[l].moe

    // arena (grown, never shrunk)
    int64_t B = 0, T = 0;
    std::vector<Buffer<float>> res;  // [L+1] × [N, C]
    std::vector<LayerActs> acts;     // [L]
    Buffer<float> lnf, lnf_mean, lnf_rstd;
    Buffer<int32_t> pos;             // [N]
    Buffer<float> dres, dln, dtmp;   // [N, C] backward scratch
    AttnScratch scratch;
    ExpertLoad load;
    // Gradient-ready hook (model.h): seg[il] = first float of layer il, seg[L] = first float
    // of the tail (output_norm ...). Empty when the layout is not [embeddings | blk.0 | ... |
    // blk.L-1 | tail]: the hook then gets one range [0, n) at the end of the backward.
    GradsReadyFn grads_ready;
    std::vector<int64_t> seg;

    explicit Impl(const ModelConfig& c) : cfg(c), params(c) {
        const ParamSet& ps = params;
        auto at = [&](const std::string& n) -> int64_t {
            const ParamInfo* p = ps.find(n);
            return p ? p->offset : -1;
        };
        tok_emb = at("token_embd.weight");
        pos_emb = at("position_embd.weight");
        outn_w = at("output_norm.weight");
        outn_b = at("output_norm.bias");
        out_w = cfg.tie_embeddings ? tok_emb : at("output.weight");
        off.resize(cfg.n_layer);
        for (int64_t il = 0; il < cfg.n_layer; il++) {
            const std::string b = "blk." + std::to_string(il) + ".";
            LayerOff& o = off[il];
            o.n1_w = at(b + "attn_norm.weight");
            o.n1_b = at(b + "attn_norm.bias");
            o.n2_w = at(b + "ffn_norm.weight");
            o.n2_b = at(b + "ffn_norm.bias");
            AttnParams& a = o.attn;
            a.out_w = at(b + "attn_output.weight");
            if (cfg.attn == AttnKind::gqa) {
                if (cfg.arch == Arch::gpt2) {
                    a.qkv_w = at(b + "attn_qkv.weight");
                    a.qkv_b = at(b + "attn_qkv.bias");
                } else {
                    a.qkv_w = at(b + "attn_q.weight");
                    a.qkv_b = at(b + "attn_q.bias");
                }
            } else {
                a.q_w = at(b + "attn_q.weight");
                a.q_a_w = at(b + "attn_q_a.weight");
                a.q_a_norm = at(b + "attn_q_a_norm.weight");
                a.q_b_w = at(b + "attn_q_b.weight");
                a.kv_a_w = at(b + "attn_kv_a_mqa.weight");
                a.kv_a_norm = at(b + "attn_kv_a_norm.weight");
                a.kv_b_w = at(b + "attn_kv_b.weight");
            }
            o.moe = cfg.is_moe_layer(il);
            if (!o.moe) {
                o.gate = at(b + "ffn_gate.weight");
                o.up = at(b + "ffn_up.weight");
                o.down = at(b + "ffn_down.weight");
            } else {
                o.gate_inp = at(b + "ffn_gate_inp.weight");
                o.sel_bias = at(b + "exp_probs_b.bias");
                o.gate_exps = at(b + "ffn_gate_exps.weight");
                o.up_exps = at(b + "ffn_up_exps.weight");
                o.down_exps = at(b + "ffn_down_exps.weight");
                o.gate_sh = at(b + "ffn_gate_shexp.weight");
                o.up_sh = at(b + "ffn_up_shexp.weight");
                o.down_sh = at(b + "ffn_down_shexp.weight");
            }
        }
        if (cfg.pos == PosKind::rope) {
            const int64_t rot = cfg.attn == AttnKind::mla ? cfg.qk_rope_head_dim : cfg.head_dim;
            rope = rope_table(rot, cfg.n_ctx, cfg.rope_theta, cfg.yarn);
        }
        segment_layout();
        moe.resize(cfg.n_layer);
        acts.resize(cfg.n_layer);
        res.resize(cfg.n_layer + 1);
        load.counts.assign(cfg.n_layer, {});
    }

    // Segment of each tensor in layout order: -1 before the blocks, il for "blk.<il>.", L
    // after them; the layout is hookable when that sequence never decreases.
    void segment_layout() {
        const int64_t L = cfg.n_layer;
        std::vector<int64_t> first(L + 1, -1);
        int64_t prev = -1;
        for (const ParamInfo& p : params.infos()) {
            int64_t sg = prev < 0 ? -1 : L;
            if (p.name.rfind("blk.", 0) == 0) {
                sg = std::stoll(p.name.substr(4, p.name.find('.', 4) - 4));
            }
            if (sg < prev || sg > L) return;   // not hookable: seg stays empty
            if (sg >= 0 && first[sg] < 0) first[sg] = p.offset;
            prev = sg;
        }
        if (first[L] < 0) first[L] = params.size();   // no tail tensors
        for (int64_t il = 0; il < L; il++)
            if (first[il] < 0) return;
        seg = std::move(first);
    }
    void ready(int64_t begin, int64_t end) {
        if (grads_ready && end > begin) grads_ready(begin, end - begin);
    }

    const float* P(int64_t o) const { return o >= 0 ? params.data().data() + o : nullptr; }
    float* G(int64_t o) { return o >= 0 ? params.grad().data() + o : nullptr; }

    MoeWeights moe_weights(const LayerOff& o) const {
        MoeWeights w;
        w.gate_inp = P(o.gate_inp);
        w.sel_bias = P(o.sel_bias);
        w.gate_exps = P(o.gate_exps);
        w.up_exps = P(o.up_exps);
        w.down_exps = P(o.down_exps);
        w.gate_shexp = P(o.gate_sh);
        w.up_shexp = P(o.up_sh);
        w.down_shexp = P(o.down_sh);
        return w;
    }
    MoeGrads moe_grads(const LayerOff& o) {
        MoeGrads g;
        g.gate_inp = G(o.gate_inp);
        g.gate_exps = G(o.gate_exps);
        g.up_exps = G(o.up_exps);
        g.down_exps = G(o.down_exps);
        g.gate_shexp = G(o.gate_sh);
        g.up_shexp = G(o.up_sh);
        g.down_shexp = G(o.down_sh);
        return g;
    }

    void norm_fwd(float* y, float* mean, float* rstd, const float* x, int64_t w, int64_t b,
                  int64_t N) {
        if (cfg.norm == NormKind::layernorm)
            layernorm_forward(y, mean, rstd, x, P(w), P(b), N, cfg.n_embd, cfg.norm_eps);
        else
            rmsnorm_forward(y, rstd, x, P(w), N, cfg.n_embd, cfg.norm_eps);
    }
    void norm_bwd(float* dx, const float* dy, const float* x, int64_t w, int64_t b,
                  const float* mean, const float* rstd, int64_t N) {
        if (cfg.norm == NormKind::layernorm)
            layernorm_backward(dx, G(w), G(b), dy, x, P(w), mean, rstd, N, cfg.n_embd);
        else
            rmsnorm_backward(dx, G(w), dy, x, P(w), rstd, N, cfg.n_embd);
    }

    AttnCtx ctx() const { return {&cfg, B, T, pos.data(), &rope}; }

    void check_inputs(const int32_t* tokens, const int32_t* targets, int64_t B_, int64_t T_) {
        R1_CHECK(B_ > 0 && T_ > 0, "[model] batch shape must be positive (B=", B_, " T=", T_, ")");
        R1_CHECK(T_ <= cfg.n_ctx, "[model] sequence length ", T_, " exceeds n_ctx ", cfg.n_ctx);
        const int64_t N = B_ * T_;
        for (int64_t n = 0; n < N; n++) {
            R1_CHECK(tokens[n] >= 0 && tokens[n] < cfg.n_vocab, "[model] token id ", tokens[n],
                     " at position ", n, " outside [0, n_vocab=", cfg.n_vocab, ")");
            if (targets)
                R1_CHECK(targets[n] >= -1 && targets[n] < cfg.n_vocab, "[model] target id ",
                         targets[n], " at position ", n, " outside [-1, n_vocab)");
        }
    }

    // Runs embeddings → layers → final norm; leaves lnf [N, C] for the head.
    void forward(const int32_t* tokens, int64_t B_, int64_t T_, bool train) {
        B = B_;
        T = T_;
        const int64_t N = B * T, C = cfg.n_embd;
        const size_t NC = (size_t)(N * C);
        for (auto& r : res) ensure(r, NC);
        ensure(lnf, NC);
        ensure(lnf_mean, (size_t)N);
        ensure(lnf_rstd, (size_t)N);
        ensure(pos, (size_t)N);
        for (int64_t n = 0; n < N; n++) pos[n] = (int32_t)(n % T);

        embedding_forward(res[0].data(), tokens, P(tok_emb), N, C);  // [N, C]
        if (cfg.pos == PosKind::learned)
            embedding_forward(res[0].data(), pos.data(), P(pos_emb), N, C, true);
        const AttnCtx c = ctx();
        for (int64_t il = 0; il < cfg.n_layer; il++) {
            const LayerOff& o = off[il];
            LayerActs& a = acts[il];
            ensure(a.ln1, NC), ensure(a.mid, NC), ensure(a.ln2, NC);
            ensure(a.ln1_mean, N), ensure(a.ln1_rstd, N), ensure(a.ln2_mean, N),
                ensure(a.ln2_rstd, N);
            const float* x = res[il].data();
            norm_fwd(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), x, o.n1_w, o.n1_b, N);
            if (cfg.attn == AttnKind::gqa)
                gqa_forward(a.mid.data(), a.ln1.data(), params.data().data(), o.attn, a.attn, c);
            else
                mla_forward(a.mid.data(), a.ln1.data(), params.data().data(), o.attn, a.attn, c);
            add_inplace(a.mid.data(), x, (int64_t)NC);  // mid = x + attn(ln1(x))
            norm_fwd(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.mid.data(), o.n2_w,
                     o.n2_b, N);
            float* y = res[il + 1].data();
            if (o.moe) {
                moe[il].forward(y, a.ln2.data(), B, T, moe_weights(o), cfg, train);
                load.counts[il] = moe[il].expert_counts();
            } else if (cfg.mlp == MlpKind::swiglu) {
                swiglu_mlp_forward(y, a.ln2.data(), P(o.gate), P(o.up), P(o.down), N, C,
                                   cfg.n_ff, a.mlp);
            } else {
                gelu_mlp_forward(y, a.ln2.data(), P(o.up), P(o.down), N, C, cfg.n_ff, cfg.gelu,
                                 a.mlp);
            }
            add_inplace(y, a.mid.data(), (int64_t)NC);  // res[l+1] = mid + ffn(ln2(mid))
        }
        norm_fwd(lnf.data(), lnf_mean.data(), lnf_rstd.data(), res[cfg.n_layer].data(), outn_w,
                 outn_b, N);
    }

    double aux_loss_sum() const {
        double s = 0;
        for (int64_t il = 0; il < cfg.n_layer; il++)
            if (off[il].moe) s += moe[il].aux_loss();
        return s;
    }

    StepStats forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B_,
                               int64_t T_, float grad_scale) {
        check_inputs(tokens, targets, B_, T_);
        forward(tokens, B_, T_, true);
        const int64_t N = B * T, C = cfg.n_embd;
        const size_t NC = (size_t)(N * C);
        ensure(dres, NC), ensure(dln, NC), ensure(dtmp, NC);

        int64_t n_valid = 0;
        for (int64_t n = 0; n < N; n++) n_valid += targets[n] >= 0;
        const float coef = n_valid ? grad_scale / (float)n_valid : 0.0f;

        // head + loss: dln = dL/dlnf [N, C]; d(output.weight) accumulated
        LmHeadResult hr = lm_head_xent(dln.data(), G(out_w), nullptr, nullptr, lnf.data(),
                                       P(out_w), targets, N, C, cfg.n_vocab, coef);
        backward_trunk(tokens, grad_scale);

        StepStats st;
        st.loss = n_valid ? hr.loss_sum / (double)n_valid : 0.0;
        st.aux_loss = aux_loss_sum();
        st.n_tokens = n_valid;
        return st;
    }

    StepStats forward_backward_head(const int32_t* tokens, int64_t B_, int64_t T_,
                                    const HeadLossFn& fn, float aux_scale) {
        R1_CHECK(static_cast<bool>(fn), "[model] forward_backward_head: empty loss function");
        check_inputs(tokens, nullptr, B_, T_);
        forward(tokens, B_, T_, true);
        const int64_t N = B * T, C = cfg.n_embd;
        const size_t NC = (size_t)(N * C);
        ensure(dres, NC), ensure(dln, NC), ensure(dtmp, NC);
        // head: dln = dL/dlnf [N, C]; d(output.weight) (or the tied embedding) accumulated
        const double loss = fn(lnf.data(), P(out_w), dln.data(), G(out_w), N, C, cfg.n_vocab);
        backward_trunk(tokens, aux_scale);
        StepStats st;
        st.loss = loss;
        st.aux_loss = aux_loss_sum();
        return st;
    }

    // Backward from dln = dL/dlnf [N, C] (set by the head) down to the embeddings; the MoE
    // aux loss enters scaled by aux_scale. Needs a train-mode forward of the same batch.
    void backward_trunk(const int32_t* tokens, float grad_scale) {
        const int64_t N = B * T, C = cfg.n_embd;
        const size_t NC = (size_t)(N * C);
        norm_bwd(dres.data(), dln.data(), res[cfg.n_layer].data(), outn_w, outn_b,
                 lnf_mean.data(), lnf_rstd.data(), N);  // dres = dL/dres[L]
        const bool hook = grads_ready && !seg.empty();
        if (hook) ready(seg[cfg.n_layer], params.size());   // output_norm (+ output.weight)

        const AttnCtx c = ctx();
        for (int64_t il = cfg.n_layer - 1; il >= 0; il--) {
            const LayerOff& o = off[il];
            LayerActs& a = acts[il];
            // ffn: dres is dL/dres[l+1] = dL/dmid (through the skip) + ffn path
            if (o.moe) {
                MoeGrads g = moe_grads(o);
                moe[il].backward(dln.data(), dres.data(), moe_weights(o), g, cfg, grad_scale);
            } else if (cfg.mlp == MlpKind::swiglu) {
                swiglu_mlp_backward(dln.data(), G(o.gate), G(o.up), G(o.down), dres.data(),
                                    a.ln2.data(), P(o.gate), P(o.up), P(o.down), N, C, cfg.n_ff,
                                    a.mlp);
            } else {
                gelu_mlp_backward(dln.data(), G(o.up), G(o.down), dres.data(), a.ln2.data(),
                                  P(o.up), P(o.down), N, C, cfg.n_ff, cfg.gelu, a.mlp);
            }
            norm_bwd(dtmp.data(), dln.data(), a.mid.data(), o.n2_w, o.n2_b, a.ln2_mean.data(),
                     a.ln2_rstd.data(), N);
            add_inplace(dres.data(), dtmp.data(), (int64_t)NC);  // dres = dL/dmid
            // attention
            if (cfg.attn == AttnKind::gqa)
                gqa_backward(dln.data(), dres.data(), a.ln1.data(), params.data().data(),
                             params.grad().data(), o.attn, a.attn, scratch, c);
            else
                mla_backward(dln.data(), dres.data(), a.ln1.data(), params.data().data(),
                             params.grad().data(), o.attn, a.attn, scratch, c);
            norm_bwd(dtmp.data(), dln.data(), res[il].data(), o.n1_w, o.n1_b, a.ln1_mean.data(),
                     a.ln1_rstd.data(), N);
            add_inplace(dres.data(), dtmp.data(), (int64_t)NC);  // dres = dL/dres[l]
            if (hook) ready(seg[il], seg[il + 1]);   // layer il's gradients are final
        }
        embedding_backward(G(tok_emb), dres.data(), tokens, N, C);
        if (cfg.pos == PosKind::learned) embedding_backward(G(pos_emb), dres.data(), pos.data(), N, C);
        if (hook) ready(0, seg[0]);                   // embeddings (+ the tied head)
        else if (grads_ready) ready(0, params.size());
    }
};

Model::Model(const ModelConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

const ModelConfig& Model::config() const { return impl_->cfg; }
ParamSet& Model::params() { return impl_->params; }
const ParamSet& Model::params() const { return impl_->params; }
const ExpertLoad& Model::expert_load() const { return impl_->load; }
void Model::set_grads_ready_hook(GradsReadyFn fn) { impl_->grads_ready = std::move(fn); }

void Model::init_weights(uint64_t seed) {
    ParamSet& ps = impl_->params;
    const float resid_scale = 1.0f / std::sqrt(2.0f * (float)impl_->cfg.n_layer);
    auto ends_with = [](const std::string& s, const char* suf) {
        const size_t n = std::char_traits<char>::length(suf);
        return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
    };
    Rng rng(seed);
    for (const ParamInfo& p : ps.infos()) {
        float* w = ps.data().data() + p.offset;
        if (p.shape.size() == 1) {
            // norm gains 1; biases (incl. the MoE selection bias) 0
            const float v = ends_with(p.name, ".weight") ? 1.0f : 0.0f;
            std::fill(w, w + p.numel, v);
            continue;
        }
        float std = 0.02f;
        if (ends_with(p.name, "attn_output.weight") || ends_with(p.name, "ffn_down.weight") ||
            ends_with(p.name, "ffn_down_exps.weight") || ends_with(p.name, "ffn_down_shexp.weight"))
            std *= resid_scale;
        for (int64_t i = 0; i < p.numel; i++) w[i] = rng.normal() * std;
    }
    ps.zero_grad();
}

StepStats Model::forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B,
                                  int64_t T, float grad_scale) {
    return impl_->forward_backward(tokens, targets, B, T, grad_scale);
}

StepStats Model::forward_backward_head(const int32_t* tokens, int64_t B, int64_t T,
                                       const HeadLossFn& fn, float aux_scale) {
    return impl_->forward_backward_head(tokens, B, T, fn, aux_scale);
}

double Model::forward_head(const int32_t* tokens, int64_t B, int64_t T, const HeadLossFn& fn) {
    Impl& m = *impl_;
    R1_CHECK(static_cast<bool>(fn), "[model] forward_head: empty loss function");
    m.check_inputs(tokens, nullptr, B, T);
    m.forward(tokens, B, T, false);
    return fn(m.lnf.data(), m.P(m.out_w), nullptr, nullptr, B * T, m.cfg.n_embd, m.cfg.n_vocab);
}

StepStats Model::loss(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t T) {
    Impl& m = *impl_;
    m.check_inputs(tokens, targets, B, T);
    m.forward(tokens, B, T, false);
    const int64_t N = B * T;
    LmHeadResult hr = lm_head_xent(nullptr, nullptr, nullptr, nullptr, m.lnf.data(),
                                   m.P(m.out_w), targets, N, m.cfg.n_embd, m.cfg.n_vocab, 1.0f);
    StepStats st;
    st.loss = hr.n_valid ? hr.loss_sum / (double)hr.n_valid : 0.0;
    st.aux_loss = m.aux_loss_sum();
    st.n_tokens = hr.n_valid;
    return st;
}

void Model::logits(float* out, const int32_t* tokens, int64_t B, int64_t T) {
    Impl& m = *impl_;
    m.check_inputs(tokens, nullptr, B, T);
    m.forward(tokens, B, T, false);
    linear_forward(out, m.lnf.data(), m.P(m.out_w), nullptr, B * T, m.cfg.n_embd,
                   m.cfg.n_vocab);  // [N, V]
}

void Model::update_selection_bias() { update_selection_bias(impl_->load); }

void Model::update_selection_bias(const ExpertLoad& load) {
    Impl& m = *impl_;
    const float gamma = m.cfg.bias_update_speed;
    for (int64_t il = 0; il < m.cfg.n_layer && il < (int64_t)load.counts.size(); il++) {
        const LayerOff& o = m.off[il];
        const auto& cnt = load.counts[il];
        if (!o.moe || o.sel_bias < 0 || cnt.empty()) continue;
        R1_CHECK((int64_t)cnt.size() == m.cfg.n_expert, "[model] update_selection_bias: layer ",
                 il, " load has ", cnt.size(), " experts, the model ", m.cfg.n_expert);
        double mean = 0;
        for (int64_t v : cnt) mean += (double)v;
        mean /= (double)cnt.size();
        float* b = m.params.data().data() + o.sel_bias;
        for (size_t e = 0; e < cnt.size(); e++) {
            const double d = mean - (double)cnt[e];
            b[e] += gamma * (float)((d > 0) - (d < 0));  // underloaded experts gain bias
        }
    }
}

}  // namespace r1
