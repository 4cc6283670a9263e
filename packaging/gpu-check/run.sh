#!/bin/bash
# GPU machine check: build core + CLI + core tests + benchmarks against the machine's CUDA LibTorch
# 2.x, run the GPU tests, the methods' benchmarks on the GPU, the core suite, and cross-check against
# transformers. Output in $OUT/log.txt. Sized for one device call of under 10 minutes: every stage has
# its own timeout, most important first.
set -o pipefail
D=$PWD/build-device; ROOT=$D/root; B=$PWD/build-gpu
exec > >(tee "$OUT/log.txt") 2>&1
T0=$(date +%s)
stamp() { echo "== $1 at +$(( $(date +%s) - T0 )) s"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
for f in $(find "$ROOT" -name '*.pc'); do sed -i "s#^prefix=/usr#prefix=$ROOT/usr#" "$f"; done
export PKG_CONFIG_PATH=$ROOT/usr/lib/x86_64-linux-gnu/pkgconfig:$ROOT/usr/share/pkgconfig
export LD_LIBRARY_PATH=$ROOT/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
export TORCH_CUDA_ARCH_LIST=9.0
cmake -S . -B "$B" -G Ninja -DRANKLAB_GUI=OFF -DRANKLAB_BENCH=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$ROOT/usr;$ROOT/usr/lib/x86_64-linux-gnu/cmake;$ROOT/usr/share/cmake" \
  -DOPENSSL_ROOT_DIR="$ROOT/usr" -DOPENSSL_USE_STATIC_LIBS=TRUE -DRANKLAB_REFERENCE_DIR="$D/reference" > "$OUT/cmake.txt" 2>&1 \
  || { tail -30 "$OUT/cmake.txt"; exit 1; }
grep -iE "benchmark|torch" "$OUT/cmake.txt" | head -5
stamp configure
timeout 300 ninja -C "$B" -j18 -k 0 > "$OUT/build.txt" 2>&1
grep -E 'error|FAILED' "$OUT/build.txt" | head -60
[ -x "$B/app/ranklab-cli" ] || { echo CLI BUILD FAILED; exit 1; }
stamp build
"$B/app/ranklab-cli" --version
(cd "$B" && timeout 150 ctest -L gpu --output-on-failure -V 2>&1 | grep -E 'Cuda|perplexity|OK|FAIL|Failure|Expected|Which is|actual|Passed|Failed|Skipped|tests passed' | head -60)
stamp gpu-tests
if [ -x "$B/bench/ranklab_bench" ]; then
  for dev in cuda cpu; do
    RANKLAB_BENCH_DEVICE=$dev timeout 60 "$B/bench/ranklab_bench" --benchmark_filter='ArsStep|RankDynaStep' 2>&1 | grep -E 'BM_|x_plain|Error' | sed "s/^/$dev: /"
  done
fi
stamp bench
R=$D/reference/stories260K
for dev in cpu cuda; do timeout 40 "$B/app/ranklab-cli" compress "$R/stories260K.bin" --tokenizer "$R/tok512.bin" --decomp whiten --keep 0.5 --calib "$R/TinyStories-valid.first69.txt" --eval "$R/TinyStories-valid.first69.txt" --device $dev --no-store --no-cache --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["device"], j["before"], j["after"], j["seconds"])'; done
stamp cli
left=$(( 540 - ($(date +%s) - T0) ))
if [ $left -gt 30 ]; then (cd "$B" && timeout $((left - 20)) ctest -L 'core|cli' -E 'Cuda' -j14 --timeout 120 > "$OUT/core.txt" 2>&1; grep -E '\*\*\*|tests passed' "$OUT/core.txt" | head -50); fi
stamp core-suite
left=$(( 570 - ($(date +%s) - T0) ))
[ $left -gt 15 ] && timeout $left python3 packaging/gpu-check/hf_check.py "$B/app/ranklab-cli" "$PWD/resources/tokenizers/gpt2" /tmp/hfcheck
stamp end
