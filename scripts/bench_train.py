#!/usr/bin/python3
"""Side-by-side training throughput: r1.cpp vs PyTorch on the same configs and thread count.

usage: scripts/bench_train.py [--r1 build/bin/r1] [--reps 3] [--threads 2] [--configs dense,moe]

Runs the two engines alternately (A B A B ...) so machine noise hits both alike, takes the
median tokens/s of each, prints a markdown table and writes bench/results/train.json.
The PyTorch peer is ../shared/peers/torch_train.py (identical model, batch 16 x 256).
"""
import argparse, json, os, pathlib, statistics, subprocess, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEER = ROOT.parent / "shared" / "peers" / "torch_train.py"


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--r1", default=str(ROOT / "build" / "bin" / "r1"))
    ap.add_argument("--peer", default=str(PEER))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default="dense,moe")
    a = ap.parse_args()
    rows = []
    for cfg in a.configs.split(","):
        ours, theirs, last = [], [], None
        for rep in range(a.reps):
            r = run_json([a.r1, "bench", "train", "--config", cfg, "--threads", str(a.threads), "--json"])
            p = run_json(["/usr/bin/python3", a.peer, cfg, "--threads", str(a.threads)])
            ours.append(r["tok_s"]); theirs.append(p["tok_s"]); last = (r, p)
            print(f"[{cfg} rep {rep+1}/{a.reps}] r1.cpp {r['tok_s']:.0f} tok/s   pytorch {p['tok_s']:.0f} tok/s", file=sys.stderr)
        r, p = last
        rows.append({"config": cfg, "params_r1": r["params"], "params_torch": p["params"],
                     "r1_tok_s": statistics.median(ours), "torch_tok_s": statistics.median(theirs),
                     "ratio": statistics.median(ours) / statistics.median(theirs),
                     "r1_mfu": r["mfu"], "gemm_peak_gflops": r["gemm_peak_gflops"],
                     "r1_all": ours, "torch_all": theirs, "torch_version": p["engine"]})
    print("| config | params | r1.cpp tok/s | PyTorch tok/s | ratio | r1.cpp MFU |")
    print("|---|---|---|---|---|---|")
    for x in rows:
        print(f"| {x['config']} | {x['params_r1']:,} | {x['r1_tok_s']:,.0f} | {x['torch_tok_s']:,.0f} | "
              f"{x['ratio']:.2f}x | {100*x['r1_mfu']:.0f}% |")
    out = ROOT / "bench" / "results"; out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps({"threads": a.threads, "reps": a.reps, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
