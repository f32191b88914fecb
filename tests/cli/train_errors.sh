#!/usr/bin/env bash
# Bad training inputs fail cleanly (exit 1, a message naming the file and the problem), a
# NaN stops training without touching the last good checkpoint, and --help works.
# Usage: train_errors.sh PATH/TO/r1 SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

# expect CODE PATTERN cmd...: exit code and a stderr substring
expect() {
    local code="$1" pat="$2"
    shift 2
    "$@" > "$DIR/out.txt" 2> "$DIR/err.txt"
    local rc=$?
    [ "$rc" -eq "$code" ] || { cat "$DIR/err.txt"; fail "'$*' exited $rc, expected $code"; }
    grep -qF -- "$pat" "$DIR/err.txt" "$DIR/out.txt" ||
        { cat "$DIR/err.txt"; fail "'$*' did not print: $pat"; }
}

SMALL=(--model tiny-dense --batch 2 --seq 32 --log-every 0 --no-progress --eval-batches 0)

# A good 2-step run, then a truncated checkpoint.
"$R1" train "${SMALL[@]}" --steps 2 --out "$DIR/run" > /dev/null || fail "small training run failed"
size=$(stat -c %s "$DIR/run/ckpt.r1")
head -c $((size / 2)) "$DIR/run/ckpt.r1" > "$DIR/run/ckpt.tmp" && mv "$DIR/run/ckpt.tmp" "$DIR/run/ckpt.r1"
expect 1 "$DIR/run/ckpt.r1: truncated: expected $size bytes, found $((size / 2))" \
    "$R1" train --out "$DIR/run" --resume --steps 4

# A bit flip is caught by the checksum.
"$R1" train "${SMALL[@]}" --steps 1 --out "$DIR/flip" > /dev/null || fail "run failed"
printf '\x55' | dd of="$DIR/flip/ckpt.r1" bs=1 seek=5000 conv=notrunc status=none
expect 1 "$DIR/flip/ckpt.r1: bad checksum" "$R1" train --out "$DIR/flip" --resume --steps 2

# Resume with a different model.
"$R1" train "${SMALL[@]}" --steps 1 --out "$DIR/mm" > /dev/null || fail "run failed"
expect 1 "$DIR/mm/ckpt.r1: arch is llama in the checkpoint, deepseek2 requested" \
    "$R1" train --out "$DIR/mm" --resume --model tiny-moe --steps 2

# Malformed JSONL names the file and line.
printf '{"text": "fine"}\n{"prompt": "a"}\n' > "$DIR/bad.jsonl"
expect 1 "$DIR/bad.jsonl:2: expected a JSON object with a string field 'text'" \
    "$R1" train "${SMALL[@]}" --steps 1 --data "$DIR/bad.jsonl" --out "$DIR/j"
expect 1 "nope.txt: cannot open" "$R1" train "${SMALL[@]}" --steps 1 --data "$DIR/nope.txt" --out "$DIR/n"
expect 1 "unknown preset 'tiny-moo'" "$R1" train --model tiny-moo --out "$DIR/p"
expect 1 "--resume: no checkpoint at $DIR/empty/ckpt.r1" "$R1" train --out "$DIR/empty" --resume

# A diverging run stops at the first NaN and keeps the last good checkpoint.
expect 1 "step 2: gradient of '" "$R1" train "${SMALL[@]}" --steps 5 --lr 1e30 --min-lr 0 \
    --warmup 0 --ckpt-every 1 --out "$DIR/nan"
grep -qF "is NaN; last good checkpoint kept at $DIR/nan/ckpt.r1" "$DIR/err.txt" ||
    grep -qF "is Inf; last good checkpoint kept at $DIR/nan/ckpt.r1" "$DIR/err.txt" ||
    grep -qF "loss is NaN; last good checkpoint kept at $DIR/nan/ckpt.r1" "$DIR/err.txt" ||
    fail "NaN message: $(cat "$DIR/err.txt")"
"$R1" train --out "$DIR/nan" --resume --steps 1 --json > "$DIR/nan.json" 2>&1 ||
    fail "the kept checkpoint is not loadable: $(cat "$DIR/nan.json")"
grep -q '"start_step":1,' "$DIR/nan.json" || fail "kept checkpoint is not the step-1 one"

# Help.
expect 0 "--resume" "$R1" train --help
expect 0 "--ckpt-every" "$R1" train --help
expect 0 "--quick" "$R1" demo --help
echo "PASS"
