#!/usr/bin/python3
"""PyTorch twin of r1.cpp's GRPO policy-gradient loss (src/rl/policy_loss.h) — the oracle of
tests/golden/test_golden_grpo.cpp.

Builds the model of torch_twin.py (same config JSON, names, init) and a batch of completion
tokens with per-row advantages, aggregation weights, old and reference log-probs, then
differentiates
    logp   = log_softmax(logits)[target]           (rows with target -1 ignored)
    ratio  = exp(logp - old_logp)
    s      = min(ratio * A, clamp(ratio, 1 - eps_low, 1 + eps_high) * A)
    k3     = exp(ref_logp - logp) - (ref_logp - logp) - 1
    L      = sum_rows w * (-s + beta * k3)
(no MoE aux loss: the C++ side passes aux_scale 0). old/ref log-probs are the current ones
shifted by fixed offsets well away from the clip edges, so some rows clip and the loss is
smooth. Writes one safetensors file: w.<name>, g.<name>, tokens, targets [B, T], adv,
weight, old_logp, ref_logp, logp [B*T], loss [1], n_clipped [1]; metadata eps/beta.

usage: torch_twin_grpo.py --seed S --config cfg.json --out fixture.safetensors [...]
"""
import argparse, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torch.nn.functional as F
import torch_twin as tw

B, T = 2, 16
EPS_LOW, EPS_HIGH, BETA = 0.2, 0.28, 0.1


def make_fixture(c, seed, out_path):
    gen = torch.Generator().manual_seed(seed)
    P = tw.init_params(c, gen)
    rot = (c["qk_rope_head_dim"] if c["attn"] == "mla" else c["head_dim"])
    tables = tw.rope_tables(c, rot, c["n_ctx"]) if c["pos"] == "rope" else (None, None)
    for attempt in range(50):
        tokens = torch.randint(0, c["n_vocab"], (B, T), generator=gen, dtype=torch.int64)
        m = tw.Margins()
        with torch.no_grad():
            tw.forward(c, P, tokens, tables, m)
        if m.min > 2e-3:
            break
    else:
        sys.exit("torch_twin_grpo: could not draw tokens without routing near-ties")
    # sequence 0: prompt of 5, completion predicted by rows 4..12; sequence 1: rows 2..15
    targets = torch.full((B, T), -1, dtype=torch.int64)
    spans = [(4, 13), (2, 16)]
    adv_seq = [1.25, -0.75]
    adv = torch.zeros(B, T)
    weight = torch.zeros(B, T)
    for b, (lo, hi) in enumerate(spans):
        n = hi - lo
        for r in range(lo, hi):
            targets[b, r] = tokens[b, r + 1] if r + 1 < T else int(torch.randint(0, c["n_vocab"], (1,), generator=gen))
            adv[b, r] = adv_seq[b]
            weight[b, r] = 1.0 / (B * n)          # per-sequence mean, then mean (GRPO)
    mask = targets >= 0
    offs = torch.tensor([-0.6, -0.1, 0.0, 0.1, 0.6])
    old_off = offs[torch.randint(0, 5, (B, T), generator=gen)]
    ref_off = offs[torch.randint(0, 5, (B, T), generator=gen)]

    margins = tw.Margins()
    logits, _aux = tw.forward(c, P, tokens, tables, margins)
    lsm = F.log_softmax(logits, dim=-1)
    logp = lsm.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    logp = torch.where(mask, logp, torch.zeros_like(logp))
    old = (logp.detach() + old_off) * mask
    ref = (logp.detach() + ref_off) * mask
    ratio = torch.exp(logp - old)
    s = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - EPS_LOW, 1 + EPS_HIGH) * adv)
    d = ref - logp
    k3 = torch.exp(d) - d - 1
    loss = (weight * (-s + BETA * k3) * mask).sum()
    loss.backward()
    clipped = ((adv >= 0) & (ratio > 1 + EPS_HIGH)) | ((adv < 0) & (ratio < 1 - EPS_LOW))
    out = {}
    for name, t in P.items():
        out["w." + name] = t.detach().numpy().copy()
        if t.requires_grad:
            out["g." + name] = t.grad.numpy().copy()
    out["tokens"] = tokens.int().numpy()
    out["targets"] = targets.int().numpy()
    out["adv"] = adv.reshape(-1).numpy().astype(np.float32)
    out["weight"] = weight.reshape(-1).numpy().astype(np.float32)
    out["old_logp"] = old.reshape(-1).numpy().astype(np.float32)
    out["ref_logp"] = ref.reshape(-1).numpy().astype(np.float32)
    out["logp"] = logp.detach().reshape(-1).numpy().astype(np.float32)
    out["loss"] = np.array([loss.item()], dtype=np.float32)
    out["n_clipped"] = np.array([int((clipped & mask).sum())], dtype=np.int32)
    tw.write_safetensors(out_path, out, {"eps_low": repr(EPS_LOW), "eps_high": repr(EPS_HIGH),
                                         "beta": repr(BETA), "min_margin": repr(margins.min),
                                         "seed": str(seed), "torch": torch.__version__})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, action="append")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, action="append")
    a = ap.parse_args()
    if len(a.config) != len(a.out):
        sys.exit("torch_twin_grpo: give one --out per --config")
    torch.set_num_threads(1)
    for cfg_path, out_path in zip(a.config, a.out):
        make_fixture(json.load(open(cfg_path)), a.seed, out_path)


if __name__ == "__main__":
    main()
