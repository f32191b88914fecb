#!/usr/bin/env bash
# Hugging Face checkpoints against an independent PyTorch reference (scripts/hf_twin.py):
# tiny random Qwen2 (bf16, tied), Llama (f32, 3 shards, head_dim != hidden/heads), DeepSeek-V2
# (MLA, softmax routing, YaRN, f16; + a group_limited_greedy variant) and DeepSeek-V3 (q LoRA, sigmoid + correction
# bias, noaux_tc groups, YaRN mscale, FP8 block scales, an MTP layer to skip, 2 shards).
# For each: `r1 logits` on the HF folder must match the reference logits; the reference with
# the other RoPE layout must NOT match (the check can see a layout mistake); `r1 convert` to an
# f32 GGUF must give the same logits again (llama.cpp names, llama's q/k permutation), q8_0
# must stay within 5% of the logit scale (dense) or correlate > 0.98 (MoE), an r1-trained
# ckpt.r1 must survive ckpt -> HF -> GGUF, and DeepSeek-V3 re-saved as an HF f32 folder (FP8 dequantised) must too.
# usage: hf_twin.sh R1_BINARY SCRATCH_DIR. Skips when /usr/bin/python3 lacks torch or numpy.
set -euo pipefail
R1="$1"
TMP="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
  echo "SKIP: $PY with torch and numpy is not available (apt-get install python3-torch python3-numpy)"
  exit 77
fi
rm -rf "$TMP"
mkdir -p "$TMP"
"$PY" "$HERE/../../scripts/hf_twin.py" "$TMP" >/dev/null

compare() {  # compare NAME GOT.json EXPECTED_KEY ATOL RTOL MODE(match|differ|scaled|corr)
  # scaled: |diff| <= ATOL * max|ref| (quantised weights: error relative to the logit scale)
  # corr: correlation >= 1 - ATOL (quantised MoE: q8_0 noise may flip a close routing choice)
  "$PY" - "$TMP/$1/expected.json" "$2" "$3" "$4" "$5" "$6" "$1" <<'PYEOF'
import json, sys
import numpy as np
exp, got, key, atol, rtol, mode, name = sys.argv[1:]
ref = np.array(json.load(open(exp))[key])
out = np.array(json.load(open(got))["logits"])
assert out.shape == ref.shape, f"{name}: shape {out.shape} vs {ref.shape}"
assert np.isfinite(out).all(), f"{name}: non-finite logits"
if mode == "corr":
    ratio = (1.0 - np.corrcoef(out.ravel(), ref.ravel())[0, 1]) / float(atol)
elif mode == "scaled":
    ratio = np.abs(out - ref).max() / (float(atol) * np.abs(ref).max())
else:
    ratio = (np.abs(out - ref) / (float(atol) + float(rtol) * np.abs(ref))).max()
diff = np.abs(out - ref).max()
if mode in ("match", "scaled", "corr"):
    assert ratio <= 1.0, f"{name} ({got}): max |diff| {diff:.3g} exceeds tolerance (ratio {ratio:.3g})"
else:
    assert ratio > 20.0, f"{name}: logits with the wrong RoPE layout are too close (ratio {ratio:.3g})"
print(f"{name}: {mode} {key} max|diff| {diff:.3g} (ratio to tolerance {ratio:.3g})")
PYEOF
}

for m in qwen2 llama ds2 ds3; do
  toks=$("$PY" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" "$TMP/$m/expected.json")
  "$R1" logits --model "$TMP/$m" --tokens "$toks" --json > "$TMP/$m.hf.json"
  compare "$m" "$TMP/$m.hf.json" logits 2e-4 2e-4 match
  compare "$m" "$TMP/$m.hf.json" logits_wrong_rope 2e-4 2e-4 differ
  "$R1" convert "$TMP/$m" "$TMP/$m.f32.gguf" --type f32 --json > "$TMP/$m.convert.json"
  "$R1" logits --model "$TMP/$m.f32.gguf" --tokens "$toks" --json > "$TMP/$m.gguf.json"
  compare "$m" "$TMP/$m.gguf.json" logits 2e-4 2e-4 match
  "$R1" convert "$TMP/$m" "$TMP/$m.q8.gguf" --type q8_0 > /dev/null
  "$R1" logits --model "$TMP/$m.q8.gguf" --tokens "$toks" --json > "$TMP/$m.q8.json"
  case "$m" in
    ds*) compare "$m" "$TMP/$m.q8.json" logits 0.02 0 corr ;;
    *) compare "$m" "$TMP/$m.q8.json" logits 0.05 0 scaled ;;
  esac
done

# greedy decoding: the HF folder and its GGUF conversion produce the same tokens
for m in llama ds3; do
  for src in "$TMP/$m" "$TMP/$m.f32.gguf"; do
    "$R1" generate --model "$src" --prompt "the answer" --raw --max-tokens 8 --temperature 0 --json \
      | "$PY" -c "import json,sys; print(json.load(sys.stdin)['tokens'])" > "$src.greedy"
  done
  cmp "$TMP/$m.greedy" "$TMP/$m.f32.gguf.greedy" || { echo "FAIL: $m greedy tokens differ (HF vs GGUF)"; exit 1; }
  echo "$m: greedy tokens HF == GGUF: $(cat "$TMP/$m.greedy")"
done

