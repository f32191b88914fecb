// The embedded chat page (see page.h). Plain HTML/CSS/JS in one raw string; the test
// (tests/node/serve_page.mjs) drives it in headless Chromium, relying on these hooks:
// #input, #send, .msg.assistant[data-chunks][data-done], details.reasoning, .answer.
#include "server/page.h"

namespace r1::server {

namespace {
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>r1.cpp chat</title>
<style>
  :root { --bg:#f6f7f9; --fg:#1d2329; --muted:#68717a; --card:#fff; --line:#dde1e6; --acc:#2f6feb; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; gap:12px; align-items:center; padding:10px 16px; border-bottom:1px solid var(--line); background:var(--card); }
  header h1 { font-size:16px; margin:0; }
  header .model { color:var(--muted); font-size:13px; }
  header .spacer { flex:1; }
  header label { font-size:12px; color:var(--muted); }
  header input { font-size:12px; padding:3px 6px; border:1px solid var(--line); border-radius:4px; width:70px; }
  header input#key { width:140px; }
  main { max-width:860px; margin:0 auto; padding:16px 16px 140px; }
  .msg { margin:12px 0; padding:10px 14px; border-radius:10px; background:var(--card); border:1px solid var(--line); white-space:pre-wrap; word-wrap:break-word; }
  .msg.user { background:#e8f0fe; border-color:#c9dafc; margin-left:15%; }
  .msg.error { background:#fdecea; border-color:#f5c2bd; }
  details.reasoning { margin:0 0 8px; padding:6px 10px; border-left:3px solid var(--line); color:var(--muted); background:#fafbfc; border-radius:4px; }
  details.reasoning summary { cursor:pointer; font-size:13px; user-select:none; }
  details.reasoning .thought { font-size:13px; white-space:pre-wrap; margin-top:4px; }
  .answer:empty::before { content:"…"; color:var(--muted); }
  .stats { font-size:12px; color:var(--muted); margin-top:6px; }
  footer { position:fixed; bottom:0; left:0; right:0; background:var(--card); border-top:1px solid var(--line); padding:10px 16px; }
  footer form { max-width:860px; margin:0 auto; display:flex; gap:8px; }
  textarea { flex:1; resize:none; height:64px; font:inherit; padding:8px; border:1px solid var(--line); border-radius:8px; }
  button { font:inherit; padding:0 18px; border:0; border-radius:8px; background:var(--acc); color:#fff; cursor:pointer; }
  button:disabled { opacity:.5; cursor:default; }
</style>
</head>
<body>
<header>
  <h1>r1.cpp</h1><span class="model" id="model">…</span><span class="spacer"></span>
  <label>max tokens <input id="max_tokens" type="number" min="1" value="256"></label>
  <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.6"></label>
  <label>API key <input id="key" type="password" placeholder="(none)"></label>
</header>
<main id="log"></main>
<footer>
  <form id="form">
    <textarea id="input" placeholder="Ask something (Enter sends, Shift+Enter for a new line)"></textarea>
    <button id="send" type="submit">Send</button>
  </form>
</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const log = $("log"), input = $("input"), send = $("send"), keyInput = $("key");
const history = [];  // {role, content}; assistant turns without their reasoning
let modelId = "";
keyInput.value = localStorage.getItem("r1_api_key") || "";
keyInput.addEventListener("change", () => localStorage.setItem("r1_api_key", keyInput.value));

function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyInput.value) h["Authorization"] = "Bearer " + keyInput.value;
  return h;
}

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (j.data && j.data.length) { modelId = j.data[0].id; $("model").textContent = modelId; }
    else if (j.error) $("model").textContent = j.error.message;
  } catch (e) { $("model").textContent = String(e); }
}

function add(cls, text) {
  const d = document.createElement("div");
  d.className = "msg " + cls;
  if (text !== undefined) d.textContent = text;
  log.appendChild(d);
  d.scrollIntoView({ block: "end" });
  return d;
}

async function ask(text) {
  history.push({ role: "user", content: text });
  add("user", text);
  const box = add("assistant");
  box.dataset.chunks = "0";
  const details = document.createElement("details");
  details.className = "reasoning";
  details.open = true;
  const summary = document.createElement("summary");
  summary.textContent = "Thinking…";
  const thought = document.createElement("div");
  thought.className = "thought";
  details.append(summary, thought);
  const answer = document.createElement("div");
  answer.className = "answer";
  const stats = document.createElement("div");
  stats.className = "stats";
  box.append(details, answer, stats);
  const t0 = performance.now();
  let reasoning = "", content = "", finish = null, usage = null, tThought = null;
  const body = {
    model: modelId || undefined, messages: history, stream: true,
    stream_options: { include_usage: true },
    max_tokens: Number($("max_tokens").value) || 256,
    temperature: Number($("temperature").value),
  };
  try {
    const res = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const j = await res.json(); if (j.error) msg = res.status + ": " + j.error.message; } catch (e) {}
      throw new Error(msg);
    }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;  // SSE comments (keep-alives) and other fields
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          const j = JSON.parse(data);
          if (j.error) throw new Error(j.error.message);
          if (j.usage) usage = j.usage;
          for (const c of j.choices || []) {
            const d = c.delta || {};
            if (d.reasoning_content) { reasoning += d.reasoning_content; thought.textContent = reasoning; }
            if (d.content) {
              if (tThought === null) tThought = (performance.now() - t0) / 1000;
              content += d.content; answer.textContent = content;
            }
            if (c.finish_reason) finish = c.finish_reason;
          }
          box.dataset.chunks = String(Number(box.dataset.chunks) + 1);
        }
      }
      box.scrollIntoView({ block: "end" });
    }
    if (!reasoning) details.remove();
    else summary.textContent = "Thought" + (tThought !== null ? " for " + tThought.toFixed(1) + " s" : "") +
                               (usage ? " (" + usage.completion_tokens_details.reasoning_tokens + " tokens)" : "");
    const secs = (performance.now() - t0) / 1000;
    stats.textContent = (usage ? usage.completion_tokens + " tokens, " +
                         (usage.completion_tokens / Math.max(secs, 1e-3)).toFixed(1) + " tok/s, " : "") +
                        "finish: " + finish;
    history.push({ role: "assistant", content });
  } catch (e) {
    box.classList.add("error");
    stats.textContent = "error: " + e.message;
    history.pop();
  } finally {
    box.dataset.done = "1";
  }
}

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text || send.disabled) return;
  input.value = "";
  send.disabled = true;
  try { await ask(text); } finally { send.disabled = false; input.focus(); }
});
input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("form").requestSubmit(); }
});
loadModel();
</script>
</body>
</html>
)HTML";
}  // namespace

std::string_view chat_page_html() { return kPage; }

}  // namespace r1::server
