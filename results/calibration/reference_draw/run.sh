#!/bin/bash
# How the files here were made (2026-12-07, this 2-core CPU, 1 torch thread per process, 2-3 jobs at once).
# Run from the repository root. `reference` draws diagonal (the linearised draw was measured, not adopted):
# `--draw linearised` asks the alternative. Exception: digits_reported_unseen.jsonl was made on the tree of
# 91b9086, where plain `reference` drew linearised; its row `lavps` is the linearised one and
# `lavps+draw=diagonal` the kept default (on today's tree: "mgdm;lavps+draw=linearised;lavps").
set -e
B="lavps bench calibration --problems 24 --samples 8 --prior-steps 250 --seed 500 --threads 1 --quiet --overwrite"
O=results/calibration/reference_draw/prior
# prior draws, tuning problems (seed 500, 250-step draws; never reported), 24 x 8 samples
$B --operator sr:4 box:0.3:0.5 motion_blur:9:0.5 --samplers lavps:reference --out /tmp/trained_ref
$B --operator sr:4 box:0.3:0.5 motion_blur:9:0.5 --samplers lavps:reference --draw linearised --out /tmp/trained_reflin
# unseen families: unseen_ref.json is the earlier run of `--samplers lavps lavps:fast` (auto = reference)
$B --operator center:0.35 gaussian_blur:13:3.0 --samplers lavps:reference --draw linearised --out /tmp/reflin
$B --operator center:0.35 gaussian_blur:13:3.0 --samplers lavps:fastest --out /tmp/fastest
$B --operator center:0.35 gaussian_blur:13:3.0 --samplers lavps:fastest --draw linearised --temperature 1.5 --out /tmp/fastlin15
$B --operator center:0.35 gaussian_blur:13:3.0 --samplers lavps:fastest --draw linearised --temperature 1.0 --out /tmp/fastlin1
for d in trained_ref trained_reflin reflin fastest fastlin15 fastlin1; do cp /tmp/$d/calibration.json $O/$d.json; done
# real tuning digits (demo digit offset 30, 20 digits x 8 samples; the demo's operators, noise and seeds)
export PYTHONPATH=src
D=results/calibration/reference_draw
R="lavps-ref;lavps-ref+draw=linearised"
python $D/digits.py $D/digits_trained_ref.jsonl 8 "motion_blur:9:0.5:$R" "gaussian_blur:9:2.0:$R" "sr:2:$R" "sr:4:$R" \
    "box:0.3:0.5:$R" "pixels:0.2:$R"
U="lavps;lavps+draw=linearised;lavps-fastest;lavps-fastest+draw=linearised+temperature=1.5"
U="$U;lavps-fastest+draw=linearised+temperature=1.0;ddrm-20"
python $D/digits.py $D/digits_unseen.jsonl 8 "center:0.35:$U" "gaussian_blur:13:3.0:$U"
python $D/digits.py $D/digits_mgdm.jsonl 4 "center:0.35:mgdm" "gaussian_blur:13:3.0:mgdm"
# the reported digits (offset 0) of the unseen families, after the change: MGDM-reference against the default
OFFSET=0 python $D/digits.py $D/digits_reported_unseen.jsonl 4 "center:0.35:mgdm;lavps;lavps+draw=diagonal" \
    "gaussian_blur:13:3.0:mgdm;lavps;lavps+draw=diagonal"
# six more unseen families (2026-12-07, second session): prior draws 16 x 8, real tuning digits K = 4
B16="lavps bench calibration --problems 16 --samples 8 --prior-steps 250 --seed 500 --threads 1 --quiet --overwrite"
for g in "a denoise sr:8 gaussian_blur:5:1.0" "b center:0.5 pixels:0.5 motion_blur:13:0.7"; do
    set -- $g; n=$1; shift
    $B16 --operator "$@" --samplers lavps:reference --out /tmp/more_${n}_diag
    $B16 --operator "$@" --samplers lavps:reference --draw linearised --out /tmp/more_${n}_lin
    cp /tmp/more_${n}_diag/calibration.json $O/more_${n}_diag.json; cp /tmp/more_${n}_lin/calibration.json $O/more_${n}_lin.json
done
M="lavps;lavps+draw=linearised"
python $D/digits.py $D/digits_more_unseen.jsonl 4 "denoise:$M" "sr:8:$M" "gaussian_blur:5:1.0:$M" "center:0.5:$M" \
    "pixels:0.5:$M" "motion_blur:13:0.7:$M"
# tables
python3 $D/prior_table.py
python3 $D/paired.py $D/digits_trained_ref.jsonl
python3 $D/paired.py $D/digits_unseen.jsonl
