"""H5MD reader: observables against the oracle, a file written in the test, bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.md import h5md
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("md", formats=("h5md",)))
def test_energy_observable_matches_oracle(entry: dict) -> None:
    parsed = h5md.read(sample_path(entry))
    oracle = entry["oracle"]
    (block,) = [b for b in parsed.blocks if b.name.startswith("observables/")]
    energy = block.arrays[-1]
    assert energy.quantity == "PotentialEnergy"
    first, last = oracle["observable_atoms/energy_first_last"]
    assert (energy.values[0], energy.values[-1]) == pytest.approx((first, last), rel=1e-6)
    assert block.array("time").values.shape == (oracle["n_frames"],)
    assert parsed.metadata["software"] in entry["note"]  # "H5MD written by ZnH5MD ..."


def _write_h5md(path: Path, *, n_frames: int = 4, n_atoms: int = 5, box_matrix: bool = False,
                length_unit: str = "nm") -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
        creator = f["h5md"].create_group("creator")
        creator.attrs["name"], creator.attrs["version"] = "battkg-test", "0.1"
        group = f.create_group("particles/ions")
        pos = group.create_group("position")
        pos.create_dataset("value", data=np.arange(n_frames * n_atoms * 3, dtype=float).reshape(n_frames, n_atoms, 3))
        pos["value"].attrs["unit"] = length_unit
        pos.create_dataset("step", data=np.arange(n_frames) * 10)
        pos.create_dataset("time", data=np.arange(n_frames) * 20.0)
        pos["time"].attrs["unit"] = "fs"
        box = group.create_group("box")
        box.attrs["dimension"], box.attrs["boundary"] = 3, ["periodic"] * 3
        box.create_dataset("edges", data=np.eye(3) * 3.0 if box_matrix else np.array([3.0, 4.0, 5.0]))
        box["edges"].attrs["unit"] = length_unit
        species = group.create_group("species")
        species.create_dataset("value", data=np.array([3, 3, 3, 15, 9][:n_atoms]))
        obs = f.create_group("observables/temperature")
        obs.create_dataset("value", data=np.linspace(300, 310, n_frames))
        obs["value"].attrs["unit"] = "K"
        obs.create_dataset("step", data=np.arange(n_frames) * 10)
        obs.create_dataset("time", data=np.arange(n_frames) * 20.0)


def test_fixed_box_nm_units_and_observables(tmp_path: Path) -> None:
    path = tmp_path / "t.h5md"
    _write_h5md(path)
    reader = detect_reader("md", path)
    assert reader.info.id == "md.h5md"
    parsed = reader.read(path, store_positions=True)
    assert parsed.metadata["species_counts"] == {"Li": 3, "P": 1, "F": 1}
    assert (parsed.metadata["software"], parsed.metadata["software_version"]) == ("battkg-test", "0.1")
    q = {(s.quantity, s.label): s.value for s in parsed.quantities}
    assert [q[("BoxLengthA", None)], q[("BoxLengthB", None)], q[("BoxLengthC", None)]] == pytest.approx([30, 40, 50])
    assert q[("Timestep", "integration")] == pytest.approx(2.0)  # fs
    assert q[("SimulatedTime", None)] == pytest.approx(0.06)  # 60 fs
    positions = parsed.blocks[1].array("positions").values
    assert positions[0, 0] == pytest.approx([0, 10, 20])  # nm → Å
    (temperature,) = [b for b in parsed.blocks if b.name == "observables/temperature"]
    assert temperature.arrays[-1].quantity == "ThermodynamicTemperature"
    assert temperature.arrays[-1].unit == "K"


def test_box_matrix_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "m.h5md"
    _write_h5md(path, box_matrix=True, length_unit="angstrom")
    q = {s.quantity: s.value for s in h5md.read(path).quantities}
    assert q["BoxLengthA"] == pytest.approx(3.0) and q["BoxAngleGamma"] == pytest.approx(90.0)


def test_truncated_h5md_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "t.h5md"
    _write_h5md(path, n_frames=50, n_atoms=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(FormatError) as info:
        h5md.read(path, store_positions=True)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("case", ["empty", "not-h5md", "mismatched-time", "no-position"])
def test_h5md_rejects_bad_input(tmp_path: Path, case: str) -> None:
    import h5py

    path = tmp_path / "bad.h5md"
    expected = {"empty": "file is empty", "not-h5md": "not H5MD", "mismatched-time": "position/time has 3 entries",
                "no-position": "has no 'position' element"}[case]
    if case == "empty":
        path.write_bytes(b"")
    elif case == "not-h5md":
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=[1, 2])
    else:
        _write_h5md(path)
        with h5py.File(path, "a") as f:
            if case == "mismatched-time":
                del f["particles/ions/position/time"]
                f["particles/ions/position"].create_dataset("time", data=[0.0, 1.0, 2.0])
            else:
                del f["particles/ions/position"]
    with pytest.raises(FormatError) as info:
        h5md.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
