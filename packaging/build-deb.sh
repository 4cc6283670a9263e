#!/usr/bin/env bash
# Builds RankLab's Debian package and checks it:
#   packaging/build-deb.sh [--no-build] [BUILD_DIR]   (default: build/, configured Release with Ninja
#                                                      if new; --no-build packs the tree as it is)
# Builds the tree (cmake --build), packs it with CPack (`cpack -G DEB`: BUILD_DIR/ranklab_<version>_<arch>.deb,
# dependencies computed by dpkg-shlibdeps), then runs lintian on the .deb (no errors or warnings
# allowed; overrides in packaging/debian/lintian-overrides), desktop-file-validate on the desktop entry
# and appstreamcli validate --no-net on the AppStream metainfo. Prints the package's path last.
# The tools come from packaging/install-deps.sh (help2man, lintian, desktop-file-utils, appstream).
set -euo pipefail

build=1
if [[ "${1:-}" == "--no-build" ]]; then
  build=0
  shift
fi
root="$(realpath "$(dirname "${BASH_SOURCE[0]}")/..")"
build_dir="$(realpath -m "${1:-$root/build}")"
cd "$root"
log() { printf 'build-deb: %s\n' "$*"; }

for tool in cmake cpack dpkg-deb dpkg-shlibdeps help2man lintian desktop-file-validate appstreamcli; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool is missing; run packaging/install-deps.sh" >&2
    exit 1
  fi
done

if [[ ! -f "$build_dir/CMakeCache.txt" && "$build" == 0 ]]; then
  log "$build_dir is not a build tree" >&2
  exit 1
fi
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  log "configuring $build_dir (Release)"
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
fi
if [[ "$build" == 1 ]]; then
  log "building $build_dir"
  cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)"
fi

log "packing with CPack"
rm -f "$build_dir"/ranklab_*.deb
(cd "$build_dir" && cpack -G DEB >/dev/null)
debs=("$build_dir"/ranklab_*.deb)
deb="${debs[0]}"
[[ -f "$deb" ]] || { log "cpack wrote no ranklab_*.deb in $build_dir" >&2; exit 1; }

log "desktop-file-validate packaging/ranklab.desktop"
desktop-file-validate "$root/packaging/ranklab.desktop"
log "appstreamcli validate --no-net packaging/io.github.ranklab.RankLab.metainfo.xml"
appstreamcli validate --no-net --pedantic "$root/packaging/io.github.ranklab.RankLab.metainfo.xml"
log "lintian $(basename "$deb")"
lintian --fail-on error,warning "$deb"

log "$(dpkg-deb -f "$deb" Package Version Architecture Installed-Size | tr '\n' ' ')"
echo "$deb"
