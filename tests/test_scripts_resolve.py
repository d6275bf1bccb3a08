"""The research scripts kept beside their results (results/**/*.py) and the tools in scripts/ import only lavps
names that exist: a rename in the library that would break re-running a recorded command fails here, not months
later in someone's re-run. (Their behaviour is checked where their results are; this is the import surface.)"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("results/**/*.py"), *ROOT.glob("scripts/*.py")])


def _lavps_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every absolute `from lavps... import name` and (module, None) of `import lavps...`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "lavps":
            found += [(node.module, alias.name) for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.split(".")[0] == "lavps"]
    return found


def _resolves(module: str, name: str | None) -> bool:
    imported = importlib.import_module(module)
    if name is None or hasattr(imported, name):
        return True
    try:  # `from package import submodule`
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return False
    return True


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) > 20 and any(p.parent.name == "scripts" for p in SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lavps_import_of_a_kept_script_resolves(path):
    missing = [f"{module}.{name}" if name else module for module, name in _lavps_imports(path)
               if not _resolves(module, name)]  # fmt: skip
    assert not missing, f"{path.relative_to(ROOT)} imports names lavps no longer has: {missing}"
