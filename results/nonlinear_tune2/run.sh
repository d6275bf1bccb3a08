#!/bin/bash
# Tuning of LAVPS's non-linear rule (issue 20) on TUNING digits (--first 200: the 20th test digit of classes
# 0-7, used by no report), paired against MGDM-reference, one process per task, 1 thread.
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
PY=/work/main/.venv/bin/python
AM=src/lavps/assets/mnist32_nonlinear_amortizer.safetensors
V='[["auto(G3)","auto",{}],
 ["G5","reference",{"nonlinear_inner_steps":5}],
 ["G6","reference",{"nonlinear_inner_steps":6}],
 ["G10","reference",{"nonlinear_inner_steps":10}],
 ["G3-out5","reference",{"adam_out":5}],
 ["G3-lrin0.1","reference",{"lr_inside":0.1}]]'
V=${VARIANTS:-$V}  # jpeg:10 ran the first four only (VARIANTS set, see README)
task=$1; shift
$PY scripts/tune_lavps.py --prior mnist --tasks "$task" --first 200 --digits 8 --amortizer $AM \
  --variants "$V" --json results/nonlinear_tune2/${task//:/_}.json "$@"
