"""One plain-text table formatter for every benchmark report (demo, gaps, spread, GMM, speed).

A table is a list of `Column`s: a header, a width, an alignment and the text of a row's cell. Headers
and cells are padded to the column's width (never cut) and joined by one space; a dashed rule under
the header is as long as the header line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .stats import format_interval

__all__ = ["Column", "text_table", "text", "number", "interval", "yes_no"]


@dataclass(frozen=True)
class Column:
    """header, width and alignment ("<" left, ">" right) of a column; cell(row) -> the cell's text."""

    header: str
    width: int
    cell: Callable[[dict], str]
    align: str = ">"


def text_table(columns: Sequence[Column], rows: Iterable[dict]) -> str:
    """The header, a dashed rule and one line per row."""
    head = " ".join(f"{c.header:{c.align}{c.width}}" for c in columns)
    lines = [head, "-" * len(head)]
    lines += [" ".join(f"{c.cell(r):{c.align}{c.width}}" for c in columns) for r in rows]
    return "\n".join(lines)


def text(header: str, width: int, key: str, align: str = "<") -> Column:
    """row[key] as text, left-aligned by default."""
    return Column(header, width, lambda r: str(r[key]), align)


def number(header: str, width: int, key: str, spec: str = "") -> Column:
    """row[key] formatted with `spec` (e.g. "+.2f", ".3f"; "" for integers), right-aligned."""
    return Column(header, width, lambda r: format(r[key], spec))


def interval(header: str, width: int, key: str, precision: int = 3) -> Column:
    """A 95% half-width (or any number that may be missing: "n/a"), see `format_interval`."""
    return Column(header, width, lambda r: format_interval(r[key], width, precision))


def yes_no(header: str, width: int, key: str) -> Column:
    return Column(header, width, lambda r: "yes" if r[key] else "no")
