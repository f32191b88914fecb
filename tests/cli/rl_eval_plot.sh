#!/usr/bin/env bash
# r1 eval and r1 plot end to end on a tiny model trained here (a few seconds of r1 train):
# --json keys and values, --dump rows, determinism, pass@k sampling, the three task kinds,
# a .gguf export evaluating like its checkpoint, error messages (unknown task, missing model,
# malformed dataset); PNGs from metrics.jsonl, malformed metrics and a missing gnuplot.
# usage: rl_eval_plot.sh R1_BINARY SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR" && mkdir -p "$DIR"
fail() { echo "FAIL: $*"; exit 1; }

"$R1" train --steps 8 --batch 4 --seq 64 --eval-batches 0 --log-every 0 --no-progress \
  --out "$DIR/run" > /dev/null 2>&1 || fail "train"
CK="$DIR/run/ckpt.r1"

"$R1" eval --model "$CK" --task arithmetic --n 6 --seed 3 --max-tokens 24 --batch 4 --json \
  --dump "$DIR/d1.jsonl" > "$DIR/e1.json" 2> "$DIR/e1.err" || { cat "$DIR/e1.err"; fail "eval"; }
grep -q "eval arithmetic" "$DIR/e1.err" || fail "no progress bar on stderr"
"$R1" eval --model "$CK" --task arithmetic --n 6 --seed 3 --max-tokens 24 --batch 2 --json \
  --no-progress --dump "$DIR/d2.jsonl" > "$DIR/e2.json" 2> /dev/null || fail "eval 2"
"$R1" eval --model "$CK" --task countdown --n 3 --max-tokens 16 --samples 3 --temperature 1 \
  --json --no-progress --dump "$DIR/d3.jsonl" > "$DIR/e3.json" 2> /dev/null || fail "eval pass@k"
printf '{"prompt": "What is 2+2?", "answer": "#### 4"}\n{"prompt": "Half of 3?", "answer": "\\\\frac{3}{2}"}\n' > "$DIR/ds.jsonl"
"$R1" eval --model "$CK" --task "jsonl:$DIR/ds.jsonl" --n 10 --max-tokens 16 --json --no-progress \
  > "$DIR/e4.json" 2> /dev/null || fail "eval jsonl"
"$R1" eval --model "$CK" --task arithmetic --n 2 --max-tokens 8 --no-progress > "$DIR/e5.txt" 2> /dev/null \
  || fail "eval text"
grep -q "^accuracy" "$DIR/e5.txt" || fail "text summary has no accuracy line"

python3 - "$DIR" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
e1 = json.load(open(f"{d}/e1.json"))
for k in ["accuracy", "n", "format_rate", "mean_length", "reflection_rate", "pass_at_k", "samples"]:
    assert k in e1, ("missing key", k, e1)
assert e1["n"] == 6 and e1["samples"] == 1, e1
assert 0 <= e1["accuracy"] <= 1 and e1["pass_at_k"] == e1["accuracy"], e1
assert 0 < e1["mean_length"] <= 24, e1
rows = [json.loads(l) for l in open(f"{d}/d1.jsonl")]
assert len(rows) == 6, len(rows)
for r in rows:
    for k in ["prompt", "completion", "extracted", "gold", "correct"]:
        assert k in r, ("dump row lacks", k, r)
    assert isinstance(r["correct"], bool) and isinstance(r["extracted"], str)
    assert r["prompt"].startswith("<｜begin▁of▁sentence｜><｜User｜>What is ") and r["prompt"].endswith("<think>\n")
    assert r["gold"].lstrip("-").isdigit(), r["gold"]
acc = sum(r["correct"] for r in rows) / 6
assert abs(acc - e1["accuracy"]) < 1e-9, (acc, e1)
# greedy decoding: the same problems and completions whatever the batch size
rows2 = [json.loads(l) for l in open(f"{d}/d2.jsonl")]
assert [r["prompt"] for r in rows] == [r["prompt"] for r in rows2]
assert [r["completion"] for r in rows] == [r["completion"] for r in rows2], "greedy eval not deterministic"
e3 = json.load(open(f"{d}/e3.json"))
assert e3["n"] == 3 and e3["samples"] == 3 and e3["k"] == 3, e3
assert e3["pass_at_k"] >= e3["accuracy"], e3
rows3 = [json.loads(l) for l in open(f"{d}/d3.jsonl")]
assert len(rows3) == 3 and all(len(r["samples"]) == 3 for r in rows3), rows3
assert all("Using the numbers [" in r["prompt"] for r in rows3)
e4 = json.load(open(f"{d}/e4.json"))
assert e4["n"] == 2, e4  # a 2-row file: both rows, n clamped
print("eval json/dump: ok")
PY

