"""lavps.jsonfile.write_json: strict JSON (nan / inf -> null) written whole, parents created."""

import json
from pathlib import Path

import pytest

from lavps.jsonfile import write_json


def _strict(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_missing_floats_become_null_at_any_depth(tmp_path):
    path = tmp_path / "a" / "b" / "out.json"
    write_json(path, {"x": float("nan"), "rows": [{"ci": float("inf")}, (1.5, float("-inf"))], "p": Path("q")})
    payload = json.loads(path.read_text(), parse_constant=_strict)
    assert payload == {"x": None, "rows": [{"ci": None}, [1.5, None]], "p": "q"}
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_json(path, {"v": 1})
    with pytest.raises(TypeError):
        write_json(path, {"v": 2, (1, 2): "a tuple key is not JSON"})
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
