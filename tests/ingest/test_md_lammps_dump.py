"""LAMMPS dump and data readers: format specifics and bad-input errors."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.md import lammps_data, lammps_dump
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

DATA = """LAMMPS data file via write_data, version 2 Aug 2023, timestep = 0

3 atoms
2 atom types

0 10 xlo xhi
0 10 ylo yhi
0 12 zlo zhi

Masses

1 6.94 # Li
2 30.97 # P

Atoms # charge

1 1 1.0 1.0 1.0 1.0
2 1 1.0 2.0 2.0 2.0
3 2 -1.0 9.5 9.5 11.5
"""


def _frame(step: int, rows: list[str], box: str = "0 10\n0 10\n0 12\n", header: str = "id type x y z ix iy iz",
           n: int | None = None) -> str:
    count = len(rows) if n is None else n
    return (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{count}\nITEM: BOX BOUNDS pp pp pp\n{box}"
            f"ITEM: ATOMS {header}\n" + "".join(r + "\n" for r in rows))


ROWS0 = ["3 2 9.5 9.5 11.5 0 0 0", "1 1 1 1 1 0 0 0", "2 1 2 2 2 0 0 0"]
ROWS1 = ["1 1 9.8 1 1 -1 0 0", "2 1 2.5 2 2 0 0 0", "3 2 0.5 9.5 11.5 1 0 0"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_dump_with_topology_sorts_by_id_and_applies_image_flags(tmp_path: Path) -> None:
    data = _write(tmp_path, "system.data", DATA)
    dump = _write(tmp_path, "traj.lammpstrj", _frame(0, ROWS0) + _frame(100, ROWS1))
    parsed = detect_reader("md", dump).read(dump, topology=data, store_positions=True, units="real",
                                            timestep=2.0)
    assert parsed.metadata["species_counts"] == {"Li": 2, "P": 1}  # from the Masses comments
    assert parsed.metadata["positions_unwrapped"] is True
    positions = parsed.blocks[-1].array("positions").values
    np.testing.assert_allclose(positions[0, 0], [1, 1, 1])  # id 1 first although written second
    np.testing.assert_allclose(positions[1, 0], [-0.2, 1, 1])  # 9.8 with image -1 → unwrapped
    np.testing.assert_allclose(positions[1, 2], [10.5, 9.5, 11.5])
    q = {(s.quantity, s.label): s for s in parsed.quantities}
    assert (q[("Timestep", "integration")].value, q[("Timestep", "integration")].unit) == (2.0, "fs")
    assert q[("SimulatedTime", None)].value == pytest.approx(0.2)  # 100 steps × 2 fs
    np.testing.assert_array_equal(parsed.blocks[0].array("step").values, [0, 100])


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress], ids=["gz", "bz2"])
def test_compressed_dump_is_read(tmp_path: Path, compress: object) -> None:
    suffix = ".gz" if compress is gzip.compress else ".bz2"
    path = tmp_path / f"traj.lammpstrj{suffix}"
    path.write_bytes(compress((_frame(0, ROWS0) + _frame(1, ROWS1)).encode()))  # type: ignore[operator]
    reader = detect_reader("md", path)
    assert reader.info.id == "md.lammps.dump"
    assert reader.read(path).metadata["n_frames"] == 2


def test_triclinic_scaled_dump_converts_to_cartesian(tmp_path: Path) -> None:
    # Box a=10, b=(2, 10), c=(1, 1, 10): bounding box per the LAMMPS manual.
    box = "0 13 2\n0 11 1\n0 10 1\n"
    text = _frame(0, ["1 1 0.5 0.5 0.5"], box=box, header="id type xs ys zs")
    path = _write(tmp_path, "tri.dump", text.replace("BOX BOUNDS pp pp pp", "BOX BOUNDS xy xz yz pp pp pp"))
    parsed = lammps_dump.read(path, store_positions=True)
    pos = parsed.blocks[-1].array("positions").values[0, 0]
    # xlo_bound = 0 - min(0,2,1,3) = 0, xhi = 13 - 3 = 10; r = 0.5 a + 0.5 b + 0.5 c
    np.testing.assert_allclose(pos, [0.5 * (10 + 2 + 1), 0.5 * (10 + 1), 5.0])


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("md", formats=("lammps-dump",)))
def test_sample_dumps_report_steps_and_columns(entry: dict) -> None:
    parsed = lammps_dump.read(sample_path(entry))
    steps = parsed.blocks[0].array("step").values
    assert steps.shape == (entry["oracle"]["n_frames"],)
    assert parsed.metadata["software"] == "LAMMPS"
    assert {"id", "type"} <= set(parsed.metadata["atom_columns"])
    assert any("units style" in w for w in parsed.warnings)  # lengths assumed Å: said, not hidden


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ("", "file is empty", None),
        (_frame(0, ROWS0) + _frame(1, ROWS1[:2], n=3), "truncated frame 1 (step 1): 3 atom rows announced, 2", 23),
        (_frame(0, ROWS0) + "ITEM: TIMESTEP\n", "ITEM: TIMESTEP has no value", 13),
        (_frame(0, ["1 1 1 1", *ROWS0[1:]]), "atom row has 4 field(s)", 10),
        (_frame(0, ["1 1 1 abc 1 0 0 0", *ROWS0[1:]]), "non-numeric value 'abc' in column 'y'", 10),
        (_frame(0, ROWS0) + _frame(1, ROWS1[:2]), "frame 1 (step 1) has 2 atoms", 16),
        ("hello\n", "expected an 'ITEM:' line", 1),
    ],
    ids=["empty", "truncated-frame", "truncated-item", "short-row", "non-numeric", "atom-count-changes",
         "not-a-dump"],
)
def test_dump_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, "bad.lammpstrj", content)
    with pytest.raises(FormatError) as info:
        lammps_dump.read(path, store_positions=True)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_truncated_compressed_dump_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "traj.lammpstrj.bz2"
    path.write_bytes(bz2.compress((_frame(0, ROWS0) * 20).encode())[:60])
    with pytest.raises(FormatError, match="compressed file is truncated or corrupt") as info:
        detect_reader("md", path).read(path)
    assert str(path) in str(info.value)


def test_dump_rejects_topology_with_wrong_atom_count(tmp_path: Path) -> None:
    data = _write(tmp_path, "system.data", DATA)
    dump = _write(tmp_path, "traj.lammpstrj", _frame(0, ROWS0 + ["4 1 5 5 5 0 0 0"]))
    with pytest.raises(FormatError) as info:
        lammps_dump.read(dump, topology=data)
    assert "has 3 atoms, the trajectory has 4" in str(info.value)
    assert str(dump) in str(info.value) and info.value.field == "topology"


def test_data_file_box_species_and_version(tmp_path: Path) -> None:
    parsed = lammps_data.read(_write(tmp_path, "system.data", DATA), units="real")
    assert parsed.metadata["atom_style"] == "charge"
    assert parsed.metadata["software_version"] == "2 Aug 2023"
    assert parsed.metadata["type_masses"] == {"1": 6.94, "2": 30.97}
    box = {q.quantity: q.value for q in parsed.quantities}
    assert (box["BoxLengthA"], box["BoxLengthC"], box["BoxAngleGamma"]) == (10, 12, 90)
    assert parsed.warnings == []


def test_data_file_without_style_needs_the_atom_style_option(tmp_path: Path) -> None:
    path = _write(tmp_path, "nostyle.data", DATA.replace("Atoms # charge", "Atoms"))
    with pytest.raises(FormatError) as info:
        lammps_data.read(path)
    assert info.value.field == "atom_style" and info.value.line == 15
    assert lammps_data.read(path, atom_style="charge").metadata["n_atoms"] == 3
    assert lammps_data.read(path, atom_style="id type q x y z").metadata["n_atoms"] == 3


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        (DATA.replace("Atoms # charge", "Atoms # full"), "atom_style 'full' expects 7", 17),
        (DATA.rsplit("\n", 2)[0] + "\n", "section Atoms has 2 row(s), the header announces 3", None),
        (DATA.replace("2 1 1.0 2.0", "2 1 1.0 x2.0"), "non-numeric value", 18),
        (DATA.replace("0 12 zlo zhi", ""), "box bounds", None),
        ("", "file is empty", None),
    ],
    ids=["wrong-style", "truncated", "non-numeric", "no-box", "empty"],
)
def test_data_file_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, "bad.data", content)
    with pytest.raises(FormatError) as info:
        lammps_data.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line
