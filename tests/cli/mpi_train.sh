#!/usr/bin/env bash
# Data-parallel `r1 train` under mpirun (docs/distributed.md). Checks:
#  1. 2 ranks x batch B log the same losses as 1 rank x batch 2B (float tolerance: only the
#     summation order of the gradients differs), for a dense and an MoE model, with the
#     weight-hash check (--check-sync) on every step;
#  2. a checkpoint written by 2 ranks resumes on 1 rank (global batch kept) and continues
#     the single-process run;
#  3. SIGTERM to ONE rank stops every rank after the same step with one checkpoint (exit 130);
#  4. a rank killed with SIGKILL takes the job down (non-zero exit, no hang);
#  5. a rank that stops answering (SIGSTOP) makes the others fail with the collective
#     timeout error (--dist-timeout) instead of hanging.
# (r1 grpo / r1 distill under mpirun: tests/cli/mpi_grpo.sh.)
# Skips (exit 77 = ctest "Skipped", with a message) only when mpirun is absent or r1 was built without MPI.
# Usage: mpi_train.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$(realpath "$1")"
DIR="$2"
source "$(dirname "$0")/lib/mpi_prelude.sh"

COMMON=(--data builtin --seq 32 --eval-batches 2 --log-every 0 --no-progress --seed 11
        --lr 3e-3 --warmup 2)

