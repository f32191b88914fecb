#!/usr/bin/env bash
# r1 export + r1 quantize end to end: a 2-step tiny-dense run -> f32 GGUF -> q8_0 and q4_0;
# gguf-info --json on each shows arch llama, the expected tensor types and general.file_type,
# and each file is smaller than the one before. Bad inputs fail cleanly.
# Usage: export_quantize.sh PATH/TO/r1 SCRATCH_DIR
set -uo pipefail
R1="$1"
DIR="$2"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

"$R1" train --model tiny-dense --batch 2 --seq 32 --steps 2 --log-every 0 --no-progress \
    --eval-batches 0 --out "$DIR/run" > /dev/null || fail "training run failed"
"$R1" export --ckpt "$DIR/run/ckpt.r1" --out "$DIR/m.gguf" --type f32 > /dev/null || fail "export failed"
"$R1" quantize "$DIR/m.gguf" "$DIR/m-q8.gguf" q8_0 > /dev/null || fail "quantize q8_0 failed"
"$R1" quantize "$DIR/m.gguf" "$DIR/m-q4.gguf" q4_0 > /dev/null || fail "quantize q4_0 failed"
for f in m m-q8 m-q4; do
    "$R1" gguf-info --json "$DIR/$f.gguf" > "$DIR/$f.json" || fail "gguf-info $f failed"
done

python3 - "$DIR" <<'PY' || fail "gguf-info output wrong"
import json, os, sys
d = sys.argv[1]
want = {"m": ("f32", 0), "m-q8": ("q8_0", 7), "m-q4": ("q4_0", 2)}
sizes = {}
def find(o, key):
    # gguf-info's JSON: metadata as a dict or list; accept either
    md = o.get("metadata")
    if isinstance(md, dict):
        v = md[key]
        return v["value"] if isinstance(v, dict) and "value" in v else v
    for kv in md:
        if kv.get("key") == key: return kv["value"]
    raise KeyError(key)
for f, (ty, ft) in want.items():
    o = json.load(open(os.path.join(d, f + ".json")))
    assert find(o, "general.architecture") == "llama", f
    assert find(o, "general.file_type") == ft, (f, find(o, "general.file_type"))
    ts = {t["name"]: t for t in o["tensors"]}
    assert ts["blk.0.attn_q.weight"]["type"] == ty, (f, ts["blk.0.attn_q.weight"])
    assert ts["blk.3.ffn_down.weight"]["type"] == ty, f
    assert ts["token_embd.weight"]["type"] == ty, f
    assert ts["blk.0.attn_norm.weight"]["type"] == "f32", f
    assert len(ts) == len(json.load(open(os.path.join(d, "m.json")))["tensors"]), f
    sizes[f] = os.path.getsize(os.path.join(d, f + ".gguf"))
assert sizes["m"] > sizes["m-q8"] > sizes["m-q4"], sizes
print("sizes", sizes)
PY

# errors: unknown type, missing checkpoint, non-GGUF input
"$R1" quantize "$DIR/m.gguf" "$DIR/x.gguf" q5_k > "$DIR/e1.txt" 2>&1 && fail "unknown type accepted"
grep -q "unknown type" "$DIR/e1.txt" || fail "no message for unknown type: $(cat "$DIR/e1.txt")"
"$R1" export --ckpt "$DIR/nope.r1" --out "$DIR/x.gguf" > /dev/null 2>&1 && fail "missing checkpoint accepted"
"$R1" quantize "$DIR/run/ckpt.r1" "$DIR/x.gguf" q8_0 > /dev/null 2>&1 && fail "non-GGUF input accepted"
[ -e "$DIR/x.gguf" ] && fail "a failed command left an output file"
echo "OK"
