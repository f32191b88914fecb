# Sourced by the CLI tests that run GGUF files written by ../shared/peers/make_gguf.py (this
# folder is not globbed as tests) after they set TMP (scratch folder). Skips the test (exit
# 77 = ctest "Skipped", with the reason) when the peer script (the copy in scripts/peers/)
# or /usr/bin/python3 with numpy is missing; then starts TMP empty and defines
#   MAKE_GGUF, PY           the peer script and the interpreter that runs it,
#   filler_tokenizer FILE   a tokenizer.json of 1300 filler tokens t0..t1299 + <|endoftext|>,
#   byte_tokenizer FILE     a tokenizer.json whose first 256 ids are the GPT-2 byte-level
#                           symbols, then fillers tok256..tok1299 + <|endoftext|> (1301 ids):
#                           any text encodes, and llama.cpp's vocabulary checks pass.
# Either way the files stay small and the benchmark prompt ids (100..1099) are real tokens.
MAKE_GGUF="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/peers/make_gguf.py"  # copy of ../shared/peers/make_gguf.py
PY=/usr/bin/python3
if [ ! -f "$MAKE_GGUF" ]; then
  echo "SKIP: $MAKE_GGUF not found (shared/ is not beside the repository checkout)"
  exit 77
fi
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "SKIP: $PY with numpy is not available (apt-get install python3-numpy)"
  exit 77
fi
rm -rf "$TMP"
mkdir -p "$TMP"

filler_tokenizer() {
  "$PY" - "$1" <<'PYEOF'
import json, sys
vocab = {f"t{i}": i for i in range(1300)}
json.dump({"model": {"type": "BPE", "vocab": vocab, "merges": ["t 1"]},
           "added_tokens": [{"content": "<|endoftext|>", "id": 1300}]}, open(sys.argv[1], "w"))
PYEOF
}

byte_tokenizer() {
  "$PY" - "$1" <<'PYEOF'
import json, sys
# GPT-2 byte-level alphabet first (every byte is a token), then filler tokens.
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
vocab = {chr(c): i for i, c in enumerate(cs)}
for i in range(256, 1300):
    vocab[f"tok{i}"] = i
json.dump({"model": {"type": "BPE", "vocab": vocab, "merges": []},
           "added_tokens": [{"content": "<|endoftext|>", "id": 1300}]}, open(sys.argv[1], "w"))
PYEOF
}
