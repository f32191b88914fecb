#!/usr/bin/env bash
# Installs what r1.cpp needs from Debian packages, idempotently: packages already
# present are skipped, so a second run does nothing and needs no network.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev            # oneDNN: fp32/bf16/int8 GEMM (near peak on this CPU)
  libopenblas-dev        # measured against oneDNN in scripts/bench_gemm.sh
  nlohmann-json3-dev libcli11-dev libpcre2-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy   # the PyTorch twin (golden tests only)
  clang-14 libclang-rt-14-dev   # libFuzzer for the bounded parser fuzz tests
  linux-perf                    # profiling (perf record)
  openmpi-bin libopenmpi-dev    # data-parallel training under mpirun (R1_MPI)
  chromium                      # headless browser: the r1 serve chat page test (playwright-core)
  gnuplot-nox                   # r1 plot: PNG curves of metrics.jsonl
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "[install-deps] installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
