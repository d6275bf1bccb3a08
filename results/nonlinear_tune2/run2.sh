#!/bin/bash
# Second round: the GN stand-in off, an adaptive budget (more steps where the guard rejected the network), G_in 4;
# MGDM-reference from round 1's JSON (deterministic: same digits, seeds, samples), G3 rerun for the seconds.
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
AM=src/lavps/assets/mnist32_nonlinear_amortizer.safetensors
V='[["auto(G3)","auto",{}],
 ["G3-nolb","reference",{"linear_below":0}],
 ["G3-fb6","reference",{"fallback_steps":6}],
 ["G4","reference",{"nonlinear_inner_steps":4}]]'
task=$1; shift
t=${task//:/_}
$PY scripts/tune_lavps.py --prior mnist --tasks "$task" --first 200 --digits 8 --amortizer $AM \
  --variants "$V" --ref-json results/nonlinear_tune2/$t.json --json results/nonlinear_tune2/${t}_r2.json "$@"
