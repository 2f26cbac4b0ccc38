"""Arbin BDF CSV and generic mapped-CSV cycling readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

BDF = manifest_entries("cycling", formats=("battery-data-format",))


@requires_shared_samples
@pytest.mark.parametrize("entry", BDF)
def test_bdf_csv_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("cycling", path)
    assert reader.info.id == "cycling.arbin.bdf_csv"
    parsed = reader.read(path)
    oracle = entry["oracle"]
    block = parsed.blocks[0]
    assert parsed.n_points == oracle["n_points"]
    for name, key in (("voltage", "Voltage"), ("current", "Current"), ("time", "Test_Time"),
                      ("cycle_index", "Cycle_Index")):
        values = block.array(name).values
        assert values[0] == pytest.approx(oracle[key]["first"], rel=1e-6), name
        assert values[-1] == pytest.approx(oracle[key]["last"], rel=1e-6), name
        assert values.min() == pytest.approx(oracle[key]["min"], rel=1e-6), name
        assert values.max() == pytest.approx(oracle[key]["max"], rel=1e-6), name
    assert parsed.metadata["n_cycles"] == oracle["Cycle_Index"]["max"] - oracle["Cycle_Index"]["min"] + 1
    assert parsed.metadata["start_time"].year > 2000


CSV = "Test_Time(s),Voltage(V),Current(mA),Cycle,Q\n" + "".join(
    f"{k},{3.0 + 0.1 * k:.2f},{-1 if k > 4 else 1},{0 if k < 5 else 1},{k}\n" for k in range(10))


def test_generic_csv_maps_converts_and_flips(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text(CSV)
    parsed = detect_reader("cycling", path, "cycling.generic.csv").read(
        path, columns={"time": "Test_Time(s)", "voltage": "Voltage(V)", "current": "Current(mA)",
                       "cycle_index": "Cycle"}, units={"current": "mA"}, current_sign=-1)
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("current").values[:2], [-1e-3, -1e-3])
    assert list(block.array("cycle_index").values[[0, -1]]) == [1, 2]  # 0-based shifted
    assert parsed.raw_metadata["unmapped_columns"] == ["Q"]


@pytest.mark.parametrize(("options", "message"), [
    ({}, "needs a column mapping"),
    ({"columns": {"time": "Test_Time(s)", "voltage": "Voltage(V)"}}, "must name ['current']"),
    ({"columns": {"time": "Test_Time(s)", "voltage": "V", "current": "Current(mA)"}}, "not in the file"),
    ({"columns": {"time": "Test_Time(s)", "voltage": "Voltage(V)", "current": "Current(mA)"},
      "units": {"current": "furlong"}}, "cannot convert 'current'"),
])
def test_generic_csv_rejects_bad_mappings(tmp_path: Path, options: dict, message: str) -> None:
    path = tmp_path / "run.csv"
    path.write_text(CSV)
    with pytest.raises(FormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        detect_reader("cycling", path, "cycling.generic.csv").read(path, **options)


def test_generic_csv_non_numeric_value_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text(CSV.replace("\n3,3.30", "\n3,oops"))
    with pytest.raises(FormatError) as info:
        detect_reader("cycling", path, "cycling.generic.csv").read(
            path, columns={"time": "Test_Time(s)", "voltage": "Voltage(V)", "current": "Current(mA)"})
    assert info.value.line == 5 and "oops" in str(info.value)
