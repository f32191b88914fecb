#!/usr/bin/python3
"""Communication volume of expert parallelism (EP) for a DeepSeek-V3-scale MoE, per step.

On paper: one machine cannot show it. The model of the traffic (docs/distributed.md):
  * every MoE layer sends each token's hidden state to the GPUs holding its top-k routed
    experts (dispatch) and brings the k weighted outputs back (combine);
  * node-limited routing (DeepSeek-V3 §2.1.2, M = 4): a token's experts lie on at most M
    nodes; it crosses the inter-node network (IB) once per target node other than its own,
    then is forwarded to the expert GPUs inside that node over NVLink;
  * dispatch in FP8 (1 byte/element + one fp32 scale per 128 elements), combine in BF16;
    the backward pass moves the same volumes again (grad of combine = a dispatch, grad of
    dispatch = a combine, both BF16);
  * with a capacity factor CF (fixed-size receive buffers, GShard/Switch style) the bytes
    actually moved are padded to CF x the mean load; DeepSeek-V3 drops no tokens (CF = none),
    then volume = the routed tokens and buffers are sized per step.
Also prints the data-parallel gradient all-reduce (ring: 2(N-1)/N x bytes per rank) of the
non-expert parameters for comparison, and the time each takes at the given bandwidths next
to the compute time of the step (6 x active params x tokens / achieved FLOP/s), which is
what must hide the communication (DualPipe-style overlap).

usage: scripts/ep_comm_volume.py [--nodes 256 --gpus-per-node 8 --ep 64 ...] [--json]
defaults: DeepSeek-V3 (61 layers, first 3 dense, 256 routed experts top-8, 1 shared,
hidden 7168, 37B active) on 2048 H800 GPUs, 4096-token sequences, 15360 sequences per step.
"""
import argparse, json, math


