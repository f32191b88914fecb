#!/usr/bin/env bash
# r1 generate on a checkpoint from a 2-step r1 train run: greedy output is reproducible,
# --json prints one valid object per completion with the documented fields, --n gives n
# completions, a fixed seed gives the same samples, a missing checkpoint fails cleanly.
# Usage: generate.sh PATH/TO/r1 SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

"$R1" train --model tiny-dense --batch 2 --seq 32 --steps 2 --log-every 0 --no-progress \
    --eval-batches 0 --out "$DIR/run" > /dev/null || fail "training run failed"
CK="$DIR/run/ckpt.r1"

"$R1" generate --ckpt "$CK" --prompt "1+1?" --max-tokens 12 --temperature 0 > "$DIR/g1.txt" 2> /dev/null ||
    fail "greedy generate failed"
"$R1" generate --ckpt "$CK" --prompt "1+1?" --max-tokens 12 --temperature 0 > "$DIR/g2.txt" 2> /dev/null ||
    fail "second greedy generate failed"
cmp -s "$DIR/g1.txt" "$DIR/g2.txt" || fail "greedy output differs between runs"

"$R1" generate --ckpt "$CK" --prompt "1+1?" --max-tokens 8 --n 3 --seed 5 --json > "$DIR/j1.txt" ||
    fail "json generate failed"
"$R1" generate --ckpt "$CK" --prompt "1+1?" --max-tokens 8 --n 3 --seed 5 --json > "$DIR/j2.txt" ||
    fail "second json generate failed"
[ "$(wc -l < "$DIR/j1.txt")" -eq 3 ] || fail "--n 3 --json did not print 3 lines"
python3 - "$DIR/j1.txt" "$DIR/j2.txt" <<'PY' || fail "bad JSON output"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
for o in a:
    for k in ("text", "tokens", "finish_reason", "tok_per_s", "n_prompt", "n_tokens"):
        assert k in o, k
    assert o["finish_reason"] in ("stop", "length"), o
    assert 1 <= len(o["tokens"]) <= 8 and o["n_tokens"] == len(o["tokens"]), o
    assert all(0 <= t < 265 for t in o["tokens"]), o
assert [o["tokens"] for o in a] == [o["tokens"] for o in b], "same seed, different samples"
PY

"$R1" generate --ckpt "$DIR/missing.r1" --prompt x > /dev/null 2> "$DIR/err.txt"
[ $? -eq 1 ] || fail "missing checkpoint did not exit 1"
grep -qF "$DIR/missing.r1" "$DIR/err.txt" || fail "error does not name the file"
echo "generate CLI: ok"
