#!/usr/bin/env bash
# The whole GPU check (issues 16 and 17) as one call of the device tool, about 9 minutes on an H200 plus its start:
#   run(command="bash benchmarks/gpu/session.sh", timeout_s=590)
# It writes under $OUT: gpu.txt (the card), nccl.log (the NCCL backend on the real GPU: never run on one before),
# tests.log (the suite with CUDA), bench.log/bench.json (deepgrad beside PyTorch eager fp32, TF32 off, alternating
# processes) and profile.txt (where deepgrad's ResNet-18 step spends).
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/deepgrad-gpu}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import deepgrad as dg, cupy, torch; print('deepgrad sees', dg.cuda.device_count(), 'GPU(s); cupy',
cupy.__version__, '; torch', torch.__version__)" 2>&1 | tee -a "$OUT/gpu.txt"
# 0. NCCL through CuPy (issue 17): 1 rank on one GPU (NCCL refuses two ranks on one GPU), 2 ranks when there are
#    2 GPUs: every collective on CUDA tensors and DDP's training against a CPU process (PASS/FAIL lines)
timeout 75 python3 benchmarks/gpu/nccl_check.py 2>&1 | tee "$OUT/nccl.log"
# 1. the suite with CUDA: the device fixture's "cuda" variants run instead of skipping (extras missing on the
#    device image, such as Playwright, fail their own tests only; read tests.log's summary)
timeout 200 python3 -m pytest -q -n 12 -p no:cacheprovider tests 2>&1 | tee "$OUT/tests.log" | tail -25
# 2. training steps beside PyTorch (3 alternating pairs per workload to fit the lease)
timeout 240 python3 benchmarks/gpu/bench_gpu.py --pairs 3 --steps 10 --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
# 3. the profile of the slowest step
timeout 60 python3 benchmarks/gpu/bench_gpu.py --profile resnet18 --steps 3 > "$OUT/profile.txt" 2>&1
tail -40 "$OUT/profile.txt"
