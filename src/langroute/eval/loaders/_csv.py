"""CSV reading shared by the loaders: big cells allowed, blanks as missing."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

csv.field_size_limit(sys.maxsize)


def rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def number(cell: str | None) -> float | None:
    """A float from a CSV cell: blank is missing; True/False are 1/0 (RouteLLM's format)."""
    if cell is None:
        return None
    text = cell.strip()
    if not text:
        return None
    lowered = text.lower()
    if lowered == "true":
        return 1.0
    if lowered == "false":
        return 0.0
    return float(text)
