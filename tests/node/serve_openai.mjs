// `r1 serve` driven by the official `openai` npm client (and raw fetch for what a client
// library hides: status codes of bad input, SSE bytes, /metrics). Run by tests/cli/serve_openai.sh.
//
//   node serve_openai.mjs --url http://127.0.0.1:PORT --key KEY --model ID [--quick]
//        [--busy-url URL --busy-pid PID]
//
// Full mode: models; non-stream + stream chat (reasoning_content present, usage counted, the
// stream adds up to the non-stream answer); completions; n=2; stop; 16 parallel streams (all
// complete, tok/s printed, no leaked slots in /metrics); a client that disconnects mid-stream
// frees its slot; a bad-input table (status codes, OpenAI error bodies, server keeps serving).
// --busy-url: a server with 1 slot and no queue: 503 when full, then SIGTERM mid-stream drains
// (the stream still completes). --quick: models + chat (non-stream and stream) only.
import OpenAI from "openai";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : true]);
    return acc;
  }, []));
const url = args.url, key = args.key === true ? "" : (args.key || ""), model = args.model;
let failures = 0;
function check(cond, what) {
  if (cond) console.log("ok   " + what);
  else { console.log("FAIL " + what); failures++; }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const client = new OpenAI({ baseURL: url + "/v1", apiKey: key || "none", maxRetries: 0, timeout: 60000 });
const user = (content) => [{ role: "user", content }];

async function metrics(base = url) {
  const text = await (await fetch(base + "/metrics")).text();
  const m = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    m[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return m;
}

async function waitIdle(base = url, ms = 10000) {
  const t0 = Date.now();
  let m;
  while (Date.now() - t0 < ms) {
    m = await metrics(base);
    if (m.r1_slots_busy === 0 && m.r1_queue_depth === 0 && m.r1_requests_in_flight === 0) return m;
    await sleep(50);
  }
  return m;
}

async function streamChat(params, onChunk) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const out = { reasoning: "", content: "", chunks: 0, finish: null, usage: null, role: null };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) out.role = c.delta.role;
      if (c.delta.reasoning_content) out.reasoning += c.delta.reasoning_content;
      if (c.delta.content) out.content += c.delta.content;
      if (c.finish_reason) out.finish = c.finish_reason;
    }
    if (onChunk && onChunk(out, stream) === false) break;
  }
  return out;
}

function checkUsage(u, what) {
  check(u && u.prompt_tokens > 0 && u.completion_tokens > 0 &&
        u.total_tokens === u.prompt_tokens + u.completion_tokens, what + ": usage counted " + JSON.stringify(u));
  check(u && u.completion_tokens_details && u.completion_tokens_details.reasoning_tokens >= 0 &&
        u.completion_tokens_details.reasoning_tokens <= u.completion_tokens, what + ": reasoning_tokens within completion_tokens");
}

// ---------------------------------------------------------------- basic chat
const models = await client.models.list();
check(models.data.length === 1 && models.data[0].id === model, "models.list -> [" + model + "]");

const q = { model, messages: user("What is 12+30?"), max_tokens: 48, temperature: 0 };
const r = await client.chat.completions.create(q);
const msg = r.choices[0].message;
check(r.object === "chat.completion" && msg.role === "assistant", "non-stream chat: chat.completion, role assistant");
check(typeof msg.reasoning_content === "string" && msg.reasoning_content.length > 0,
      "non-stream chat: reasoning_content present (" + JSON.stringify(msg.reasoning_content.slice(0, 40)) + "...)");
check(typeof msg.content === "string", "non-stream chat: content is a string");
check(["stop", "length"].includes(r.choices[0].finish_reason), "non-stream chat: finish_reason " + r.choices[0].finish_reason);
checkUsage(r.usage, "non-stream chat");

const s = await streamChat({ ...q, stream_options: { include_usage: true } });
check(s.role === "assistant" && s.chunks >= 3, "stream chat: role chunk first, " + s.chunks + " chunks");
check(s.reasoning.length > 0, "stream chat: reasoning_content deltas");
check(s.reasoning === msg.reasoning_content && s.content === msg.content,
      "stream chat: deltas add up to the non-stream message (same greedy request)");
check(s.finish === r.choices[0].finish_reason, "stream chat: same finish_reason");
checkUsage(s.usage, "stream chat");
check(JSON.stringify(s.usage) === JSON.stringify(r.usage), "stream chat: same usage as non-stream");

