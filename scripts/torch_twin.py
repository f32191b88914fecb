#!/usr/bin/python3
"""PyTorch twin of r1.cpp's transformer family — the oracle of tests/golden.

Reads a model config JSON (exactly what r1::to_json(ModelConfig) writes), builds the same
model with the same parameter names and layouts (llama.cpp GGUF names, Linear weights
[out, in], stacked experts [E, out, in]), and writes to one safetensors file:
  w.<name>  initial weights          g.<name>  d(loss)/d(weight) at those weights
  tokens, targets [B, T] int32 (some targets -1 = ignored)
  logits [B*T, V], loss [1] (mean CE), aux_loss [1], total [1] (= loss + aux_loss)
  losses [10] (total loss before each of 10 AdamW steps), ce_losses [10], aux_losses [10]
  metadata: min_margin (smallest gap between the last selected and first rejected expert /
  group over all routing decisions of all forwards — routing is discrete, so C++ and torch
  agree only when this is well above float noise).

Model (pre-norm): h = tok_emb[x] (+ pos_emb[t]); per layer
  h = h + attn(norm1(h));  h = h + (MLP | MoE)(norm2(h));  logits = norm_f(h) · W_outᵀ
attn: GQA (fused q|k|v GEMM, RoPE neox/interleaved) or MLA (DeepSeek-V2/V3, optional q LoRA,
YaRN mscale); MoE: softmax/sigmoid gating, optional selection bias (changes the choice, not
the weight), group-limited top-k, norm_topk, route scale, shared experts, sequence-wise aux
loss (DeepSeek-V3 eq. 17-20). Ties break toward the lower index in C++; the twin re-draws
tokens until the first forward has no near-ties.

usage: torch_twin.py --seed S --config cfg.json --out fixture.safetensors [--config .. --out ..]
"""
import argparse, json, math, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

B, T, STEPS = 2, 16, 10


# ------------------------------------------------------------------ layout (= params.cpp)
def layout(c):
    """[(name, shape)] in the order of r1's ParamSet layout."""
    C, V = c["n_embd"], c["n_vocab"]
    out = [("token_embd.weight", [V, C])]
    if c["pos"] == "learned":
        out.append(("position_embd.weight", [c["n_ctx"], C]))

    def norm(base, d):
        out.append((base + ".weight", [d]))
        if c["norm"] == "layernorm":
            out.append((base + ".bias", [d]))

    for il in range(c["n_layer"]):
        b = "blk.%d." % il
        norm(b + "attn_norm", C)
        H = c["n_head"]
        if c["attn"] == "gqa":
            D, Hkv = c["head_dim"], c["n_head_kv"]
            if c["arch"] == "gpt2":
                out.append((b + "attn_qkv.weight", [(H + 2 * Hkv) * D, C]))
                if c["qkv_bias"]:
                    out.append((b + "attn_qkv.bias", [(H + 2 * Hkv) * D]))
            else:
                out += [(b + "attn_q.weight", [H * D, C]), (b + "attn_k.weight", [Hkv * D, C]),
                        (b + "attn_v.weight", [Hkv * D, C])]
                if c["qkv_bias"]:
                    out += [(b + "attn_q.bias", [H * D]), (b + "attn_k.bias", [Hkv * D]),
                            (b + "attn_v.bias", [Hkv * D])]
            out.append((b + "attn_output.weight", [C, H * D]))
        else:
            dqk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
            if c["q_lora_rank"] == 0:
                out.append((b + "attn_q.weight", [H * dqk, C]))
            else:
                out += [(b + "attn_q_a.weight", [c["q_lora_rank"], C]),
                        (b + "attn_q_a_norm.weight", [c["q_lora_rank"]]),
                        (b + "attn_q_b.weight", [H * dqk, c["q_lora_rank"]])]
            out += [(b + "attn_kv_a_mqa.weight", [c["kv_lora_rank"] + c["qk_rope_head_dim"], C]),
                    (b + "attn_kv_a_norm.weight", [c["kv_lora_rank"]]),
                    (b + "attn_kv_b.weight",
                     [H * (c["qk_nope_head_dim"] + c["v_head_dim"]), c["kv_lora_rank"]]),
                    (b + "attn_output.weight", [C, H * c["v_head_dim"]])]
        norm(b + "ffn_norm", C)
        if not is_moe(c, il):
            Fd = c["n_ff"]
            if c["mlp"] == "swiglu":
                out.append((b + "ffn_gate.weight", [Fd, C]))
            out += [(b + "ffn_up.weight", [Fd, C]), (b + "ffn_down.weight", [C, Fd])]
        else:
            E, Fe = c["n_expert"], c["n_ff_exp"]
            Fs = Fe * c["n_expert_shared"]
            out.append((b + "ffn_gate_inp.weight", [E, C]))
            if c["expert_sel_bias"]:
                out.append((b + "exp_probs_b.bias", [E]))
            out += [(b + "ffn_gate_exps.weight", [E, Fe, C]), (b + "ffn_up_exps.weight", [E, Fe, C]),
                    (b + "ffn_down_exps.weight", [E, C, Fe])]
            if Fs > 0:
                out += [(b + "ffn_gate_shexp.weight", [Fs, C]), (b + "ffn_up_shexp.weight", [Fs, C]),
                        (b + "ffn_down_shexp.weight", [C, Fs])]
    norm("output_norm", C)
    if not c["tie_embeddings"]:
        out.append(("output.weight", [V, C]))
    return out


