#!/usr/bin/env bash
# r1 distill end to end on tiny models: a MoE teacher memorises worked answers to a 2-problem
# jsonl task (r1 train), a dense student starts from a 2-step checkpoint; distill samples,
# keeps only traces an independent check (here, in Python) finds correct and well formed,
# fine-tunes the student, whose checkpoint then loads in r1 generate. --resume skips the
# finished sampling (traces byte-identical); a hand-made half-finished sampling state resumes
# to the same traces; --kd forward trains with a finite KL; bad options fail cleanly.
# Usage: distill.sh PATH/TO/r1 SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS=2
fail() { echo "FAIL: $*"; exit 1; }

# The task (prompt + answer), the teacher's SFT data and the trained teacher.
source "$(dirname "$0")/lib/distill_teacher.sh"
distill_teacher "$DIR" "7+5=12" "9-4=5" || fail "teacher fixture failed"
"$R1" train --model tiny-dense --steps 2 --batch 2 --seq 32 --eval-batches 0 --log-every 0 \
    --no-progress --out "$DIR/student0" > /dev/null || fail "student init training failed"
T="$DIR/teacher/ckpt.r1"
S="$DIR/student0/ckpt.r1"
ARGS=(--teacher "$T" --task "jsonl:$DIR/task.jsonl" --prompts 2 --k 6 --temperature 0.7
      --max-tokens 40 --steps 6 --batch 4 --seq 64 --no-progress)

"$R1" distill "${ARGS[@]}" --student "$S" --out "$DIR/d" --json > "$DIR/d.json" ||
    fail "distill failed: $(cat "$DIR/d.json")"
python3 - "$DIR" <<'PY' || fail "summary or traces wrong"
import json, re, sys
d = sys.argv[1]
s = json.loads(open(d + "/d.json").read().strip().splitlines()[-1])
for k in ("n_prompts", "n_sampled", "n_accepted", "acceptance_rate", "final_loss", "student_checkpoint"):
    assert k in s, k
assert s["n_prompts"] == 2 and s["n_sampled"] == 12, s
assert s["n_accepted"] >= 1, f"no accepted traces: {s}"
assert 0 < s["acceptance_rate"] <= 1 and s["end_step"] == 6 and s["final_loss"] > 0, s
assert s["student_checkpoint"].endswith("d/student/ckpt.r1"), s
gold = {json.loads(l)["prompt"]: json.loads(l)["answer"] for l in open(d + "/task.jsonl")}
rows = [json.loads(l) for l in open(d + "/d/traces.jsonl")]
assert len(rows) == s["n_accepted"], (len(rows), s)
seen = set()
for r in rows:
    for k in ("prompt", "completion", "reward", "correct", "formatted", "gold", "question"):
        assert k in r, k
    c = r["completion"]
    assert c.count("</think>") == 1, c            # independent format + answer check
    m = re.fullmatch(r"(?s).*</think>.*<answer>(.*?)</answer>\s*", c)
    assert m and m.group(1).strip() == str(gold[r["question"]]), (c, gold[r["question"]])
    assert r["correct"] and r["formatted"], r
    assert (r["prompt"], c) not in seen, "duplicate trace kept"
    seen.add((r["prompt"], c))
st = json.load(open(d + "/d/sampling.json"))
assert st["n_accepted"] == len(rows) and st["n_sampled"] == 12, st
PY

"$R1" generate --ckpt "$DIR/d/student/ckpt.r1" --prompt "7+5" --think --max-tokens 16 \
    --temperature 0 > /dev/null 2>&1 || fail "the student checkpoint does not generate"

# --resume: finished sampling is skipped, the traces stay byte-identical.
cp "$DIR/d/traces.jsonl" "$DIR/traces_a.jsonl"
"$R1" distill "${ARGS[@]}" --student "$S" --out "$DIR/d" --resume --json > "$DIR/r.json" ||
    fail "resume failed: $(cat "$DIR/r.json")"