if (!args.quick) {
  // raw SSE bytes: data: lines and the [DONE] terminator
  const raw = await fetch(url + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
    body: JSON.stringify({ ...q, stream: true, max_tokens: 4 }) });
  const sse = await raw.text();
  check(raw.headers.get("content-type").startsWith("text/event-stream") && sse.startsWith("data: {") &&
        sse.endsWith("data: [DONE]\n\n"), "SSE framing: text/event-stream, data: lines, [DONE]");

  // reasoning_format none keeps the think block inline
  const inl = await client.chat.completions.create({ ...q, reasoning_format: "none" });
  check(inl.choices[0].message.reasoning_content === undefined &&
        inl.choices[0].message.content.length >= msg.reasoning_content.length,
        "reasoning_format none: everything in content");

  // ------------------------------------------------------------ completions, n, stop
  const c = await client.completions.create({ model, prompt: "12+30=", max_tokens: 16, temperature: 0 });
  check(c.object === "text_completion" && typeof c.choices[0].text === "string" && c.choices[0].text.length > 0,
        "completions: text " + JSON.stringify(c.choices[0].text));
  checkUsage(c.usage, "completions");
  const cs = [];
  for await (const ch of await client.completions.create({ model, prompt: "12+30=", max_tokens: 16, temperature: 0, stream: true }))
    cs.push(ch.choices[0]?.text || "");
  check(cs.join("") === c.choices[0].text, "completions stream adds up to the non-stream text");

  const n2 = await client.chat.completions.create({ model, messages: user("2+2?"), max_tokens: 16, n: 2, seed: 7, temperature: 1 });
  check(n2.choices.length === 2 && n2.choices[0].index === 0 && n2.choices[1].index === 1, "n=2: two choices");
  const n2b = await client.chat.completions.create({ model, messages: user("2+2?"), max_tokens: 16, n: 2, seed: 7, temperature: 1 });
  check(JSON.stringify(n2b.choices) === JSON.stringify(n2.choices), "seed: same seed, same choices");

  const st = await client.chat.completions.create({ ...q, max_tokens: 48, stop: ["1", "2", "3", "4"] });
  const all = (st.choices[0].message.reasoning_content || "") + st.choices[0].message.content;
  check(!/[1234]/.test(all), "stop strings: output cut before them (" + JSON.stringify(all.slice(0, 30)) + ")");

  // ------------------------------------------------------------ 16 parallel streams
  const before = await metrics();
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    streamChat({ model, messages: user(`What is ${i}+${i * 3}?`), max_tokens: 40, temperature: 0.8, seed: i,
                 stream_options: { include_usage: true } })));
  const secs = (performance.now() - t0) / 1000;
  const toks = results.reduce((a, x) => a + (x.usage ? x.usage.completion_tokens : 0), 0);
  check(results.every((x) => x.finish && x.usage), "16 parallel streams: all completed with finish_reason + usage");
  console.log(`info 16 parallel streams: ${toks} tokens in ${secs.toFixed(2)} s = ${(toks / secs).toFixed(1)} tok/s (wall, loopback)`);
  const after = await waitIdle();
  check(after.r1_slots_busy === 0 && after.r1_queue_depth === 0 && after.r1_requests_in_flight === 0,
        "16 parallel streams: no leaked slots (slots_busy, queue_depth, in_flight all 0)");
  check(after.r1_sequences_completed_total - before.r1_sequences_completed_total >= 16, "metrics: 16 more sequences completed");
  check(after.r1_tokens_per_second > 0, `metrics: r1_tokens_per_second ${after.r1_tokens_per_second.toFixed(1)}`);
  check(after['r1_requests_total{endpoint="chat",status="200"}'] >= 20, "metrics: requests_total by endpoint/status");

  // ------------------------------------------------------------ disconnect mid-stream
  {
    const before = await metrics();
    const ctl = new AbortController();
    let got = 0;
    try {
      const res = await fetch(url + "/v1/chat/completions", {
        method: "POST", signal: ctl.signal,
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
        body: JSON.stringify({ model, messages: user("Tell me a long story"), stream: true, temperature: 1, seed: 3,
                               ignore_eos: true }) });
      const reader = res.body.getReader();
      while (got < 2) { const { done } = await reader.read(); if (done) break; got++; }
      ctl.abort();
    } catch (e) { /* the abort */ }
    const after = await waitIdle();
    check(got === 2 && after.r1_slots_busy === 0 && after.r1_requests_in_flight === 0,
          "disconnect mid-stream: slot freed");
    check(after.r1_sequences_cancelled_total - before.r1_sequences_cancelled_total === 1,
          "disconnect mid-stream: the sequence was cancelled, not run to the end");
  }

  // ------------------------------------------------------------ bad input table
  const post = async (path, body, { auth = "Bearer " + key, type = "application/json" } = {}) => {
    const h = { "Content-Type": type };
    if (auth) h.Authorization = auth;
    const res = await fetch(url + path, { method: "POST", headers: h, body });
    let j = null;
    try { j = await res.json(); } catch (e) {}
    return { status: res.status, j };
  };
  const good = JSON.stringify({ model, messages: user("hi"), max_tokens: 2 });
  const cases = [
    ["bad JSON", "/v1/chat/completions", '{"messages": [', {}, 400],
    ["huge body (> --body-limit)", "/v1/chat/completions",
     JSON.stringify({ model, messages: user("x".repeat(100000)) }), {}, 413],
    ["wrong key", "/v1/chat/completions", good, { auth: "Bearer wrong-key" }, 401],
    ["missing key", "/v1/chat/completions", good, { auth: null }, 401],
    ["negative max_tokens", "/v1/chat/completions", JSON.stringify({ model, messages: user("hi"), max_tokens: -5 }), {}, 400],
    ["unknown model", "/v1/chat/completions", JSON.stringify({ model: "gpt-4o", messages: user("hi") }), {}, 404],
    ["wrong type: messages string", "/v1/chat/completions", JSON.stringify({ model, messages: "hi" }), {}, 400],
    ["wrong type: temperature string", "/v1/chat/completions", JSON.stringify({ model, messages: user("hi"), temperature: "hot" }), {}, 400],
    ["wrong type: stream number", "/v1/chat/completions", JSON.stringify({ model, messages: user("hi"), stream: 1 }), {}, 400],
    ["unknown role", "/v1/chat/completions", JSON.stringify({ model, messages: [{ role: "wizard", content: "hi" }] }), {}, 400],
    ["prompt longer than the context", "/v1/chat/completions", JSON.stringify({ model, messages: user("y".repeat(5000)) }), {}, 400],
    ["completions without prompt", "/v1/completions", JSON.stringify({ model }), {}, 400],
    ["unknown endpoint", "/v1/embeddings", good, {}, 404],
  ];
  for (const [what, path, body, opt, want] of cases) {
    const { status, j } = await post(path, body, opt);
    check(status === want && j && j.error && typeof j.error.message === "string" && j.error.type,
          `bad input: ${what} -> ${status} (want ${want}) ${j && j.error ? j.error.message.slice(0, 60) : ""}`);
  }
  // the official client maps them to its error classes
  try { await new OpenAI({ baseURL: url + "/v1", apiKey: "wrong", maxRetries: 0 }).models.list(); check(false, "client: wrong key throws"); }
  catch (e) { check(e instanceof OpenAI.AuthenticationError && e.status === 401, "client: wrong key -> AuthenticationError 401"); }
  try { await client.chat.completions.create({ model, messages: user("hi"), max_tokens: -1 }); check(false, "client: bad request throws"); }
  catch (e) { check(e instanceof OpenAI.BadRequestError && e.status === 400, "client: negative max_tokens -> BadRequestError 400"); }
  const health = await fetch(url + "/health");
  const still = await client.chat.completions.create({ model, messages: user("still there?"), max_tokens: 4 });
  check(health.status === 200 && still.choices.length === 1, "server keeps serving after the bad-input table");
  const idle = await waitIdle();
  check(idle.r1_requests_in_flight === 0 && idle.r1_slots_busy === 0, "no leaked slots after the bad-input table");
}

