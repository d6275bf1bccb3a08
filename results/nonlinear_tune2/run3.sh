#!/bin/bash
# Third round: the Gauss-Newton variance shrink off, the zero-shot start as a third guard candidate; MGDM-reference
# from round 1's JSON (deterministic), G3 rerun for the seconds.
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
AM=src/lavps/assets/mnist32_nonlinear_amortizer.safetensors
V='[["auto(G3)","auto",{}],
 ["G3-noshrink","reference",{"linear_variance":false}],
 ["G3-zs3","reference",{"candidates":["network","linear","zero_shot"]}]]'
task=$1; shift
t=${task//:/_}
$PY scripts/tune_lavps.py --prior mnist --tasks "$task" --first 200 --digits 8 --amortizer $AM \
  --variants "$V" --ref-json results/nonlinear_tune2/$t.json --json results/nonlinear_tune2/${t}_r3.json "$@"
