#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   packaging/bootstrap.sh run   [ARGS...]  install deps, build (Release) into build/, run the demo job
#                                           (compress the shipped gpt-mini, print before/after), then
#                                           open the GUI on gpt-mini when a display is available
#   packaging/bootstrap.sh test  [ARGS...]  install deps, build, run all tests with ctest
#   packaging/bootstrap.sh build            install deps, build
# ARGS after the verb are passed to ranklab-cli demo (run) or ctest (test).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
build_dir="$root/build"

usage() {
  sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
log() { printf '\n==> %s\n' "$*"; }

verb="${1:-}"
case "$verb" in
  run | test | build) shift ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  *)
    echo "bootstrap: unknown or missing command '${verb}'" >&2
    usage >&2
    exit 2
    ;;
esac

log "Checking system packages"
"$root/packaging/install-deps.sh"

log "Configuring (Release) in $build_dir"
generator=()
if [[ ! -f "$build_dir/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release

jobs="$(nproc 2>/dev/null || echo 2)"
log "Building with $jobs parallel jobs"
cmake --build "$build_dir" -j"$jobs"

case "$verb" in
  build)
    log "Built: $build_dir/app/"
    ;;
  test)
    log "Running tests"
    # Two tests run at once: one OpenBLAS thread each, or their BLAS threads spin against each other
    # (a layer's spectra took 15 s instead of 6 s with the default of one thread per core).
    OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 1200 "$@"
    ;;
  run)
    log "Running the demo job"
    "$build_dir/app/ranklab-cli" demo "$@"
    if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]] && [[ -x "$build_dir/app/ranklab" ]]; then
      log "Opening the RankLab GUI on gpt-mini"
      exec "$build_dir/app/ranklab" "$root/resources/models/gpt-mini"
    fi
    ;;
esac
