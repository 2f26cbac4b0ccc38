"""Scienta SES text reader: conformance with the MANIFEST oracle (pynxtools-xps) and bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from battkg.errors import FormatError
from battkg.readers import detect_reader

from tests.conftest import (
    SAMPLES,
    manifest_entries,
    requires_shared_samples,
    sample_path,
)
from tests.ingest.bad_input import assert_format_error

SCIENTA = manifest_entries("xps", formats=("scienta-txt",))
SAMPLE = SAMPLES / "xps/pynxtools_scienta_Ag_0001.txt"


def _read(path: Path):
    reader = detect_reader("xps", path)
    assert reader.info.id == "xps.scienta.txt"
    return reader.read(path)


@requires_shared_samples
@pytest.mark.parametrize("entry", SCIENTA)
def test_scienta_txt_matches_oracle(entry: dict) -> None:
    oracle = entry["oracle"]
    parsed = _read(sample_path(entry))
    assert len(parsed.blocks) == oracle["n_blocks"]
    block = parsed.blocks[0]
    assert block.name == oracle["region_name"]
    be, y = block.array("binding_energy").values, block.array("intensity").values
    assert be.size == y.size == oracle["n_points"]
    assert oracle["energy_scale"] == "binding"  # so x is comparable with our binding_energy
    assert be[0] == pytest.approx(oracle["x_first"]) and be[-1] == pytest.approx(oracle["x_last"])
    # pynxtools' "average over scans" leaves SES text values unchanged: compare raw with raw.
    assert y[0] == pytest.approx(oracle["y_first"], rel=1e-6) and y[-1] == pytest.approx(oracle["y_last"], rel=1e-6)
    assert y.min() == pytest.approx(oracle["y_min"], rel=1e-6) and y.max() == pytest.approx(oracle["y_max"], rel=1e-6)
    q = {x.quantity: x for x in block.quantities}
    assert q["ExcitationEnergy"].value == pytest.approx(oracle["excitation_energy"])
    assert q["PassEnergy"].value == pytest.approx(oracle["pass_energy"])
    assert q["DwellTime"].value == pytest.approx(oracle["dwell_time"] / 1000.0)  # SES "Step Time" is in ms
    assert q["DwellTime"].unit == "s"
    assert block.metadata["lens_mode"] == oracle["lens_mode"]
    assert parsed.metadata["sample_name"] == oracle["sample_name"]
    stamp = datetime.fromisoformat(oracle["time_stamp"]).replace(tzinfo=None)
    assert parsed.metadata["start_time"] == stamp and parsed.metadata["start_time"].tzinfo is None
    assert any("naive" in w for w in parsed.warnings)


@requires_shared_samples
def test_scienta_txt_block_metadata() -> None:
    parsed = _read(SAMPLE)
    block = parsed.blocks[0]
    assert block.metadata["region"] == "Ag 3d"
    assert block.metadata["species"] == "Ag" and block.metadata["transition"] == "3d"
    assert block.metadata["scan_type"] == "high-resolution"
    assert block.metadata["n_scans"] == 2
    assert "source_label" not in block.metadata  # 520 eV is not a lab anode line: no label invented
    ke = block.array("kinetic_energy").values
    assert ke[0] == pytest.approx(520 - 382.0)
    assert parsed.metadata["technique"] == "XPS"


# --- bad input ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    return path


def _raises(path: Path, *fragments: str) -> FormatError:
    return assert_format_error("xps", "xps.scienta.txt", path, *fragments)


def _lines() -> list[str]:
    return SAMPLE.read_text().splitlines()


@requires_shared_samples
def test_scienta_txt_truncated(tmp_path: Path) -> None:
    lines = _lines()
    err = _raises(_write(tmp_path, "\n".join(lines[:-100])), "'Dimension 1 size' is 361", "Ag3d")
    assert err.line == 5
    _raises(_write(tmp_path, "\n".join(lines[:20])), "[Data 1]", "missing")


@requires_shared_samples
def test_scienta_txt_wrong_first_line(tmp_path: Path) -> None:
    err = _raises(_write(tmp_path, "[Header]\n" + "\n".join(_lines()[1:])), "not [Info]")
    assert err.line == 1


@requires_shared_samples
def test_scienta_txt_non_numeric_value(tmp_path: Path) -> None:
    lines = _lines()
    start = lines.index("[Data 1]")
    lines[start + 11] = " 3.81500000000000E+0002  abc"
    err = _raises(_write(tmp_path, "\n".join(lines)), "non-numeric value 'abc'", "Ag3d")
    assert err.line == start + 12


@requires_shared_samples
def test_scienta_txt_empty_region(tmp_path: Path) -> None:
    lines = _lines()
    start = lines.index("[Data 1]")
    err = _raises(_write(tmp_path, "\n".join(lines[: start + 1])), "empty region")
    assert err.line == start + 1


@requires_shared_samples
def test_scienta_txt_inconsistent_point_counts(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("Dimension 1 scale=382 ", "Dimension 1 scale=")
    _raises(_write(tmp_path, text), "'Dimension 1 scale' has 360 values", "inconsistent point count")
    lines = _lines()
    start = lines.index("[Data 1]")
    lines[start + 5] += "  7.0"
    err = _raises(_write(tmp_path, "\n".join(lines)), "row has 3 column(s)")
    assert err.line == start + 6


@requires_shared_samples
def test_scienta_txt_contradicting_energy_scale(tmp_path: Path) -> None:
    _raises(_write(tmp_path, SAMPLE.read_text().replace("Energy Scale=Binding", "Energy Scale=Kinetic")),
            "contradicts")
