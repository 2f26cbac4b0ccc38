"""MADAP electrolyte-conductivity table reader: MANIFEST oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.eis import madap_table
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

MADAP = manifest_entries("eis", formats=("conductivity + formulation",))


def _scalar(block, quantity: str, label: str | None = None) -> float:  # noqa: ANN001 - Block
    (found,) = [q for q in block.quantities if q.quantity == quantity and (label is None or q.label == label)]
    return found.value


@requires_shared_samples
@pytest.mark.parametrize("entry", MADAP)
def test_madap_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("eis", path)
    assert reader.info.id == "eis.madap.csv"  # sniffed, not the generic .csv fallback
    parsed = reader.read(path)
    oracle = entry["oracle"]
    blocks = parsed.blocks
    assert len(blocks) == oracle["n_points"]
    assert len({b.metadata["experiment_id"] for b in blocks}) == oracle["n_experiments"]
    assert blocks[0].metadata["experiment_id"] == oracle["first_experimentID"]
    assert blocks[-1].metadata["experiment_id"] == oracle["last_experimentID"]
    sizes = [b.array("frequency").values.size for b in blocks]
    assert (min(sizes), max(sizes)) == (oracle["eis_points_per_row"]["min"], oracle["eis_points_per_row"]["max"])
    for key, quantity, label in (
        ("temperature_C", "ThermodynamicTemperature", None),
        ("conductivity_S_per_cm", "IonicConductivity", madap_table.LABEL_CONDUCTIVITY),
        ("resistance_Ohm", "ElectricResistance", madap_table.LABEL_RESISTANCE),
    ):
        values = np.array([_scalar(b, quantity, label) for b in blocks])
        for stat, value in (("first", values[0]), ("last", values[-1]), ("min", values.min()),
                            ("max", values.max())):
            assert value == pytest.approx(oracle[key][stat], rel=1e-6), (key, stat)
    first = blocks[0]
    spectrum = oracle["row0_spectrum"]
    assert first.array("frequency").values[0] == pytest.approx(spectrum["f_first_Hz"], rel=1e-6)
    assert first.array("frequency").values[-1] == pytest.approx(spectrum["f_last_Hz"], rel=1e-6)
    assert first.array("real_impedance").values[0] == pytest.approx(spectrum["Zre_first"], rel=1e-6)
    # MADAP's Z'' is Im(Z); we store −Im(Z).
    assert first.array("negative_imaginary_impedance").values[0] == pytest.approx(-spectrum["Zim_first"], rel=1e-6)
    for column, grams in oracle["row0_formulation_g"].items():
        assert _scalar(first, "Mass", column.removesuffix(" [g]")) == pytest.approx(grams, rel=1e-9)
    meta = first.metadata["madap_metadata"]
    for key, value in oracle["row0_metadata"].items():
        assert meta[key] == value
    assert first.metadata["channel"] == oracle["row0_metadata"]["channel"]


@requires_shared_samples
@pytest.mark.parametrize("entry", MADAP)
def test_madap_keeps_cell_constant_and_nan_metadata(entry: dict) -> None:
    parsed = madap_table.read(sample_path(entry))
    last = parsed.blocks[-1]
    assert _scalar(last, "CellConstant", madap_table.LABEL_CELL_CONSTANT) > 0
    assert [q.unit for q in last.quantities if q.quantity == "CellConstant"] == ["1/cm", "1/cm"]
    # pandas wrote bare `nan` inside the dict literal: it must come back as None, not break the row.
    assert last.metadata["madap_metadata"]["PC"]["Batch-Nr"] is None
    assert set(parsed.raw_metadata["rows"][0]) == {"amplitude [-]", "bias", "error", "GD", "range"}


COLUMNS = (";experimentID;temperature [°C];resistance [Ohm];conductivity [S/cm];frequency [Hz];"
           "real impedance Z' [Ohm];imaginary impedance Z'' [Ohm];cell constant, standard deviation;PC [g];metadata\n")


def _row(index: int, freq: str = "[1000.0, 100.0, 10.0]", real: str = "[10.0, 11.0, 15.0]",
         imag: str = "[-1.0, -5.0, -50.0]") -> str:
    return (f"{index};EXP_{index};25.0;10.0;0.47;{freq};{real};{imag};(4.7, 0.01);1.5;"
            "{'experimentDate': '09.02.2021', 'channel': 'n1', 'comment': nan}\n")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_madap_synthetic_table(tmp_path: Path) -> None:
    parsed = detect_reader("eis", _write(tmp_path, COLUMNS + _row(0) + _row(1))).read(tmp_path / "table.csv")
    assert [b.name for b in parsed.blocks] == ["EXP_0 at 25.0 °C", "EXP_1 at 25.0 °C"]
    np.testing.assert_allclose(parsed.blocks[1].array("negative_imaginary_impedance").values, [1.0, 5.0, 50.0])
    assert parsed.blocks[0].metadata["experiment_date"].isoformat() == "2021-02-09"


@pytest.mark.parametrize(
    ("text", "expected", "line", "field"),
    [
        (COLUMNS + _row(0) + _row(1)[:60], "row has 7 field(s), expected 11", 3, None),
        (COLUMNS.replace("frequency [Hz]", "freq"), "header lacks 'frequency [Hz]'", 1, None),
        (COLUMNS + _row(0) + _row(1, real="[10.0, n/a, 15.0]"), "non-numeric value 'n/a' at list position 2", 3,
         "real impedance Z' [Ohm]"),
        (COLUMNS, "no data rows", 2, None),
        (COLUMNS + _row(0).replace(";1.5;", ";1.5;extra;"), "row has 12 field(s), expected 11", 2, None),
        (COLUMNS + _row(0, imag="[-1.0, -5.0]"), "spectrum lists differ in length", 2, None),
        (COLUMNS + _row(0, freq="[1000.0, 0.0, 10.0]"), "frequency must be > 0 Hz", 2, None),
        (COLUMNS + _row(0, freq="1000.0, 100.0, 10.0"), "expected a list", 2, "frequency [Hz]"),
        (COLUMNS + _row(0).replace("(4.7, 0.01)", "(4.7"), "cell constant, standard deviation", 2,
         "cell constant, standard deviation"),
    ],
    ids=["truncated", "wrong-header", "non-numeric-row", "empty-data", "inconsistent-columns", "list-lengths",
         "zero-frequency", "not-a-list", "bad-cell-constant"],
)
def test_madap_rejects_bad_input(tmp_path: Path, text: str, expected: str, line: int, field: str | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        madap_table.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.line == line
    if field is not None:
        assert info.value.field == field
