"""Scribner ZPlot .z reader: MANIFEST oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.eis import zplot_z
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples
from tests.ingest.eis_oracle import assert_spectrum_matches_oracle


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("eis", formats=("zplot-z",)))
def test_zplot_matches_oracle(entry: dict) -> None:
    block = assert_spectrum_matches_oracle(entry, "eis.zplot.z")
    re_z = block.array("real_impedance").values
    minus_im = block.array("negative_imaginary_impedance").values
    # No modulus/phase columns in ZPlot: they are computed, so check them against Re/Im.
    np.testing.assert_allclose(block.array("impedance_modulus").values, np.abs(re_z - 1j * minus_im))


@requires_shared_samples
def test_zplot_metadata_from_header() -> None:
    from tests.conftest import SAMPLES

    parsed = zplot_z.read(SAMPLES / "eis/impedance_exampleDataZPlot.z")
    assert parsed.metadata["technique"] == "PEIS"
    assert parsed.metadata["software"] == "ZPlot 3.2c"
    assert parsed.metadata["start_time"].isoformat() == "2018-10-12T11:04:34"
    by_label = {q.label: (q.value, q.unit) for q in parsed.quantities}
    assert by_label["AC voltage amplitude"] == (10.0, "mV")
    assert by_label["open-circuit potential"] == (0.0033, "V")
    # Keys inside Begin/End sections are prefixed: "Error Beep" exists in two sections.
    assert parsed.raw_metadata["header"]["Pstat/Gstat/Error Beep"] == "1"
    assert parsed.raw_metadata["header"]["Analyzer/Error Beep"] == "0"
    assert any("declares 56 data points" in w for w in parsed.warnings)


HEADER = (
    "ZPLOT2 ASCII\n  Measured Data, ZPlot:       3.2c\n"
    "  Experiment Type:            Sweep Frequency, Control Current\n"
    "  Date:                       10-12-2018\n  Time:                       11:04:34\n"
    "  Begin Experiment:           0\n    Current-DC:               0.5\n    Current-AC:               0.02\n"
    "  End Experiment:             0\n  Data Points:                5\n"
    "  Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange\nEnd Comments\n"
)
N_HEADER = HEADER.count("\n")


def _row(i: int) -> str:
    return f"{1e5 / 2 ** i:.6E}\t1.0E-02\t0.0E+00\t{i + 1:.2f}\t{100 + i:.4E}\t{-10 - i:.4E}\t0\t0\t3\n"


ROWS = "".join(_row(i) for i in range(5))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.z"
    path.write_text(text)
    return path


def test_zplot_reads_galvanostatic_header_and_headerless_export(tmp_path: Path) -> None:
    parsed = zplot_z.read(_write(tmp_path, HEADER + ROWS))
    assert parsed.metadata["technique"] == "GEIS"
    assert {q.label: (q.value, q.unit) for q in parsed.quantities}["AC current amplitude"] == (0.02, "mA")
    assert parsed.warnings == []  # 5 declared, 5 present
    bare = _write(tmp_path, "Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange\n" + ROWS)
    block = detect_reader("eis", bare).read(bare).blocks[0]
    np.testing.assert_allclose(block.array("negative_imaginary_impedance").values, [10, 11, 12, 13, 14])
    commas = _write(tmp_path, HEADER.replace("\t", ", ") + ROWS.replace("\t", ", "))
    block = zplot_z.read(commas).blocks[0]
    np.testing.assert_allclose(block.array("real_impedance").values, [100, 101, 102, 103, 104])


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        (HEADER + ROWS + "3.0E+03\t1.0E-02\t0.0", "row has 3 column(s), expected 9", N_HEADER + 6),
        (HEADER.replace("End Comments\n", ""), "no 'End Comments' line", None),
        ("ZPLUT ASCII\n" + ROWS, "not a ZPlot file", 1),
        (HEADER + _row(0) + "1.0E+04\t1.0E-02\t0.0E+00\t2\tn/a\t-1\t0\t0\t3\n", "non-numeric value 'n/a' in column 5",
         N_HEADER + 2),
        (HEADER, "no data rows", N_HEADER + 1),
        (HEADER + _row(0) + _row(1).rstrip("\n") + "\t7\n", "row has 10 column(s), expected 9", N_HEADER + 2),
        (HEADER.replace("Z'(a)", "Zq(a)").replace("Z''(b)", "Zx(b)") + ROWS, "no column for Re(Z), Im(Z)",
         N_HEADER - 1),
    ],
    ids=["truncated", "truncated-header", "wrong-header", "non-numeric-row", "empty-data", "inconsistent-columns",
         "missing-columns"],
)
def test_zplot_rejects_bad_input(tmp_path: Path, text: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        zplot_z.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line
