#!/usr/bin/env bash
# Resume after a hard kill is exact: an uninterrupted run vs a run killed with SIGKILL after
# its first checkpoint and continued with --resume must log identical losses for every step
# (same thread count). Usage: train_resume.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
# One thread by default: on a loaded 2-core machine OpenMP barriers make 2 threads ~6x slower;
# set R1_TEST_THREADS=2 to check multi-threaded determinism too.
export R1_THREADS="${R1_TEST_THREADS:-1}"

ARGS=(--model tiny-moe --data builtin --steps 24 --batch 2 --seq 32 --ckpt-every 5
      --eval-batches 0 --log-every 0 --no-progress --seed 7 --lr 2e-3 --warmup 3)

# step -> loss pairs, exactly as written (nlohmann prints shortest round-trip doubles)
pairs() { grep -o '"loss":[^,}]*\|"step":[0-9]*' "$1" | paste -d' ' - - ; }

"$R1" train "${ARGS[@]}" --out "$DIR/full" > "$DIR/full.log"

"$R1" train "${ARGS[@]}" --out "$DIR/killed" > "$DIR/killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 2400); do
    if [ -f "$DIR/killed/metrics.jsonl" ] && [ "$(wc -l < "$DIR/killed/metrics.jsonl")" -ge 7 ]; then
        break
    fi
    if ! kill -0 "$pid" 2> /dev/null; then break; fi
    sleep 0.025
done
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
lines=$(wc -l < "$DIR/killed/metrics.jsonl")
if [ "$lines" -ge 24 ]; then
    echo "FAIL: the run finished before it could be killed (test too fast?)"
    exit 1
fi
[ -f "$DIR/killed/ckpt.r1" ] || { echo "FAIL: no checkpoint after step >= 7"; exit 1; }
echo "killed after $lines logged steps"

# Options come from the checkpoint; only --out and --resume are needed.
"$R1" train --out "$DIR/killed" --resume --json --no-progress > "$DIR/resume.json"
cat "$DIR/resume.json"
grep -q '"start_step":\(5\|10\|15\|20\),' "$DIR/resume.json" ||
    { echo "FAIL: resume did not start from a checkpoint step"; exit 1; }
grep -q '"end_step":24,' "$DIR/resume.json" || { echo "FAIL: resume did not reach step 24"; exit 1; }

if ! diff <(pairs "$DIR/full/metrics.jsonl") <(pairs "$DIR/killed/metrics.jsonl"); then
    echo "FAIL: losses after resume differ from the uninterrupted run"
    exit 1
fi
[ "$(pairs "$DIR/full/metrics.jsonl" | wc -l)" -eq 24 ] || { echo "FAIL: expected 24 metric lines"; exit 1; }
echo "PASS: 24 steps, resumed losses identical"
