#!/usr/bin/env bash
# Data-parallel `r1 grpo` under mpirun (docs/distributed.md, docs/grpo.md). From a tiny-moe
# base trained here (MoE: the selection-bias update runs on the load summed over ranks):
#  1. 2 ranks x P/2 prompts vs 1 rank x P prompts, 3 steps, for GRPO's per-sequence loss
#     (2 mini-batches), DAPO's token-level loss with dynamic sampling and the overlong
#     filter (extra rounds of fresh problems, split over the ranks too), and beta > 0 (a
#     reference per rank, 2 inner epochs): the rollout metrics (reward_mean, accuracy,
#     lengths, ...) are EQUAL (same rollouts: sampler seeds hash the global problem index),
#     loss / grad_norm / kl / entropy agree within 1e-4 relative (only the summation order of
#     the gradients differs), --check-sync finds identical weights + AdamW state on both
#     ranks after every step, and rank 0 wrote one metrics line per step with "ranks": 2;
#  2. a checkpoint written by 2 ranks resumes on 1 rank and continues the 1-rank run;
#  3. SIGTERM to one rank stops both after the same step with a resumable checkpoint.
# Skips (exit 77 = ctest "Skipped", with a message) only when mpirun is absent or r1 was built without MPI.
# Usage: mpi_grpo.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$(realpath "$1")"
DIR="$2"
source "$(dirname "$0")/lib/mpi_prelude.sh"

"$R1" train --model tiny-moe --data builtin --steps 120 --batch 8 --seq 96 --lr 3e-3 \
    --eval-batches 0 --log-every 0 --no-progress --out "$DIR/base" > /dev/null
COMMON=(--init "$DIR/base/ckpt.r1" --task arithmetic --group 4 --max-tokens 40 --seed 5
        --no-progress --log-every 0 --lr 1e-3)

# compare A B: same steps; rollout metrics equal; optimisation metrics within 1e-4 relative
compare() { python3 - "$1" "$2" << 'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [x["step"] for x in a] == [x["step"] for x in b], f"steps differ: {sys.argv[1:]}"
exact = ("reward_mean", "reward_std", "accuracy", "format_rate", "response_len_mean",
         "response_len_max", "zero_var_frac", "reflection_rate", "truncated_frac",
         "groups_trained", "rollouts", "lr")
close = ("loss", "grad_norm", "kl", "entropy", "clip_frac")
worst = 0.0
for x, y in zip(a, b):
    for k in exact:
        if x[k] != y[k]:
            sys.exit(f"FAIL: step {x['step']} {k}: {x[k]} vs {y[k]} (must be equal: same rollouts)")
    for k in close:
        d = abs(x[k] - y[k]) / max(abs(x[k]), abs(y[k]), 1e-3)
        worst = max(worst, d)
        if d > 1e-4:
            sys.exit(f"FAIL: step {x['step']} {k}: {x[k]} vs {y[k]} (tolerance 1e-4 relative)")
print(f"  {len(a)} steps: rollout metrics equal, loss/grad_norm/kl/entropy worst relative "
      f"difference {worst:.1e}; rewards {[round(x['reward_mean'], 4) for x in a]}")
PY
}

run_pair() {  # NAME ARGS...: 1 rank vs 2 ranks, 3 steps
    local name="$1"; shift
    echo "== $name: 1 rank vs 2 ranks  [${SECONDS}s]"
    "$R1" grpo "${COMMON[@]}" "$@" --steps 3 --out "$DIR/$name-1" > "$DIR/$name-1.log" 2>&1 ||
        { cat "$DIR/$name-1.log"; fail "$name: 1-rank run failed"; }
    "${MPIRUN[@]}" "$R1" grpo "${COMMON[@]}" "$@" --steps 3 --check-sync --json \
        --out "$DIR/$name-2" > "$DIR/$name-2.log" 2>&1 || { cat "$DIR/$name-2.log"; fail "$name: 2-rank run failed"; }
    grep -q '"ranks":2' "$DIR/$name-2.log" || { cat "$DIR/$name-2.log"; fail "$name: summary lacks ranks 2"; }
    [ "$(grep -c '"end_step":3' "$DIR/$name-2.log")" -eq 1 ] || fail "$name: expected one summary line (rank 0)"
    [ "$(wc -l < "$DIR/$name-2/metrics.jsonl")" -eq 3 ] || fail "$name: expected 3 metric lines (rank 0 only)"
    [ "$(grep -c '"ranks":2' "$DIR/$name-2/metrics.jsonl")" -eq 3 ] || fail "$name: metrics lack \"ranks\": 2"
    compare "$DIR/$name-1/metrics.jsonl" "$DIR/$name-2/metrics.jsonl"
}

