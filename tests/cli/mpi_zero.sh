#!/usr/bin/env bash
# ZeRO-1 and the overlapped gradient all-reduce of data-parallel `r1 train`
# (docs/distributed.md). Checks:
#  1. 2 ranks, --accum 2 (only the last micro-batch overlaps): --no-overlap --zero 0 and the
#     default overlapped all-reduce with --zero 1 log IDENTICAL losses, grad norms, eval
#     losses and MoE imbalance (same bucket sums, same per-element AdamW maths), and the
#     1 rank x 2B losses within float tolerance; --zero 1 reports the halved AdamW state in
#     its startup line (overlap alone vs not, bit for bit: tests/unit/test_dist.cpp);
#  2. 3 ranks on a model whose size is not divisible by 3 (uneven slices + the tail
#     broadcast): --zero 1 == --zero 0 exactly, weights in sync on every step (--check-sync);
#  3. checkpoints: rank 0 of a --zero 1 run writes the same tensors (w, m, v), step, data
#     cursor and AdamW t as a --zero 0 run; it resumes on 1 rank without ZeRO with exactly
#     the losses the --zero 0 checkpoint resumes with (and, within float tolerance, those of
#     the uninterrupted 2-rank run); a 1-rank checkpoint resumes on 2 ranks with --zero 1
#     exactly as with --zero 0.
# Skips (exit 77 = ctest "Skipped", with a message) only when mpirun is absent or r1 was built without MPI.
# Usage: mpi_zero.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$(realpath "$1")"
DIR="$2"
source "$(dirname "$0")/lib/mpi_prelude.sh"
mpi() {   # mpi NP r1-args...
    local np="$1"
    shift
    mpirun -np "$np" "${MPI_FLAGS[@]}" "$R1" "$@"
}

# compare A B TOL [FIRST_STEP]: same steps (from FIRST_STEP on); TOL 0 = bit-identical numbers
compare() { python3 - "$@" << 'PY'
import json, sys
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
a = [j for j in map(json.loads, open(sys.argv[1])) if j["step"] >= first]
b = [j for j in map(json.loads, open(sys.argv[2])) if j["step"] >= first]
tol = float(sys.argv[3])
assert a and [x["step"] for x in a] == [x["step"] for x in b], "steps differ"
worst = 0.0
for x, y in zip(a, b):
    for k in ("loss", "eval_loss", "imbalance", "grad_norm"):
        if k in x and k in y:   # eval_loss: only at the end of each run
            d = abs(x[k] - y[k]) / max(1.0, abs(x[k]))
            worst = max(worst, d)
            if (tol == 0 and x[k] != y[k]) or d > tol:
                sys.exit(f"FAIL: {sys.argv[1]} vs {sys.argv[2]}: step {x['step']} {k}: "
                         f"{x[k]!r} vs {y[k]!r} (tolerance {tol})")
print(f"  {len(a)} steps agree" + (" bit for bit" if tol == 0 else f", worst relative difference {worst:.2e}"))
PY
}
# same_ckpt A B: every tensor, the step, the data cursor and AdamW t are identical
same_ckpt() { python3 - "$1" "$2" << 'PY'
import json, sys
def load(p):
    b = open(p, "rb").read()
    hl = int.from_bytes(b[16:24], "little")
    h = json.loads(b[32:32 + hl])
    ds = (32 + hl + 63) // 64 * 64
    t = {e["name"]: b[ds + e["offset"]: ds + e["offset"] + e["nbytes"]] for e in h["tensors"]}
    return h, t
(ha, ta), (hb, tb) = load(sys.argv[1]), load(sys.argv[2])
assert sorted(ta) == sorted(tb), "tensor names differ"
assert any(n.startswith("m/") for n in ta), "no optimizer state"
bad = [n for n in ta if ta[n] != tb[n]]
if bad: sys.exit(f"FAIL: tensors differ: {bad[:5]}")
for k in ("step", "data", "rng", "model"):
    if ha[k] != hb[k]: sys.exit(f"FAIL: {k} differs")
if ha["adamw"] != hb["adamw"]: sys.exit("FAIL: adamw differs")
print(f"  {len(ta)} tensors, step, data cursor, RNG and AdamW t identical")
PY
}

COMMON=(--data builtin --seq 32 --log-every 0 --no-progress --seed 11 --lr 3e-3
        --schedule constant --warmup 0)

echo "== tiny-moe, accum 2: 2 ranks --no-overlap vs overlapped + --zero 1, and 1 rank x 2B"
M=(--model tiny-moe "${COMMON[@]}" --accum 2)
"$R1" train "${M[@]}" --steps 4 --batch 4 --eval-batches 2 --out "$DIR/one" > /dev/null
mpi 2 train "${M[@]}" --steps 4 --batch 2 --eval-batches 2 --no-overlap --out "$DIR/plain" \
    > "$DIR/plain.log" 2>&1 || { cat "$DIR/plain.log"; exit 1; }
