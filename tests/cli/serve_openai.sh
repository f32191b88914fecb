#!/usr/bin/env bash
# r1 serve with real clients: trains a tiny MoE briefly, serves it (API key, free port) and runs
# tests/node/serve_openai.mjs (official `openai` npm client: chat stream/non-stream with
# reasoning_content and usage, completions, n, stop, 16 parallel streams, disconnect, bad-input
# table) and tests/node/serve_page.mjs (the chat page in headless Chromium, screenshot); a second
# server with one slot and no queue checks 503 and the SIGTERM drain (exit code 0); a tiny dense
# model exported to GGUF is served too (a few training steps: only the plumbing is checked).
# Usage: serve_openai.sh PATH/TO/r1 SCRATCH_DIR
# R1_UPDATE_SCREENSHOT=1 also copies the screenshot to docs/img/chat_page.png (done when that
# file is missing); otherwise it stays in SCRATCH_DIR, so test runs leave the tree unchanged.
set -uo pipefail
R1="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
DIR="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$DIR"
mkdir -p "$DIR"
export R1_THREADS=1
fail() { echo "FAIL: $*"; for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; done; }
trap cleanup EXIT

bash "$ROOT/scripts/install-node-test-deps.sh" || fail "node test deps"

# start_server NAME ARGS... : starts r1 serve on a free port; sets PORT and PID
start_server() {
    local name="$1"; shift
    rm -f "$DIR/$name.port"
    "$R1" serve --port 0 --port-file "$DIR/$name.port" "$@" > "$DIR/$name.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 300); do
        [ -s "$DIR/$name.port" ] && break
        kill -0 "$PID" 2> /dev/null || fail "$name: r1 serve exited during start-up"
        sleep 0.1
    done
    [ -s "$DIR/$name.port" ] || fail "$name: no port after 30 s"
    PORT="$(cat "$DIR/$name.port")"
}

# 150 steps (seconds on an idle machine) is what it takes for the model to close </think> and
# answer, so the page test sees both blocks. R1_SERVE_TEST_CKPT=PATH reuses a trained
# checkpoint instead (quick local runs).
mkdir -p "$DIR/moe"
if [ -n "${R1_SERVE_TEST_CKPT:-}" ]; then
    cp "$R1_SERVE_TEST_CKPT" "$DIR/moe/ckpt.r1" || fail "copy $R1_SERVE_TEST_CKPT"
else
    "$R1" train --model tiny-moe --data builtin --steps 150 --log-every 0 --no-progress --eval-batches 0 \
        --out "$DIR/moe" > "$DIR/train.log" 2>&1 || fail "training tiny-moe"
fi

# bad start-up arguments fail cleanly
"$R1" serve --model "$DIR/nope.gguf" > "$DIR/bad.log" 2>&1 && fail "serve accepted a missing model"
grep -q "nope.gguf" "$DIR/bad.log" || fail "missing-model error does not name the file"

start_server main --model "$DIR/moe/ckpt.r1" --alias tiny-moe --api-key test-key \
    --parallel 4 --queue 32 --body-limit 65536 --max-tokens-limit 256
MAIN_PORT="$PORT"; MAIN_PID="$PID"
curl -sf "http://127.0.0.1:$MAIN_PORT/health" | grep -q '"ok"' || fail "/health"

start_server busy --model "$DIR/moe/ckpt.r1" --alias tiny-moe --parallel 1 --queue 0 --drain-timeout 20
BUSY_PORT="$PORT"; BUSY_PID="$PID"

node "$ROOT/tests/node/serve_openai.mjs" --url "http://127.0.0.1:$MAIN_PORT" --key test-key --model tiny-moe \
    --busy-url "http://127.0.0.1:$BUSY_PORT" --busy-pid "$BUSY_PID" || fail "serve_openai.mjs"

# the busy server got SIGTERM from the script mid-stream: it drains and exits 0
for _ in $(seq 1 200); do kill -0 "$BUSY_PID" 2> /dev/null || break; sleep 0.1; done
kill -0 "$BUSY_PID" 2> /dev/null && fail "busy server still running 20 s after SIGTERM"
wait "$BUSY_PID"; rc=$?
[ "$rc" -eq 0 ] || fail "busy server exited $rc after SIGTERM (want 0)"
grep -q "draining" "$DIR/busy.log" || fail "no drain message in busy.log"

node "$ROOT/tests/node/serve_page.mjs" --url "http://127.0.0.1:$MAIN_PORT" --key test-key \
    --shot "$DIR/chat_page.png" || fail "serve_page.mjs (headless Chromium)"
if [ "${R1_UPDATE_SCREENSHOT:-0}" = 1 ] || [ ! -f "$ROOT/docs/img/chat_page.png" ]; then
    mkdir -p "$ROOT/docs/img" && cp "$DIR/chat_page.png" "$ROOT/docs/img/chat_page.png"
fi

kill -TERM "$MAIN_PID"; wait "$MAIN_PID"; rc=$?
[ "$rc" -eq 0 ] || fail "main server exited $rc after SIGTERM (want 0)"

# a GGUF file (tiny dense model exported with its tokenizer) is served the same way
"$R1" train --model tiny-dense --data builtin --steps 3 --batch 2 --seq 32 --log-every 0 --no-progress --eval-batches 0 \
    --out "$DIR/dense" > "$DIR/train_dense.log" 2>&1 || fail "training tiny-dense"
"$R1" export --ckpt "$DIR/dense/ckpt.r1" --out "$DIR/dense.gguf" --type q8_0 > "$DIR/export.log" 2>&1 ||
    fail "export to GGUF"
start_server gguf --model "$DIR/dense.gguf" --parallel 2
node "$ROOT/tests/node/serve_openai.mjs" --url "http://127.0.0.1:$PORT" --model dense --quick ||
    fail "serve_openai.mjs --quick on the GGUF model"
kill -TERM "$PID"; wait "$PID" || fail "gguf server exit code"
echo "serve_openai: all passed"
