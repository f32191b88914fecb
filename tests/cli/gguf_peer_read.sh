#!/usr/bin/env bash
# Reader compatibility with a real producer: ../shared/peers/make_gguf.py writes GGUF files
# the way llama.cpp's gguf-py does (qwen2-tiny f32 and q8_0, deepseek2-tiny q8_0); `r1
# gguf-info --json` must read them and report the right tensor count, keys, types and dims,
# and `--rewrite` (r1's writer) must reproduce each file byte for byte.
# A truncated copy must be refused with an error naming the file.
# usage: gguf_peer_read.sh R1_BINARY SCRATCH_DIR
# Skips (exit 77 = ctest "Skipped", with a message) when the peer script or python3+numpy is not there.
set -euo pipefail
R1="$1"
TMP="$2"
. "$(dirname "$0")/lib/peer_gguf_prelude.sh"

# A minimal tokenizer.json: five byte-level BPE tokens, one merge, one added token.
cat > "$TMP/tokenizer.json" <<'EOF'
{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4},
           "merges": ["a b", "\u0120 a"]},
 "added_tokens": [{"content": "<|endoftext|>", "id": 5}]}
EOF

# name shape type expected_tensor_count
check() {
  local name="$1" shape="$2" type="$3" want_tensors="$4"
  local f="$TMP/$name.gguf"
  "$PY" "$MAKE_GGUF" "$f" --shape "$shape" --type "$type" --tokenizer "$TMP/tokenizer.json" >/dev/null
  "$R1" gguf-info "$f" --json > "$TMP/$name.json"
  "$R1" gguf-info "$f" --rewrite "$TMP/$name.copy.gguf" > "$TMP/$name.txt"
  # r1's writer reproduces gguf-py's layout byte for byte.
  cmp "$f" "$TMP/$name.copy.gguf" || { echo "FAIL: $name: r1's rewrite differs from the peer's file"; exit 1; }
  "$PY" - "$TMP/$name.json" "$shape" "$type" "$want_tensors" "$(stat -c %s "$f")" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); shape, typ, want, size = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
arch = "qwen2" if shape.startswith("qwen2") else "deepseek2"
m = j["metadata"]; t = {x["name"]: x for x in j["tensors"]}
def eq(what, got, exp):
    if got != exp: sys.exit(f"FAIL {shape} {typ}: {what} = {got!r}, expected {exp!r}")
eq("version", j["version"], 3)
eq("n_tensors", j["n_tensors"], want); eq("tensors listed", len(t), want)
eq("architecture", j["architecture"], arch)
eq("block_count", m[f"{arch}.block_count"], 4)
eq("embedding_length", m[f"{arch}.embedding_length"], 256)
eq("rms eps", abs(m[f"{arch}.attention.layer_norm_rms_epsilon"] - 1e-6) < 1e-12, True)
eq("alignment", m["general.alignment"], 32)
toks = m["tokenizer.ggml.tokens"]
eq("tokens type", toks["type"], "array[string]"); eq("n_vocab", toks["n"], 6)
eq("first tokens", toks["head"][:4], ["a", "b", "ab", "\u0120"])
eq("merges", m["tokenizer.ggml.merges"]["head"], ["a b", "\u0120 a"])
eq("eos", m["tokenizer.ggml.eos_token_id"], 5)
eq("token_embd dims", t["token_embd.weight"]["dims"], [256, 6])
eq("attn_norm type", t["blk.0.attn_norm.weight"]["type"], "f32")
eq("attn_q type", t["blk.0.attn_q.weight"]["type"], typ)
if arch == "qwen2":
    eq("attn_k dims", t["blk.1.attn_k.weight"]["dims"], [256, 128])
    eq("attn_q.bias dims", t["blk.0.attn_q.bias"]["dims"], [256])
    want_q = 256 * 256 * 4 if typ == "f32" else 256 * 256 // 32 * 34
    eq("attn_q bytes", t["blk.0.attn_q.weight"]["bytes"], want_q)
else:
    eq("expert_count", m["deepseek2.expert_count"], 8)
    eq("expert_weights_norm", m["deepseek2.expert_weights_norm"], False)
    eq("gate_exps dims", t["blk.1.ffn_gate_exps.weight"]["dims"], [256, 128, 8])
    eq("gate_exps bytes", t["blk.1.ffn_gate_exps.weight"]["bytes"], 8 * 128 * 256 // 32 * 34)
    eq("gate_inp type", t["blk.1.ffn_gate_inp.weight"]["type"], "f32")
end = max(x["offset"] + x["bytes"] for x in j["tensors"]) + j["data_offset"]
eq("data inside file", end <= size == j["file_size"], True)
print(f"ok {shape} {typ}: {want} tensors, {j['tensor_bytes']} bytes of tensor data")
EOF
  grep -q "^architecture: $([ "${shape#qwen2}" != "$shape" ] && echo qwen2 || echo deepseek2)" "$TMP/$name.txt" \
    || { echo "FAIL: text output of $name lacks the architecture line"; exit 1; }
}

check qwen2-f32 qwen2-tiny f32 51
check qwen2-q8 qwen2-tiny q8_0 51
check ds2-q8 deepseek2-tiny q8_0 55

# A truncated copy is refused with a message naming the file and the field.
head -c 100000 "$TMP/qwen2-q8.gguf" > "$TMP/cut.gguf"
if "$R1" gguf-info "$TMP/cut.gguf" > /dev/null 2> "$TMP/cut.err"; then
  echo "FAIL: truncated file was accepted"; exit 1
fi
grep -Eq "\[gguf\] $TMP/cut.gguf: tensor '[^']+': .*(runs past the end of the file|exceeds the file size)" "$TMP/cut.err" \
  || { echo "FAIL: unexpected error for truncated file:"; cat "$TMP/cut.err"; exit 1; }
echo "ok: truncated file refused: $(cat "$TMP/cut.err")"
