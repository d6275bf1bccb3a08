#!/bin/bash
# usage: run.sh TASK OUTNAME VARIANTS-JSON [extra]
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
PY=python
AM=src/lavps/assets/mnist32_nonlinear_amortizer.safetensors
task=$1; out=$2; V=$3; shift 3
t=${task//:/_}
$PY scripts/tune_lavps.py --prior mnist --tasks "$task" --first 200 --digits 8 --amortizer $AM \
  --variants "$V" --ref-json results/nonlinear_tune2/$t.json --json results/nonlinear_tune3/$out.json "$@"
