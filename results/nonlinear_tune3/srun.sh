#!/bin/bash
# usage: srun.sh TASK OUT C [extra]   (MGDM-ref and LAVPS auto both with the smoothed likelihood)
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 SMOOTH_S2=0.21 SMOOTH_C=$3
task=$1; out=$2; shift 3
python results/nonlinear_tune3/smooth.py --prior mnist --tasks "$task" --first 200 --digits 8 \
  --amortizer src/lavps/assets/mnist32_nonlinear_amortizer.safetensors \
  --variants '[["auto(G3)","auto",{}]]' --json results/nonlinear_tune3/$out.json "$@"