// ---------------------------------------------------------------- 503 and SIGTERM drain
if (args["busy-url"]) {
  const busy = new OpenAI({ baseURL: args["busy-url"] + "/v1", apiKey: "none", maxRetries: 0 });
  const stream = await busy.chat.completions.create({ model, messages: user("long"), stream: true, temperature: 1, seed: 1,
                                                     ignore_eos: true });
  const it = stream[Symbol.asyncIterator]();
  await it.next();  // admitted and running: the only slot is taken
  const res = await fetch(args["busy-url"] + "/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ model, messages: user("hi") }) });
  const j = await res.json();
  check(res.status === 503 && j.error && j.error.code === "server_busy", "queue full -> 503 server_busy");
  stream.controller.abort();
  const m = await waitIdle(args["busy-url"]);
  check(m.r1_slots_busy === 0, "busy server: aborted stream freed the slot");

  // SIGTERM while a stream is running: the stream still completes, new requests are refused
  let finish = null, text = "", sawFirst = false;
  const draining = (async () => {
    const st = await busy.chat.completions.create({ model, messages: user("drain me"), stream: true, max_tokens: 150, temperature: 1, seed: 2 });
    for await (const ch of st) {
      if (!sawFirst) { sawFirst = true; process.kill(Number(args["busy-pid"]), "SIGTERM"); }
      for (const c of ch.choices) { text += (c.delta.reasoning_content || "") + (c.delta.content || ""); if (c.finish_reason) finish = c.finish_reason; }
    }
  })();
  while (!sawFirst) await sleep(5);
  await sleep(30);
  let refused = false;
  try {
    const h = await fetch(args["busy-url"] + "/health");
    refused = h.status === 503;
  } catch (e) { refused = true; }  // already closed: also a refusal
  await draining;
  check(finish !== null && text.length > 0, `SIGTERM: the in-flight stream completed (finish_reason ${finish}, ${text.length} chars)`);
  check(refused, "SIGTERM: /health reports draining (503) while the stream finishes");
}

console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
