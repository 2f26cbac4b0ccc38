"""Raman readers: MANIFEST oracle conformance and bad-input errors (WDF, LabSpec, text)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path

EXPECTED_READER = {"renishaw-wdf": "raman.renishaw.wdf", "horiba-labspec": "raman.horiba.labspec",
                   "txt": "raman.text"}


def _oracle(entry: dict) -> dict:
    """n_points, x/y first/last and n_spectra from either oracle style (numpy rows or reader values)."""
    oracle = entry["oracle"]
    if "rows" in oracle:
        return {"n_points": oracle["rows"], "x_first": oracle["first"][0], "x_last": oracle["last"][0],
                "y_first": oracle["first"][1], "y_last": oracle["last"][1], "n_spectra": 1}
    return {"n_points": oracle["n_points"], "x_first": oracle["x_first"], "x_last": oracle["x_last"],
            "y_first": oracle["y_first"], "y_last": oracle["y_last"], "n_spectra": oracle.get("n_spectra", 1)}


def _close(value: float) -> object:
    """Oracle values are rounded (6 decimals or 7 significant digits; spectrochempy x to 3 decimals)."""
    return pytest.approx(value, rel=1e-5, abs=1e-3)


def _quantity(parsed, key: str):
    found = [q for q in parsed.quantities if q.quantity == key]
    return found[0] if found else None


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("raman"))
def test_raman_reader_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("raman", path)
    expected_id = next(v for k, v in EXPECTED_READER.items() if entry["format"].startswith(k))
    assert reader.info.id == expected_id
    parsed = reader.read(path)
    oracle = _oracle(entry)
    block = parsed.blocks[0]
    shift, intensity = block.array("raman_shift"), block.array("intensity")
    assert (shift.quantity, shift.unit) == ("RamanShift", "1/cm")
    assert intensity.quantity == "SpectralIntensity" and intensity.unit == "count"
    assert shift.values.dtype == np.float64 and intensity.values.dtype == np.float64
    assert shift.values.size == oracle["n_points"]
    assert shift.values[0] == _close(oracle["x_first"])
    assert shift.values[-1] == _close(oracle["x_last"])
    n_spectra = oracle["n_spectra"]
    if n_spectra > 1:
        assert intensity.values.shape == (n_spectra, oracle["n_points"])
        assert parsed.metadata["n_spectra"] == n_spectra
        assert block.array("map_x").values.shape == (n_spectra,)
        assert block.array("map_y").unit == "micrometer"
    else:
        assert intensity.values.shape == (oracle["n_points"],)
    assert intensity.values.flat[0] == _close(oracle["y_first"])
    assert intensity.values.flat[-1] == _close(oracle["y_last"])
    if "laser_wavelength_nm" in entry["oracle"]:
        laser = _quantity(parsed, "LaserWavelength")
        assert laser.unit == "nm"
        assert laser.value == pytest.approx(entry["oracle"]["laser_wavelength_nm"], rel=1e-6)
    for check in entry.get("cross_checks", []):
        if "time_start" in check:  # renishaw-wdf cross-check carries the acquisition start
            assert parsed.metadata["start_time"].isoformat(sep=" ") == check["time_start"]


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("raman", formats=("horiba-labspec",)))
def test_labspec_header_becomes_quantities(entry: dict) -> None:
    path = sample_path(entry)
    parsed = detect_reader("raman", path).read(path)
    header = path.read_bytes().decode("latin-1")
    # Expected values come from the sample's own header lines, not from constants in the test.
    exposure = float(re.search(r"^#Acq\. time \(s\)=\t(\S+)", header, re.M).group(1))
    accumulations = float(re.search(r"^#Accumulations=\t(\S+)", header, re.M).group(1))
    laser = float(re.search(r"^#Laser=\t(\d+)nm", header, re.M).group(1))
    assert _quantity(parsed, "ExposureTime").value == exposure and _quantity(parsed, "ExposureTime").unit == "s"
    assert _quantity(parsed, "Accumulations").value == accumulations
    assert _quantity(parsed, "LaserWavelength").value == laser
    assert parsed.metadata["instrument"] == re.search(r"^#Instrument=\t(.+?)\r?$", header, re.M).group(1)
    assert parsed.metadata["objective"] == re.search(r"^#Objective=\t(.+?)\r?$", header, re.M).group(1)
    assert parsed.metadata["start_time"].tzinfo is None
    assert any("naive" in w for w in parsed.warnings)
    # Latin-1 keys survive verbatim.
    assert any("°C" in key for key in parsed.raw_metadata["header"])


@requires_shared_samples
def test_wdf_metadata_from_property_sets() -> None:
    path = SAMPLES / "raman/wire_sp.wdf"
    parsed = detect_reader("raman", path).read(path)
    props = parsed.raw_metadata["properties"]
    assert parsed.metadata["objective"] == props["WXIS/Microscope/Objective name"]
    assert _quantity(parsed, "ExposureTime").value == pytest.approx(props["WXDM/NamedItems/Scan/Exposure Time"] / 1000)
    assert _quantity(parsed, "Accumulations").value == parsed.raw_metadata["header"]["naccum"]
    assert parsed.metadata["n_spectra"] == 1


# --- bad input -------------------------------------------------------------------------------------------


def _copy(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _read(path: Path, format_id: str | None = None):
    return detect_reader("raman", path, format_id).read(path)


@requires_shared_samples
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b[: len(b) // 2], "file truncated"),
        (lambda b: b[:300], "file truncated"),
        (lambda b: b"XDF1" + b[4:], "not a WDF file"),
        (lambda b: b[:88] + struct.pack("<I", 999) + b[92:], "inconsistent point counts: xlistcount=999"),
        (lambda b: b[:72] + struct.pack("<Q", 0) + b[80:], "empty spectrum"),
        (lambda b: b[:60] + struct.pack("<I", 2000) + b[64:], "inconsistent point counts"),
    ],
    ids=["truncated-half", "truncated-header", "wrong-magic", "xlist-count", "no-spectra", "npoints-too-large"],
)
def test_wdf_rejects_bad_input(tmp_path: Path, mutate, expected: str) -> None:
    path = _copy(tmp_path, "bad.wdf", mutate((SAMPLES / "raman/wire_line.wdf").read_bytes()))
    with pytest.raises(FormatError) as info:
        _read(path, "raman.renishaw.wdf")
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == "raman.renishaw.wdf"


GOOD = "".join(f"{100 + 2.5 * i:.2f}\t{50 + i}\n" for i in range(20))
LABSPEC_HEAD = "#Acq. time (s)=\t5\n#Accumulations=\t2\n#Laser=\t633nm_Edge\n#Grating=\t600 (500nm)\n"


@pytest.mark.parametrize(
    ("name", "content", "expected", "line"),
    [
        ("empty.txt", "", "file is empty", None),
        ("header.txt", "#Wave\t#Intensity\n", "no numeric data block", None),
        ("nonnum.txt", "#Wave\t#Intensity\n" + GOOD + "150.0\tabc\n" + GOOD, "non-numeric value 'abc'", 22),
        ("short.txt", GOOD + "150.0\n", "row has 1 column(s), expected 2", 21),
        ("three.txt", "1 2 3\n4 5 6\n", "at most 2 numeric columns", 1),
        ("one.txt", "#h\n100.0\t5\n", "empty spectrum: 1 point(s)", 2),
        ("labspec_nonnum.txt", LABSPEC_HEAD + GOOD[:40] + "x\t1\n", "non-numeric value 'x'", 9),
        ("labspec_badfield.txt", LABSPEC_HEAD.replace("\t5", "\tfive") + GOOD, "is not a number", None),
    ],
    ids=["empty", "header-only", "non-numeric-row", "truncated-row", "too-many-columns", "one-point",
         "labspec-non-numeric", "labspec-bad-field"],
)
def test_text_readers_reject_bad_input(tmp_path: Path, name: str, content: str, expected: str,
                                       line: int | None) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="latin-1")
    with pytest.raises(FormatError) as info:
        _read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_labspec_detected_by_header_and_field_named(tmp_path: Path) -> None:
    path = tmp_path / "ls.txt"
    path.write_text(LABSPEC_HEAD.replace("\t5", "\tfive") + GOOD, encoding="latin-1")
    assert detect_reader("raman", path).info.id == "raman.horiba.labspec"
    with pytest.raises(FormatError) as info:
        _read(path)
    assert info.value.field == "Acq. time (s)"


def test_generic_text_reads_wire_export_header(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("#Wave\t\t#Intensity\n" + GOOD)
    parsed = _read(path)
    assert parsed.format_id == "raman.text"
    np.testing.assert_allclose(parsed.blocks[0].array("raman_shift").values, [100 + 2.5 * i for i in range(20)])
