# Sourced by the tests/cli/fuzz_*.sh scripts (this folder is not globbed as tests) after they
# set WORK (scratch folder). Skips the test (exit 77 = ctest "Skipped", with the reason) when
# clang++ or its libFuzzer + sanitizer runtime is missing; otherwise creates WORK.
CXX="$(command -v clang++ || command -v clang++-14 || true)"
if [ -z "$CXX" ]; then
  echo "SKIP: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$WORK"
probe="$WORK/probe"
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
     | "$CXX" -fsanitize=fuzzer,address,undefined -x c++ - -o "$probe" 2>"$WORK/probe.log"; then
  echo "SKIP: $CXX cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev):"
  head -3 "$WORK/probe.log"
  exit 77
fi
