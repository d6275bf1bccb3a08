#!/usr/bin/env bash
# Paired energy score of `auto` (= fastest with the card's fit) against `reference` on the five training families
# other than box, over five disjoint sets of 20 real test digits (offsets 0..40), K = 4 samples per digit.
set -euo pipefail
cd "$(dirname "$0")"
export OMP_NUM_THREADS=1 PYTHONPATH=../../../src
for o in 30 0 10 20 40; do
  OFFSET=$o python ../reference_draw/digits.py digits_offset$o.jsonl 4 \
    "motion_blur:9:0.5:lavps;lavps-ref" "gaussian_blur:9:2.0:lavps;lavps-ref" "sr:2:lavps;lavps-ref" \
    "sr:4:lavps;lavps-ref" "pixels:0.2:lavps;lavps-ref"
done
