#!/usr/bin/env bash
# Issue 19's device check, as one command for a session that is lent the GPU machine (about 10 minutes):
#   run(command="bash benchmarks/gpu_check.sh", timeout_s=600)
# Correctness first (the CUDA-graph equality tests), then the figures benchmarks/RESULTS.md needs. Everything is
# also written under $OUT (default ./gpu_out), which the device tool brings back.
set -u
out=${OUT:-gpu_out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" | tee "$out/device.txt"
pip install -q -e . pytest pytest-xdist >/dev/null 2>&1 || true
timeout 180 python -m pytest -q -x tests/sweep/test_cuda_graphs.py tests/sweep/test_vectorized.py 2>&1 | tail -5 \
  | tee "$out/tests.txt"
timeout 150 python benchmarks/bench_many.py --device cuda --members 1,64,256,1024 --steps 200 2>&1 | tee "$out/many.txt"
timeout 60 python benchmarks/bench_many.py --device cuda --members 64 --steps 200 --set train.tf32=true 2>&1 \
  | tee -a "$out/many.txt"
timeout 90 python benchmarks/bench_single.py --device cuda --steps 3000 --repeats 1 2>&1 | tee "$out/single.txt"
timeout 60 python benchmarks/bench_mheight_labels.py --device cuda 2>&1 | tee "$out/mheight_labels.txt"
