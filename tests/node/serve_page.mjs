// The chat page of `r1 serve` (GET /) in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): type a message, send it, watch the answer stream in (several SSE chunks,
// the DOM growing while the request runs), find the reasoning in a <details> block, save a
// screenshot. Run by tests/cli/serve_openai.sh.
//
//   node serve_page.mjs --url http://127.0.0.1:PORT --key KEY --shot OUT.png
import { chromium } from "playwright-core";

const argv = process.argv.slice(2);
const arg = (name) => { const i = argv.indexOf("--" + name); return i >= 0 ? argv[i + 1] : undefined; };
const url = arg("url"), key = arg("key") || "", shot = arg("shot");
let failures = 0;
function check(cond, what) {
  if (cond) console.log("ok   " + what);
  else { console.log("FAIL " + what); failures++; }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url + "/");
  check((await page.title()).includes("r1.cpp"), "page loads");
  if (key) {
    await page.fill("#key", key);
    await page.dispatchEvent("#key", "change");
    await page.evaluate(() => loadModel());  // re-read /v1/models with the key
  }
  await page.waitForFunction(() => document.getElementById("model").textContent !== "…", null, { timeout: 10000 });
  await page.fill("#max_tokens", "120");
  await page.fill("#temperature", "0");

  // record the answer's growth while it streams
  await page.evaluate(() => {
    window.__lengths = [];
    new MutationObserver(() => {
      const m = document.querySelector(".msg.assistant");
      if (m) window.__lengths.push(m.textContent.length);
    }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#input", "What is 12+30?");
  await page.click("#send");
  await page.waitForSelector('.msg.assistant[data-done="1"]', { timeout: 60000 });

  const info = await page.evaluate(() => {
    const m = document.querySelector(".msg.assistant");
    const d = m.querySelector("details.reasoning");
    return {
      chunks: Number(m.dataset.chunks),
      error: m.classList.contains("error"),
      reasoning: d ? d.querySelector(".thought").textContent : null,
      summary: d ? d.querySelector("summary").textContent : null,
      answer: m.querySelector(".answer").textContent,
      stats: m.querySelector(".stats").textContent,
      distinct: new Set(window.__lengths).size,
      user: document.querySelector(".msg.user").textContent,
    };
  });
  console.log("info " + JSON.stringify({ ...info, reasoning: info.reasoning && info.reasoning.slice(0, 60) }));
  check(!info.error, "no error shown (" + info.stats + ")");
  check(info.user === "What is 12+30?", "user message shown");
  check(info.chunks >= 5, `answer streamed: ${info.chunks} SSE chunks`);
  // the browser may coalesce several SSE events into one read, so only ask for growth in steps
  check(info.distinct >= 2, `DOM grew while streaming (${info.distinct} distinct lengths)`);
  check(info.reasoning !== null && info.reasoning.length > 0, "reasoning shown in a <details> block");
  check(info.summary && info.summary.startsWith("Thought"), "reasoning block summarised: " + info.summary);
  check(info.answer.length > 0, "answer text shown: " + JSON.stringify(info.answer.slice(0, 60)));
  check(/tokens/.test(info.stats) && /finish: (stop|length)/.test(info.stats), "stats line: " + info.stats);
  // collapsible: clicking the summary closes it
  await page.click("details.reasoning summary");
  check(await page.evaluate(() => !document.querySelector("details.reasoning").open), "reasoning block collapses");
  await page.click("details.reasoning summary");
  check(errors.length === 0, "no page errors " + errors.join("; "));
  if (shot) {
    await page.screenshot({ path: shot, fullPage: false });
    console.log("info screenshot " + shot);
  }
} finally {
  await browser.close();
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
