#!/usr/bin/env bash
# Tests check_layers.sh itself: a clean fake tree passes, and each kind of violation fails and names
# the offending file.
set -euo pipefail

checker="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check_layers.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

# make_tree DIR: a small tree that follows the rules.
make_tree() {
  mkdir -p "$1/core/api" "$1/core/common" "$1/widgets" "$1/app" "$1/tests/core"
  printf '#pragma once\n#include <string>\nstruct OpInfo {};\n' >"$1/core/api/types.h"
  printf '#pragma once\n#include <torch/torch.h>\n' >"$1/core/common/compat.h"
  printf '#include "common/compat.h"\n#include <ATen/ATen.h>\n' >"$1/core/common/device.cpp"
  printf '#include <QWidget>\n#include "api/types.h"\n#include <qcustomplot.h>\n' >"$1/widgets/view.cpp"
  printf '#include <QApplication>\n#include "widgets/view.h"\n' >"$1/app/main.cpp"
  printf '#pragma once\n#include <QWidget>\n' >"$1/widgets/view.h"
  printf '#include <torch/torch.h>\n#include <gtest/gtest.h>\n' >"$1/tests/core/test_x.cpp"
  # cli/ may use torch, core and CLI11, and includes its own headers as "cli/...".
  mkdir -p "$1/cli"
  printf '#pragma once\nint run(int, char**);\n' >"$1/cli/cli.h"
  printf '#pragma once\n#include <CLI/CLI.hpp>\n#include "common/compat.h"\n' >"$1/cli/commands.h"
  printf '#include "cli/cli.h"\n#include "cli/commands.h"\n#include <torch/torch.h>\n' >"$1/cli/cli.cpp"
  printf '#include "cli/cli.h"\nint main(int c, char** v) { return run(c, v); }\n' >"$1/cli/main.cpp"
}

# expect NAME WANT_STATUS [PATTERN] -- runs the checker on $tmp/NAME.
expect() {
  local name="$1" want="$2" pattern="${3:-}" out status=0
  out="$("$checker" "$tmp/$name" 2>&1)" || status=$?
  if [[ "$status" != "$want" ]]; then
    echo "FAIL $name: exit $status, wanted $want"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  elif [[ -n "$pattern" ]] && ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output does not mention '$pattern'"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name (exit $status)"
  fi
}

make_tree "$tmp/clean"
expect clean 0

make_tree "$tmp/core_qt"
printf '#include <vector>\n  #  include <QString>\n' >"$tmp/core_qt/core/common/bad.cpp"
expect core_qt 1 "core/common/bad.cpp"

make_tree "$tmp/core_qcp"
printf '#include "qcustomplot.h"\n' >"$tmp/core_qcp/core/api/plot.h"
expect core_qcp 1 "core/api/plot.h"

make_tree "$tmp/widgets_torch"
printf '#include <QWidget>\n#include <c10/util/Optional.h>\n' >"$tmp/widgets_torch/widgets/bad.cpp"
expect widgets_torch 1 "widgets/bad.cpp"

make_tree "$tmp/app_transitive"
printf '#include "common/compat.h"\n' >"$tmp/app_transitive/app/job.cpp"
expect app_transitive 1 "app/job.cpp: app/ reaches torch through app/job.cpp -> core/common/compat.h"

make_tree "$tmp/app_via_cli"
printf '#include "cli/commands.h"\n' >"$tmp/app_via_cli/app/run.cpp"
expect app_via_cli 1 "app/run.cpp: app/ reaches torch through app/run.cpp -> cli/commands.h -> core/common/compat.h"

make_tree "$tmp/cli_qt"
printf '#include <QCoreApplication>\n' >"$tmp/cli_qt/cli/args.cpp"
expect cli_qt 1 "cli/args.cpp: cli/ must be Qt-free"

make_tree "$tmp/core_cli11"
printf '#include <string>\n#include <CLI/CLI.hpp>\n' >"$tmp/core_cli11/core/common/args.cpp"
expect core_cli11 1 "core/common/args.cpp: core/ must hold no CLI code"

make_tree "$tmp/core_cli_header"
printf '#include "cli/cli.h"\n' >"$tmp/core_cli_header/core/api/run.h"
expect core_cli_header 1 "core/api/run.h: core/ must hold no CLI code"

make_tree "$tmp/both"
printf '#include <QObject>\n#include <torch/torch.h>\n' >"$tmp/both/tests/core/mixed.cpp"
expect both 1 "tests/core/mixed.cpp: includes both"

expect missing_dir 2

make_tree "$tmp/api_function"
printf '#pragma once\n#include "api/types.h"\n#include "models/loader.h"\n' >"$tmp/api_function/core/api/inspect.h"
expect api_function 1 "core/api/inspect.h"

make_tree "$tmp/api_torch"
printf '#pragma once\n#include <ATen/core/Tensor.h>\n' >"$tmp/api_torch/core/api/tensor.h"
expect api_torch 1 "core/api/tensor.h"

make_tree "$tmp/teach_torch"
mkdir -p "$tmp/teach_torch/core/teach"
printf '#pragma once\n#include "common/compat.h"\n' >"$tmp/teach_torch/core/teach/teach.h"
printf '#include "teach/teach.h"\n#include <torch/torch.h>\n' >"$tmp/teach_torch/core/teach/teach.cpp"
expect teach_torch 1 "core/teach/teach.h"

if ((failures)); then
  echo "layer checker self-test: $failures case(s) failed"
  exit 1
fi
echo "layer checker self-test: all cases passed"
