"""`lavps bench paper`: the paper's protocol on a folder of clean images (quick settings), its outputs and
their agreement with the saved images, the Pareto flags, the paper presets and the overwrite rule."""

import csv
import json
from dataclasses import replace

import pytest

from lavps.cli.main import main
from lavps.data.mnist import mnist_split
from lavps.evaluation.paper_bench import paper_dps_zeta, summarize
from lavps.imaging.io import read_png, write_png
from lavps.metrics import psnr, ssim
from lavps.operators.spec import parse_operator_spec
from lavps.priors.specs import load_prior
from lavps.workflows.settings import resolve_settings


def _digits(folder, n=2):
    images, _ = mnist_split("test")
    for i in range(n):
        write_png(images[50 * i], folder / f"d{i}.png")
    return folder


def test_bench_paper_quick_writes_paired_rows_whose_metrics_are_those_of_the_files(tmp_path, capsys):
    src, out = _digits(tmp_path / "clean"), tmp_path / "report"
    (tmp_path / "clean").joinpath("notes.txt").write_text("not an image")
    args = ["bench", "paper", str(src), "--quick", "--operator", "paper:sr_4", "--out", str(out), "--quiet"]
    main(args)
    printed = capsys.readouterr().out
    try:
        import lpips  # noqa: F401
    except ImportError:
        assert "LPIPS skipped: the lpips package is not installed" in printed
    rows = list(csv.DictReader((out / "per_image.csv").open()))
    assert sorted((r["sampler"], r["image"]) for r in rows) == sorted(
        (s, f"d{i}") for s in ("dps", "mgdm", "lavps") for i in range(2)
    )
    for i in range(2):  # one observation per image, restored by every sampler with the same seed
        assert len({r["seed"] for r in rows if r["image"] == f"d{i}"}) == 1
    for r in rows:
        folder = out / "images" / "paper_sr_4" / r["image"]
        x, ref = read_png(folder / f"{r['sampler']}.png", 1), read_png(folder / "reference.png", 1)
        assert float(r["psnr"]) == pytest.approx(float(psnr(x, ref)[0]), abs=1e-4)
        assert float(r["ssim"]) == pytest.approx(float(ssim(x, ref)[0]), abs=1e-4)
        assert float(r["seconds"]) > 0
    report = json.loads((out / "paper.json").read_text())
    assert report["config"]["preset"] == "tiny" and report["config"]["tasks"] == ["paper:sr_4"]
    assert len(report["config"]["prior_fingerprint"]) == 16  # the weights benchmarked, beside the spec
    assert report["settings"]["paper:sr_4"]["dps"]["settings"]["dps_zeta"] == 1.0  # the official x4 SR step
    assert {e["images"] for e in report["summary"]} == {2}
    assert (out / "pareto.png").stat().st_size > 0 and "pareto.png" in {e["file"] for e in report["outputs"]}
    before = (out / "per_image.csv").read_bytes()
    with pytest.raises(SystemExit) as err:  # an earlier report is kept unless --overwrite
        main(args)
    assert err.value.code == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "per_image.csv").read_bytes() == before


def test_pareto_flags_keep_only_undominated_points():
    def row(sampler, seconds, value):
        return {
            "task": "t",
            "sampler": sampler,
            "image": "a",
            "seed": 0,
            "psnr": value,
            "ssim": 0.5,
            "lpips": None,
            "seconds": seconds,
            "denoiser_forwards": 1,
            "denoiser_backwards": 0,
            "amortizer_forwards": 0,
        }

    summary = summarize([row("fast", 1.0, 20.0), row("slow-good", 5.0, 25.0), row("slow-bad", 5.0, 19.0)])
    assert {e["sampler"]: e["pareto"] for e in summary} == {"fast": True, "slow-good": True, "slow-bad": False}
    assert all(e["lpips"] is None for e in summary)


def test_paper_presets_are_the_official_budgets():
    prior = load_prior(None)
    mgdm = resolve_settings("mgdm", "lavps-paper", {}, prior).config
    assert (mgdm.steps, mgdm.window, mgdm.lr, mgdm.adam_out, mgdm.adam_in) == (100, 30, 0.01, 3, 3)
    assert resolve_settings("dps", "lavps-paper", {}, prior).config.steps == 1000
    shape = (1, 32, 32)
    zetas = {t: paper_dps_zeta(parse_operator_spec(f"paper:{t}", shape)) for t in ("mb_21_0.9", "sr_4", "center_2")}
    assert zetas == {"mb_21_0.9": 0.3, "sr_4": 1.0, "center_2": 1.0}
    assert paper_dps_zeta(parse_operator_spec("paper:box_0.4_0.6", shape)) == 0.1


def test_bench_paper_refuses_bad_input_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["bench", "paper", "--quick", "--samplers", "ddrm", "--out", str(tmp_path / "r")])
    assert "unknown sampler(s) ddrm" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_per_sample_operators_and_batching_do_not_change_an_images_result(tmp_path):
    """A `_sto` task draws one operator per image (from the image's seed); restoring two images in one call
    (a stacked operator) gives each the result it gets alone, up to float rounding across batch sizes."""
    from lavps.evaluation.lpips_metric import LpipsMetric
    from lavps.evaluation.paper_bench import PaperBenchConfig, run_paper_bench

    prior = load_prior(None)
    images = dict(zip(("a", "b"), mnist_split("test")[0][[0, 50]], strict=True))
    config = PaperBenchConfig(tasks=("paper:box_0.4_0.6_sto",), samplers=("mgdm",), preset="tiny")
    runs = [
        run_paper_bench(replace(config, batch_size=n), prior, images, tmp_path / str(n), LpipsMetric(None, "off"))
        for n in (1, 2)
    ]
    one, two = ({r["image"]: r for r in run["rows"]} for run in runs)
    assert one["a"]["seed"] != one["b"]["seed"]
    masks = [(tmp_path / "1" / "images" / "paper_box_0.4_0.6_sto" / n / "observation.png").read_bytes() for n in "ab"]
    assert masks[0] != masks[1]
    for n in "ab":
        assert two[n]["psnr"] == pytest.approx(one[n]["psnr"], abs=0.05)
