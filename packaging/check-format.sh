#!/usr/bin/env bash
# Fails when a C++ file of the tree differs from what clang-format makes of it (the repository's
# .clang-format). CI runs it; `packaging/check-format.sh --fix` rewrites the files instead.
# Needs clang-format (Debian's clang-format, installed by packaging/install-deps.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fix=0
[[ "${1:-}" == "--fix" ]] && fix=1
if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-format: clang-format is not installed (packaging/install-deps.sh installs it)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files -- '*.h' '*.cpp' '*.h.in' | grep -E '^(app|bench|cli|core|tests|widgets)/')
if ((fix)); then
  clang-format -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
drift=()
for f in "${files[@]}"; do
  if ! clang-format "$f" | cmp -s - "$f"; then drift+=("$f"); fi
done
if ((${#drift[@]})); then
  echo "check-format: ${#drift[@]} file(s) differ from clang-format ($(clang-format --version | head -1)):" >&2
  printf '  %s\n' "${drift[@]}" >&2
  echo "run packaging/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files match .clang-format"
