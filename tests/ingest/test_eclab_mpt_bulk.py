""".mpt data rows: the bulk parser (pandas' C parser straight from the file) against the
line-by-line parser, and every irregular body sent to the line-by-line parser that names the line.

The bulk parser is what a 10^6-row file goes through (bench/ingest_cycling.py); these tests make
sure it gives the same values, bit for bit, as the line parser (Python's float()) and that it never
accepts a row the line parser would refuse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from battkg.errors import FormatError
from battkg.ingest import _eclab
from battkg.ingest._eclab import read_mpt
from battkg.readers import detect_reader

from tests.conftest import manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_cycling_biologic import build_mpt

MPT_SAMPLES = [p for technique in ("cycling", "eis") for p in manifest_entries(technique, suffixes=(".mpt",))]
GOOD_ROW = "1\t{k}.0\t3.5\t1.0\t0.0\t0\t"


def _assert_same(bulk: _eclab.EclabFile, by_line: _eclab.EclabFile) -> None:
    assert list(bulk.columns) == list(by_line.columns)
    for label, column in bulk.columns.items():
        other = by_line.columns[label].values
        assert column.values.dtype == other.dtype, label
        assert column.values.tobytes() == other.tobytes(), label  # bit for bit, not approximately
    assert bulk.header_lines == by_line.header_lines
    assert bulk.settings == by_line.settings
    assert (bulk.technique, bulk.start_time, bulk.active_mass) == (by_line.technique, by_line.start_time,
                                                                   by_line.active_mass)


def _no_line_parser(*args: object, **kwargs: object) -> None:
    raise AssertionError("a regular body must not need the line-by-line parser")


@requires_shared_samples
@pytest.mark.parametrize("entry", MPT_SAMPLES)
def test_bulk_parser_equals_line_parser_on_every_sample(entry: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sample_path(entry)
    by_line = _eclab._read_mpt_text(path, reader="test")
    with monkeypatch.context() as patch:
        patch.setattr(_eclab, "_parse_body_by_line", _no_line_parser)
        bulk = read_mpt(path, reader="test")
    _assert_same(bulk, by_line)


@pytest.mark.parametrize(("comma", "crlf"), [(False, False), (True, False), (False, True)])
def test_regular_synthetic_file_takes_the_bulk_path(tmp_path: Path, comma: bool, crlf: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Trailing blank lines and EC-Lab's trailing tab are regular.
    rows = [GOOD_ROW.format(k=k) for k in range(20)] + ["", ""]
    path = build_mpt(tmp_path / "run.mpt", rows, comma=comma)
    if crlf:  # EC-Lab on Windows
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    with monkeypatch.context() as patch:
        patch.setattr(_eclab, "_parse_body_by_line", _no_line_parser)
        bulk = read_mpt(path, reader="test")
    assert bulk.n_points == 20
    assert bulk.columns["time/s"].values[-1] == 19.0
    assert bulk.columns["mode"].values.dtype == np.int64
    _assert_same(bulk, _eclab._read_mpt_text(path, reader="test"))


def test_header_with_a_lone_carriage_return_is_read_line_by_line(tmp_path: Path) -> None:
    """A lone \\r splits a line for str.splitlines() but not for readline(): the header line count
    would disagree between the two, so such a file takes the text path and reads the same rows."""
    path = build_mpt(tmp_path / "run.mpt", [GOOD_ROW.format(k=k) for k in range(20)])
    text = path.read_bytes()
    path.write_bytes(text.replace(b"\n", b"\r", 1))  # EC-Lab ASCII FILE\rNb header lines ...
    assert read_mpt(path, reader="test").n_points == 20


def test_whitespace_after_the_last_row_is_allowed(tmp_path: Path) -> None:
    path = build_mpt(tmp_path / "run.mpt", [GOOD_ROW.format(k=k) for k in range(20)] + ["  ", "\t", ""])
    assert read_mpt(path, reader="test").n_points == 20


BAD_ROWS = [
    ("1\t5.0\t3.5\t1.0\t0.0\t0\t7\t", "row has 7 field"),  # one field too many
    ("1\t5.0\t3.5\t1.0", "row has 4 field"),  # truncated row
    ("x\t5.0\t3.5\t1.0\t0.0\t0\t", "non-numeric value 'x' in column 1"),  # a column no cycling array uses
    ("1\t5.0\t3,5\t1.0\t0.0\t0\t", "non-numeric value '3,5' in column 3"),  # decimal comma in a dot file
]


@pytest.mark.parametrize(("bad_row", "message", "at_end"), [
    ("", "blank line inside the data section", False),  # a blank last line is trailing, which is allowed
    *[(row, message, at_end) for row, message in BAD_ROWS for at_end in (False, True)],
])
def test_irregular_row_is_refused_with_its_line(tmp_path: Path, bad_row: str, message: str, at_end: bool) -> None:
    rows = [GOOD_ROW.format(k=k) for k in range(5)] + [bad_row] + ([] if at_end else [GOOD_ROW.format(k=9)])
    path = build_mpt(tmp_path / "bad.mpt", rows)
    with pytest.raises(FormatError, match=message) as info:
        detect_reader("cycling", path).read(path)
    n_header = int(path.read_text(encoding="cp1252").splitlines()[1].split(":")[1])
    assert info.value.line == n_header + 6
    assert "bad.mpt" in str(info.value)
