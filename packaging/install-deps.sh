#!/usr/bin/env bash
# Installs the Debian 12 packages RankLab needs to build, test and run, by name. Idempotent: only
# missing packages are installed (apt-get update runs only then). Uses sudo when not root.
# Also makes sure the system BLAS/LAPACK alternatives point at OpenBLAS (LibTorch's SVDs are 4-8x
# faster with it than with the reference BLAS) and prints which BLAS is active.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git clang-format clang-14 libclang-rt-14-dev
  libtorch-dev libopenblas0-pthread libblas-dev
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libsqlite3-dev libssl-dev nlohmann-json3-dev libcli11-dev libsentencepiece-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  xvfb xauth fonts-dejavu-core
  help2man lintian desktop-file-utils appstream
  slurm-wlm munge
)

log() { printf 'install-deps: %s\n' "$*"; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  log "this script needs a Debian 12 (bookworm) system with dpkg and apt-get" >&2
  exit 1
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    log "not running as root and sudo is not available; run this script as root" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for package in "${packages[@]}"; do
  is_installed "$package" || missing+=("$package")
done

if ((${#missing[@]})); then
  log "installing ${#missing[@]} missing package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  log "all ${#packages[@]} packages are already installed"
fi

# libopenblas0-pthread registers itself as a libblas.so.3/liblapack.so.3 alternative; make sure it
# is the one selected (an admin may have pinned the reference implementation).
arch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3; do
  name="$lib-$arch"
  want="/usr/lib/$arch/openblas-pthread/$lib"
  current="$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')"
  if [[ -z "$current" ]]; then
    log "warning: no '$name' alternative is registered; is libopenblas0-pthread installed?" >&2
    continue
  fi
  if [[ "$current" != "$want" ]]; then
    if [[ ! -e "$want" ]]; then
      log "warning: $want is missing; leaving $name at $current" >&2
      continue
    fi
    log "switching $name from $current to OpenBLAS"
    "${sudo_cmd[@]}" update-alternatives --set "$name" "$want"
    current="$want"
  fi
  log "$lib -> $current"
done
