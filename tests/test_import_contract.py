"""The layers of docs/DESIGN.md are a contract ([tool.importlinter] in pyproject.toml), checked by import-linter.

The second test proves the check can fail: a copy of the package with one upward import added inside a
function body (a lazy import, the easiest kind to miss) must break the layers contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import lavps

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(lavps.__file__).resolve().parent
_LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))"
)


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    return subprocess.run(
        [sys.executable, "-c", _LINT, str(ROOT / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_its_layers():
    run = _lint(PACKAGE.parent, ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    copy = tmp_path / "src" / "lavps"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    diffusion = copy / "diffusion.py"
    # the core reaching up into the samplers, lazily: what a quick fix might do
    lazy = "\n\ndef _upward():\n    from .samplers import base\n\n    return base\n"
    diffusion.write_text(diffusion.read_text() + lazy)
    run = _lint(tmp_path / "src", tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "lavps.diffusion is not allowed to import lavps.samplers" in run.stdout
    assert "lavps.diffusion -> lavps.samplers" in run.stdout
