"""SPECS Prodigy .xy reader: conformance with the MANIFEST oracle (pynxtools-xps, xylib) and bad input."""

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

SPECS = manifest_entries("xps", formats=("specs-prodigy-xy",))
SAMPLE = SAMPLES / "xps/pynxtools_specs_MgFe2O4_small.xy"


def _read(path: Path):
    reader = detect_reader("xps", path)
    assert reader.info.id == "xps.specs.xy"
    return reader.read(path)


@requires_shared_samples
@pytest.mark.parametrize("entry", SPECS)
def test_specs_xy_matches_oracle(entry: dict) -> None:
    oracle = entry["oracle"]
    parsed = _read(sample_path(entry))
    assert len(parsed.blocks) == oracle["n_blocks"]
    for block, expected in zip(parsed.blocks, oracle["blocks"]):
        assert block.name == expected["region_name"]
        be, y = block.array("binding_energy").values, block.array("intensity").values
        assert be.size == y.size == expected["n_points"]
        assert be[0] == pytest.approx(expected["x_first"]) and be[-1] == pytest.approx(expected["x_last"])
        # The export is already in counts/s (Count Rate: Counts per Second), as pynxtools reports.
        assert block.array("intensity").unit == "count/s"
        assert y[0] == pytest.approx(expected["y_first"], rel=1e-6)
        assert y[-1] == pytest.approx(expected["y_last"], rel=1e-6)
        assert y.max() == pytest.approx(expected["y_max"], rel=1e-6)
        q = {x.quantity: x.value for x in block.quantities}
        assert q["ExcitationEnergy"] == pytest.approx(expected["excitation_energy"])
        assert q["PassEnergy"] == pytest.approx(expected["pass_energy"])
        assert q["DwellTime"] == pytest.approx(expected["dwell_time"])
        assert block.metadata["lens_mode"] == expected["lens_mode"]
        assert block.metadata["start_time"] == datetime.fromisoformat(expected["time_stamp"])
        assert block.metadata["raw"]["Source"] == expected["source_label"]


@requires_shared_samples
@pytest.mark.parametrize("entry", SPECS)
def test_specs_xy_matches_xylib_block_count(entry: dict) -> None:
    (xylib,) = [c for c in entry["cross_checks"] if c["reader"].startswith("xylib")]
    parsed = _read(sample_path(entry))
    assert [b.metadata["raw"]["Region"] for b in parsed.blocks] == [b["Region"] for b in xylib["blocks"]]
    assert [b.array("intensity").values.min() for b in parsed.blocks] == pytest.approx(
        [b["y_min"] for b in xylib["blocks"]], rel=1e-6)


@requires_shared_samples
def test_specs_xy_metadata() -> None:
    parsed = _read(SAMPLE)
    survey, fe2p = parsed.blocks
    assert parsed.metadata["technique"] == "XPS"
    assert parsed.metadata["sample_name"] == "1 as-loaded"
    assert parsed.metadata["start_time"].tzinfo is not None
    assert survey.metadata["scan_type"] == "survey" and fe2p.metadata["scan_type"] == "high-resolution"
    assert fe2p.metadata["region"] == "Fe 2p"
    assert survey.metadata["source_label"] == "Al Kα" and survey.metadata["analyser"] == "Phoibos"
    assert survey.array("kinetic_energy").values[0] == pytest.approx(1486.61 - 1350)


@requires_shared_samples
def test_specs_xy_agrees_with_vamas_export_of_same_survey() -> None:
    """The Survey is also in pynxtools_regular.vms (counts): Prodigy's counts/s = counts / dwell time."""
    vms = detect_reader("xps", SAMPLES / "xps/pynxtools_regular.vms").read(SAMPLES / "xps/pynxtools_regular.vms")
    xy = _read(SAMPLE).blocks[0]
    vblock = vms.blocks[0]
    assert xy.array("binding_energy").values == pytest.approx(vblock.array("binding_energy").values, abs=1e-6)
    assert xy.array("intensity").values == pytest.approx(vblock.array("count_rate").values, rel=1e-4)


# --- bad input ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.xy"
    path.write_text(text)
    return path


def _raises(path: Path, *fragments: str) -> FormatError:
    return assert_format_error("xps", "xps.specs.xy", path, *fragments)


def _lines() -> list[str]:
    return SAMPLE.read_text().splitlines()


@requires_shared_samples
def test_specs_xy_truncated(tmp_path: Path) -> None:
    err = _raises(_write(tmp_path, "\n".join(_lines()[:-10])), "'Values/Curve' is 56", "Fe2p")
    assert err.field == "Values/Curve"


@requires_shared_samples
def test_specs_xy_wrong_first_line(tmp_path: Path) -> None:
    err = _raises(_write(tmp_path, "# Created by: something else\n" + "\n".join(_lines()[1:])), "SpecsLab Prodigy")
    assert err.line == 1


@requires_shared_samples
def test_specs_xy_non_numeric_value(tmp_path: Path) -> None:
    lines = _lines()
    index = lines.index("1349  15867.872")
    lines[index] = "1349  15867.87x"
    err = _raises(_write(tmp_path, "\n".join(lines)), "non-numeric value '15867.87x'", "Survey")
    assert err.line == index + 1


@requires_shared_samples
def test_specs_xy_empty_region(tmp_path: Path) -> None:
    lines = _lines()
    start = lines.index("# ColumnLabels:                 energy counts/s", 50)  # Fe2p's data header
    err = _raises(_write(tmp_path, "\n".join(lines[: start + 2])), "empty region", "Fe2p")
    assert err.line is not None


@requires_shared_samples
def test_specs_xy_inconsistent_point_counts(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("# Values/Curve:                 1351", "# Values/Curve:                 1350")
    _raises(_write(tmp_path, text), "'Values/Curve' is 1350", "inconsistent point count")
    lines = _lines()
    index = lines.index("1349  15867.872")
    lines[index] = "1349"
    err = _raises(_write(tmp_path, "\n".join(lines)), "row has 1 column(s), expected 2")
    assert err.line == index + 1


@requires_shared_samples
def test_specs_xy_unknown_count_rate_setting(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("Counts per Second", "Counts per Minute")
    _raises(_write(tmp_path, text), "'Count Rate' is 'Counts per Minute'")