# "step loss" lines of a metrics file
losses() { python3 -c 'import json,sys
for l in open(sys.argv[1]): j=json.loads(l); print(j["step"], repr(j["loss"]), j.get("eval_loss",""), j.get("ranks",1))' "$1"; }

# compare A B TOL: same steps, |loss_a - loss_b| <= TOL * max(1, |loss_a|), eval too
compare() { python3 - "$1" "$2" "$3" << 'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
tol = float(sys.argv[3])
assert [x["step"] for x in a] == [x["step"] for x in b], "steps differ"
worst = 0.0
for x, y in zip(a, b):
    for k in ("loss", "eval_loss", "imbalance"):
        if k in x or k in y:
            d = abs(x[k] - y[k]) / max(1.0, abs(x[k]))
            worst = max(worst, d)
            if d > tol:
                sys.exit(f"FAIL: step {x['step']} {k}: {x[k]} vs {y[k]} (tolerance {tol})")
print(f"  {len(a)} steps agree, worst relative difference {worst:.2e}")
PY
}

for model in tiny-dense tiny-moe; do
    echo "== $model: 1 rank x batch 4 vs 2 ranks x batch 2"
    "$R1" train --model "$model" "${COMMON[@]}" --steps 4 --batch 4 --out "$DIR/$model-1" > /dev/null
    "${MPIRUN[@]}" "$R1" train --model "$model" "${COMMON[@]}" --steps 4 --batch 2 --check-sync \
        --out "$DIR/$model-2" > "$DIR/$model-2.log" 2>&1 || { cat "$DIR/$model-2.log"; exit 1; }
    grep -q '"ranks":2' "$DIR/$model-2/metrics.jsonl" || { echo "FAIL: metrics lack ranks"; exit 1; }
    [ "$(wc -l < "$DIR/$model-2/metrics.jsonl")" -eq 4 ] || { echo "FAIL: expected 4 metric lines (rank 0 only)"; exit 1; }
    losses "$DIR/$model-2/metrics.jsonl" | sed 's/^/  /'
    compare "$DIR/$model-1/metrics.jsonl" "$DIR/$model-2/metrics.jsonl" 2e-3
done

echo "== a 2-rank checkpoint resumes on 1 rank  [${SECONDS}s]"
CONST=(--model tiny-moe --data builtin --seq 32 --eval-batches 0 --log-every 0 --no-progress
       --seed 5 --lr 2e-3 --schedule constant --warmup 0)
"$R1" train "${CONST[@]}" --steps 4 --batch 4 --out "$DIR/ref6" > /dev/null
"${MPIRUN[@]}" "$R1" train "${CONST[@]}" --steps 2 --batch 2 --out "$DIR/mixed" > "$DIR/mixed.log" 2>&1 ||
    { cat "$DIR/mixed.log"; exit 1; }
"$R1" train --out "$DIR/mixed" --resume --steps 4 --json > "$DIR/mixed-resume.json"
grep -q '"start_step":2,' "$DIR/mixed-resume.json" || { cat "$DIR/mixed-resume.json"; echo "FAIL: resume start"; exit 1; }
compare "$DIR/ref6/metrics.jsonl" "$DIR/mixed/metrics.jsonl" 2e-3

# waits until FILE has >= N lines (or the pid is gone)
wait_lines() {
    for _ in $(seq 1 1200); do
        [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
        kill -0 "$3" 2> /dev/null || return 1
        sleep 0.05
    done
    return 1
}
# waits up to $2 s for pid $1 to exit; returns 1 on timeout
wait_exit() {
    for _ in $(seq 1 $(($2 * 10))); do
        kill -0 "$1" 2> /dev/null || return 0
        sleep 0.1
    done
    return 1
}
LONG=(--model tiny-dense --data builtin --seq 16 --batch 1 --steps 100000 --eval-batches 0
      --log-every 0 --no-progress --seed 3)

echo "== SIGTERM to rank 1 only: every rank stops after the same step, one checkpoint  [${SECONDS}s]"
"${MPIRUN[@]}" "$R1" train "${LONG[@]}" --out "$DIR/term" > "$DIR/term.log" 2>&1 &
mp=$!
wait_lines "$DIR/term/metrics.jsonl" 3 "$mp" || { cat "$DIR/term.log"; echo "FAIL: run did not start"; exit 1; }
kill -TERM "$(rank_pid "$mp" 1)"
if ! wait_exit "$mp" 60; then kill -9 "$mp"; echo "FAIL: not stopped 60 s after SIGTERM"; exit 1; fi
set +e; wait "$mp"; rc=$?; set -e
cat "$DIR/term.log" | grep -v '^$' | head -5 | sed 's/^/  /'
[ "$rc" -ne 0 ] || { echo "FAIL: interrupted job exited 0"; exit 1; }
[ -f "$DIR/term/ckpt.r1" ] || { echo "FAIL: no checkpoint after SIGTERM"; exit 1; }
last=$(tail -1 "$DIR/term/metrics.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])')
"$R1" train --out "$DIR/term" --resume --steps "$((last + 2))" --json > "$DIR/term-resume.json"
grep -q "\"start_step\":$last," "$DIR/term-resume.json" ||
    { cat "$DIR/term-resume.json"; echo "FAIL: the checkpoint is not at the last logged step $last"; exit 1; }
echo "  stopped at step $last (rc $rc), checkpoint resumes there"

echo "== SIGKILL of rank 1: the job ends with an error, no hang  [${SECONDS}s]"
"${MPIRUN[@]}" "$R1" train "${LONG[@]}" --out "$DIR/kill" > "$DIR/kill.log" 2>&1 &
mp=$!
wait_lines "$DIR/kill/metrics.jsonl" 2 "$mp" || { cat "$DIR/kill.log"; echo "FAIL: run did not start"; exit 1; }
kill -9 "$(rank_pid "$mp" 1)"
if ! wait_exit "$mp" 60; then kill -9 "$mp"; echo "FAIL: job still running 60 s after a rank was killed"; exit 1; fi
set +e; wait "$mp"; rc=$?; set -e
[ "$rc" -ne 0 ] || { cat "$DIR/kill.log"; echo "FAIL: job exited 0 after a rank was killed"; exit 1; }
grep -q "exited on signal 9\|killed\|Killed" "$DIR/kill.log" || { cat "$DIR/kill.log"; echo "FAIL: no clear message"; exit 1; }
grep -i "signal 9\|killed" "$DIR/kill.log" | head -2 | sed 's/^/  /'

echo "== SIGSTOP of rank 1: the others fail with the collective timeout  [${SECONDS}s]"
"${MPIRUN[@]}" "$R1" train "${LONG[@]}" --dist-timeout 6 --out "$DIR/stop" > "$DIR/stop.log" 2>&1 &
mp=$!
wait_lines "$DIR/stop/metrics.jsonl" 2 "$mp" || { cat "$DIR/stop.log"; echo "FAIL: run did not start"; exit 1; }
sp=$(rank_pid "$mp" 1)
kill -STOP "$sp"
if ! wait_exit "$mp" 60; then kill -9 "$sp" "$mp"; echo "FAIL: job still running 60 s after a rank stopped"; exit 1; fi
kill -9 "$sp" 2> /dev/null || true
set +e; wait "$mp"; rc=$?; set -e
[ "$rc" -ne 0 ] || { cat "$DIR/stop.log"; echo "FAIL: job exited 0"; exit 1; }
grep -q "did not complete within 6 s" "$DIR/stop.log" || { cat "$DIR/stop.log"; echo "FAIL: no timeout message"; exit 1; }
grep "did not complete" "$DIR/stop.log" | head -1 | sed 's/^/  /'
echo "PASS: mpi_train (${SECONDS}s)"