run_pair grpo --prompts 4 --mini-batches 2
run_pair dapo --prompts 4 --loss-agg token --eps-high 0.28 --dynamic-sampling --dynamic-rounds 2 \
    --overlong filter
python3 -c 'import json,sys
if not any(json.loads(l)["zero_var_frac"] > 0 for l in open(sys.argv[1])):
    print("  (note: no zero-variance group: dynamic sampling had nothing to resample)")' \
    "$DIR/dapo-1/metrics.jsonl"
run_pair kl --prompts 4 --beta 0.05 --mini-batches 2 --inner-epochs 2

echo "== a 2-rank checkpoint resumes on 1 rank  [${SECONDS}s]"
"${MPIRUN[@]}" "$R1" grpo "${COMMON[@]}" --prompts 4 --mini-batches 2 --steps 2 \
    --out "$DIR/mixed" > "$DIR/mixed.log" 2>&1 || { cat "$DIR/mixed.log"; fail "2-rank part failed"; }
"$R1" grpo --out "$DIR/mixed" --resume --steps 3 --json --no-progress > "$DIR/mixed-resume.json"
grep -q '"start_step":2' "$DIR/mixed-resume.json" || { cat "$DIR/mixed-resume.json"; fail "resume start"; }
grep -q '"ranks":1' "$DIR/mixed-resume.json" || fail "resume did not run on 1 rank"
compare "$DIR/grpo-1/metrics.jsonl" "$DIR/mixed/metrics.jsonl"

echo "== SIGTERM to rank 1 only: both ranks stop after the same step, one checkpoint  [${SECONDS}s]"
"${MPIRUN[@]}" "$R1" grpo "${COMMON[@]}" --prompts 2 --steps 100000 --out "$DIR/term" > "$DIR/term.log" 2>&1 &
mp=$!
for _ in $(seq 1 1200); do
    [ -f "$DIR/term/metrics.jsonl" ] && [ "$(wc -l < "$DIR/term/metrics.jsonl")" -ge 2 ] && break
    kill -0 "$mp" 2> /dev/null || { cat "$DIR/term.log"; fail "run did not start"; }
    sleep 0.05
done
kill -TERM "$(rank_pid "$mp" 1)"
for _ in $(seq 1 600); do kill -0 "$mp" 2> /dev/null || break; sleep 0.1; done
if kill -0 "$mp" 2> /dev/null; then kill -9 "$mp"; fail "not stopped 60 s after SIGTERM"; fi
set +e; wait "$mp"; rc=$?; set -e
[ "$rc" -ne 0 ] || fail "interrupted job exited 0"
[ -f "$DIR/term/ckpt.r1" ] || { cat "$DIR/term.log"; fail "no checkpoint after SIGTERM"; }
last=$(tail -1 "$DIR/term/metrics.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])')
"$R1" grpo --out "$DIR/term" --resume --steps "$((last + 1))" --json --no-progress > "$DIR/term-resume.json"
grep -q "\"start_step\":$last," "$DIR/term-resume.json" ||
    { cat "$DIR/term-resume.json"; fail "the checkpoint is not at the last logged step $last"; }
echo "  stopped at step $last (rc $rc), checkpoint resumes there"
echo "PASS: mpi_grpo (${SECONDS}s)"
