#!/usr/bin/env bash
# r1 demo --quick: the whole R1 pipeline with smoke-test budgets. Checks that every stage
# ran and connected: summary.json has the documented keys, every eval dump has one row per
# problem with the r1 eval --dump keys, report.md and the Q8_0 GGUF students exist (and
# load: r1 gguf-info), and a re-run resumes — every stage is skipped, results unchanged.
# Usage: demo_quick.sh PATH/TO/r1 SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
fail() { echo "FAIL: $*"; exit 1; }

start=$(date +%s)
"$R1" demo --quick --out "$DIR/demo" --json --no-progress > "$DIR/out1.json" 2> "$DIR/err1.txt" ||
    { cat "$DIR/err1.txt"; fail "r1 demo --quick failed"; }
echo "r1 demo --quick: $(( $(date +%s) - start )) s"

python3 - "$DIR/demo" "$DIR/out1.json" <<'PY' || fail "summary/dumps/report check failed"
import json, os, sys
out, printed = sys.argv[1], json.load(open(sys.argv[2]))
s = json.load(open(os.path.join(out, "summary.json")))
assert printed["wall_seconds"] == s["wall_seconds"], "--json output differs from summary.json"
for k in ["base_accuracy", "rl_accuracy", "distilled_student_accuracy", "rl_student_accuracy"]:
    assert isinstance(s[k], (int, float)) and 0.0 <= s[k] <= 1.0, k
assert s["wall_seconds"] > 0
assert set(s["eval_dumps"]) == {"base", "rl", "distilled_student", "rl_student"}, s["eval_dumps"]
for name, path in s["eval_dumps"].items():
    rows = [json.loads(l) for l in open(path)]
    assert len(rows) == s["eval_n"], (name, len(rows))
    for r in rows:
        for k in ["prompt", "completion", "extracted", "gold", "correct"]:
            assert k in r, (name, k)
        assert isinstance(r["correct"], bool)
    acc = sum(r["correct"] for r in rows) / len(rows)
    key = name + "_accuracy"
    assert abs(acc - s[key]) < 1e-9, (name, acc, s[key])
report = open(os.path.join(out, "report.md")).read()
for needle in ["| model |", "distill", "Wall time"]:
    assert needle in report, needle
for k in ["distilled_student", "rl_student"]:
    assert os.path.getsize(s["gguf"][k]) > 0, k
print("summary ok:", {k: s[k] for k in ["base_accuracy", "rl_accuracy", "distilled_student_accuracy", "rl_student_accuracy"]})
PY

"$R1" gguf-info "$DIR/demo/gguf/distilled_student-q8_0.gguf" > /dev/null || fail "exported GGUF does not load"

# Re-run: every stage is recorded, so nothing runs again and the summary is the same.
"$R1" demo --quick --out "$DIR/demo" --json --no-progress > "$DIR/out2.json" 2> "$DIR/err2.txt" ||
    { cat "$DIR/err2.txt"; fail "re-run failed"; }
n_skipped=$(grep -c "skipped" "$DIR/err2.txt")
[ "$n_skipped" -eq 11 ] || { cat "$DIR/err2.txt"; fail "re-run skipped $n_skipped stages, expected 11"; }
python3 -c "
import json,sys
a,b=json.load(open('$DIR/out1.json')),json.load(open('$DIR/out2.json'))
for k in ['base_accuracy','rl_accuracy','distilled_student_accuracy','rl_student_accuracy','wall_seconds']:
    assert a[k]==b[k],(k,a[k],b[k])
" || fail "re-run changed the summary"

# Changed options: the stages re-run from scratch — their old checkpoints came from other
# options and must not be resumed (pretraining restarts at step 1 and ends at the new count).
"$R1" demo --quick --out "$DIR/demo" --pretrain-steps 120 --json --no-progress > "$DIR/out3.json" 2> "$DIR/err3.txt" ||
    { cat "$DIR/err3.txt"; fail "re-run with other options failed"; }
python3 - "$DIR/demo/base/metrics.jsonl" <<'PY' || fail "pretraining with new options resumed the old run"
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if '"step"' in l]
assert steps[0] == 1 and steps[-1] == 120, (steps[0], steps[-1])
PY
echo "PASS"
