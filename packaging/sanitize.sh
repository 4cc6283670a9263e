#!/usr/bin/env bash
# Builds core's tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC, no GUI) in
# build-sanitize/ and runs them: any sanitizer report fails the test that caused it.
#
# Usage: packaging/sanitize.sh [MODULE...]   test modules (default: the torch-free ones, io and jobs,
#                                            whose tests run every stage of a job on real models)
# Env:   SANITIZE_EXCLUDE  ctest -E regex of tests to skip (default: none). The SentencePiece tests
#                          run: under ASan the bridge is loaded with dlopen, not into a link
#                          namespace of its own (dlmopen, which ASan cannot follow), which is safe in
#                          test_tokenize because it links no LibTorch (core/tokenize/spm_bridge.h)
# Prints ctest's summary; exits non-zero on a failure or a sanitizer report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${RANKLAB_SANITIZE_BUILD:-$here/build-sanitize}
modules=${*:-common tokenize data select store api io jobs}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DRANKLAB_GUI=OFF -DRANKLAB_BENCH=OFF > /dev/null
fi
targets=()
for m in $modules; do targets+=("test_$m"); done
ninja -C "$build" "${targets[@]}" > /dev/null
# LibTorch and OpenBLAS are not instrumented; their allocations are still checked. Leak reports of
# libraries' one-time allocations at exit are not findings of ours.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_odr_violation=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
labels=$(printf 'core-%s|' $modules)
cd "$build"
exclude=${SANITIZE_EXCLUDE-}
ctest -L "${labels%|}" ${exclude:+-E "$exclude"} -j2 --output-on-failure 2>&1 | tail -n 40