def is_moe(c, il):
    return c["n_expert"] > 0 and il >= c["n_layer_dense_lead"]


def init_params(c, gen):
    """Weights N(0, 0.02)-ish but with non-trivial norms, biases and routers, so that every
    gradient path (and the routing choice) is exercised."""
    P = {}
    for name, shape in layout(c):
        def randn(std):
            return torch.randn(shape, generator=gen, dtype=torch.float32) * std
        if name.endswith("exp_probs_b.bias"):
            t = randn(0.1)
        elif len(shape) == 1 and name.endswith(".weight"):
            t = 1.0 + randn(0.1)            # norm gains
        elif len(shape) == 1:
            t = randn(0.05)                 # biases
        elif "ffn_gate_inp" in name:
            t = randn(0.3)                  # router: spread-out scores
        elif name in ("token_embd.weight", "position_embd.weight"):
            t = randn(0.5)
        else:
            t = randn(0.02 if min(shape[-1], shape[-2]) > 64 else 0.1)
        P[name] = t.requires_grad_(not name.endswith("exp_probs_b.bias"))
    return P


# ------------------------------------------------------------------ pieces
def norm(c, x, P, base):
    w = P[base + ".weight"]
    if c["norm"] == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), w, P[base + ".bias"], c["norm_eps"])
    return rmsnorm(x, w, c["norm_eps"])


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def yarn_mscale(scale, m):
    return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0


def rope_tables(c, rot, n_pos):
    """cos, sin [n_pos, rot/2] (HF float32 inv_freq; YaRN as DeepseekV3YarnRotaryEmbedding)."""
    base = c["rope_theta"]
    inv = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    inv = inv.float().double()
    y = c["yarn"]
    msc = 1.0
    if y["factor"] > 1:
        f, omp = y["factor"], y["original_max_pos"]

        def corr(n_rot):
            return rot * math.log(omp / (n_rot * 2 * math.pi)) / (2 * math.log(base))
        low = max(math.floor(corr(y["beta_fast"])), 0)
        high = min(math.ceil(corr(y["beta_slow"])), rot - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(rot // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
        extra = 1 - ramp
        inv = (inv / f * (1 - extra) + inv * extra).float().double()
        msc = yarn_mscale(f, y["mscale"]) / yarn_mscale(f, y["mscale_all_dim"])
    ang = (torch.arange(n_pos, dtype=torch.float32)[:, None] * inv.float()[None, :]).double()
    return (ang.cos() * msc).float(), (ang.sin() * msc).float()


def rope(x, cos, sin, layout_):
    """x [B, T, h, rot] rotated; cos/sin [T, rot/2]."""
    cs, sn = cos[None, :, None, :], sin[None, :, None, :]
    half = x.shape[-1] // 2
    if layout_ == "neox":
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cs - b * sn, a * sn + b * cs], -1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cs - b * sn, a * sn + b * cs], -1).flatten(-2)


