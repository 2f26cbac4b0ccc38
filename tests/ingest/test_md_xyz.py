"""XYZ / extended XYZ reader: extxyz content against the ASE oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.md import xyz
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("md", formats=("extended-xyz",)))
def test_extended_xyz_energies_match_ase_oracle(entry: dict) -> None:
    parsed = xyz.read(sample_path(entry))
    oracle = entry["oracle"]
    energy = parsed.blocks[0].array("potential_energy")
    assert energy.quantity == "PotentialEnergy"
    assert energy.values.shape == (oracle["n_frames"],)
    assert energy.values[0] == pytest.approx(oracle["energy_first"], rel=1e-9)
    assert energy.values[-1] == pytest.approx(oracle["energy_last"], rel=1e-9)
    assert parsed.metadata["periodic"] == any(oracle["pbc"])
    assert parsed.metadata["has_stress"] == oracle["stress_available"]
    per_atom = set(oracle["per_atom_arrays"]) - {"numbers", "positions"}
    assert per_atom <= set(parsed.metadata["per_atom_properties"])
    assert any("energy unit" in w for w in parsed.warnings)  # units are not in the file: say so


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("md", formats=("extended-xyz",)))
def test_energy_unit_option_replaces_the_assumption(entry: dict) -> None:
    parsed = xyz.read(sample_path(entry), energy_unit="kcal/mol")
    assert parsed.blocks[0].array("potential_energy").unit == "kcal/mol"
    assert not any("energy unit" in w for w in parsed.warnings)


def _write(tmp_path: Path, text: str, name: str = "bad.xyz") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


FRAME = "3\ncomment\nH 0 0 0\nO 0 0 1\nH 0 1 0\n"


def test_plain_xyz_frames_and_labels(tmp_path: Path) -> None:
    path = _write(tmp_path, FRAME * 4 + "\n\n", "ok.xyz")
    parsed = detect_reader("md", path).read(path, store_positions=True)
    assert parsed.metadata["n_frames"] == 4
    assert parsed.metadata["species_counts"] == {"H": 2, "O": 1}
    positions = parsed.blocks[-1].array("positions").values
    np.testing.assert_allclose(positions[0, 1], [0, 0, 1])


def test_extended_xyz_cell_time_and_temperature(tmp_path: Path) -> None:
    frames = "".join(
        f'2\nLattice="5 0 0 0 6 0 0 0 7" Properties=species:S:1:pos:R:3 energy={-1.5 - k} time={10.0 * k} '
        f'step={100 * k} temperature=300 pbc="T T T"\nLi 0 0 0\nF 1 1 1\n' for k in range(3))
    path = _write(tmp_path, frames, "ext.xyz")
    parsed = xyz.read(path, time_unit="fs", energy_unit="eV")
    q = {(s.quantity, s.label): s for s in parsed.quantities}
    assert [q[(k, None)].value for k in ("BoxLengthA", "BoxLengthB", "BoxLengthC")] == pytest.approx([5, 6, 7])
    assert q[("ThermodynamicTemperature", None)].value == 300
    assert q[("Timestep", "between frames")].value == pytest.approx(10.0)
    assert q[("Timestep", "integration")].value == pytest.approx(0.1)
    assert q[("SimulatedTime", None)].value == pytest.approx(0.02)  # 20 fs in ps
    frames_block = parsed.blocks[0]
    np.testing.assert_allclose(frames_block.array("potential_energy").values, [-1.5, -2.5, -3.5])
    assert parsed.warnings == []


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ("", "file is empty", None),
        ("\n\n", "file is empty", None),
        (FRAME + "3\ncomment\nH 0 0 0\nO 0 0 1\n", "truncated frame 1: 3 atom rows announced, 2 present", 9),
        (FRAME + "2\ncomment\nH 0 0 0\nO 0 0 1\n", "frame 1 has 2 atoms, frame 0 has 3", 6),
        ("3\ncomment\nH 0 0 0\nO 0 x 1\nH 0 1 0\n", "non-numeric coordinate", 4),
        ("3\ncomment\nH 0 0 0\nO 0 1\nH 0 1 0\n", "needs a label and 3 coordinates", 4),
        ("title line\n3\nH 0 0 0\n", "expected the atom count of frame 0", 1),
    ],
    ids=["empty", "blank", "truncated-frame", "atom-count-changes", "non-numeric", "short-row", "no-count"],
)
def test_xyz_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FormatError) as info:
        xyz.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == "md.xyz"
    if line is not None:
        assert info.value.line == line


def test_extended_xyz_with_bad_properties_names_the_frame(tmp_path: Path) -> None:
    path = _write(tmp_path, '3\nProperties=species:S:1:pos:R:3 energy=1\nH 0 0 0\nO 0 0 1\nH 0 1 zz\n')
    with pytest.raises(FormatError) as info:
        xyz.read(path)
    assert "extended XYZ frame 0" in str(info.value)
    assert info.value.line == 2
