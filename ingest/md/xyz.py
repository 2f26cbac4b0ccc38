"""XYZ and extended XYZ trajectories: ``.xyz``, ``.extxyz``.

Usage
    ``battkg ingest md traj.xyz`` (format id ``md.xyz``); options
    ``energy_unit=`` (default ``"eV"``), ``time_unit=`` (unit of an ``time=``
    comment key), ``store_positions=True``.

Schema
    Frames of: atom count line, comment line, one row per atom
    ``label x y z [more columns]`` (coordinates in angstrom).  A comment line
    holding ``key=value`` pairs (``Lattice=``, ``Properties=``, ``energy=``,
    ``pbc=``...) makes the file *extended XYZ*; it is then parsed by ASE's
    extxyz reader, which knows the ``Properties`` column typing.  Plain XYZ is
    parsed here (labels as written, e.g. ``CA`` in MDAnalysis test files, are
    not assumed to be elements).

Metadata
    The shared trajectory summary (:mod:`battkg.ingest.md._common`).  Extended
    XYZ adds per-frame ``potential_energy`` (ASE's calculator ``energy``, i.e.
    the potential energy) in the ``frames`` block, ``periodic`` from ``pbc``,
    the box from ``Lattice``, ``per_atom_properties`` (column names such as
    ``forces``, ``momenta``), ``has_stress``, and a temperature (K) from a
    ``temperature``/``T`` key.  Every comment-line key of the first frame is
    kept in ``raw_metadata['info_frame0']``; plain comment lines are kept in
    ``raw_metadata['comments']`` (first 10).

Known gaps
    Extended XYZ does not record units.  Energies are labelled ``eV`` (ASE's
    convention) unless ``energy_unit=`` says otherwise, and a warning says so:
    the rMD17 ethanol sample, for instance, stores kcal/mol.  Frame times are
    kept only with ``time_unit=``.  Forces and momenta are not copied.

Sample files
    ``shared/samples/md/mdanalysis_test.xyz``, ``mdanalysis_2r9r-1b.xyz``
    (plain), ``metatrain_ethanol_reduced_100.xyz``, ``metatrain_flashmd.xyz``
    (extended, energies, periodic cell, stress).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import FrameSet, read_lines, trajectory_file, wants_positions
from battkg.readers import ArrayData, ParsedFile, ReaderInfo, ScalarQuantity

_COUNT_THEN_COMMENT = re.compile(r"^\s*\d+\s*\r?\n")


def _sniff(head: bytes) -> bool:
    """An XYZ file starts with a bare positive integer line."""
    return bool(_COUNT_THEN_COMMENT.match(head.decode("latin-1", errors="replace")))


READER = ReaderInfo(
    id="md.xyz",
    technique="md",
    suffixes=(".xyz", ".extxyz"),
    description="XYZ / extended XYZ trajectory (ASE key=value comment lines: cell, energies)",
    sniff=_sniff,
    priority=60,  # an integer first line is a weak signal: let specific formats win
)

_EXTENDED_HINT = re.compile(r"\b\w+\s*=")


def _frame_layout(path: Path, lines: list[str]) -> tuple[int, list[int]]:
    """Check the XYZ framing and return (n_atoms, start line index of every frame).

    Done before any parsing so a truncated or inconsistent file is reported
    with the line where the framing breaks, which ASE's reader does not give.
    """
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1  # trailing blank lines are common (and trip ASE); they are not a frame
    starts: list[int] = []
    n_atoms: int | None = None
    i = 0
    while i < end:
        text = lines[i].strip()
        try:
            count = int(text)
        except ValueError:
            raise FormatError(path, f"expected the atom count of frame {len(starts)}, found {text[:40]!r}",
                              line=i + 1, reader=READER.id) from None
        if count <= 0:
            raise FormatError(path, f"atom count must be positive, got {count}", line=i + 1, reader=READER.id)
        if n_atoms is None:
            n_atoms = count
        elif count != n_atoms:
            raise FormatError(path, f"frame {len(starts)} has {count} atoms, frame 0 has {n_atoms}: "
                              "a trajectory needs a constant atom count", line=i + 1, reader=READER.id)
        last_needed = i + 1 + count  # index of the last atom row of this frame
        if last_needed >= end:
            have = max(end - (i + 2), 0)
            raise FormatError(path, f"truncated frame {len(starts)}: {count} atom rows announced, "
                              f"{have} present before the end of the file", line=end, reader=READER.id)
        starts.append(i)
        i = last_needed + 1
    if n_atoms is None:
        raise FormatError(path, "file is empty", reader=READER.id)
    return n_atoms, starts


def _read_plain(path: Path, lines: list[str], n_atoms: int, starts: list[int],
                store_positions: bool) -> FrameSet:
    frames = FrameSet(n_atoms=n_atoms, n_frames=len(starts), species_source="atom label as written")
    for k, start in enumerate(starts):
        rows = lines[start + 2 : start + 2 + n_atoms]
        labels: list[str] = []
        coords = np.empty((n_atoms, 3))
        for j, row in enumerate(rows):
            parts = row.split()
            if len(parts) < 4:
                raise FormatError(path, f"atom row needs a label and 3 coordinates, found {len(parts)} field(s)",
                                  line=start + 3 + j, reader=READER.id)
            try:
                coords[j] = [float(v) for v in parts[1:4]]
            except ValueError:
                raise FormatError(path, f"non-numeric coordinate in {' '.join(parts[1:4])!r}",
                                  line=start + 3 + j, reader=READER.id) from None
            labels.append(parts[0])
        if k == 0:
            frames.species = labels
        if store_positions:
            frames.positions.append(coords)
    return frames


def _read_extended(path: Path, lines: list[str], n_atoms: int, starts: list[int], store_positions: bool,
                   energy_unit: str, time_unit: str | None) -> tuple[FrameSet, dict[str, Any]]:
    from ase.io.extxyz import read_xyz

    text = "\n".join(lines[: starts[-1] + 2 + n_atoms]) + "\n"
    frames = FrameSet(n_atoms=n_atoms, n_frames=len(starts), species_source="element")
    energies: list[float] = []
    steps: list[int] = []
    times: list[float] = []
    extra: dict[str, Any] = {}
    k = 0
    try:
        for k, atoms in enumerate(read_xyz(io.StringIO(text), index=slice(None))):
            if k == 0:
                frames.species = list(atoms.get_chemical_symbols())
                extra["info_frame0"] = {key: _plain(v) for key, v in atoms.info.items()}
                per_atom = set(atoms.arrays) - {"numbers", "positions"}
                results = atoms.calc.results if atoms.calc is not None else {}
                per_atom |= {key for key, v in results.items() if np.ndim(v) == 2 or key in ("energies", "forces")}
                extra["per_atom_properties"] = sorted(per_atom)
                extra["has_stress"] = "stress" in results or "stress" in atoms.info
                frames.periodic = bool(np.any(atoms.pbc))
                extra["temperature"] = next((atoms.info[t] for t in ("temperature", "T", "temp")
                                             if t in atoms.info), None)
            results = atoms.calc.results if atoms.calc is not None else {}
            energy = results.get("energy", atoms.info.get("energy"))
            if energy is not None:
                energies.append(float(energy))
            if "step" in atoms.info:
                steps.append(int(atoms.info["step"]))
            if "time" in atoms.info:
                times.append(float(atoms.info["time"]))
            has_cell = bool(np.any(atoms.pbc)) or bool(np.any(atoms.cell.array))
            frames.boxes.append(np.asarray(atoms.cell.cellpar()) if has_cell else None)
            if store_positions:
                frames.positions.append(np.asarray(atoms.positions, dtype=np.float64))
    except Exception as exc:  # ASE raises bare ValueError/KeyError/IndexError for malformed frames
        raise FormatError(path, f"extended XYZ frame {k} could not be parsed: {type(exc).__name__}: {exc}",
                          line=starts[min(k, len(starts) - 1)] + 2, reader=READER.id) from exc
    if energies and len(energies) == len(starts):
        extra["energies"] = np.asarray(energies)
    if steps and len(steps) == len(starts):
        frames.steps = np.asarray(steps)
    if times and len(times) == len(starts) and time_unit:
        frames.times, frames.time_unit = np.asarray(times), time_unit
    elif times:
        extra["warn_time"] = True
    extra["energy_unit"] = energy_unit
    return frames, extra


def _plain(value: Any) -> Any:
    """JSON-friendly copy of an ASE info value."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read an XYZ or extended-XYZ trajectory (see the module docstring)."""
    path = Path(path)
    lines = read_lines(path, READER.id)
    n_atoms, starts = _frame_layout(path, lines)
    comments = [lines[s + 1] for s in starts]
    extended = any(_EXTENDED_HINT.search(c) for c in comments[:1])
    warnings: list[str] = []
    metadata: dict[str, Any] = {"xyz_flavour": "extended" if extended else "plain"}
    raw: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    frame_arrays: list[ArrayData] = []
    if topology is not None:
        warnings.append("XYZ files carry their own atom labels; the topology option was ignored")
    if not extended:
        frames = _read_plain(path, lines, n_atoms, starts, wants_positions(store_positions, options))
        raw["comments"] = [c.strip() for c in comments[:10]]
    else:
        energy_unit = str(options.get("energy_unit", "eV"))
        time_unit = options.get("time_unit")
        frames, extra = _read_extended(path, lines, n_atoms, starts, wants_positions(store_positions, options),
                                       energy_unit,
                                       str(time_unit) if time_unit else None)
        raw["info_frame0"] = extra["info_frame0"]
        metadata["per_atom_properties"] = extra["per_atom_properties"]
        metadata["has_stress"] = extra["has_stress"]
        if "energies" in extra:
            frame_arrays.append(ArrayData("potential_energy", extra["energies"], "PotentialEnergy", energy_unit,
                                          "calculator energy of each frame (extxyz 'energy' key)"))
            if "energy_unit" not in options:
                warnings.append("extended XYZ records no energy unit; energies labelled eV (ASE convention): "
                                "pass energy_unit= if the file uses another unit")
        if extra.get("warn_time"):
            warnings.append("frames carry 'time' but its unit is unknown: pass time_unit= to keep frame times")
        if extra.get("temperature") is not None:
            quantities.append(ScalarQuantity("ThermodynamicTemperature", float(extra["temperature"]), "K"))
    return trajectory_file(path, READER.id, frames, store_positions=store_positions, metadata=metadata,
                           raw_metadata=raw, quantities=quantities, frame_arrays=frame_arrays, warnings=warnings,
                           transport=options.get("transport"))
