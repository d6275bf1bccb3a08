#!/usr/bin/env bash
# The frontier (issue 18) on 100 real test digits per task instead of the demo's 20: the default (`lavps` =
# auto) against DDRM-20 (its strengthened grid and tuned eta), K = 4 samples per digit, five disjoint sets of
# 20 digits (offsets 0, 10, 20, 30, 40), the demo's operators, noise and seeds (reference_draw/digits.py).
set -euo pipefail
cd "$(dirname "$0")"
export OMP_NUM_THREADS=1 PYTHONPATH=../../../src
for o in 0 10 20 30 40; do
  OFFSET=$o python ../reference_draw/digits.py digits_offset$o.jsonl 4 \
    "motion_blur:9:0.5:lavps;ddrm-20" "gaussian_blur:9:2.0:lavps;ddrm-20" "sr:2:lavps;ddrm-20" \
    "sr:4:lavps;ddrm-20" "box:0.3:0.5:lavps;ddrm-20" "pixels:0.2:lavps;ddrm-20" "center:0.35:lavps;ddrm-20"
done
