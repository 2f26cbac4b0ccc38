"""XRD text reader: conformance with the MANIFEST oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

TEXT_SUFFIXES = (".xy", ".xye")


def _oracle_xy(entry: dict) -> tuple[int, float, float, float, float]:
    """(n, x_first, x_last, y_first, y_last) from either oracle style."""
    oracle = entry["oracle"]
    if "rows" in oracle:  # numpy loadtxt oracle
        return oracle["rows"], oracle["first"][0], oracle["last"][0], oracle["first"][1], oracle["last"][1]
    group = oracle["groups"]["/"]  # yadg oracle
    return (group["intensity"]["n"], group["angle"]["first"], group["angle"]["last"],
            group["intensity"]["first"], group["intensity"]["last"])


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", suffixes=TEXT_SUFFIXES))
def test_text_reader_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == "xrd.text.xy"
    parsed = reader.read(path)
    block = parsed.blocks[0]
    two_theta, intensity = block.array("two_theta").values, block.array("intensity").values
    n, x0, x1, y0, y1 = _oracle_xy(entry)
    assert two_theta.size == intensity.size == n
    assert two_theta[0] == pytest.approx(x0, rel=1e-6)
    assert two_theta[-1] == pytest.approx(x1, rel=1e-6)
    assert intensity[0] == pytest.approx(y0, rel=1e-6)
    assert intensity[-1] == pytest.approx(y1, rel=1e-6)
    if entry["oracle"].get("cols") == 3:
        sigma = block.array("intensity_uncertainty").values
        assert sigma[0] == pytest.approx(entry["oracle"]["first"][2], rel=1e-6)


@requires_shared_samples
def test_text_reader_takes_wavelength_and_sample_from_header() -> None:
    from tests.conftest import SAMPLES

    parsed = detect_reader("xrd", SAMPLES / "xrd/datalab_example_bmb.xye").read(SAMPLES / "xrd/datalab_example_bmb.xye")
    (wavelength,) = [q for q in parsed.quantities if q.quantity == "Wavelength"]
    assert wavelength.value == pytest.approx(0.414581)
    assert wavelength.unit == "angstrom"
    assert parsed.metadata["sample_name"] == "eel69B"
    eva = SAMPLES / "xrd/datalab_example_evadiffract.xy"
    parsed = detect_reader("xrd", eva).read(eva)
    assert parsed.metadata["operator"] == "Emmy Noether"
    assert parsed.metadata["anode"] == "Cu"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_ROWS = "".join(f"{10 + 0.02 * i:.3f} {100 + i}\n" for i in range(20))


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ("", "file is empty", None),
        ("# only a header\n# nothing else\n", "no numeric data block", None),
        ("# h\n" + GOOD_ROWS + "10.5 abc\n" + GOOD_ROWS.replace("10.", "11."), "non-numeric value 'abc'", 22),
        ("# h\n" + GOOD_ROWS + "10.5\n", "row has 1 column(s), expected 2", 22),
        ("# h\n" + GOOD_ROWS + "10.5 1 2 3\n", "row has 4 column(s)", 22),
        ("10 1\n9 2\n11 3\n", "not monotonic", None),
        ("1 2 3 4 5\n2 3 4 5 6\n", "at most 3 numeric columns", 1),
    ],
    ids=["empty", "header-only", "non-numeric-row", "truncated-row", "extra-columns", "not-monotonic",
         "too-many-columns"],
)
def test_text_reader_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, "bad.xy", content)
    with pytest.raises(FormatError) as info:
        reader = detect_reader("xrd", path)
        reader.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_text_reader_parses_csv_with_header_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "2theta,counts\n" + "".join(f"{5 + i * 0.5},{i * i}\n" for i in range(10)))
    parsed = detect_reader("xrd", path).read(path)
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("two_theta").values, [5 + i * 0.5 for i in range(10)])
    assert parsed.raw_metadata["column_names"] == ["2theta", "counts"]
