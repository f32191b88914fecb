#!/usr/bin/env python3
"""PyTorch oracle for ops/lm_head_kd (tests/unit/test_ops_lm_head_kd.cpp runs it).

Reads IN.json {"cases": [{N, C, V, h, W, T, targets, mode, alpha, tau, grad_scale}, ...]};
for each case computes
    L = grad_scale * sum_r [(1-alpha) CE_r + alpha tau^2 KL_r]   (rows with target >= 0)
with F.cross_entropy and F.kl_div (forward: KL(p_teacher || q_student), reverse:
KL(q || p)) in float64, differentiates with autograd and writes OUT.json
{"results": [{loss, kl_sum, dh, dW}, ...]} (one torch start-up for all cases).
Usage: /usr/bin/python3 scripts/kd_torch_check.py IN.json OUT.json   (exit 77: no torch)
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(77)  # the C++ test skips


def run(a):
    N, C, V = a["N"], a["C"], a["V"]
    h = torch.tensor(a["h"], dtype=torch.float64).view(N, C).requires_grad_()
    W = torch.tensor(a["W"], dtype=torch.float64).view(V, C).requires_grad_()
    T = torch.tensor(a["T"], dtype=torch.float64).view(N, V)
    tg = torch.tensor(a["targets"], dtype=torch.long)
    alpha, tau, gs = a["alpha"], a["tau"], a["grad_scale"]
    keep = tg >= 0
    z = (h @ W.t())[keep]
    t = T[keep]
    ce = F.cross_entropy(z, tg[keep], reduction="sum")
    logq = F.log_softmax(z / tau, dim=-1)
    logp = F.log_softmax(t / tau, dim=-1)
    if a["mode"] == "forward":   # KL(p || q): kl_div(input=log q, target=log p)
        kl = F.kl_div(logq, logp, reduction="sum", log_target=True)
    else:                        # KL(q || p)
        kl = F.kl_div(logp, logq, reduction="sum", log_target=True)
    loss = gs * ((1 - alpha) * ce + alpha * tau * tau * kl)
    loss.backward()
    return {"loss": loss.item(), "kl_sum": kl.item(),
            "dh": h.grad.flatten().tolist(), "dW": W.grad.flatten().tolist()}


def main():
    cases = json.load(open(sys.argv[1]))["cases"]
    json.dump({"results": [run(a) for a in cases]}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
