"""The code-shape rules of the style guide, checked on the source: no function over 12 parameters and no
module over 400 lines (docs/DESIGN.md). A command's options are grouped (`lavps.cli.options.grouped`) and a
library function's related keywords travel in a frozen dataclass (e.g. `lavps.RunOptions`)."""

import ast
from pathlib import Path

import lavps

SRC = Path(lavps.__file__).parent
MAX_PARAMETERS = 12
MAX_LINES = 400
#: the only exceptions, each with its reason; remove an entry when its reason goes
ALLOWED = {
    # 12 parameters + **deprecated: RunOptions' fields given one by one, the spelling of the previous
    # release, accepted with a DeprecationWarning for one release (any other name is a TypeError)
    "api.py:restore": 13,
}


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
    return count - (1 if names[:1] in (["self"], ["cls"]) else 0)


def _functions():
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(SRC).as_posix()}:{node.name}", _parameters(node)


def test_no_function_has_more_than_twelve_parameters():
    found = dict(_functions())
    over = {name: n for name, n in found.items() if n > ALLOWED.get(name, MAX_PARAMETERS)}
    assert not over, f"functions over {MAX_PARAMETERS} parameters (group them): {over}"
    stale = {name for name, n in ALLOWED.items() if found.get(name, 0) <= MAX_PARAMETERS}
    assert not stale, f"ALLOWED entries no longer needed: {stale}"


def test_the_parameter_count_sees_every_kind_of_parameter():
    tree = ast.parse("def f(a, /, b, *c, d, e=1, **f): pass\nclass C:\n    def m(self, x): pass")
    f, m = tree.body[0], tree.body[1].body[0]
    assert (_parameters(f), _parameters(m)) == (6, 1)


def test_no_module_has_more_than_four_hundred_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"
