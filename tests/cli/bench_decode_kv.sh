#!/usr/bin/env bash
# r1 bench decode on GGUF files written by ../shared/peers/make_gguf.py (deepseek2-tiny f32 and
# q8_0, qwen2-tiny q8_0): the MLA latent KV cache (default for deepseek2) and the plain expanded
# cache (--kv plain) give the same greedy tokens; the JSON reports the kv layout, the weight
# bytes read per token and the active parameters (checked against the file's shapes); --kv latent
# on a GQA model and a bad --kv value are clear errors. --kv-type f16 (f16 KV cache): reported
# in the JSON with half the cache bytes, batch-invariant, same first greedy tokens as f32; a
# bad --kv-type is an error naming the option. Skips without the peer script / numpy.
# usage: bench_decode_kv.sh R1_BINARY SCRATCH_DIR
set -euo pipefail
R1="$1"
TMP="$2"
. "$(dirname "$0")/lib/peer_gguf_prelude.sh"
filler_tokenizer "$TMP/tokenizer.json"
for spec in "ds2-f32 deepseek2-tiny f32" "ds2-q8 deepseek2-tiny q8_0" "qwen2-q8 qwen2-tiny q8_0"; do
  set -- $spec
  "$PY" "$MAKE_GGUF" "$TMP/$1.gguf" --shape "$2" --type "$3" --tokenizer "$TMP/tokenizer.json" \
      --seed 1 >/dev/null
done
bench() { "$R1" bench decode --model "$TMP/$1.gguf" --prompt-tokens 32 --gen-tokens 12 --threads 1 --json "${@:2}"; }
bench ds2-f32 > "$TMP/ds2-f32.latent.json"
bench ds2-f32 --kv plain > "$TMP/ds2-f32.plain.json"
bench ds2-q8 --kv latent --batch 2 > "$TMP/ds2-q8.latent.json"
bench ds2-q8 --kv plain > "$TMP/ds2-q8.plain.json"
bench qwen2-q8 > "$TMP/qwen2-q8.json"
bench ds2-f32 --kv-type f16 --batch 2 > "$TMP/ds2-f32.f16.json"
bench qwen2-q8 --kv-type f16 > "$TMP/qwen2-q8.f16.json"

"$PY" - "$TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
L = lambda n: json.load(open(f"{d}/{n}.json"))
def need(ok, what):
    if not ok: sys.exit("FAIL " + what)
for m in ["ds2-f32", "ds2-q8"]:
    a, b = L(m + ".latent"), L(m + ".plain")
    need(a["kv_layout"] == "mla_latent" and b["kv_layout"] == "plain", f"{m}: kv_layout {a['kv_layout']} {b['kv_layout']}")
    # f32: same maths to float rounding; q8_0: the two forms quantise different activations,
    # greedy picks of random-weight models may flip late, so require the first 6 only
    n = 12 if m == "ds2-f32" else 6
    need(a["tokens"][:n] == b["tokens"][:n], f"{m}: latent {a['tokens']} vs plain {b['tokens']}")
    print(f"ok {m}: latent == plain for {n} greedy tokens ({a['tokens'][:n]})")
q = L("ds2-q8.latent")
need(q["batch_last_token_agree"] == 2, f"ds2-q8 batch agreement {q}")
# deepseek2-tiny: C 256, V 1301, 4 layers (1 dense), H 4, kvl 64, nope 32, rope 16, v 32,
# 8 experts (2 used) of 128, 1 shared of 128, dense F 512
C, V, H, kvl, nope, rope, v = 256, 1301, 4, 64, 32, 16, 32
attn = H * (nope + rope) * C + (kvl + rope) * C + H * (nope + v) * kvl + C * H * v
dense = 3 * 512 * C
moe = 8 * C + 2 * 3 * 128 * C + 3 * 128 * C
params = 4 * attn + dense + 3 * moe + V * C
need(abs(q["active_params"] - params) < 1, f"active_params {q['active_params']} != {params}")
need(q["weight_bytes_per_token"] > params * 34 / 32 * 0.99, f"weight bytes {q['weight_bytes_per_token']}")
need(L("qwen2-q8")["kv_layout"] == "plain", "qwen2 layout")
print("ok: active_params", int(params), "weight_bytes_per_token", int(q["weight_bytes_per_token"]))
# f16 KV cache: half the bytes (latent row kvl + rope = 80 values x 4 layers), same first tokens
for m, ref, n in [("ds2-f32.f16", "ds2-f32.latent", 12), ("qwen2-q8.f16", "qwen2-q8", 6)]:
    a, b = L(m), L(ref)
    need(a["kv_type"] == "f16" and b["kv_type"] == "f32", f"{m}: kv_type {a.get('kv_type')} {b.get('kv_type')}")
    need(2 * a["kv_bytes_per_token"] == b["kv_bytes_per_token"] and a["kv_cache_bytes"] == a["kv_bytes_per_token"] * 44,
         f"{m}: kv bytes {a['kv_bytes_per_token']} vs {b['kv_bytes_per_token']}")
    need(a["tokens"][:n] == b["tokens"][:n], f"{m}: f16 {a['tokens']} vs f32 {b['tokens']}")
    print(f"ok {m}: {a['kv_bytes_per_token']} KV bytes/token (f32 {b['kv_bytes_per_token']}), first {n} tokens as f32")
need(L("ds2-f32.f16")["kv_bytes_per_token"] == 4 * 80 * 2, "ds2 f16 bytes/token")
need(L("ds2-f32.f16")["batch_last_token_agree"] == 2, "ds2-f32 f16 batch agreement")
PYEOF

# errors
if "$R1" bench decode --model "$TMP/qwen2-q8.gguf" --kv latent --prompt-tokens 4 --gen-tokens 2 \
    > "$TMP/err.txt" 2>&1; then echo "FAIL: --kv latent on qwen2 accepted"; exit 1; fi
grep -q "MLA" "$TMP/err.txt" || { echo "FAIL: unclear error: $(cat "$TMP/err.txt")"; exit 1; }
if "$R1" bench decode --model "$TMP/ds2-f32.gguf" --kv banana > "$TMP/err2.txt" 2>&1; then
  echo "FAIL: --kv banana accepted"; exit 1; fi
grep -q -- "--kv" "$TMP/err2.txt" || { echo "FAIL: unclear error: $(cat "$TMP/err2.txt")"; exit 1; }
if "$R1" bench decode --model "$TMP/qwen2-q8.gguf" --kv-type q4 > "$TMP/err3.txt" 2>&1; then
  echo "FAIL: --kv-type q4 accepted"; exit 1; fi
grep -q -- "--kv-type" "$TMP/err3.txt" || { echo "FAIL: unclear error: $(cat "$TMP/err3.txt")"; exit 1; }
echo "ok: errors"
