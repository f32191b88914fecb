#!/usr/bin/env bash
# Does overlapping the gradient all-reduce with the backward help? 2 MPI ranks x 1 thread
# train the same model with the same data three ways, interleaved ROUNDS times (so that a
# load change on a shared machine hits every variant alike):
#   plain    --no-overlap       (all-reduce after the backward)
#   overlap  (default)          (buckets start during the last micro-batch's backward)
#   zero     --zero 1           (overlap + ZeRO-1: sharded AdamW + parameter all-gather)
# and reports, per variant, the median over rounds of the per-run medians (steps 3..) of
# tok_s and of grad_sync_s (seconds a step waits for the gradient all-reduce AFTER its
# backward: what overlap can hide). All variants log bit-identical losses.
#
# usage: scripts/bench_mpi_overlap.sh [R1_BINARY] [ROUNDS] [STEPS] [BATCH_PER_RANK] [SEQ]
#        defaults: build/bin/r1 3 10 4 256; model: R1_BENCH_MODEL (default bench-dense)
#        writes bench/results/mpi_overlap_MODEL.json
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
R1="$(realpath "${1:-$ROOT/build/bin/r1}")"
ROUNDS="${2:-3}"
STEPS="${3:-10}"
B="${4:-4}"
SEQ="${5:-256}"
MODEL="${R1_BENCH_MODEL:-bench-dense}"
command -v mpirun > /dev/null || { echo "mpirun not found (apt-get install openmpi-bin)"; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=1 R1_THREADS=1
RUN=(mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl self,vader
     --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS -x R1_THREADS
     "$R1" train --model "$MODEL" --data builtin --steps "$STEPS" --batch "$B" --seq "$SEQ"
     --eval-batches 0 --log-every 0 --no-progress --warmup 2 --json)
echo "[bench_mpi_overlap] $MODEL, 2 ranks x batch $B x $SEQ, $STEPS steps, $ROUNDS rounds" >&2
for r in $(seq 1 "$ROUNDS"); do
    "${RUN[@]}" --no-overlap --out "$TMP/plain-$r" > /dev/null
    "${RUN[@]}" --out "$TMP/overlap-$r" > /dev/null
    "${RUN[@]}" --zero 1 --out "$TMP/zero-$r" > /dev/null
    echo "  round $r done (load average $(cut -d' ' -f1 /proc/loadavg))" >&2
done
mkdir -p "$ROOT/bench/results"
python3 - "$TMP" "$ROUNDS" "$MODEL" "$B" "$SEQ" "$STEPS" "$ROOT/bench/results/mpi_overlap_$MODEL.json" << 'PY'
import json, os, statistics as st, sys
tmp, rounds, model, b, seq, steps, out = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
res = {"model": model, "ranks": 2, "batch_per_rank": int(b), "seq": int(seq), "steps": int(steps),
       "rounds": rounds, "load_avg_end": os.getloadavg()[0]}
losses = {}
print("| variant | tok/s (median) | grad_sync_s per step (median) |\n|---|---|---|")
for v in ("plain", "overlap", "zero"):
    tok, sync = [], []
    for r in range(1, rounds + 1):
        lines = [json.loads(l) for l in open(f"{tmp}/{v}-{r}/metrics.jsonl")]
        losses.setdefault(v, [l["loss"] for l in lines])
        tok.append(st.median(l["tok_s"] for l in lines[2:]))
        sync.append(st.median(l["grad_sync_s"] for l in lines[2:]))
    res[v] = {"tok_s": st.median(tok), "grad_sync_s": st.median(sync), "tok_s_runs": tok, "grad_sync_s_runs": sync}
    print(f"| {v} | {st.median(tok):.0f} | {st.median(sync) * 1000:.1f} ms |")
res["losses_identical"] = losses["plain"] == losses["overlap"] == losses["zero"]
print(f"\nlosses identical across variants: {res['losses_identical']}; load average at the end {res['load_avg_end']:.1f}")
json.dump(res, open(out, "w"), indent=1)
PY
