"""NeXus/HDF5 XRD reader: MANIFEST conformance, NXdata discovery, bad input."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.xrd import nexus_nxs, panalytical_xrdml
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_xrd_oracle import assert_matches_oracle

READER_ID = "xrd.nexus.nxs"


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=("nexus-hdf5",)))
def test_nexus_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    parsed = reader.read(path)
    assert len(parsed.blocks) == 1
    assert_matches_oracle(parsed, entry)
    block = parsed.blocks[0]
    assert block.metadata["nxdata"] == entry["oracle"]["nxdata_path"]
    assert any("has no units; intensity taken as counts" in w for w in parsed.warnings)


@requires_shared_samples
def test_nexus_and_its_source_xrdml_agree() -> None:
    """The MANIFEST pairs this NeXus file with the xrdml it was written from."""
    nxs = nexus_nxs.read(SAMPLES / "xrd/pynxtools_xrdml_918-16_10_ref.nxs")
    xrdml = panalytical_xrdml.read(SAMPLES / "xrd/fairmat_XRD-918-16_10.xrdml")
    for name in ("two_theta", "intensity"):
        np.testing.assert_allclose(nxs.blocks[0].array(name).values, xrdml.blocks[0].array(name).values, rtol=1e-9)
    def source(parsed):
        return {(q.quantity, q.label): q.value for q in parsed.quantities if q.label != "Kβ"}
    assert source(nxs) == pytest.approx(source(xrdml))
    assert nxs.metadata["anode"] == xrdml.metadata["anode"]


def _nexus(path: Path, *, signal: np.ndarray | None = None, axis: np.ndarray | None = None, axis_name: str = "two_theta",
           axis_units: str | None = "deg", signal_units: str | None = "counts", default: bool = True,
           legacy: bool = False, errors: bool = False) -> Path:
    signal = np.array([5.0, 7.0, 6.0, 4.0]) if signal is None else signal
    axis = np.array([10.0, 10.5, 11.0, 11.5]) if axis is None else axis
    with h5py.File(path, "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.create_dataset("start_time", data="2024-02-03T04:05:06+00:00")
        entry.create_dataset("title", data="operando LFP")
        sample = entry.create_group("sample")
        sample.attrs["NX_class"] = "NXsample"
        sample.create_dataset("name", data="LFP-1")
        mono = entry.create_group("instrument/monochromator")
        entry["instrument"].attrs["NX_class"] = "NXinstrument"
        mono.attrs["NX_class"] = "NXmonochromator"
        wl = mono.create_dataset("wavelength", data=0.1)
        wl.attrs["units"] = "nm"
        other = entry.create_group("monitor_data")  # a decoy NXdata found before the real one without @default
        other.attrs["NX_class"] = "NXdata"
        other.attrs["signal"] = "counts"
        other.create_dataset("counts", data=np.ones((2, 2)))
        data = entry.create_group("pattern")
        data.attrs["NX_class"] = "NXdata"
        s = data.create_dataset("data", data=signal)
        a = data.create_dataset(axis_name, data=axis)
        if legacy:
            s.attrs["signal"] = 1
            s.attrs["axes"] = axis_name
        else:
            data.attrs["signal"] = "data"
            data.attrs["axes"] = [axis_name]
        if signal_units is not None:
            s.attrs["units"] = signal_units
        if axis_units is not None:
            a.attrs["units"] = axis_units
        if errors:
            data.create_dataset("errors", data=np.sqrt(signal))
        if default:
            f.attrs["default"] = "entry"
            entry.attrs["default"] = "pattern"
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["nexus-2014", "legacy-signal-attr"])
@pytest.mark.parametrize("default", [True, False], ids=["default-chain", "search"])
def test_nexus_finds_the_pattern(tmp_path: Path, legacy: bool, default: bool) -> None:
    parsed = nexus_nxs.read(_nexus(tmp_path / "p.nxs", legacy=legacy, default=default, errors=True))
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("two_theta").values, [10, 10.5, 11, 11.5])
    np.testing.assert_allclose(block.array("intensity").values, [5, 7, 6, 4])
    np.testing.assert_allclose(block.array("intensity_uncertainty").values, np.sqrt([5, 7, 6, 4]))
    (wavelength,) = [q for q in parsed.quantities if q.quantity == "Wavelength"]
    assert (wavelength.value, wavelength.unit, wavelength.label) == (pytest.approx(1.0), "angstrom", None)
    assert parsed.metadata["sample_name"] == "LFP-1"
    assert parsed.metadata["comment"] == "operando LFP"
    assert parsed.metadata["start_time"].tzinfo is not None


def test_nexus_radians_and_cps(tmp_path: Path) -> None:
    path = _nexus(tmp_path / "p.nxs", axis=np.radians([10.0, 10.5, 11.0, 11.5]), axis_units="rad", signal_units="cps")
    block = nexus_nxs.read(path).blocks[0]
    np.testing.assert_allclose(block.array("two_theta").values, [10, 10.5, 11, 11.5])
    assert block.array("intensity").unit == "count/s"


def test_renamed_nexus_is_detected_by_magic(tmp_path: Path) -> None:
    path = _nexus(tmp_path / "x.dat")
    assert detect_reader("xrd", path).info.id == READER_ID


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"axis_name": "q"}, "axis 'q' is not 2θ"),
        ({"signal": np.ones((3, 4))}, "only 1-D patterns are read"),
        ({"axis": np.array([10.0, 10.5, 11.0])}, "inconsistent point counts: 3 2θ values but 4 intensities"),
        ({"signal": np.array([], dtype=float), "axis": np.array([], dtype=float)}, "empty data block"),
        ({"signal": np.array([1.0, np.nan, 2.0, 3.0])}, "non-finite intensity value at point 2"),
        ({"axis_units": "furlong"}, "neither degrees nor radians"),
        ({"axis_units": None, "axis": np.array([0.1, 0.2, 0.3, 0.4])}, "neither degrees nor radians"),
        ({"signal_units": "V"}, "is not counts or counts/s"),
    ],
    ids=["not-two-theta", "2d-signal", "inconsistent-counts", "empty-block", "nan", "bad-axis-unit",
         "unitless-small-axis", "bad-signal-unit"],
)
def test_nexus_rejects_bad_content(tmp_path: Path, kwargs: dict, expected: str) -> None:
    path = _nexus(tmp_path / "bad.nxs", **kwargs)
    with pytest.raises(FormatError) as info:
        nexus_nxs.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == READER_ID


def test_nexus_string_in_signal_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "text.nxs"
    with h5py.File(path, "w") as f:
        data = f.create_group("entry/data")
        f["entry"].attrs["NX_class"] = "NXentry"
        data.attrs.update({"NX_class": "NXdata", "signal": "y", "axes": "two_theta"})
        data.create_dataset("y", data=np.array([b"a", b"b"]))
        data.create_dataset("two_theta", data=[1.0, 2.0]).attrs["units"] = "deg"
    with pytest.raises(FormatError) as info:
        nexus_nxs.read(path)
    assert "non-numeric" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"\x89HDF\r\n\x1a\n" + b"\x00" * 40, b"plain text, not HDF5\n"],
                         ids=["truncated", "wrong-magic"])
def test_nexus_rejects_non_hdf5(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.nxs"
    path.write_bytes(content)
    with pytest.raises(FormatError) as info:
        detect_reader("xrd", path).read(path)
    assert "not a readable HDF5 file" in str(info.value)
    assert str(path) in str(info.value)


@requires_shared_samples
def test_truncated_sample_nexus(tmp_path: Path) -> None:
    data = (SAMPLES / "xrd/pynxtools_xrdml_918-16_10_ref.nxs").read_bytes()
    path = tmp_path / "cut.nxs"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(FormatError) as info:
        nexus_nxs.read(path)
    assert str(path) in str(info.value)