# Variants r1 runs but llama.cpp's GGUF cannot express: convert must refuse them.
#   ds2_group: V2 group_limited_greedy (llama.cpp scores groups by the top-2 sum, V2 by max)
#   ds3_mscale: YaRN mscale != mscale_all_dim (llama.cpp stores only mscale_all_dim)
for m in ds2_group:n_group ds3_mscale:mscale_all_dim; do
  name="${m%%:*}" field="${m#*:}"
  toks=$("$PY" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" "$TMP/$name/expected.json")
  "$R1" logits --model "$TMP/$name" --tokens "$toks" --json > "$TMP/$name.hf.json"
  compare "$name" "$TMP/$name.hf.json" logits 2e-4 2e-4 match
  if "$R1" convert "$TMP/$name" "$TMP/$name.gguf" 2> "$TMP/err.txt"; then
    echo "FAIL: convert accepted $name"; exit 1
  fi
  grep -q "$field" "$TMP/err.txt"
done

# DeepSeek-V3 FP8 -> HF f32 folder (2 shards) -> same logits
toks=$("$PY" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" "$TMP/ds3/expected.json")
"$R1" convert "$TMP/ds3" "$TMP/ds3_f32" --dtype f32 --shard-mb 1 > /dev/null
test -f "$TMP/ds3_f32/model.safetensors.index.json"
"$R1" logits --model "$TMP/ds3_f32" --tokens "$toks" --json > "$TMP/ds3_f32.json"
compare ds3 "$TMP/ds3_f32.json" logits 2e-4 2e-4 match

# an r1-trained model (ckpt.r1, byte tokenizer) -> HF folder -> GGUF: the same logits
"$R1" train --model tiny-dense --data builtin --out "$TMP/trained" --steps 2 > /dev/null 2> "$TMP/train.err" \
  || { cat "$TMP/train.err"; exit 1; }
"$R1" convert "$TMP/trained/ckpt.r1" "$TMP/trained_hf" --dtype f32 > /dev/null
"$R1" convert "$TMP/trained_hf" "$TMP/trained.gguf" --type f32 > /dev/null
for src in "$TMP/trained/ckpt.r1" "$TMP/trained_hf" "$TMP/trained.gguf"; do
  "$R1" logits --model "$src" --tokens 1,5,9,200,17 --json > "$src.logits.json"
done
cmp "$TMP/trained/ckpt.r1.logits.json" "$TMP/trained_hf.logits.json" \
  || { echo "FAIL: ckpt.r1 and its HF folder give different logits"; exit 1; }
mkdir -p "$TMP/trained_ref" && "$PY" -c "
import json, sys
json.dump({'logits': json.load(open(sys.argv[1]))['logits']}, open(sys.argv[2], 'w'))" \
  "$TMP/trained/ckpt.r1.logits.json" "$TMP/trained_ref/expected.json"
compare trained_ref "$TMP/trained.gguf.logits.json" logits 1e-5 1e-5 match

# errors: clear messages, non-zero exit, no crash
if "$R1" logits --model "$TMP/ds3" --tokens 3,999999 --json > /dev/null 2> "$TMP/err.txt"; then
  echo "FAIL: out-of-vocabulary token accepted"; exit 1
fi
grep -q "outside the model's vocabulary" "$TMP/err.txt"
sed -i 's/"moe_layer_freq": 1/"moe_layer_freq": 2/' "$TMP/ds2/config.json"
# llama.cpp runs what `r1 convert` wrote: the f32 GGUF of every architecture gives the same
# greedy tokens in llama.cpp (node-llama-cpp's prebuilt CPU build) as in r1.cpp.
if command -v node > /dev/null; then
  bash "$HERE/../../scripts/install-node-test-deps.sh" > /dev/null
  jobs="["; sep=""
  for m in qwen2 llama ds2 ds3; do
    "$R1" generate --model "$TMP/$m.f32.gguf" --prompt "the answer" --raw --max-tokens 8 --temperature 0 \
      --json > "$TMP/$m.r1greedy.json"
    jobs="$jobs$sep$("$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({'model': sys.argv[2], 'prompt': r['prompt_tokens'], 'n': 8, 'r1': r['tokens']}))" "$TMP/$m.r1greedy.json" "$TMP/$m.f32.gguf")"
    sep=","
  done
  echo "$jobs]" > "$TMP/llama_jobs.json"
  node "$HERE/../node/llamacpp_greedy.mjs" "$TMP/llama_jobs.json" > "$TMP/llama_greedy.jsonl"
  "$PY" - "$TMP/llama_jobs.json" "$TMP/llama_greedy.jsonl" <<'PYEOF'
import json, sys
jobs = json.load(open(sys.argv[1]))
got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
assert len(got) == len(jobs), f"llama.cpp answered {len(got)} of {len(jobs)} jobs"
for j, g in zip(jobs, got):
    name = j["model"].rsplit("/", 1)[-1]
    assert g["tokens"] == j["r1"], f"{name}: llama.cpp {g['tokens']} != r1 {j['r1']}"
    print(f"{name}: llama.cpp greedy == r1 greedy {j['r1']}")
PYEOF
else
  echo "note: node not found, llama.cpp greedy check of the converted files skipped"
fi

if "$R1" logits --model "$TMP/ds2" --tokens 1 > /dev/null 2> "$TMP/err.txt"; then
  echo "FAIL: unsupported moe_layer_freq accepted"; exit 1
fi
grep -q "config.json: field 'moe_layer_freq'" "$TMP/err.txt"
echo "hf_twin: OK"