python3 -c "
import json,sys; s=json.loads(open('$DIR/r.json').read().strip().splitlines()[-1])
assert s['sampling_skipped'] is True and s['end_step'] == 6, s" || fail "resume did not skip sampling"
cmp -s "$DIR/traces_a.jsonl" "$DIR/d/traces.jsonl" || fail "resume changed traces.jsonl"

# A half-finished sampling (prompt 0 done) resumes to the same traces. --slots 1 makes
# chunks of one prompt decoded alone, so both runs do bit-identical work.
ONE=(--teacher "$T" --task "jsonl:$DIR/task.jsonl" --prompts 2 --k 6 --temperature 0.7
     --max-tokens 40 --steps 1 --batch 4 --seq 64 --slots 1 --no-progress --student "$S")
"$R1" distill "${ONE[@]}" --out "$DIR/full" --json > /dev/null || fail "slots-1 distill failed"
mkdir -p "$DIR/half"
python3 - "$DIR" <<'PY' || fail "could not build the half-finished state"
import json, shutil, sys
d = sys.argv[1]
shutil.copy(d + "/full/distill.json", d + "/half/distill.json")
rows = [l for l in open(d + "/full/traces.jsonl", encoding="utf-8") if json.loads(l)["prompt_index"] < 1]
data = "".join(rows).encode("utf-8")
open(d + "/half/traces.partial.jsonl", "wb").write(data + b'{"torn tail')
st = json.load(open(d + "/full/sampling.json"))
st.update(n_prompts=1, n_sampled=6, n_accepted=len(rows))
json.dump({"prompts_done": 1, "bytes": len(data), "stats": st}, open(d + "/half/sampling.partial.json", "w"))
PY
"$R1" distill "${ONE[@]}" --out "$DIR/half" --resume --json > "$DIR/h.json" || fail "partial resume failed"
cmp -s "$DIR/full/traces.jsonl" "$DIR/half/traces.jsonl" || fail "partial resume gave different traces"
[ ! -e "$DIR/half/sampling.partial.json" ] || fail "partial state left behind"
"$R1" distill --teacher "$T" --task "jsonl:$DIR/task.jsonl" --prompts 2 --k 5 --student "$S" \
    --out "$DIR/half" --resume --no-progress > /dev/null 2> "$DIR/k.err" &&
    fail "resume with another --k succeeded"
grep -q "k is 6" "$DIR/k.err" || fail "resume mismatch error does not name k: $(cat "$DIR/k.err")"

# Logit KD (same byte tokenizer): a fresh dense student, forward KL.
"$R1" distill "${ARGS[@]}" --student tiny-dense --out "$DIR/kd" --kd forward --kd-weight 0.5 \
    --kd-temp 2 --json > "$DIR/kd.json" || fail "KD distill failed: $(cat "$DIR/kd.json")"
python3 -c "
import json,math; s=json.loads(open('$DIR/kd.json').read().strip().splitlines()[-1])
assert s['kd']=='forward' and math.isfinite(s['kd_kl']) and s['kd_kl'] > 0 and math.isfinite(s['final_loss']), s" ||
    fail "KD summary wrong: $(cat "$DIR/kd.json")"

# Bad input: clear errors, exit 1.
"$R1" distill "${ARGS[@]}" --student "$S" --out "$DIR/bad" --kd sideways > /dev/null 2> "$DIR/e1.txt"
[ $? -eq 1 ] && grep -q "sideways" "$DIR/e1.txt" || fail "bad --kd not rejected: $(cat "$DIR/e1.txt")"
"$R1" distill --teacher "$DIR/missing.r1" --student "$S" --out "$DIR/bad2" > /dev/null 2> "$DIR/e2.txt"
[ $? -eq 1 ] && grep -qF "$DIR/missing.r1" "$DIR/e2.txt" || fail "missing teacher not named: $(cat "$DIR/e2.txt")"
echo "distill CLI: ok"
