#!/bin/bash
# usage: run_wide.sh TASK OUT VARIANTS FIRST DIGITS [extra]   (MGDM-ref computed here)
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
task=$1; out=$2; V=$3; first=$4; digits=$5; shift 5
python scripts/tune_lavps.py --prior mnist --tasks "$task" --first $first --digits $digits \
  --amortizer src/lavps/assets/mnist32_nonlinear_amortizer.safetensors --variants "$V" --json results/nonlinear_tune3/$out.json "$@"
