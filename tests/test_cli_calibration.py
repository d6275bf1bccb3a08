"""`lavps bench calibration` end to end on tiny configurations (images and the exact GMM), and bad input."""

import json
import subprocess
import sys

from lavps.cli.main import main


def test_image_calibration_writes_table_json_and_plots(tmp_path, capsys):
    out = tmp_path / "report"
    main(
        ["bench", "calibration", "--operator", "sr:4", "--samplers", "ddrm:tiny", "--problems", "3", "--samples",
         "3", "--prior-steps", "4", "--out", str(out), "--quiet", "--steps", "4"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert "projections" in text and "TARP ECP" in text and "ddrm:tiny" in text
    header = next(line for line in text.splitlines() if "statistic" in line)
    assert " ES " in header and "spread" in header  # the energy score and the spread ratio, from the report
    payload = json.loads((out / "calibration.json").read_text())
    assert payload["config"]["prior_steps"] == 4 and payload["config"]["prior"] == "mnist"
    from lavps.api import load_prior
    from lavps.priors.specs import prior_fingerprint

    assert payload["config"]["prior_fingerprint"] == prior_fingerprint(load_prior())  # the weights, not a name
    assert payload["config"]["rows"][0]["settings"] == {"steps": 4}  # the generated --steps reached the row
    (row,) = payload["results"]
    assert row["report"]["problems"] == 3 and row["report"]["samples"] == 3
    assert row["settings"]["sampler"] == "ddrm" and row["settings"]["settings"]["steps"] == 4  # every field that ran
    assert row["passes_per_sample"]["denoiser_forwards"] > 0 and row["amortizer"] is None
    assert sum(row["report"]["statistics"]["distance"]["rank_histogram"]) == 3
    assert len(row["report"]["energy_score_per_problem"]) == 3 and row["report"]["energy_score"] > 0
    assert (out / "coverage.png").stat().st_size > 0 and (out / "rank_histograms.png").stat().st_size > 0


def test_gmm_calibration_reports_mode_masses(tmp_path, capsys):
    out = tmp_path / "gmm"
    main(
        ["bench", "calibration", "--prior", "gmm", "--dim", "4", "--operator", "dense:1", "--samplers", "ddim",
         "--problems", "2", "--groups", "6", "--samples", "4", "--out", str(out), "--quiet"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert "Mass on each mixture component" in text and " ES " in text
    payload = json.loads((out / "calibration.json").read_text())
    exact = next(r for r in payload["results"] if r["sampler"] == "exact")
    assert exact["report"]["problems"] == 12  # 2 problems x 6 truths
    prior_only = [r for r in payload["per_problem"] if r["sampler"] == "ddim"]
    assert len(prior_only) == 2 and all(0 <= r["max_abs_error"] <= 1 for r in prior_only)


def test_bad_operator_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "-m", "lavps.cli", "bench", "calibration", "--prior", "gmm", "--operator", "dense:x",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "dense:x" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_image_calibration_runs_the_lavps_rows_with_the_given_amortizer_and_its_card(tmp_path, capsys):
    """--amortizer on images: the lavps rows restore with that network, so a card that calibrate-amortizer
    fitted (here a `reference` temperature for an unseen family) is the one measured, and recorded by path."""
    from lavps.amortize.checkpoint import load_amortizer, save_amortizer
    from lavps.amortize.defaults import default_amortizer_path
    from lavps.api import load_prior

    net = load_amortizer(default_amortizer_path(), prior=load_prior())
    net.info = {**net.info, "calibration_reference": {"temperature": {"gaussian_blur:5:1": 3.25}}}
    path = save_amortizer(net, tmp_path / "fitted.safetensors")
    out = tmp_path / "report"
    main(
        ["bench", "calibration", "--operator", "gaussian_blur:5:1.0", "--samplers", "lavps", "--problems", "2",
         "--samples", "2", "--prior-steps", "3", "--amortizer", str(path), "--out", str(out), "--quiet"]
    )  # fmt: skip
    capsys.readouterr()
    payload = json.loads((out / "calibration.json").read_text())
    (row,) = payload["results"]
    assert row["ran"] == "reference" and row["amortizer"] == str(path) == payload["config"]["amortizer"]
    assert row["settings"]["calibrated_temperature"]["temperature"] == 3.25
    assert row["settings"]["settings"]["temperature"] == 3.25
