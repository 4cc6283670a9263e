#!/usr/bin/env bash
# Fuzzes RankLab's file readers in process, under AddressSanitizer and UndefinedBehaviorSanitizer,
# with libFuzzer (Debian's clang-14 and libclang-rt-14-dev).
#
# Usage: packaging/fuzz.sh TARGET SECONDS     one target (fuzz/targets.cpp lists them)
#        packaging/fuzz.sh all SECONDS         every target, SECONDS each
#        packaging/fuzz.sh --list
# Env:   RANKLAB_FUZZ_BUILD  build folder (default build-fuzz/)
#        FUZZ_ARGS           extra libFuzzer flags (e.g. -jobs=2 -workers=2)
#
# Seeds come from fuzz/corpus/TARGET/ (kept in git, replayed by the normal test suite, test_fuzz);
# inputs libFuzzer finds interesting accumulate in BUILD/corpus/TARGET/, crashes and sanitizer
# findings in BUILD/findings/TARGET/. A fixed finding's input goes into fuzz/corpus/TARGET/ so the
# suite replays it from then on. Prints one line per target: executions, corpus size, findings.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${RANKLAB_FUZZ_BUILD:-$here/build-fuzz}
targets=$(sed -n 's/^set(RANKLAB_FUZZ_[A-Z_]*TARGETS \(.*\))$/\1/p' "$here/fuzz/CMakeLists.txt" | tr '\n' ' ')
targets=${targets% }
if [[ "${1:-}" == "--list" ]]; then
  tr ' ' '\n' <<< "$targets"
  exit 0
fi
if [[ $# -ne 2 ]]; then
  echo "usage: $0 TARGET|all SECONDS (targets: $targets)" >&2
  exit 2
fi
which=$1 seconds=$2
[[ "$which" == all ]] && which=$targets
for t in $which; do
  if ! grep -qw -- "$t" <<< "$targets"; then
    echo "fuzz: unknown target '$t' (targets: $targets)" >&2
    exit 2
  fi
done
cc=$(command -v clang-14 || command -v clang || true) cxx=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z "$cc" || -z "$cxx" ]]; then
  echo "fuzz: clang is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

flags="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DRANKLAB_GUI=OFF -DRANKLAB_TESTS=OFF -DRANKLAB_BENCH=OFF -DRANKLAB_FUZZ=ON > /dev/null
fi
# shellcheck disable=SC2046
ninja -C "$build" $(for t in $which; do echo "fuzz_$t"; done) > /dev/null

# The targets write each input to a scratch file (and run-db a whole SQLite database, with its
# syncs): on tmpfs that costs far less than on a disk.
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $which; do
  work=$build/corpus/$t findings=$build/findings/$t
  mkdir -p "$work" "$findings"
  log=$build/fuzz-$t.log
  # shellcheck disable=SC2086
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$findings/" ${FUZZ_ARGS:-} \
       "$work" "$here/fuzz/corpus/$t" > "$log" 2>&1; then
    result=ok
  else
    result="FINDING (see $log and $findings/)"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "fuzz $t: ${runs:-?} executions in ${seconds} s, corpus $(find "$work" -type f | wc -l) inputs: $result"
done
exit $status
