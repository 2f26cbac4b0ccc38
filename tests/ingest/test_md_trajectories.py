"""All MD trajectory/structure readers against the MANIFEST oracle (format-specific tests live beside).

Every md entry except LAMMPS logs is read through ``detect_reader`` and
compared with the oracle: atom and frame counts, species, box of frame 0,
first atom's coordinates (with ``store_positions``) and, where the format
stores time, the frame spacing/simulated time.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from battkg.readers import ParsedFile, detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

TRAJECTORY_FORMATS = ("xyz", "gromacs", "lammps-data", "lammps-dump", "h5md", "pdb")
READER_OF_FORMAT = {"extended-xyz": "md.xyz", "xyz": "md.xyz", "gromacs": "md.gromacs",
                    "lammps-data": "md.lammps.data", "lammps-dump": "md.lammps.dump", "h5md": "md.h5md",
                    "pdb": "md.pdb"}
BOX_KEYS = ("BoxLengthA", "BoxLengthB", "BoxLengthC", "BoxAngleAlpha", "BoxAngleBeta", "BoxAngleGamma")


def _expected_reader(fmt: str) -> str:
    return next(rid for prefix, rid in READER_OF_FORMAT.items() if fmt.startswith(prefix))


def _read(entry: dict, **extra: object) -> ParsedFile:
    """Read a sample with the topology and atom_style its MANIFEST entry names."""
    path = sample_path(entry)
    options: dict[str, object] = dict(extra)
    topology = re.search(r"\(topology: ([^)]+)\)", entry["format"])
    if topology:
        options["topology"] = path.parent / topology.group(1)
    style = re.search(r"atom_style='([^']+)'", entry["oracle"]["reader"])
    if style:
        options["atom_style"] = style.group(1)
    reader = detect_reader("md", path)
    assert reader.info.id == _expected_reader(entry["format"])
    return reader.read(path, **options)


def _box(parsed: ParsedFile) -> list[float] | None:
    found = {q.quantity: q.value for q in parsed.quantities if q.quantity in BOX_KEYS}
    return [found[k] for k in BOX_KEYS] if found else None


def _formula_counts(formula: str) -> dict[str, int]:
    return {el: int(n or 1) for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula)}


ENTRIES = manifest_entries("md", formats=TRAJECTORY_FORMATS)


@requires_shared_samples
@pytest.mark.parametrize("entry", ENTRIES)
def test_atom_and_frame_counts_match_oracle(entry: dict) -> None:
    parsed = _read(entry)
    assert parsed.metadata["n_atoms"] == entry["oracle"]["n_atoms"]
    assert parsed.metadata["n_frames"] == entry["oracle"]["n_frames"]
    for check in entry.get("cross_checks", []):
        if "n_atoms" in check:  # independent readers agree too
            assert parsed.metadata["n_atoms"] == check["n_atoms"]
            assert parsed.metadata["n_frames"] == check["n_frames"]


@requires_shared_samples
@pytest.mark.parametrize("entry", ENTRIES)
def test_species_match_oracle(entry: dict) -> None:
    parsed = _read(entry)
    counts = parsed.metadata.get("species_counts")
    oracles = [entry["oracle"], *entry.get("cross_checks", [])]
    formula = next((o["formula_frame0"] for o in oracles if "formula_frame0" in o), None)
    if formula is not None:
        assert counts == _formula_counts(formula)
    first5 = entry["oracle"].get("elements_or_types_first5")
    if first5 is not None:
        assert counts is not None and set(first5) <= set(counts)
    if counts is not None:
        assert sum(counts.values()) == parsed.metadata["n_atoms"]


@requires_shared_samples
@pytest.mark.parametrize("entry", ENTRIES)
def test_box_matches_oracle(entry: dict) -> None:
    parsed = _read(entry)
    oracles = [entry["oracle"], *entry.get("cross_checks", [])]
    box = next((o["box_frame0"] for o in oracles if "box_frame0" in o), None)
    cell = next((o["cell_frame0"] for o in oracles if "cell_frame0" in o), None)
    if box is None and cell is not None and any(cell):
        from battkg.ingest.md._common import cell_to_dimensions

        box = cell_to_dimensions(np.array(cell)).tolist()
    if box is None:
        assert _box(parsed) is None, "a box was reported where the oracle has none"
    else:
        assert _box(parsed) == pytest.approx(box, rel=1e-4)


def _reference_first_atom(entry: dict) -> list[float]:
    """The oracle's first atom, except for triclinic scaled dumps.

    MDAnalysis 2.11 shifts the coordinates of triclinic scaled dumps in a way
    that matches neither LAMMPS nor its own reading of the same snapshot's data
    file; the data file (the dump's topology, written at the same step) is the
    reference there.
    """
    if "triclinic" in entry["format"] and "scaled" in entry["format"]:
        topology = re.search(r"\(topology: ([^)]+)\)", entry["format"]).group(1)  # type: ignore[union-attr]
        twin = next(p.values[0] for p in manifest_entries("md") if p.values[0]["path"].endswith(topology))
        return twin["oracle"]["first_atom_xyz_frame0"]
    return entry["oracle"]["first_atom_xyz_frame0"]


@requires_shared_samples
@pytest.mark.parametrize("entry", ENTRIES)
def test_first_atom_position_matches_oracle(entry: dict) -> None:
    parsed = _read(entry, store_positions=True)
    positions = next(b for b in parsed.blocks if b.name == "positions").array("positions")
    assert positions.unit == "angstrom"
    assert positions.values.shape == (entry["oracle"]["n_frames"], entry["oracle"]["n_atoms"], 3)
    first = positions.values[0, 0]
    if parsed.format_id == "md.lammps.dump":
        # MDAnalysis moves the box origin to 0; battkg keeps LAMMPS coordinates and reports the origin.
        first = first - np.array(parsed.metadata["box_origin"])
        if "triclinic" in entry["format"]:
            first = positions.values[0, 0]
    assert first == pytest.approx(_reference_first_atom(entry), abs=2e-3)


@requires_shared_samples
@pytest.mark.parametrize("entry", ENTRIES)
def test_positions_are_not_copied_by_default(entry: dict) -> None:
    parsed = _read(entry)
    assert all(b.name != "positions" for b in parsed.blocks)


@requires_shared_samples
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.values[0]["format"].startswith(("gromacs-xtc", "h5md"))])
def test_stored_times_match_oracle(entry: dict) -> None:
    """Formats that store time: frame spacing and total simulated time."""
    parsed = _read(entry)
    oracle = entry["oracle"]
    quantities = {(q.quantity, q.label): q for q in parsed.quantities}
    simulated = quantities[("SimulatedTime", None)]
    assert simulated.unit == "ps"
    if "time_last_ps" in oracle:
        assert simulated.value == pytest.approx(oracle["time_last_ps"] - oracle["time_first_ps"], rel=1e-6)
    if "dt_ps" in oracle:
        spacing = quantities[("Timestep", "between frames")]
        factor = {"ps": 1.0, "fs": 1e-3}[spacing.unit]
        assert spacing.value * factor == pytest.approx(oracle["dt_ps"], rel=1e-5)
        assert simulated.value == pytest.approx(oracle["dt_ps"] * (oracle["n_frames"] - 1), rel=1e-5)


def test_md_readers_are_found_by_package_scan() -> None:
    from battkg.readers import readers_for

    ids = {r.info.id for r in readers_for("md")}
    assert ids == {"md.xyz", "md.lammps.dump", "md.lammps.data", "md.lammps.log", "md.gromacs", "md.h5md", "md.pdb",
                   "md.charmm.dcd"}


@pytest.mark.parametrize("module", ["xyz", "lammps_dump", "lammps_data", "lammps_log", "gromacs", "h5md", "pdb"])
def test_reader_import_stays_light(module: str) -> None:
    """Importing a reader module must not import MDAnalysis or ASE (detection imports every reader)."""
    import subprocess
    import sys

    code = (f"import sys, battkg.ingest.md.{module}; "
            "sys.exit(int(any(m in sys.modules for m in ('MDAnalysis', 'ase'))))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]).returncode == 0
