"""Shared parsing of "header lines + numeric table" text files.

Many vendor exports (XRD .xy/.xye, Raman/FTIR two-column text, cycler CSV)
are a free-form header followed by a block of numbers.  This module finds the
block, parses it with numpy's C parser and, when that fails, locates the
offending line so the error names it.  Header lines are returned verbatim and
as ``key -> value`` pairs where they look like ``key = value`` or ``key: value``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from battkg.errors import FormatError

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMERIC_ROW = re.compile(rf"^\s*{_NUMBER}(?:\s*[,;\t ]\s*{_NUMBER})+\s*[,;]?\s*$")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_KEY_VALUE = re.compile(r"^\s*([^=:]{1,80}?)\s*(?:=|:)\s*(.*?)\s*$")
_COMMENT_PREFIXES = ("#", "/*", "*/", "'", "!", ";", "%", "//", "*")


@dataclass
class NumericTable:
    """A numeric table found in a text file."""

    columns: np.ndarray  # shape (n_columns, n_rows), float64
    header_lines: list[str]
    header: dict[str, str] = field(default_factory=dict)
    first_data_line: int = 1  # 1-based line number in the file
    column_names: list[str] = field(default_factory=list)
    delimiter: str | None = None  # None = whitespace


def read_text(path: Path, reader: str) -> str:
    """Read a text file as UTF-8, falling back to Latin-1 (LabSpec, old exports)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc
    if not raw.strip():
        raise FormatError(path, "file is empty", reader=reader)
    if b"\x00" in raw[:4096]:
        raise FormatError(path, "binary content where a text table was expected", reader=reader)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _strip_comment(line: str) -> str:
    text = line.strip()
    for prefix in _COMMENT_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :].strip()
    return text


def parse_header_pairs(lines: list[str]) -> dict[str, str]:
    """``key = value`` / ``key: value`` pairs from header lines (comment marks removed)."""
    pairs: dict[str, str] = {}
    for line in lines:
        body = _strip_comment(line)
        match = _KEY_VALUE.match(body)
        if match and match.group(1) and not re.fullmatch(_NUMBER, match.group(1)):
            key = match.group(1).strip()
            pairs.setdefault(key, match.group(2).strip().strip('"'))
    return pairs


def _delimiter_of(line: str) -> str | None:
    for delim in ("\t", ";", ","):
        if delim in line:
            # A comma may be the decimal mark of a semicolon/tab table, so
            # prefer tab and semicolon when present.
            return delim
    return None


def read_numeric_table(
    path: Path,
    *,
    reader: str,
    min_columns: int = 2,
    max_columns: int | None = None,
    text: str | None = None,
) -> NumericTable:
    """Find and parse the numeric block of a text file.

    The block starts at the first line that is a row of numbers; everything
    before it is header.  Every later non-empty line must be a row with the
    same number of columns: anything else is a :class:`FormatError` naming the
    line, because silently dropping rows would corrupt the data.
    """
    content = text if text is not None else read_text(path, reader)
    # Scan only the header line by line; the numeric block goes to numpy's C parser as one
    # slice of the text (no per-line Python work on 10^4-line patterns).
    header_lines: list[str] = []
    position, start, first_row = 0, None, ""
    while position < len(content):
        newline = content.find("\n", position)
        end_of_line = len(content) if newline < 0 else newline
        line = content[position:end_of_line].rstrip("\r")
        if _NUMERIC_ROW.match(line):
            start, first_row = len(header_lines), line
            break
        header_lines.append(line)
        position = end_of_line + 1
    if start is None:
        raise FormatError(path, f"no numeric data block with at least {min_columns} columns found", reader=reader)
    delimiter = _delimiter_of(first_row)
    ncols = len(_split(first_row, delimiter))
    if ncols < min_columns:
        raise FormatError(path, f"expected at least {min_columns} numeric columns, found {ncols}",
                          line=start + 1, reader=reader)
    if max_columns is not None and ncols > max_columns:
        raise FormatError(path, f"expected at most {max_columns} numeric columns, found {ncols}",
                          line=start + 1, reader=reader)
    # Trailing blank lines are fine; blank lines inside the block are not data (numpy would skip them).
    body = content[position:].rstrip()

    def locate_bad_row() -> None:
        lines = content.splitlines()
        _locate_bad_row(path, lines, start, start + len(body.splitlines()), delimiter, ncols, reader)

    if _BLANK_LINE.search(body):
        locate_bad_row()
    try:
        data = np.loadtxt(io.StringIO(body), delimiter=delimiter, ndmin=2, dtype=np.float64,
                          comments=None)
    except ValueError:
        locate_bad_row()
        raise  # pragma: no cover - _locate_bad_row always raises
    if data.shape[1] != ncols:  # pragma: no cover - loadtxt enforces equal width
        locate_bad_row()
    if not np.all(np.isfinite(data)):
        bad = int(np.argwhere(~np.isfinite(data))[0][0])
        raise FormatError(path, "non-finite number (nan/inf) in data block", line=start + bad + 1, reader=reader)
    column_names: list[str] = []
    if header_lines:
        candidate = _split(_strip_comment(header_lines[-1]), delimiter)
        if len(candidate) == ncols and not any(re.fullmatch(_NUMBER, c) for c in candidate):
            column_names = [c.strip().strip('"') for c in candidate]
    return NumericTable(
        columns=data.T.copy(),
        header_lines=header_lines,
        header=parse_header_pairs(header_lines),
        first_data_line=start + 1,
        column_names=column_names,
        delimiter=delimiter,
    )


def _split(line: str, delimiter: str | None) -> list[str]:
    parts = line.strip().split(delimiter) if delimiter else line.split()
    if parts and parts[-1].strip() == "":
        parts = parts[:-1]
    return parts


def _locate_bad_row(path: Path, lines: list[str], start: int, end: int, delimiter: str | None,
                    ncols: int, reader: str) -> None:
    for index in range(start, end):
        line = lines[index]
        if not line.strip():
            raise FormatError(path, "blank line inside the data block", line=index + 1, reader=reader)
        parts = _split(line, delimiter)
        if len(parts) != ncols:
            raise FormatError(
                path,
                f"row has {len(parts)} column(s), expected {ncols} (truncated or inconsistent row)",
                line=index + 1,
                reader=reader,
            )
        for column, part in enumerate(parts, start=1):
            try:
                float(part)
            except ValueError:
                raise FormatError(
                    path,
                    f"non-numeric value {part.strip()!r} in column {column} of the data block",
                    line=index + 1,
                    reader=reader,
                ) from None
    raise FormatError(path, "data block could not be parsed", line=start + 1, reader=reader)