def causal_attention(q, k, v, scale):
    """q [B,T,H,dqk], k [B,T,H,dqk], v [B,T,H,dv] -> [B,T,H*dv]."""
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))
    att = (q @ k.transpose(-1, -2)) * scale
    Tq = q.shape[2]
    att = att.masked_fill(torch.triu(torch.ones(Tq, Tq, dtype=torch.bool), 1), float("-inf"))
    o = att.softmax(-1) @ v
    return o.transpose(1, 2).reshape(q.shape[0], Tq, -1)


def gqa(c, x, P, b, cos, sin):
    Bz, Tz, _ = x.shape
    H, Hkv, D = c["n_head"], c["n_head_kv"], c["head_dim"]
    if c["arch"] == "gpt2":
        W = P[b + "attn_qkv.weight"]
        bias = P.get(b + "attn_qkv.bias")
    else:
        W = torch.cat([P[b + "attn_q.weight"], P[b + "attn_k.weight"], P[b + "attn_v.weight"]])
        bias = (torch.cat([P[b + "attn_q.bias"], P[b + "attn_k.bias"], P[b + "attn_v.bias"]])
                if c["qkv_bias"] else None)
    qkv = F.linear(x, W, bias)
    q = qkv[..., :H * D].view(Bz, Tz, H, D)
    k = qkv[..., H * D:(H + Hkv) * D].view(Bz, Tz, Hkv, D)
    v = qkv[..., (H + Hkv) * D:].view(Bz, Tz, Hkv, D)
    if c["pos"] == "rope":
        q = rope(q, cos[:Tz], sin[:Tz], c["rope_layout"])
        k = rope(k, cos[:Tz], sin[:Tz], c["rope_layout"])
    rep = H // Hkv
    k, v = k.repeat_interleave(rep, 2), v.repeat_interleave(rep, 2)
    o = causal_attention(q, k, v, 1.0 / math.sqrt(D))
    return F.linear(o, P[b + "attn_output.weight"])


