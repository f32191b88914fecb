#!/usr/bin/env bash
# `r1 chat` on a briefly trained tiny-dense checkpoint, driven through piped stdin:
#  - multi-turn --json: turn 2 after /reset reproduces turn 0 exactly (greedy), turn 1's prompt
#    holds turn 0's answer but not its reasoning (earlier <think> dropped);
#  - the first turn equals `r1 generate --think` (same built-in R1 format, same greedy tokens);
#  - streamed text: reasoning framed by <think> ... </think> when stdout is not a TTY, left out
#    with --hide-reasoning, and the answer equal to the --json content;
#  - --template with a tokenizer_config.json carrying the real R1-Distill Jinja template
#    renders the same prompt ids as the built-in format;
#  - errors: a missing model file, a broken template.
# usage: chat.sh R1_BINARY SCRATCH_DIR
set -euo pipefail
R1="$1"
TMP="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$TMP"
mkdir -p "$TMP"
export R1_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

"$R1" train --model tiny-dense --batch 8 --seq 128 --steps 60 --log-every 0 --no-progress \
    --eval-batches 0 --out "$TMP/run" > /dev/null || fail "training run failed"
M="$TMP/run/ckpt.r1"
Q1="What is 12+30?"

printf '%s\nAnd 7*8?\n/reset\n%s\n/exit\nnever read\n' "$Q1" "$Q1" | \
    "$R1" chat --model "$M" --temp 0 --max-tokens 24 --json > "$TMP/turns.jsonl" || fail "chat --json failed"
printf '%s\n' "$Q1" | "$R1" chat --model "$M" --temp 0 --max-tokens 24 > "$TMP/stream.txt" || fail "chat (stream) failed"
printf '%s\n' "$Q1" | "$R1" chat --model "$M" --temp 0 --max-tokens 24 --hide-reasoning > "$TMP/hidden.txt" || fail "chat --hide-reasoning failed"
"$R1" generate --ckpt "$M" --prompt "$Q1" --think --temperature 0 --max-tokens 24 --json > "$TMP/generate.json" || fail "generate failed"

# The real R1-Distill template as a tokenizer_config.json (chat_template + bos_token).
python3 - "$ROOT/tests/node/chat_templates/deepseek-r1-distill-qwen.jinja" "$TMP/tokenizer_config.json" <<'PY'
import json, sys
json.dump({"bos_token": {"content": "<｜begin▁of▁sentence｜>"}, "eos_token": "<｜end▁of▁sentence｜>",
           "chat_template": open(sys.argv[1], encoding="utf-8").read()}, open(sys.argv[2], "w"), ensure_ascii=False)
PY
printf '%s\nAnd 7*8?\n' "$Q1" | "$R1" chat --model "$M" --temp 0 --max-tokens 24 --json \
    --template "$TMP/tokenizer_config.json" > "$TMP/jinja.jsonl" || fail "chat --template failed"

python3 - "$TMP" "$Q1" <<'PY' || fail "chat output checks"
import json, re, sys
d, q1 = sys.argv[1], sys.argv[2]
turns = [json.loads(l) for l in open(f"{d}/turns.jsonl")]
assert len(turns) == 3, f"expected 3 turns (/exit stops reading), got {len(turns)}"
t0, t1, t2 = turns
assert [t["turn"] for t in turns] == [0, 1, 2] and t0["user"] == q1 and t1["user"] == "And 7*8?"
assert t0["n_prompt"] == len(t0["prompt_ids"]) and t0["n_tokens"] == len(t0["tokens"]) > 0
assert t0["finish_reason"] in ("stop", "length")
assert t2["prompt_ids"] == t0["prompt_ids"] and t2["tokens"] == t0["tokens"], "/reset did not clear the history"
# prompt text without the special tokens (ids >= 256 of the byte tokenizer)
text = lambda ids: bytes(i for i in ids if i < 256).decode("utf-8", "replace")
plain = lambda s: re.sub(r"</?(think|answer)>", "", s)
p1 = text(t1["prompt_ids"])
assert q1 in p1 and "And 7*8?" in p1 and len(t1["prompt_ids"]) > len(t0["prompt_ids"])
kept = plain(t0["content"].split("</think>")[-1])  # the R1 format keeps text after the last </think>
assert kept in p1, f"the previous answer {kept!r} is missing from the history {p1!r}"
if plain(t0["reasoning"]).strip() and plain(t0["reasoning"]).strip() not in kept:
    assert plain(t0["reasoning"]).strip() not in p1, "earlier reasoning was sent back to the model"
g = json.load(open(f"{d}/generate.json"))
assert g["tokens"] == t0["tokens"], f"chat {t0['tokens']} != generate {g['tokens']}"
stream = open(f"{d}/stream.txt", encoding="utf-8").read()
hidden = open(f"{d}/hidden.txt", encoding="utf-8").read()
assert hidden == t0["content"] + "\n", (hidden, t0["content"])
if t0["reasoning"]:
    assert stream.startswith("<think>\n" + t0["reasoning"] + "\n</think>\n"), stream
    assert "<think>" not in hidden
assert stream.endswith(t0["content"] + "\n")
j = [json.loads(l) for l in open(f"{d}/jinja.jsonl")]
assert len(j) == 2
assert j[0]["prompt_ids"] == t0["prompt_ids"] and j[1]["prompt_ids"] == t1["prompt_ids"], "Jinja R1 template != built-in"
assert j[0]["tokens"] == t0["tokens"]
print(f"ok: 3 turns, prompt {t0['n_prompt']} -> {t1['n_prompt']} tokens, finish {t0['finish_reason']}; "
      f"generate, stream, --hide-reasoning and the Jinja template agree")
PY

# Errors: clear messages, non-zero exit, no crash.
if printf 'hi\n' | "$R1" chat --model "$TMP/missing.gguf" > "$TMP/err1.txt" 2>&1; then fail "missing model accepted"; fi
grep -q "missing.gguf" "$TMP/err1.txt" || fail "error does not name the file: $(cat "$TMP/err1.txt")"
printf '{"chat_template": "{%% for %%}"}' > "$TMP/bad_config.json"
if printf 'hi\n' | "$R1" chat --model "$M" --template "$TMP/bad_config.json" > "$TMP/err2.txt" 2>&1; then fail "broken template accepted"; fi
grep -q "bad_config.json" "$TMP/err2.txt" || fail "template error does not name the file: $(cat "$TMP/err2.txt")"
"$R1" chat --help | grep -q -- "--hide-reasoning" || fail "--help"
echo "ok: errors"
