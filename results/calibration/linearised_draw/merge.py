"""Merge `lavps calibrate-amortizer` records fitted on disjoint families (one process per group of families, to
use both cores) into one card, written over an amortizer as the command itself writes it.

    PYTHONPATH=src python merge.py SOURCE.safetensors OUT.safetensors COMMAND REPORT.calibration.json [...]

SOURCE: the amortizer the fits ran on (its weights and card are kept); COMMAND: the commands that ran, recorded
in the card's fit; each REPORT: a fit's `.calibration.json`. Writes OUT (.safetensors, .json card) and
OUT.calibration.json (every row's report), each through a temporary name. Each family's draw is chosen
again by the current `choose_draw` from the measured spread ratios and energy scores (the same rule as the
command's; the fits above ran before it interpolated the energy score at the fitted temperature).
"""

import json
import sys
from pathlib import Path

from lavps.amortize.checkpoint import load_amortizer, save_amortizer
from lavps.api import load_prior
from lavps.cli.calibrate_amortizer import _card
from lavps.constants import calibration_key
from lavps.evaluation.temperature_fit import PER_FAMILY, choose_draw
from lavps.jsonfile import write_json

source, out, command, reports = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
records = [json.loads(Path(r).read_text()) for r in reports]
merged = {key: {} for key in PER_FAMILY}
results = []
for record in records:
    for key in PER_FAMILY:
        overlap = set(merged[key]) & set(record[key])
        if overlap:
            raise ValueError(f"families fitted twice: {sorted(overlap)}")
        merged[key].update(record[key])
    results += record["results"]
for family, by_draw in merged["by_draw"].items():
    chosen = choose_draw(by_draw, records[0]["fit"]["temperatures"])
    merged["draw"][family] = chosen
    for key in ("temperature", "how", "spread_ratio", "energy_score"):
        merged[key][family] = by_draw[chosen][key]
fits = [r["fit"] for r in records]
fit = {k: v for k, v in fits[0].items() if k != "families"}
for other in fits[1:]:
    differ = [k for k in fit if k not in ("amortizer", "prior") and other.get(k) != fit[k]]
    if differ:
        raise ValueError(f"the fits differ in {differ}: they cannot share one card")
fit["families"] = sorted(f for r in fits for f in r["families"])
fit["command"] = command
fit["amortizer"] = str(source)  # as given (the fits record the absolute path they ran on)
record = {**merged, "preset": records[0]["preset"], "fit": fit}
net = load_amortizer(source, prior=load_prior())
net.info = {**(net.info or {}), calibration_key("fastest"): record}  # was temperature_fit.CALIBRATION_KEY
write_json(out.with_name(out.stem + ".calibration.json"), {**record, "results": results})
save_amortizer(net, out, _card(source, record))
print(json.dumps({k: record[k] for k in ("temperature", "draw")}, indent=1))
