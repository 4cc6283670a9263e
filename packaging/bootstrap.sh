#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   packaging/bootstrap.sh run   [ARGS...]  install deps, build (Release) into build/, run RankLab:
#                                           the GUI when a display is available, else the CLI demo job
#   packaging/bootstrap.sh test  [ARGS...]  install deps, build, run all tests with ctest
#   packaging/bootstrap.sh build            install deps, build
# ARGS after the verb are passed to the program (ranklab, ranklab-cli demo, or ctest).
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
    ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 1200 "$@"
    ;;
  run)
    if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]]; then
      log "Starting the RankLab GUI"
      exec "$build_dir/app/ranklab" "$@"
    else
      log "No display (DISPLAY/WAYLAND_DISPLAY unset): running the CLI demo job"
      exec "$build_dir/app/ranklab-cli" demo "$@"
    fi
    ;;
esac
