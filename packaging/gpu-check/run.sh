#!/bin/bash
# GPU machine check (prepare with packaging/gpu-check/prepare.sh): build core + CLI + core tests
# against the machine's CUDA LibTorch 2.x, run the GPU tests and the core suite, cross-check
# perplexities and the dense export against transformers. Output in $OUT/log.txt.
set -o pipefail
D=$PWD/build-device; ROOT=$D/root; B=$PWD/build-gpu
HERE=$(dirname "$0")
exec > >(tee "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
for f in $(find "$ROOT" -name '*.pc'); do sed -i "s#^prefix=/usr#prefix=$ROOT/usr#" "$f"; done
export PKG_CONFIG_PATH=$ROOT/usr/lib/x86_64-linux-gnu/pkgconfig:$ROOT/usr/share/pkgconfig
export LD_LIBRARY_PATH=$ROOT/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
export TORCH_CUDA_ARCH_LIST=9.0
t0=$(date +%s)
cmake -S . -B "$B" -G Ninja -DRANKLAB_GUI=OFF -DRANKLAB_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$ROOT/usr;$ROOT/usr/lib/x86_64-linux-gnu/cmake;$ROOT/usr/share/cmake" \
  -DOPENSSL_ROOT_DIR="$ROOT/usr" -DOPENSSL_USE_STATIC_LIBS=TRUE -DRANKLAB_REFERENCE_DIR="$D/reference" || exit 1
ninja -C "$B" -j16 -k 0 2>&1 | grep -E 'error|warning: |FAILED' | head -60
[ -x "$B/app/ranklab-cli" ] || { echo CLI BUILD FAILED; exit 1; }
echo "build took $(( $(date +%s) - t0 )) s"
"$B/app/ranklab-cli" --version
(cd "$B" && ctest -L gpu --output-on-failure -V 2>&1 | grep -E 'Cuda|perplexity|OK|FAIL|Passed|Failed|Skipped|tests passed' | head -40)
(cd "$B" && timeout 300 ctest -L core -j12 --output-on-failure 2>&1 | tail -40)
timeout 120 python3 "$HERE/hf_check.py" "$B/app/ranklab-cli" "$PWD/resources/tokenizers/gpt2" /tmp/hfcheck
R=$D/reference/stories260K
for dev in cpu cuda; do /usr/bin/time -f "$dev job %e s" "$B/app/ranklab-cli" compress "$R/stories260K.bin" --tokenizer "$R/tok512.bin" --decomp whiten --keep 0.5 --calib "$R/TinyStories-valid.first69.txt" --eval "$R/TinyStories-valid.first69.txt" --device $dev --no-store --no-cache --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["device"], j["before"], j["after"], j["seconds"])'; done