def expected_remote_nodes(n_nodes, k, m_limit):
    """Expected number of distinct target nodes other than the token's own.

    Experts uniform over the EP group's nodes. Node-limited routing first picks m_limit
    nodes, then the k experts among theirs: k uniform picks over m = min(m_limit, n_nodes)
    nodes cover m(1 - (1 - 1/m)^k) of them on average (unrestricted: m = n_nodes)."""
    if n_nodes <= 1:
        return 0.0
    m = min(m_limit, n_nodes) if m_limit and m_limit > 0 else n_nodes
    targets = m * (1 - (1 - 1 / m) ** k)
    # each target node is the token's own with probability 1/n_nodes
    return targets * (1 - 1 / n_nodes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=256)
    ap.add_argument("--gpus-per-node", type=int, default=8)
    ap.add_argument("--ep", type=int, default=64, help="expert-parallel group size (GPUs)")
    ap.add_argument("--pp", type=int, default=16, help="pipeline stages (V3: 16)")
    ap.add_argument("--layers-moe", type=int, default=58)
    ap.add_argument("--hidden", type=int, default=7168)
    ap.add_argument("--experts", type=int, default=256)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--node-limit", type=int, default=4, help="M of node-limited routing (0 = off)")
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=15360, help="sequences per optimiser step (global)")
    ap.add_argument("--dispatch-bytes", type=float, default=1.0, help="bytes/element (FP8 = 1)")
    ap.add_argument("--combine-bytes", type=float, default=2.0, help="bytes/element (BF16 = 2)")
    ap.add_argument("--capacity-factor", type=float, default=0.0, help="0 = no token dropping / padding")
    ap.add_argument("--active-params", type=float, default=37e9)
    ap.add_argument("--dense-params", type=float, default=0.0,
                    help="params all-reduced by data parallelism (default: active minus routed experts)")
    ap.add_argument("--ib-gbs", type=float, default=50.0, help="IB GB/s per GPU (400 Gb/s NIC)")
    ap.add_argument("--nvlink-gbs", type=float, default=160.0, help="NVLink GB/s per GPU (H800 effective)")
    ap.add_argument("--tflops", type=float, default=400.0, help="achieved TFLOP/s per GPU (BF16/FP8 mix)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    gpus = a.nodes * a.gpus_per_node
    assert gpus % a.ep == 0, "--ep must divide the GPU count"
    ep_nodes = max(1, a.ep // a.gpus_per_node)
    tokens = a.batch * a.seq
    tokens_per_gpu = tokens / gpus
    C = a.hidden
    # FP8 dispatch carries one fp32 scale per 128 elements
    disp_row = C * a.dispatch_bytes + (math.ceil(C / 128) * 4 if a.dispatch_bytes < 2 else 0)
    comb_row = C * a.combine_bytes
    grad_row = C * 2.0  # backward: BF16 both ways
    pad = a.capacity_factor if a.capacity_factor > 0 else 1.0

    remote = expected_remote_nodes(ep_nodes, a.top_k, a.node_limit)
    # NVLink: the k expert copies inside the target nodes (the GPU receiving from IB forwards
    # to the others) — upper bound k copies, minus the one that lands on the receiver itself
    nvl_copies = a.top_k * (1 - 1 / a.gpus_per_node)
    per_token_ib = remote * (disp_row + comb_row + 2 * grad_row) * pad
    per_token_nvl = nvl_copies * (disp_row + comb_row + 2 * grad_row) * pad
    ib = per_token_ib * tokens_per_gpu * a.layers_moe
    nvl = per_token_nvl * tokens_per_gpu * a.layers_moe

    routed_params = a.layers_moe * a.experts * 3 * C * 2048  # V3: expert FF dim 2048
    dense = a.dense_params if a.dense_params > 0 else max(0.0, a.active_params - a.layers_moe * a.top_k * 3 * C * 2048)
    # Gradient all-reduce (ring: 2(n-1)/n x bytes per rank; ZeRO-1 = reduce-scatter +
    # all-gather, the same bytes), BF16. Each GPU holds 1/pp of the layers: the non-expert
    # part replicated over the gpus/pp data-parallel ranks, its routed experts (1/ep of a
    # stage's) replicated over gpus/(pp*ep) ranks.
    ring = lambda n, b: 2 * (n - 1) / n * b if n > 1 else 0.0
    dp_ranks = gpus // a.pp
    assert gpus % (a.pp * a.ep) == 0, "--pp x --ep must divide the GPU count"
    ar = ring(dp_ranks, dense / a.pp * 2) + ring(gpus // (a.pp * a.ep), routed_params / (a.pp * a.ep) * 2)
    flops = 6 * a.active_params * tokens_per_gpu
    r = {
        "gpus": gpus, "ep": a.ep, "ep_nodes": ep_nodes, "tokens_per_step": tokens,
        "tokens_per_gpu": tokens_per_gpu, "remote_nodes_per_token": remote,
        "ib_bytes_per_gpu": ib, "nvlink_bytes_per_gpu": nvl,
        "ib_seconds": ib / (a.ib_gbs * 1e9), "nvlink_seconds": nvl / (a.nvlink_gbs * 1e9),
        "dp_allreduce_bytes_per_gpu": ar, "dp_allreduce_seconds": ar / (a.ib_gbs * 1e9),
        "compute_seconds": flops / (a.tflops * 1e12),
        "routed_expert_params": routed_params,
    }
    no_limit = expected_remote_nodes(ep_nodes, a.top_k, 0)
    r["ib_bytes_per_gpu_without_node_limit"] = ib / remote * no_limit if remote else 0.0
    if a.json:
        print(json.dumps(r, indent=1))
        return
    G = 1e9
    print(f"cluster: {a.nodes} nodes x {a.gpus_per_node} GPUs = {gpus}; EP {a.ep} ({ep_nodes} nodes), "
          f"PP {a.pp}, DP {dp_ranks} (experts: {gpus // (a.pp * a.ep)}); {tokens/1e6:.1f}M tokens/step = {tokens_per_gpu:,.0f} per GPU")
    print(f"per token per MoE layer: dispatch {disp_row/1024:.1f} KiB (FP8+scales), combine "
          f"{comb_row/1024:.1f} KiB (BF16), backward 2 x {grad_row/1024:.1f} KiB; capacity pad x{pad:g}")
    print(f"remote nodes per token: {remote:.2f} with node limit M={a.node_limit} "
          f"({no_limit:.2f} without); NVLink copies {nvl_copies:.2f}")
    print(f"per GPU per step ({a.layers_moe} MoE layers, fwd+bwd):")
    print(f"  IB     {ib/G:9.1f} GB  -> {r['ib_seconds']:7.1f} s at {a.ib_gbs:g} GB/s"
          f"   (without node limit: {r['ib_bytes_per_gpu_without_node_limit']/G:.1f} GB)")
    print(f"  NVLink {nvl/G:9.1f} GB  -> {r['nvlink_seconds']:7.1f} s at {a.nvlink_gbs:g} GB/s")
    print(f"  DP gradient all-reduce ({dense/1e9:.1f}B non-expert + {routed_params/1e9:.0f}B routed params, BF16): "
          f"{ar/G:.2f} GB -> {r['dp_allreduce_seconds']:.2f} s")
    print(f"  compute {r['compute_seconds']:.1f} s at {a.tflops:g} TFLOP/s "
          f"(6 x {a.active_params/1e9:.0f}B active x tokens): "
          f"IB / compute = {r['ib_seconds']/r['compute_seconds']:.2f}")


if __name__ == "__main__":
    main()
