#!/usr/bin/env bash
# Prepares build-device/ (ignored) for a run on a GPU machine that has CUDA PyTorch, CMake and
# ninja but no apt: the Debian -dev packages RankLab builds against, unpacked, and links to the
# reference model's three files (copied: the device tool does not follow links). The working tree
# plus what is carried must stay under 64 MiB, so the packages travel as one xz archive. Then:
#   run: tar xJf build-device/root.tar.xz -C build-device && bash packaging/gpu-check/run.sh
#   carry: build-device/root.tar.xz build-device/reference
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf build-device && mkdir -p build-device/debs build-device/reference
(cd build-device/debs && apt-get download libsqlite3-dev libsqlite3-0 libssl-dev nlohmann-json3-dev libcli11-dev \
  libsentencepiece-dev libsentencepiece0 libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2 libgtest-dev libgmock-dev \
  libbenchmark-dev libbenchmark1debian)
for d in build-device/debs/*.deb; do dpkg -x "$d" build-device/root; done
rm -rf build-device/debs build-device/root/usr/share/doc build-device/root/usr/share/man
rm -f build-device/root/usr/lib/x86_64-linux-gnu/libpcre2-{16,32}* build-device/root/usr/lib/x86_64-linux-gnu/libsqlite3.a
tar cJf build-device/root.tar.xz -C build-device root && rm -rf build-device/root
mkdir -p build-device/reference/stories260K
cp ../shared/reference/stories260K/{stories260K.bin,tok512.bin,TinyStories-valid.first69.txt} build-device/reference/stories260K/
du -sh build-device/root.tar.xz
