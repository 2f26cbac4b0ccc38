"""Two-column spectrum text (x, y) with an optional header; Horiba LabSpec aware.

Uses :func:`battkg.textdata.read_numeric_table` for the numeric block, so a
non-numeric or short row is a :class:`FormatError` naming its line.  Horiba
LabSpec exports write the header as ``#Key=<TAB>value`` lines in Latin-1
(``°``, ``µ``, ``¹``); their keys may contain ``:`` (``Full time(mm:ss)``), so
they are split at the first ``=`` only, not by the generic key/value rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.textdata import parse_header_pairs, read_numeric_table, read_text

from .common import check_spectrum

_LABSPEC_LINE = re.compile(r"^#([^=\r\n]{1,80})=\t?(.*?)\s*$")
_LABSPEC_KEYS = rb"^#(?:Acq\. time \(s\)|Accumulations|Laser|Grating|Instrument|Objective|Spectro \(cm)[^=\r\n]*="


def looks_like_labspec(head: bytes) -> bool:
    """Sniff: at least three LabSpec ``#Key=`` header lines in the first bytes."""
    return len(re.findall(_LABSPEC_KEYS, head, flags=re.MULTILINE)) >= 3


@dataclass
class TextSpectrum:
    """One x/y spectrum read from text."""

    x: np.ndarray
    y: np.ndarray
    header: dict[str, str]
    header_lines: list[str]
    column_names: list[str]
    first_data_line: int
    labspec: bool = False
    warnings: list[str] = field(default_factory=list)


def parse_xy_text(path: Path, reader: str) -> TextSpectrum:
    """Read a two-column spectrum; LabSpec ``#Key=value`` headers are split at the first ``=``."""
    text = read_text(path, reader)
    table = read_numeric_table(path, reader=reader, min_columns=2, max_columns=2, text=text)
    labspec_pairs: dict[str, str] = {}
    for line in table.header_lines:
        match = _LABSPEC_LINE.match(line)
        if match:
            labspec_pairs.setdefault(match.group(1).strip(), match.group(2).strip())
    labspec = looks_like_labspec("\n".join(table.header_lines).encode("utf-8", "replace"))
    header = labspec_pairs if labspec else parse_header_pairs(table.header_lines)
    x, y = table.columns[0], table.columns[1]
    check_spectrum(path, x, y, reader, line=table.first_data_line)
    return TextSpectrum(x, y, header, table.header_lines, table.column_names, table.first_data_line, labspec)


def labspec_datetime(value: str) -> datetime | None:
    """LabSpec ``Acquired``/``Date``: ``dd.mm.yyyy HH:MM[:SS]`` (naive local time)."""
    for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


def header_float(path: Path, header: dict[str, str], key: str, reader: str) -> float | None:
    """A numeric header value, or a FormatError naming the field when it is not a number."""
    value = header.get(key)
    if value is None or not value.strip():
        return None
    try:
        return float(value.split()[0].replace(",", "."))
    except ValueError:
        raise FormatError(path, f"header value {value!r} is not a number", field=key, reader=reader) from None