def mla(c, x, P, b, cos, sin):
    Bz, Tz, _ = x.shape
    H, nope, rp, dv, kvl = (c["n_head"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                            c["v_head_dim"], c["kv_lora_rank"])
    dqk = nope + rp
    eps = c["norm_eps"]
    if c["q_lora_rank"] == 0:
        q = F.linear(x, P[b + "attn_q.weight"])
    else:
        qa = rmsnorm(F.linear(x, P[b + "attn_q_a.weight"]), P[b + "attn_q_a_norm.weight"], eps)
        q = F.linear(qa, P[b + "attn_q_b.weight"])
    q = q.view(Bz, Tz, H, dqk)
    q_nope, q_pe = q[..., :nope], q[..., nope:]
    kv_a = F.linear(x, P[b + "attn_kv_a_mqa.weight"])
    lat, k_pe = kv_a[..., :kvl], kv_a[..., kvl:].view(Bz, Tz, 1, rp)
    kv = F.linear(rmsnorm(lat, P[b + "attn_kv_a_norm.weight"], eps), P[b + "attn_kv_b.weight"])
    kv = kv.view(Bz, Tz, H, nope + dv)
    k_nope, v = kv[..., :nope], kv[..., nope:]
    q_pe = rope(q_pe, cos[:Tz], sin[:Tz], c["rope_layout"])
    k_pe = rope(k_pe, cos[:Tz], sin[:Tz], c["rope_layout"])
    qf = torch.cat([q_nope, q_pe], -1)
    kf = torch.cat([k_nope, k_pe.expand(Bz, Tz, H, rp)], -1)
    scale = 1.0 / math.sqrt(dqk)
    y = c["yarn"]
    if y["factor"] > 1 and y["mscale_all_dim"] != 0:
        m = yarn_mscale(y["factor"], y["mscale_all_dim"])
        scale = scale * m * m
    o = causal_attention(qf, kf, v, scale)
    return F.linear(o, P[b + "attn_output.weight"])


def swiglu(x, wg, wu, wd):
    return F.linear(F.silu(F.linear(x, wg)) * F.linear(x, wu), wd)


class Margins:
    def __init__(self):
        self.min = float("inf")

    def add(self, sorted_vals, k):
        if sorted_vals.shape[-1] > k:
            gap = (sorted_vals[..., k - 1] - sorted_vals[..., k])
            gap = gap[torch.isfinite(gap)]
            if gap.numel():
                self.min = min(self.min, gap.min().item())


def route(c, logits, bias, margins):
    """-> scores [N,E], idx [N,k], w [N,k] (as r1::moe_route_forward)."""
    E, k, G, tg = c["n_expert"], c["n_expert_used"], c["n_expert_groups"], c["n_group_used"]
    s = logits.softmax(-1) if c["gating"] == "softmax" else logits.sigmoid()
    bsc = (s + bias) if bias is not None else s
    bsc = bsc.detach()
    if G > 1 and tg < G:
        bg = bsc.view(-1, G, E // G)
        if c["gating"] == "sigmoid":
            gsc = bg.topk(min(2, E // G), -1).values.sum(-1)
        else:
            gsc = bg.max(-1).values
        gs_sorted, gidx = gsc.sort(dim=-1, descending=True, stable=True)
        margins.add(gs_sorted, tg)
        keep = torch.zeros_like(gsc, dtype=torch.bool).scatter(1, gidx[:, :tg], True)
        bsc = bsc.masked_fill(~keep.repeat_interleave(E // G, 1), float("-inf"))
    vals, order = bsc.sort(dim=-1, descending=True, stable=True)
    margins.add(vals, k)
    idx = order[:, :k]
    w = s.gather(1, idx)
    if c["expert_weights_norm"]:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    return s, idx, w * c["expert_weights_scale"]


def moe(c, x, P, b, margins):
    Bz, Tz, C = x.shape
    E, k = c["n_expert"], c["n_expert_used"]
    xf = x.reshape(-1, C)
    logits = F.linear(xf, P[b + "ffn_gate_inp.weight"])
    s, idx, w = route(c, logits, P.get(b + "exp_probs_b.bias"), margins)
    dense_w = torch.zeros(xf.shape[0], E).scatter(1, idx, w)  # differentiable in w
    out = torch.zeros_like(xf)
    if c["n_expert_shared"] > 0:
        out = swiglu(xf, P[b + "ffn_gate_shexp.weight"], P[b + "ffn_up_shexp.weight"],
                     P[b + "ffn_down_shexp.weight"])
    for e in range(E):
        ye = swiglu(xf, P[b + "ffn_gate_exps.weight"][e], P[b + "ffn_up_exps.weight"][e],
                    P[b + "ffn_down_exps.weight"][e])
        out = out + dense_w[:, e:e + 1] * ye
    aux = torch.zeros(())
    if c["aux_loss_alpha"] > 0:
        sn = (s / s.sum(-1, keepdim=True)).view(Bz, Tz, E)
        cnt = torch.zeros(Bz, E).scatter_add(1, idx.reshape(Bz, Tz * k), torch.ones(Bz, Tz * k))
        f = cnt * E / (k * Tz)
        Pm = sn.mean(1)
        aux = c["aux_loss_alpha"] * (f * Pm).sum(-1).mean()
    return out.view(Bz, Tz, C), aux


def forward(c, P, tokens, tables, margins):
    Bz, Tz = tokens.shape
    h = F.embedding(tokens, P["token_embd.weight"])
    if c["pos"] == "learned":
        h = h + P["position_embd.weight"][:Tz][None]
    cos, sin = tables
    aux = torch.zeros(())
    for il in range(c["n_layer"]):
        b = "blk.%d." % il
        a_in = norm(c, h, P, b + "attn_norm")
        h = h + (gqa(c, a_in, P, b, cos, sin) if c["attn"] == "gqa" else mla(c, a_in, P, b, cos, sin))
        f_in = norm(c, h, P, b + "ffn_norm")
        if is_moe(c, il):
            y, a = moe(c, f_in, P, b, margins)
            aux = aux + a
        elif c["mlp"] == "swiglu":
            y = swiglu(f_in, P[b + "ffn_gate.weight"], P[b + "ffn_up.weight"], P[b + "ffn_down.weight"])
        else:
            y = F.linear(F.gelu(F.linear(f_in, P[b + "ffn_up.weight"]),
                                approximate="tanh" if c["gelu"] == "tanh" else "none"),
                         P[b + "ffn_down.weight"])
        h = h + y
    h = norm(c, h, P, "output_norm")
    W = P["token_embd.weight"] if c["tie_embeddings"] else P["output.weight"]
    return F.linear(h, W), aux


def losses_of(c, P, tokens, targets, tables, margins):
    logits, aux = forward(c, P, tokens, tables, margins)
    ce = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1).long(),
                         ignore_index=-1)
    return logits, ce, aux


# ------------------------------------------------------------------ safetensors writer
def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    dt = {np.dtype("float32"): "F32", np.dtype("int32"): "I32", np.dtype("int64"): "I64"}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        header[name] = {"dtype": dt[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hs = json.dumps(header).encode()
    hs += b" " * ((8 - (len(hs) + 8) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hs)))
        f.write(hs)
        for r in blobs:
            f.write(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, action="append",
                    help="config JSON; repeat with --out for several fixtures in one run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, action="append")
    a = ap.parse_args()
    if len(a.config) != len(a.out):
        sys.exit("torch_twin: give one --out per --config")
    torch.set_num_threads(1)
    for cfg_path, out_path in zip(a.config, a.out):
        make_fixture(json.load(open(cfg_path)), a.seed, out_path)


def make_fixture(c, seed, out_path):
    gen = torch.Generator().manual_seed(seed)
    P = init_params(c, gen)
    rot = (c["qk_rope_head_dim"] if c["attn"] == "mla" else c["head_dim"])
    tables = rope_tables(c, rot, c["n_ctx"]) if c["pos"] == "rope" else (None, None)

    # tokens: redraw until the first forward's routing has no near-ties
    for attempt in range(50):
        tokens = torch.randint(0, c["n_vocab"], (B, T), generator=gen, dtype=torch.int64)
        targets = torch.randint(0, c["n_vocab"], (B, T), generator=gen, dtype=torch.int64)
        targets[0, 3] = -1
        targets[1, 0] = -1
        targets[1, T - 1] = -1
        m = Margins()
        with torch.no_grad():
            losses_of(c, P, tokens, targets, tables, m)
        if m.min > 2e-3:
            break
    else:
        sys.exit("torch_twin: could not draw tokens without routing near-ties")

    margins = Margins()
    logits, ce, aux = losses_of(c, P, tokens, targets, tables, margins)
    total = ce + aux
    total.backward()
    out = {}
    for name, t in P.items():
        out["w." + name] = t.detach().numpy().copy()
        if t.requires_grad:
            out["g." + name] = t.grad.numpy().copy()
    out["tokens"] = tokens.int().numpy()
    out["targets"] = targets.int().numpy()
    out["logits"] = logits.detach().reshape(B * T, -1).numpy()
    out["loss"] = np.array([ce.item()], dtype=np.float32)
    out["aux_loss"] = np.array([aux.item()], dtype=np.float32)
    out["total"] = np.array([total.item()], dtype=np.float32)

    # AdamW (torch.optim.AdamW) steps on the same batch, decay only on rank >= 2
    for t in P.values():
        t.grad = None
    decay = [t for n, t in P.items() if t.requires_grad and t.dim() >= 2]
    no_decay = [t for n, t in P.items() if t.requires_grad and t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    tl, cl, al = [], [], []
    for step in range(STEPS):
        opt.zero_grad()
        _, ce, aux = losses_of(c, P, tokens, targets, tables, margins)
        (ce + aux).backward()
        tl.append((ce + aux).item()), cl.append(ce.item()), al.append(aux.item())
        opt.step()
    out["losses"] = np.array(tl, dtype=np.float32)
    out["ce_losses"] = np.array(cl, dtype=np.float32)
    out["aux_losses"] = np.array(al, dtype=np.float32)
    write_safetensors(out_path, out, {"min_margin": repr(margins.min), "seed": str(seed),
                                   "torch": torch.__version__})


if __name__ == "__main__":
    main()
