#!/usr/bin/env bash
# Exact-ids check of `r1 tokenize` against Hugging Face tokenizers.js on the real DeepSeek-V3,
# Qwen3 and Llama 3 tokenizer.json files (see tests/node/tokenizer_oracle.mjs).
# Usage: tokenizer_oracle.sh /path/to/r1 scratch_dir
set -euo pipefail
r1="$1"
mkdir -p "${2:-/tmp}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/scripts/install-node-test-deps.sh"
exec node "$root/tests/node/tokenizer_oracle.mjs" "$r1"