# a .gguf export of a (dense) checkpoint evaluates to the same completions as the ckpt.r1
"$R1" train --model tiny-dense --steps 4 --batch 2 --seq 64 --eval-batches 0 --log-every 0 --no-progress \
  --out "$DIR/dense" > /dev/null 2>&1 || fail "train dense"
"$R1" export --ckpt "$DIR/dense/ckpt.r1" --out "$DIR/dense.gguf" --type f32 > /dev/null 2>&1 || fail "export"
for m in "$DIR/dense/ckpt.r1" "$DIR/dense.gguf"; do
  "$R1" eval --model "$m" --n 3 --max-tokens 12 --no-progress --dump "$m.dump.jsonl" > /dev/null 2>&1 \
    || fail "eval $m"
done
python3 - "$DIR/dense/ckpt.r1.dump.jsonl" "$DIR/dense.gguf.dump.jsonl" <<'PY' || fail "gguf eval differs from ckpt eval"
import json, sys
a, b = ([json.loads(l)["completion"] for l in open(p)] for p in sys.argv[1:3])
assert len(a) == 3 and a == b, (a, b)
PY

# errors name what is wrong
"$R1" eval --model "$CK" --task chess --n 1 > /dev/null 2> "$DIR/err1.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "unknown task 'chess'" "$DIR/err1.txt" || fail "unknown task: rc=$rc $(cat "$DIR/err1.txt")"
"$R1" eval --model "$DIR/missing.r1" --n 1 > /dev/null 2> "$DIR/err2.txt"; rc=$?
[ $rc -eq 1 ] && grep -qF "$DIR/missing.r1" "$DIR/err2.txt" || fail "missing model: rc=$rc $(cat "$DIR/err2.txt")"
printf '{"prompt": "a", "answer": "1"}\n{"prompt": "b"}\n' > "$DIR/bad.jsonl"
"$R1" eval --model "$CK" --task "jsonl:$DIR/bad.jsonl" > /dev/null 2> "$DIR/err3.txt"; rc=$?
[ $rc -eq 1 ] && grep -qF "bad.jsonl:2: field 'answer'" "$DIR/err3.txt" || fail "bad jsonl: $(cat "$DIR/err3.txt")"

# plot: one PNG per numeric metric + overview; two runs overlaid (needs gnuplot: scripts/install-deps.sh)
if ! command -v gnuplot > /dev/null; then
  "$R1" plot "$DIR/run/metrics.jsonl" -o "$DIR/plots" > /dev/null 2> "$DIR/err0.txt"
  grep -q "gnuplot not found" "$DIR/err0.txt" || fail "missing gnuplot not reported: $(cat "$DIR/err0.txt")"
  echo "eval CLI: ok (SKIP plot curves: gnuplot not installed)"
  exit 0
fi
"$R1" plot "$DIR/run/metrics.jsonl" -o "$DIR/plots" > "$DIR/p1.txt" 2> "$DIR/p1.err" || { cat "$DIR/p1.err"; fail "plot"; }
for m in loss lr overview; do
  f="$DIR/plots/$m.png"
  [ -s "$f" ] || fail "no $f"
  [ "$(head -c 4 "$f" | tail -c 3)" = "PNG" ] || fail "$f is not a PNG"
done
grep -q "overview.png" "$DIR/p1.txt" || fail "plot did not list overview.png"
mkdir -p "$DIR/run2" && head -n 4 "$DIR/run/metrics.jsonl" > "$DIR/run2/metrics.jsonl"
"$R1" plot "$DIR/run/metrics.jsonl" "$DIR/run2/metrics.jsonl" -o "$DIR/plots2" --json > "$DIR/p2.json" 2>/dev/null \
  || fail "plot two files"
grep -q "run2" "$DIR/plots2/.plot/plot.gp" || fail "second run not labelled"
printf '{"step": 1, "loss": 2}\nnot json\n' > "$DIR/badm.jsonl"
"$R1" plot "$DIR/badm.jsonl" -o "$DIR/plots3" > /dev/null 2> "$DIR/err4.txt"; rc=$?
[ $rc -eq 1 ] && grep -qF "badm.jsonl:2" "$DIR/err4.txt" || fail "malformed metrics: $(cat "$DIR/err4.txt")"
"$R1" plot "$DIR/run/metrics.jsonl" -o "$DIR/plots4" --gnuplot "$DIR/no-gnuplot" > /dev/null 2> "$DIR/err5.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "gnuplot not found" "$DIR/err5.txt" || fail "missing gnuplot: $(cat "$DIR/err5.txt")"
echo "eval + plot CLI: ok"
