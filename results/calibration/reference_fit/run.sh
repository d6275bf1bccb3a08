#!/usr/bin/env bash
# A user's path to calibrated `reference` on families the amortizer never saw (issue 18):
# fit the temperature with `calibrate-amortizer --preset reference` on tuning problems (seed 500, 250-step
# prior draws), then measure coverage on the reported protocol (seed 0, 1000-step prior draws, 24 x 15)
# with the shipped card (reference at temperature 1, what `auto` runs today) and with the fitted copy.
set -euo pipefail
cd "$(dirname "$0")"
export OMP_NUM_THREADS=1
OPS="gaussian_blur:5:1.0 motion_blur:13:0.7"
lavps bench calibration --operator $OPS --samplers lavps --problems 24 --samples 15 --threads 1 --quiet \
  --out shipped > shipped.txt &
lavps calibrate-amortizer --preset reference --operator $OPS --temperatures 1 1.5 2 2.5 --problems 16 \
  --samples 10 --quiet --out fitted/amortizer > fit.txt
wait
lavps bench calibration --operator $OPS --samplers lavps --problems 24 --samples 15 --threads 1 --quiet \
  --amortizer fitted/amortizer.safetensors --out fitted_report > fitted.txt
