#!/usr/bin/env bash
# r1 grpo end to end on a tiny base trained here (r1 train --steps 30): --help lists the
# options, bad options fail with a message naming them, a 2-step run writes metrics.jsonl
# with every metric and a --json summary, SIGINT saves and exits 130, and --resume
# continues to the requested step with metrics identical to an uninterrupted run.
# Usage: grpo.sh PATH/TO/r1 SCRATCH_DIR
set -euo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS="${R1_TEST_THREADS:-1}"
fail() { echo "FAIL: $*"; exit 1; }

"$R1" grpo --help > "$DIR/help.txt"
for opt in --init --task --group --prompts --max-tokens --temperature --top-p --lr --advantage \
           --loss-agg --eps-low --eps-high --inner-epochs --mini-batches --beta --ref-reset \
           --dynamic-sampling --overlong --clip --seed --eval-every --resume --json; do
    grep -q -- "$opt" "$DIR/help.txt" || fail "--help does not list $opt"
done

"$R1" train --model tiny-dense --data builtin --steps 30 --batch 4 --seq 64 --eval-batches 0 \
    --log-every 0 --no-progress --out "$DIR/base" > "$DIR/train.log"

ARGS=(--init "$DIR/base/ckpt.r1" --task arithmetic --prompts 2 --group 4 --max-tokens 24
      --seed 5 --no-progress --log-every 0 --mini-batches 2 --beta 0.02)

# errors name the option, exit non-zero, no crash
if "$R1" grpo "${ARGS[@]}" --out "$DIR/bad" --group 1 > "$DIR/bad.log" 2>&1; then fail "--group 1 accepted"; fi
grep -q -- "--group" "$DIR/bad.log" || fail "error does not name --group: $(cat "$DIR/bad.log")"
if "$R1" grpo "${ARGS[@]}" --out "$DIR/bad" --advantage ppo > "$DIR/bad.log" 2>&1; then fail "--advantage ppo accepted"; fi
grep -q "ppo" "$DIR/bad.log" || fail "error does not name the bad advantage"
if "$R1" grpo --init "$DIR/nope.r1" --out "$DIR/bad" > "$DIR/bad.log" 2>&1; then fail "missing --init accepted"; fi
grep -q "nope.r1" "$DIR/bad.log" || fail "error does not name the missing checkpoint"

# uninterrupted 3 steps
"$R1" grpo "${ARGS[@]}" --steps 3 --out "$DIR/full" --json > "$DIR/full.json"
cat "$DIR/full.json"
grep -q '"end_step":3' "$DIR/full.json" || fail "summary has no end_step 3"
grep -q '"final_reward"' "$DIR/full.json" || fail "summary has no final_reward"
[ "$(wc -l < "$DIR/full/metrics.jsonl")" -eq 3 ] || fail "expected 3 metric lines"
for k in step reward_mean reward_std accuracy format_rate response_len_mean response_len_max \
         zero_var_frac kl clip_frac entropy reflection_rate rollout_tok_s train_tok_s lr \
         grad_norm elapsed; do
    grep -q "\"$k\":" "$DIR/full/metrics.jsonl" || fail "metrics.jsonl lacks $k"
done

# 2 steps, then resume to 3: the same metrics (wall-clock fields aside)
"$R1" grpo "${ARGS[@]}" --steps 2 --out "$DIR/part" > "$DIR/part.log"
"$R1" grpo --out "$DIR/part" --resume --steps 3 --json --no-progress > "$DIR/resume.json"
grep -q '"start_step":2' "$DIR/resume.json" || fail "resume did not start at step 2"
strip() { sed -E 's/"(elapsed|rollout_tok_s|train_tok_s)":[^,}]*,?//g' "$1"; }
diff <(strip "$DIR/full/metrics.jsonl") <(strip "$DIR/part/metrics.jsonl") ||
    fail "resumed metrics differ from the uninterrupted run"

# SIGINT: finish the step, save, exit 130
"$R1" grpo "${ARGS[@]}" --steps 200 --out "$DIR/int" > "$DIR/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
    [ -f "$DIR/int/metrics.jsonl" ] && [ "$(wc -l < "$DIR/int/metrics.jsonl")" -ge 1 ] && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.05
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "SIGINT exit code $rc, expected 130: $(tail -3 "$DIR/int.log")"
[ -f "$DIR/int/ckpt.r1" ] || fail "no checkpoint after SIGINT"
grep -q "resume with" "$DIR/int.log" || fail "no resume hint after SIGINT"
echo "PASS: grpo CLI (help, errors, metrics, json, resume, SIGINT)"
