"""Gamry .DTA impedance reader: MANIFEST oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader
from battkg.ingest.eis import gamry_dta
from tests.conftest import manifest_entries, requires_shared_samples
from tests.ingest.eis_oracle import assert_spectrum_matches_oracle


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("eis", formats=("gamry-dta",)))
def test_gamry_matches_oracle(entry: dict) -> None:
    block = assert_spectrum_matches_oracle(entry, "eis.gamry.dta")
    re_z = block.array("real_impedance").values
    minus_im = block.array("negative_imaginary_impedance").values
    # The file's own |Z| and phase agree with Re/Im (catches a column mix-up).
    np.testing.assert_allclose(block.array("impedance_modulus").values, np.hypot(re_z, minus_im), rtol=1e-4)
    np.testing.assert_allclose(block.array("impedance_phase").values,
                               np.degrees(np.arctan2(-minus_im, re_z)), atol=1e-3)


@requires_shared_samples
def test_gamry_metadata_from_header() -> None:
    from tests.conftest import SAMPLES

    path = SAMPLES / "eis/impedance_exampleDataGamry.DTA"
    parsed = gamry_dta.read(path, include_ocv=True)
    assert parsed.metadata["technique"] == "PEIS"
    assert parsed.metadata["instrument"] == "Gamry REF3000-34128"
    assert parsed.metadata["start_time"].isoformat() == "2018-04-23T16:43:15"
    by_label = {q.label: q for q in parsed.quantities}
    assert (by_label["AC voltage amplitude"].value, by_label["AC voltage amplitude"].unit) == (10.0, "mV")
    assert (by_label["DC potential"].value, by_label["DC potential"].unit) == (-0.05, "V")
    assert parsed.raw_metadata["header"]["PSTATSERIALNO"][1] == "34128"
    assert [b.name for b in parsed.blocks] == ["spectrum", "ocv_curve"]
    assert parsed.blocks[1].array("voltage").values.size == parsed.raw_metadata["tables"]["OCVCURVE"]["rows"]


HEADER = (
    "EXPLAIN\nTAG\t{tag}\nTITLE\tLABEL\tPotentiostatic EIS\tTest &Identifier\n"
    "DATE\tLABEL\t4/23/2018\tDate\nTIME\tLABEL\t16:43:15\tTime\n"
    "VAC\tQUANT\t1.00000E+001\tAC &Voltage (mV rms)\n"
    "ZCURVE\tTABLE\n\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange\n"
    "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#\n"
)
N_HEADER = HEADER.count("\n")


def _row(i: int) -> str:
    f = 1e5 / 2 ** i
    return f"\t{i}\t{i + 1}\t{f:.6g}\t{100 + i}\t{-10 - i}\t1\t{np.hypot(100 + i, 10 + i):.6g}\t-5\t0\t0\t7\n"


ROWS = "".join(_row(i) for i in range(8))


def _write(tmp_path: Path, text: str, name: str = "bad.DTA") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="latin-1")
    return path


def test_gamry_reads_synthetic_file_with_geis_and_decimal_commas(tmp_path: Path) -> None:
    text = HEADER.format(tag="EISGALV") + ROWS.replace(".", ",") + "EXPERIMENTABORTED\tTOGGLE\tT\tAborted\n"
    parsed = detect_reader("eis", _write(tmp_path, text)).read(_write(tmp_path, text))
    assert parsed.metadata["technique"] == "GEIS"
    np.testing.assert_allclose(parsed.blocks[0].array("frequency").values, [1e5 / 2 ** i for i in range(8)],
                               rtol=1e-5)
    np.testing.assert_allclose(parsed.blocks[0].array("negative_imaginary_impedance").values,
                               [10 + i for i in range(8)])
    assert any("aborted" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        (HEADER.format(tag="EISPOT") + ROWS + "\t8\t9\t300", "row has 3 column(s), expected 11", N_HEADER + 9),
        ("HELLO\n" + HEADER.format(tag="EISPOT")[8:] + ROWS, "first line must be 'EXPLAIN'", 1),
        (HEADER.format(tag="EISPOT") + _row(0) + _row(1) + "\t2\t3\tabc\t1\t1\t1\t1\t1\t1\t1\t1\n" + _row(3),
         "non-numeric value 'abc' in column 3", N_HEADER + 3),
        (HEADER.format(tag="EISPOT"), "no data rows", N_HEADER + 1),
        (HEADER.format(tag="EISPOT") + ROWS + "\t8\t9\t300\t1\t1\t1\t1\t1\t1\t1\t1\t99\n",
         "row has 12 column(s), expected 11", N_HEADER + 9),
        (HEADER.format(tag="EISPOT") + _row(0) + "\n" + _row(1), "blank line inside the data block", N_HEADER + 2),
        (HEADER.format(tag="EISPOT") + _row(0) + "stray text\n" + _row(1), "not a data row", N_HEADER + 2),
        (HEADER.format(tag="EISPOT").replace("ZCURVE\tTABLE\n\tPt", "CURVE\tTABLE\n\tPt") + ROWS,
         "no ZCURVE table", None),
        (HEADER.format(tag="EISPOT").replace("\tFreq\t", "\tFrq\t") + ROWS, "no column for frequency", N_HEADER - 1),
        (HEADER.format(tag="EISPOT") + ROWS.replace("\t100000\t", "\t0\t", 1),
         "frequency must be > 0 Hz", N_HEADER + 1),
    ],
    ids=["truncated", "wrong-header", "non-numeric-row", "empty-data", "inconsistent-columns", "blank-line",
         "stray-line", "not-eis", "missing-column", "zero-frequency"],
)
def test_gamry_rejects_bad_input(tmp_path: Path, text: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        gamry_dta.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == "eis.gamry.dta"
    if line is not None:
        assert info.value.line == line
