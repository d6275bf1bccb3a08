#!/bin/sh
# The reported table (48 problems seed 0, 1000-step prior draws): new default vs old default, and vs the peers.
# The new row of problems 0-4 ran in an earlier, stopped process (other load): seconds ratio from problem 5.
# usage: sh report.sh DIR   (DIR: run.py's output; PYTHONPATH = the tree's src)
OLD=fastest/steps=20/window=17/temperature=2
NEW=fastest/steps=30/window=27/temperature=1.5
TASKS=sr:4,box:0.3:0.5,motion_blur:9:0.5
python table.py "$1" 0 $TASKS $OLD,$NEW --base $OLD --json reported_rows.jsonl --ratio-from 5
echo
python peers.py "$1" $TASKS $OLD,$NEW
