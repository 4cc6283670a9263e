#!/usr/bin/env bash
# Prepares build-device/ (ignored) for a run on a GPU machine that has CUDA PyTorch, CMake and
# ninja but no apt: the Debian -dev packages RankLab builds against, unpacked, and links to the
# reference model. Then, with the device tool:
#   run: bash packaging/gpu-check/run.sh
#   carry: build-device/root build-device/reference/stories260K/{stories260K.bin,tok512.bin,TinyStories-valid.first69.txt}
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf build-device && mkdir -p build-device/debs build-device/reference
(cd build-device/debs && apt-get download libsqlite3-dev libsqlite3-0 libssl-dev nlohmann-json3-dev libcli11-dev \
  libsentencepiece-dev libsentencepiece0 libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2 libgtest-dev libgmock-dev \
  libbenchmark-dev libbenchmark1debian)
for d in build-device/debs/*.deb; do dpkg -x "$d" build-device/root; done
rm -rf build-device/debs build-device/root/usr/share/doc build-device/root/usr/share/man
ln -sfn "$(realpath ../shared/reference/stories260K)" build-device/reference/stories260K
du -sh build-device/root
