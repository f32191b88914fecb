#!/usr/bin/env bash
# Exact-text check of `r1 template` (the Jinja interpreter in src/chat) against
# @huggingface/jinja on real chat templates (see tests/node/chat_template_oracle.mjs).
# Usage: chat_template_oracle.sh /path/to/r1 scratch_dir
set -euo pipefail
r1="$1"
mkdir -p "${2:-/tmp}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/scripts/install-node-test-deps.sh"
exec node "$root/tests/node/chat_template_oracle.mjs" "$r1"
