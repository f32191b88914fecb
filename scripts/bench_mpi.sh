#!/usr/bin/env bash
# Data-parallel scaling on one machine: `r1 train` tokens/s of
#   A  1 process  x 1 thread   (baseline)
#   B  1 process  x 2 threads  (shared-memory parallelism: OpenMP + oneDNN)
#   C  2 processes x 1 thread  (data parallel over MPI, gradients all-reduced every step)
# on bench-dense with the same GLOBAL batch, so every configuration does the same work per
# step. Throughput = median of the per-step tok_s of steps 3.. (the first steps warm up).
# Scaling efficiency = tok/s(C) / (2 x tok/s(A)). On a shared/loaded machine the figures are
# indicative only: rerun it on an idle one.
#
# usage: scripts/bench_mpi.sh [R1_BINARY] [STEPS] [GLOBAL_BATCH] [SEQ]
#        defaults: build/bin/r1 12 16 256    (writes bench/results/mpi.json)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
R1="$(realpath "${1:-$ROOT/build/bin/r1}")"
STEPS="${2:-12}"
GB="${3:-16}"
SEQ="${4:-256}"
MODEL="${R1_BENCH_MODEL:-bench-dense}"
command -v mpirun > /dev/null || { echo "mpirun not found (apt-get install openmpi-bin)"; exit 1; }
[ $((GB % 2)) -eq 0 ] || { echo "GLOBAL_BATCH must be even"; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
COMMON=(train --model "$MODEL" --data builtin --steps "$STEPS" --seq "$SEQ" --eval-batches 0
        --log-every 0 --no-progress --warmup 2 --json)
MPIRUN=(mpirun -np 2 --oversubscribe --allow-run-as-root --bind-to core --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS -x R1_THREADS)

median_tok_s() { python3 -c 'import json,statistics,sys
v=[json.loads(l)["tok_s"] for l in open(sys.argv[1])][2:]
print(f"{statistics.median(v):.1f}")' "$1/metrics.jsonl"; }

echo "[bench_mpi] $MODEL, global batch $GB x $SEQ, $STEPS steps" >&2
OMP_NUM_THREADS=1 R1_THREADS=1 "$R1" "${COMMON[@]}" --batch "$GB" --out "$TMP/a" > /dev/null
A=$(median_tok_s "$TMP/a"); echo "  1 process  x 1 thread : $A tok/s" >&2
OMP_NUM_THREADS=2 R1_THREADS=2 "$R1" "${COMMON[@]}" --batch "$GB" --out "$TMP/b" > /dev/null
B=$(median_tok_s "$TMP/b"); echo "  1 process  x 2 threads: $B tok/s" >&2
OMP_NUM_THREADS=1 R1_THREADS=1 "${MPIRUN[@]}" "$R1" "${COMMON[@]}" --batch $((GB / 2)) --out "$TMP/c" > /dev/null
C=$(median_tok_s "$TMP/c"); echo "  2 processes x 1 thread: $C tok/s" >&2

mkdir -p "$ROOT/bench/results"
python3 - "$A" "$B" "$C" "$MODEL" "$GB" "$SEQ" "$STEPS" "$ROOT/bench/results/mpi.json" << 'PY'
import json, sys, os
a, b, c = map(float, sys.argv[1:4])
model, gb, seq, steps, out = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
r = {"model": model, "global_batch": gb, "seq": seq, "steps": steps, "load_avg": os.getloadavg()[0],
     "tok_s_1p1t": a, "tok_s_1p2t": b, "tok_s_2p1t": c,
     "efficiency_2p_vs_2x1p": c / (2 * a), "ratio_2p1t_vs_1p2t": c / b}
json.dump(r, open(out, "w"), indent=1)
print(f"| config | tok/s |\n|---|---|\n| 1 process x 1 thread | {a:.0f} |\n| 1 process x 2 threads | {b:.0f} |\n"
      f"| 2 processes x 1 thread (MPI) | {c:.0f} |\n\nscaling efficiency 1 -> 2 processes: {100*c/(2*a):.0f}%, "
      f"2 processes vs 2 threads: {c/b:.2f}x (load average {r['load_avg']:.1f} during the run)")
PY
