"""Generic frequency / Re(Z) / −Im(Z) table reader: detection, mapping and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.eis import generic_csv
from battkg.readers import detect_reader

FREQ = [1e5 / 2 ** i for i in range(8)]
RE = [100.0 + 3 * i for i in range(8)]
MINUS_IM = [2.0 + 5 * i for i in range(8)]


def _write(tmp_path: Path, text: str, name: str = "spectrum.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(header: str, im_sign: float = 1.0, scale_z: float = 1.0, delimiter: str = ",") -> str:
    rows = "".join(delimiter.join(f"{v:.8g}" for v in (f, r / scale_z, im_sign * m / scale_z)) + "\n"
                   for f, r, m in zip(FREQ, RE, MINUS_IM))
    return header + rows


def _spectrum(path: Path, **options: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reader = detect_reader("eis", path)
    assert reader.info.id == "eis.generic.csv"
    block = reader.read(path, **options).blocks[0]
    return tuple(block.array(n).values for n in ("frequency", "real_impedance", "negative_imaginary_impedance"))


@pytest.mark.parametrize(
    ("header", "im_sign", "scale_z", "delimiter"),
    [
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n", 1.0, 1.0, ","),
        ("# exported by hand\nFrequency [Hz];Z' [Ohm];Z'' [Ohm]\n", -1.0, 1.0, ";"),
        ("f (Hz)\tZreal (kOhm)\tZimag (kOhm)\n", -1.0, 1e3, "\t"),
        ("Freq,Zre,-Zim\n\n", 1.0, 1.0, ","),  # blank line between names and data
    ],
    ids=["eclab-style", "im-convention-semicolon", "kohm-tab", "blank-after-names"],
)
def test_generic_csv_detects_columns_and_sign(tmp_path: Path, header: str, im_sign: float, scale_z: float,
                                              delimiter: str) -> None:
    f, re_z, minus_im = _spectrum(_write(tmp_path, _table(header, im_sign, scale_z, delimiter)))
    np.testing.assert_allclose(f, FREQ, rtol=1e-7)
    np.testing.assert_allclose(re_z, RE, rtol=1e-7)
    np.testing.assert_allclose(minus_im, MINUS_IM, rtol=1e-7)


def test_generic_csv_column_mapping_option(tmp_path: Path) -> None:
    rows = "".join(f"{m:.8g},{f:.8g},x{i},{r:.8g}\n".replace(f"x{i}", str(i))
                   for i, (f, r, m) in enumerate(zip(FREQ, RE, MINUS_IM)))
    path = _write(tmp_path, "A,B,C,D\n" + rows)
    f, re_z, minus_im = _spectrum(path, columns={"frequency": "B", "real": 3, "minus_imag": "a"})
    np.testing.assert_allclose(f, FREQ)
    np.testing.assert_allclose(re_z, RE)
    np.testing.assert_allclose(minus_im, MINUS_IM)
    parsed = generic_csv.read(path, columns={"frequency": "B", "real": 3, "imag": "A"})
    np.testing.assert_allclose(parsed.blocks[0].array("negative_imaginary_impedance").values, -np.array(MINUS_IM))
    # A partial mapping: the sign decision overrides the detected −Im(Z) column, the rest is detected.
    named = _write(tmp_path, _table("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n"), name="named.csv")
    parsed = generic_csv.read(named, columns={"imag": 2})
    np.testing.assert_allclose(parsed.blocks[0].array("negative_imaginary_impedance").values, -np.array(MINUS_IM))
    np.testing.assert_allclose(parsed.blocks[0].array("frequency").values, FREQ, rtol=1e-7)


def test_generic_csv_without_names_assumes_order_and_warns(tmp_path: Path) -> None:
    parsed = generic_csv.read(_write(tmp_path, _table("", im_sign=-1.0)))
    assert any("columns 1-3 taken as" in w for w in parsed.warnings)
    assert any("mostly negative" in w for w in parsed.warnings)  # Im(Z) given where −Im(Z) was assumed
    np.testing.assert_allclose(parsed.blocks[0].array("impedance_modulus").values,
                               np.hypot(RE, MINUS_IM))


GOOD = _table("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n")


@pytest.mark.parametrize(
    ("text", "options", "expected", "line"),
    [
        (GOOD + "12.5,100", {}, "row has 2 column(s), expected 3", 10),
        ("time/s,I/A,E/V\n" + GOOD.split("\n", 1)[1], {}, "cannot find the frequency, Re(Z), Im(Z) column", 1),
        (GOOD.replace("\n3125,", "\n3125,abc", 1), {}, "non-numeric value 'abc115' in column 2", 7),
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n100000,abc,1\n" + GOOD.split("\n", 1)[1], {},
         "non-numeric value 'abc' in column 2", 2),
        ("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n", {}, "no numeric data block", None),
        (GOOD + "1,2,3,4\n", {}, "row has 4 column(s), expected 3", 10),
        (GOOD, {"columns": {"frequency": "nope", "real": 1, "minus_imag": 2}}, "no column named 'nope'", None),
        (GOOD, {"columns": {"frequency": 0, "real": 7, "minus_imag": 2}}, "column index 7", None),
        (GOOD.replace("100000,", "-5,", 1), {}, "frequency must be > 0 Hz", 2),
    ],
    ids=["truncated", "wrong-header", "non-numeric-row", "non-numeric-first-row", "empty-data",
         "inconsistent-columns", "unknown-column-name", "column-index-out-of-range", "negative-frequency"],
)
def test_generic_csv_rejects_bad_input(tmp_path: Path, text: str, options: dict, expected: str,
                                       line: int | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        generic_csv.read(path, **options)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line
