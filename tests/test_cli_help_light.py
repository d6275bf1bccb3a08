"""`lavps --help`, `lavps --version` and every command's `--help` (bench's subcommands too) never import torch:
they read only torch-free modules (the commands import the library inside their callbacks; the generated
sampler options come from `lavps.samplers.configs`). Checked in a fresh interpreter, where nothing has
imported torch yet; each invocation's output must still be the full help (the generated options included)."""

from __future__ import annotations

import json
import subprocess
import sys

import lavps

_SCRIPT = """
import contextlib, io, json, sys
from lavps.cli.main import cli, main

def run(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(args)
    return {"args": args, "torch": "torch" in sys.modules, "out": out.getvalue()}

runs = [run(["--help"]), run(["--version"]), run(["restore", "--help"])]
for name, command in cli.commands.items():
    runs.append(run([name, "--help"]))
    for sub in getattr(command, "commands", {}):
        runs.append(run([name, sub, "--help"]))
print(json.dumps(runs))
"""


def _runs() -> list[dict]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_help_and_version_do_not_import_torch():
    runs = _runs()
    assert [r["args"] for r in runs if r["torch"]] == []
    by_args = {" ".join(r["args"]): r["out"] for r in runs}
    assert "restore" in by_args["--help"] and "bench" in by_args["--help"]
    assert by_args["--version"].rstrip().endswith(f"version {lavps.__version__}")
    # the generated sampler options, with their defaults, are on restore's help
    assert "--steps" in by_args["restore --help"] and "--adam-out" in by_args["restore --help"]
    assert "bench gmm --help" in by_args and "--steps" in by_args["bench gmm --help"]
    assert all(out.startswith("Usage: ") for args, out in by_args.items() if args != "--version")


def test_lazy_packages_give_their_names_and_submodules_on_first_use():
    # a fresh interpreter: `lavps.priors.gmm` is reachable before anything imported it, as in an eager package
    script = (
        "import lavps.priors as p, lavps.samplers as s, lavps.training as t, lavps\n"
        "assert p.gmm.GaussianMixturePrior is p.GaussianMixturePrior and s.ddrm.DDRMConfig is s.DDRMConfig\n"
        "assert t.prior.train_prior is t.train_prior and lavps.api.restore is lavps.restore\n"
        "for m, name in ((p, 'nope'), (p, '_private'), (lavps, 'gmm')):\n"
        "    try:\n"
        "        getattr(m, name)\n"
        "    except AttributeError:\n"
        "        continue\n"
        "    raise SystemExit(f'{m.__name__}.{name} should not exist')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
