#!/usr/bin/env bash
# The Debian package as a user gets it: build it (packaging/build-deb.sh --no-build: CPack, lintian,
# desktop-file-validate, appstreamcli), install it with apt-get, run both programs from /usr/bin
# outside the checkout, read the man page, then remove it and check that nothing of it is left.
#   deb_install_test.sh SOURCE_DIR BUILD_DIR
# Needs root (apt-get); exits 77 (ctest: skipped) with the reason when it cannot run here, and also
# when a ranklab package is already installed (the test would replace and then remove it).
set -euo pipefail

source_dir="$(realpath "$1")"
build_dir="$(realpath "$2")"
skip() {
  echo "SKIPPED: $*"
  exit 77
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

[[ "$(id -u)" -eq 0 ]] || skip "installing a package needs root (CI runs as root)"
command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 || skip "not a Debian system (no apt-get)"
for tool in help2man lintian desktop-file-validate appstreamcli; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (packaging/install-deps.sh installs it)"
done
if [[ "$(dpkg-query -W -f='${Status}' ranklab 2>/dev/null || true)" == "install ok installed" ]]; then
  skip "a ranklab package is already installed here; the test would replace it and then remove it"
fi

work="$(mktemp -d /tmp/ranklab-deb-test.XXXXXX)"
installed=0
cleanup() {
  if [[ "$installed" == 1 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ranklab >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== build and check the package"
deb="$("$source_dir/packaging/build-deb.sh" --no-build "$build_dir" | tail -n 1)"
[[ -f "$deb" && "$(basename "$deb")" =~ ^ranklab_[0-9.]+_[a-z0-9]+\.deb$ ]] || fail "no ranklab_<version>_<arch>.deb: '$deb'"
echo "$deb"

echo "== apt-get install $(basename "$deb")"
cp "$deb" "$work/"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$work/$(basename "$deb")" >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get install failed"; }
installed=1
dpkg-query -L ranklab >"$work/files"
for f in /usr/bin/ranklab /usr/bin/ranklab-cli /usr/lib/ranklab/ranklab-cli-torch \
  /usr/lib/ranklab/libranklab_spm_bridge.so \
  /usr/share/ranklab/models/gpt-mini/config.json /usr/share/ranklab/data/lm/test.txt \
  /usr/share/ranklab/tokenizers/gpt2/vocab.json /usr/share/applications/ranklab.desktop \
  /usr/share/metainfo/io.github.ranklab.RankLab.metainfo.xml /usr/share/icons/hicolor/scalable/apps/ranklab.svg \
  /usr/share/icons/hicolor/48x48/apps/ranklab.png /usr/share/icons/hicolor/256x256/apps/ranklab.png \
  /usr/share/man/man1/ranklab-cli.1.gz /usr/share/man/man1/ranklab.1.gz \
  /usr/share/bash-completion/completions/ranklab-cli /usr/share/doc/ranklab/copyright; do
  grep -qx "$f" "$work/files" || fail "the package lacks $f"
  [[ -e "$f" ]] || fail "$f is listed but not installed"
done

echo "== run the installed programs outside the checkout"
cd "$work"
export HOME="$work/home" RANKLAB_DB="$work/runs.db"
mkdir -p "$HOME"
env -u RANKLAB_RESOURCES -u RANKLAB_SPM_BRIDGE /usr/bin/ranklab-cli demo --no-store --max-docs 1 >demo.out 2>demo.err ||
  { cat demo.out demo.err; fail "ranklab-cli demo failed"; }
grep -q "RankLab demo job: /usr/share/ranklab/models/gpt-mini" demo.out || { cat demo.out; fail "the demo did not use /usr/share/ranklab"; }
grep -Eq "^after +perplexity [0-9.]+" demo.out || { cat demo.out; fail "the demo printed no perplexity after compression"; }
grep -F "$source_dir" demo.out demo.err && fail "the installed ranklab-cli named the source tree"
/usr/bin/ranklab-cli runs list >runs.out 2>&1 || { cat runs.out; fail "ranklab-cli runs list failed"; }
env -u RANKLAB_RESOURCES QT_QPA_PLATFORM=offscreen /usr/bin/ranklab --smoke-test >smoke.out 2>&1 ||
  { cat smoke.out; fail "ranklab --smoke-test failed"; }
grep -q "smoke test passed" smoke.out || { cat smoke.out; fail "no 'smoke test passed' from ranklab"; }
MANPAGER=cat MANWIDTH=100 man ranklab-cli >man.out 2>man.err || { cat man.err; fail "man ranklab-cli failed"; }
grep -q "compress transformer language models" man.out || fail "man ranklab-cli lacks its NAME line"
grep -q "RANKLAB_RESOURCES" man.out || fail "man ranklab-cli lacks its ENVIRONMENT section"
bash -c 'source /usr/share/bash-completion/completions/ranklab-cli; COMP_WORDS=(ranklab-cli com); COMP_CWORD=1;
  _ranklab_cli; [[ "${COMPREPLY[*]}" == "compress completion" ]]' || fail "the installed bash completion does not complete 'com'"

echo "== apt-get remove ranklab"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ranklab >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get remove failed"; }
installed=0
[[ "$(dpkg-query -W -f='${Status}' ranklab 2>/dev/null || true)" != "install ok installed" ]] || fail "ranklab is still installed"
left=0
while read -r f; do
  [[ -e "$f" && ! -d "$f" ]] && { echo "left behind: $f" >&2; left=1; }
done <"$work/files"
for d in /usr/share/ranklab /usr/lib/ranklab /usr/share/doc/ranklab; do
  [[ -e "$d" ]] && { echo "left behind: $d" >&2; left=1; }
done
[[ "$left" == 0 ]] || fail "files of the package are left after apt-get remove"
echo "PASSED: $(wc -l <"$work/files") paths installed and removed"
