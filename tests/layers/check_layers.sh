#!/usr/bin/env bash
# Checks RankLab's layer rules (DESIGN.md) on a source tree:
#   1. no file under core/ or cli/ includes a Qt header (<Q...>, "Q...", qcustomplot): core is
#      Qt-free, and ranklab-cli (cli/) builds with RANKLAB_GUI=OFF;
#   2. no file under widgets/ or app/ includes a torch header (<torch/...>, <ATen/...>, <c10/...>),
#      directly or through a quoted header it includes from the tree (e.g. "common/compat.h");
#   3. no file under core/ includes CLI11 (<CLI/...>) or a header of cli/ ("cli/..."): argument
#      parsing and terminal output live in cli/, not in core;
#   4. core/api/ holds torch-free value types only: no file there reaches torch, and its quoted
#      includes are other api/ headers (a function implemented in another module does not belong
#      there); the teaching numerics' headers (core/teach/*.h) are torch-free too (the GUI calls them);
#   5. no file anywhere in the tree includes both a Qt header and a torch header.
# Usage: check_layers.sh [ROOT]   (default: the repository this script lives in)
# Exit status 0 when clean, 1 when a rule is broken (offending files are listed), 2 on usage errors.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
if [[ ! -d "$root" ]]; then
  echo "check_layers: no such directory: $root" >&2
  exit 2
fi
root="$(cd "$root" && pwd)"

qt_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](Q[A-Za-z_]|qcustomplot)'
torch_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](torch/|ATen/|c10/|caffe2/|torch\.h)'
cli_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](CLI/|CLI11\.hpp|cli/)'
quoted_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)"'

# Every C/C++ source under ROOT, skipping VCS metadata, build trees and shared/ (not ours).
mapfile -d '' files < <(find "$root" \
  \( -name .git -o -path "$root/build*" -o -path "$root/shared" -o -path "$root/.cache" \) -prune -o \
  -type f \( -name '*.h' -o -name '*.hh' -o -name '*.hpp' -o -name '*.hxx' -o -name '*.c' -o -name '*.cc' \
  -o -name '*.cpp' -o -name '*.cxx' -o -name '*.ipp' -o -name '*.inl' -o -name '*.h.in' \) -print0 | sort -z)

violations=()
rel() { printf '%s' "${1#"$root"/}"; }
includes_qt() { grep -Eq "$qt_re" "$1"; }
includes_torch() { grep -Eq "$torch_re" "$1"; }

# Resolves a quoted include the way the build does: next to the includer, then the repository root
# (cli/ includes "cli/..." from there), then core/ (core's public include directory). Prints the
# path, or nothing if it is not in the tree.
resolve() {
  local includer_dir="$1" name="$2" base
  for base in "$includer_dir" "$root" "$root/core"; do
    if [[ -f "$base/$name" ]]; then
      (cd "$(dirname "$base/$name")" && printf '%s/%s' "$(pwd)" "$(basename "$name")")
      return
    fi
  done
}

# Prints the include chain through which FILE reaches a torch header, or nothing. Memoised.
declare -A torch_chain=()
declare -A visiting=()
torch_path() {
  local file="$1"
  if [[ -n "${torch_chain[$file]+x}" ]]; then
    printf '%s' "${torch_chain[$file]}"
    return
  fi
  local chain=""
  if includes_torch "$file"; then
    chain="$(rel "$file")"
  elif [[ -z "${visiting[$file]+x}" ]]; then
    visiting[$file]=1
    local name target sub
    while IFS= read -r name; do
      target="$(resolve "$(dirname "$file")" "$name")"
      [[ -n "$target" ]] || continue
      sub="$(torch_path "$target")"
      if [[ -n "$sub" ]]; then
        chain="$(rel "$file") -> $sub"
        break
      fi
    done < <(sed -nE "s/${quoted_re}.*/\\1/p" "$file")
    unset "visiting[$file]"
  fi
  torch_chain[$file]="$chain"
  printf '%s' "$chain"
}

for file in "${files[@]}"; do
  path="$(rel "$file")"
  qt=0
  torch=0
  includes_qt "$file" && qt=1
  includes_torch "$file" && torch=1
  case "$path" in
    core/* | cli/*)
      if ((qt)); then
        violations+=("$path: ${path%/*}/ must be Qt-free but includes Qt: $(grep -En "$qt_re" "$file" | head -1)")
      fi
      ;;
  esac
  case "$path" in
    core/*)
      if grep -Eq "$cli_re" "$file"; then
        violations+=("$path: core/ must hold no CLI code but includes: $(grep -En "$cli_re" "$file" | head -1)")
      fi
      ;;
  esac
  case "$path" in
    core/api/*)
      other="$(sed -nE "s/${quoted_re}.*/\\1/p" "$file" | grep -v '^api/' | head -1 || true)"
      if [[ -n "$other" ]]; then
        violations+=("$path: core/api/ holds value types only but includes \"$other\"")
      fi
      ;;
  esac
  case "$path" in
    widgets/* | app/* | core/api/* | core/teach/*.h)
      if ((torch)); then
        violations+=("$path: ${path%%/*}/ includes torch: $(grep -En "$torch_re" "$file" | head -1)")
      else
        chain="$(torch_path "$file")"
        if [[ -n "$chain" ]]; then
          violations+=("$path: ${path%%/*}/ reaches torch through $chain")
        fi
      fi
      ;;
  esac
  if ((qt && torch)); then
    violations+=("$path: includes both Qt and torch headers")
  fi
done

if ((${#violations[@]})); then
  echo "check_layers: ${#violations[@]} layer rule violation(s) in $root:" >&2
  printf '  %s\n' "${violations[@]}" >&2
  exit 1
fi
echo "check_layers: ${#files[@]} files checked in $root, layer rules hold."
