// llama.cpp's greedy tokens (through node-llama-cpp's prebuilt CPU binaries) for a list of
// jobs, one process for all of them (tests/cli/llamacpp_agreement.sh).
// usage: node llamacpp_greedy.mjs JOBS.json
//   JOBS.json = [{"model": "m.gguf", "prompt": [ids...], "n": 32}, ...]
// prints one JSON line per job: {"model": ..., "tokens": [...]}; exits non-zero on any error.
import { readFileSync } from "node:fs";
import { getLlama } from "node-llama-cpp";

const jobs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
for (const job of jobs) {
  const model = await llama.loadModel({ modelPath: job.model, useMmap: true });
  // KV cache type: F32 (r1's default) unless the job asks for another ("kv": "F16" is
  // llama.cpp's default). On the random-weight test files llama.cpp gave the same tokens
  // with either request (measured); r1's f16 cache is what matches it there
  // (tests/cli/llamacpp_agreement_f16kv.sh).
  const ctx = await model.createContext({
    contextSize: 256, threads: 1, batchSize: 256,
    experimentalKvCacheKeyType: job.kv ?? "F32", experimentalKvCacheValueType: job.kv ?? "F32",
  });
  const seq = ctx.getSequence();
  const out = [];
  // temperature 0 = greedy argmax; no repetition penalty unless asked
  const it = seq.evaluate(job.prompt, { temperature: 0 });
  for (let i = 0; i < job.n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  await it.return?.();
  console.log(JSON.stringify({ model: job.model, tokens: out }));
  await ctx.dispose();
  await model.dispose();
}
