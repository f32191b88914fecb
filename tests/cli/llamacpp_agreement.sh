#!/usr/bin/env bash
# Greedy agreement with llama.cpp (issue 3 "Correctness"): on the same GGUF file, the first 32
# greedy tokens of r1.cpp must equal llama.cpp's (node-llama-cpp 3.22.1, prebuilt CPU build).
#  1. random-weight files from ../shared/peers/make_gguf.py: qwen2-tiny and deepseek2-tiny
#     (MoE + MLA), each in f32 and q8_0, prompt = the benchmark convention
#     token i = (i*7919 + 13) % 1000 + 100 (16 tokens), via `r1 bench decode --json`.
#  2. two models trained by `r1 train` on the built-in corpus (tiny-dense, llama arch; a
#     DeepSeekMoE + MLA model, deepseek2 arch), exported by `r1 export` (f32) and
#     `r1 quantize` (q8_0): one greedy `r1 chat --json` turn in the R1 chat format, its prompt
#     ids replayed in llama.cpp (compared up to r1's EOS). These must agree exactly.
# The tokenizer.json for (1) is generated here: the 256 byte-level symbols + filler tokens,
# 1301 ids in all, so files stay small and llama.cpp's vocabulary checks pass.
# usage: llamacpp_agreement.sh R1_BINARY SCRATCH_DIR
# Random-weight q8_0 files currently agree only up to a near-tie (see the check at the end).
# Skips (exit 77 = ctest "Skipped", with a message) when the peer script or python3+numpy is not there.
set -euo pipefail
R1="$1"
TMP="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N=32
. "$HERE/lib/peer_gguf_prelude.sh"
bash "$ROOT/scripts/install-node-test-deps.sh"
export R1_THREADS=1
byte_tokenizer "$TMP/tokenizer.json"

jobs="["
sep=""
for shape in qwen2-tiny deepseek2-tiny; do
  for type in f32 q8_0; do
    f="$TMP/$shape-$type.gguf"
    "$PY" "$MAKE_GGUF" "$f" --shape "$shape" --type "$type" --tokenizer "$TMP/tokenizer.json" --seed 3 >/dev/null
    "$R1" bench decode --model "$f" --prompt-tokens 16 --gen-tokens $N --threads 1 --json > "$TMP/$shape-$type.r1.json"
    prompt=$("$PY" -c "print([(i*7919 + 13) % 1000 + 100 for i in range(16)])")
    jobs="$jobs$sep{\"model\": \"$f\", \"prompt\": $prompt, \"n\": $N, \"r1\": \"$TMP/$shape-$type.r1.json\"}"
    sep=","
  done
done

# Trained models, exported and quantised: tiny-dense (llama arch, 60 steps) and a DeepSeekMoE
# with MLA (deepseek2 arch: 8 routed experts top-2 + 1 shared, first layer dense, latent KV
# cache; 150 steps). Trained weights give peaked logits, so these must agree exactly.
cat > "$TMP/mla-moe.json" <<'JSON'
{"arch": "deepseek2", "n_vocab": 320, "n_embd": 128, "n_layer": 4, "n_ctx": 256,
 "attn": "mla", "n_head": 4, "n_head_kv": 4, "q_lora_rank": 0, "kv_lora_rank": 64,
 "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32,
 "norm": "rmsnorm", "norm_eps": 1e-6, "pos": "rope", "rope_layout": "neox",
 "mlp": "swiglu", "n_ff": 384, "n_expert": 8, "n_expert_used": 2, "n_expert_shared": 1,
 "n_ff_exp": 64, "n_layer_dense_lead": 1, "gating": "sigmoid", "expert_weights_norm": true,
 "expert_weights_scale": 1.0, "expert_sel_bias": true, "bias_update_speed": 0.001}
JSON
for spec in "dense:tiny-dense:60" "mla-moe:$TMP/mla-moe.json:150"; do
  IFS=: read -r tag model steps <<< "$spec"
  "$R1" train --model "$model" --batch 8 --seq 128 --steps "$steps" --log-every 0 --no-progress \
      --eval-batches 0 --out "$TMP/run-$tag" > /dev/null
  "$R1" export --ckpt "$TMP/run-$tag/ckpt.r1" --out "$TMP/trained-$tag-f32.gguf" --type f32 > /dev/null
  "$R1" quantize "$TMP/trained-$tag-f32.gguf" "$TMP/trained-$tag-q8_0.gguf" q8_0 > /dev/null
  for type in f32 q8_0; do
    f="$TMP/trained-$tag-$type.gguf"
    # one greedy chat turn (built-in R1 format: no template in the exported file); its JSON
    # carries the prompt ids llama.cpp is given and the sampled ids (EOS included)
    printf 'What is 12+30?\n' | "$R1" chat --model "$f" --temp 0 --max-tokens $N --json > "$f.r1.json"
    ids=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['prompt_ids'])" "$f.r1.json")
    jobs="$jobs,{\"model\": \"$f\", \"prompt\": $ids, \"n\": $N, \"r1\": \"$f.r1.json\"}"
  done
done
echo "$jobs]" > "$TMP/jobs.json"

node "$ROOT/tests/node/llamacpp_greedy.mjs" "$TMP/jobs.json" > "$TMP/llama.jsonl"

"$PY" - "$TMP/jobs.json" "$TMP/llama.jsonl" $N "$R1" <<'PYEOF'
import json, subprocess, sys
jobs = json.load(open(sys.argv[1]))
llama = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
n, r1 = int(sys.argv[3]), sys.argv[4]
assert len(llama) == len(jobs), f"llama.cpp answered {len(llama)} of {len(jobs)} jobs"
TIE = 0.01  # logits; see below
bad = 0
for job, ll in zip(jobs, llama):
    r = json.loads(open(job["r1"]).read().splitlines()[0])
    mine = r["tokens"]
    name = job["model"].rsplit("/", 1)[-1]
    # r1 chat stops at EOS (included); compare that prefix, else all n tokens
    k = len(mine) if r.get("finish_reason") == "stop" else n
    theirs = ll["tokens"][:k]
    agree = 0
    while agree < min(len(mine), len(theirs)) and mine[agree] == theirs[agree]:
        agree += 1
    if agree == k and len(mine) >= k:
        print(f"ok   {name}: {agree}/{k} greedy tokens agree with llama.cpp")
        continue
    # Random-weight Q8_0 files: with random weights the top logits are within ~0.005 of each
    # other, and what still differs is the KV cache's rounding (r1's f32 cache here; with
    # r1 --kv-type f16 these files agree much further, see llamacpp_agreement_f16kv.sh).
    # Accepted only for random-weight q8_0 files, and only when the divergence is a near-tie
    # by r1's own logits.
    gap = None
    if "q8_0" in name and not name.startswith("trained") and agree < len(theirs):
        ids = job["prompt"] + mine[:agree]
        out = subprocess.run([r1, "logits", "--model", job["model"], "--tokens", ",".join(map(str, ids)), "--json"],
                             capture_output=True, text=True, check=True).stdout
        L = json.loads(out)["logits"][-1]
        gap = L[mine[agree]] - L[theirs[agree]]
    if gap is not None and 0 <= gap < TIE:
        print(f"ok   {name}: {agree}/{k} agree, then a near-tie (r1 logit gap {gap:.5f} < {TIE}) flips the greedy pick")
        continue
    print(f"FAIL {name}: {agree}/{k} greedy tokens agree with llama.cpp" + (f" (gap {gap:.5f})" if gap is not None else ""))
    print(f"     r1:        {mine}\n     llama.cpp: {theirs}")
    bad += 1
sys.exit(1 if bad else 0)
PYEOF
