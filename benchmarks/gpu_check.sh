#!/usr/bin/env bash
# The CUDA check behind docs/performance.md's GPU section: `colorkit bench` on the four models in
# fp32 and with bf16 autocast + channels_last, then a short training run on CUDA with AMP and
# channels_last, and a one-process torchrun (NCCL) run of the same recipe.
#
#   bash benchmarks/gpu_check.sh OUT_DIR
#
# Needs colorkit installed (or on PYTHONPATH) and one CUDA GPU. Writes JSON and logs to OUT_DIR.
set -uo pipefail
out=${1:?usage: gpu_check.sh OUT_DIR}
mkdir -p "$out"
runs=$(mktemp -d)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} | tee "$out/gpu.txt"

models=(-m cunet -m unet -m smp_unet -m eccv16)
python3 -m colorkit bench "${models[@]}" --size 256 --batch 16 --device cuda --repeats 5 -o "$out/bench_fp32.json" 2>&1 | tee "$out/bench.log"
python3 -m colorkit bench "${models[@]}" --size 256 --batch 16 --device cuda --repeats 5 --amp --amp-dtype bf16 --channels-last \
  -o "$out/bench_bf16_cl.json" 2>&1 | tee -a "$out/bench.log"

train=(recipes/cunet_mse.toml --set train.device=cuda --set train.amp=auto --set train.channels_last=true
       --set output.dir="$runs" --set log.tensorboard=false)
python3 -m colorkit run "${train[@]}" 2>&1 | tail -n 25 | tee "$out/train.log"
python3 -m torch.distributed.run --nproc-per-node 1 -m colorkit run "${train[@]}" --set train.epochs=5 2>&1 \
  | tail -n 15 | tee "$out/torchrun.log"
for d in "$runs"/*/; do
  tail -n 3 "$d/metrics.jsonl" >> "$out/train_metrics.jsonl"
done