mpi 2 train "${M[@]}" --steps 4 --batch 2 --eval-batches 2 --zero 1 --check-sync --out "$DIR/zero" \
    > "$DIR/zero.log" 2>&1 || { cat "$DIR/zero.log"; exit 1; }
grep -q "all-reduce after the backward" "$DIR/plain.log" || { cat "$DIR/plain.log"; echo "FAIL: startup line"; exit 1; }
grep -q "all-reduce overlapped with the backward" "$DIR/zero.log" || { cat "$DIR/zero.log"; echo "FAIL: startup line"; exit 1; }
# tiny-moe: 1159320 params -> m + v = 8 x 1159320 bytes unsharded, half of it per rank
grep -q "ZeRO-1: AdamW state 4637280 bytes per rank (.*9274560 bytes.*without ZeRO)" "$DIR/zero.log" ||
    { cat "$DIR/zero.log"; echo "FAIL: ZeRO startup line lacks the per-rank optimiser bytes"; exit 1; }
grep -q '"grad_sync_s"' "$DIR/zero/metrics.jsonl" || { echo "FAIL: metrics lack grad_sync_s"; exit 1; }
compare "$DIR/plain/metrics.jsonl" "$DIR/zero/metrics.jsonl" 0
compare "$DIR/one/metrics.jsonl" "$DIR/zero/metrics.jsonl" 2e-3

echo "== tiny-dense on 3 ranks (828544 params = 3 x 276181 + 1): --zero 1 == --zero 0  [${SECONDS}s]"
D=(--model tiny-dense "${COMMON[@]}" --steps 3 --batch 1 --eval-batches 1 --check-sync)
mpi 3 train "${D[@]}" --out "$DIR/d3" > "$DIR/d3.log" 2>&1 || { cat "$DIR/d3.log"; exit 1; }
mpi 3 train "${D[@]}" --zero 1 --out "$DIR/d3z" > "$DIR/d3z.log" 2>&1 || { cat "$DIR/d3z.log"; exit 1; }
# largest slice 276182 floats x 8 bytes
grep -q "ZeRO-1: AdamW state 2209456 bytes per rank" "$DIR/d3z.log" || { cat "$DIR/d3z.log"; echo "FAIL: uneven slice bytes"; exit 1; }
compare "$DIR/d3/metrics.jsonl" "$DIR/d3z/metrics.jsonl" 0

echo "== checkpoints: ZeRO writes the unsharded format and resumes anywhere  [${SECONDS}s]"
# (constant schedule: a 2-step run is the prefix of the 4-step runs above)
K=("${M[@]}" --steps 2 --eval-batches 0)
mpi 2 train "${K[@]}" --batch 2 --zero 1 --out "$DIR/ck-z" > "$DIR/ck-z.log" 2>&1 ||
    { cat "$DIR/ck-z.log"; exit 1; }
mpi 2 train "${K[@]}" --batch 2 --out "$DIR/ck-p" > "$DIR/ck-p.log" 2>&1 ||
    { cat "$DIR/ck-p.log"; exit 1; }
same_ckpt "$DIR/ck-z/ckpt.r1" "$DIR/ck-p/ckpt.r1"
"$R1" train --out "$DIR/ck-z" --resume --steps 4 --json > "$DIR/ck-z-resume.json"
grep -q '"start_step":2,' "$DIR/ck-z-resume.json" || { cat "$DIR/ck-z-resume.json"; echo "FAIL: resume start"; exit 1; }
"$R1" train --out "$DIR/ck-p" --resume --steps 4 --json > /dev/null
echo "  ZeRO checkpoint on 1 rank without ZeRO vs the plain checkpoint on 1 rank:"
compare "$DIR/ck-p/metrics.jsonl" "$DIR/ck-z/metrics.jsonl" 0
echo "  vs the uninterrupted 2-rank ZeRO run (steps 3-4):"
compare "$DIR/zero/metrics.jsonl" "$DIR/ck-z/metrics.jsonl" 2e-3 3
"$R1" train "${K[@]}" --batch 4 --out "$DIR/one-a" > /dev/null
cp -r "$DIR/one-a" "$DIR/one-b"
mpi 2 train --out "$DIR/one-a" --resume --steps 4 --zero 1 --check-sync --json > "$DIR/one-a.log" 2>&1 ||
    { cat "$DIR/one-a.log"; exit 1; }
grep -q '"optimizer_state_bytes_per_rank":4637280,' "$DIR/one-a.log" ||
    { cat "$DIR/one-a.log"; echo "FAIL: --json lacks the sharded optimiser bytes"; exit 1; }
mpi 2 train --out "$DIR/one-b" --resume --steps 4 > "$DIR/one-b.log" 2>&1 ||
    { cat "$DIR/one-b.log"; exit 1; }
echo "  a 1-rank checkpoint resumed on 2 ranks with --zero 1 vs without:"
compare "$DIR/one-b/metrics.jsonl" "$DIR/one-a/metrics.jsonl" 0 3
echo "PASS: mpi_zero (${SECONDS}s)"
