"""XYZ and extended XYZ trajectories: ``.xyz``, ``.extxyz``.

Usage
    ``battkg ingest md traj.xyz`` (format id ``md.xyz``); options
    ``energy_unit=`` (default ``"eV"``), ``time_unit=`` (unit of an ``time=``
    comment key), ``store_positions=True``.

Schema
    Read as a stream, one frame at a time (memory: one frame plus the kept
    coordinates).  Frames of: atom count line, comment line, one row per atom
    ``label x y z [more columns]`` (coordinates in angstrom).  A comment line
    holding ``key=value`` pairs (``Lattice=``, ``Properties=``, ``energy=``,
    ``pbc=``...) makes the file *extended XYZ*; it is then parsed by ASE's
    extxyz reader, frame by frame, which knows the ``Properties`` column typing.  Plain XYZ is
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
from typing import Any, Iterator

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import FrameSet, TextLines, trajectory_file, wants_positions
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


def _frames(path: Path, lines: TextLines) -> Iterator[tuple[int, list[str]]]:
    """Each frame as (index of its count line, its n + 2 lines), checking the XYZ framing as it streams.

    A truncated or inconsistent file is reported with the line where the framing breaks, which ASE's
    reader does not give; only one frame is held at a time.
    """
    n_atoms: int | None = None
    k = 0
    while (raw := lines.next()) is not None:
        text = raw.strip()
        if not text:
            at = lines.number
            while (rest := lines.next()) is not None and not rest.strip():
                pass
            if rest is None:
                break  # trailing blank lines are common (and trip ASE); they are not a frame
            lines.push_back(rest)
            raise FormatError(path, f"expected the atom count of frame {k}, found ''", line=at, reader=READER.id)
        try:
            count = int(text)
        except ValueError:
            raise FormatError(path, f"expected the atom count of frame {k}, found {text[:40]!r}",
                              line=lines.number, reader=READER.id) from None
        if count <= 0:
            raise FormatError(path, f"atom count must be positive, got {count}", line=lines.number, reader=READER.id)
        if n_atoms is None:
            n_atoms = count
        elif count != n_atoms:
            raise FormatError(path, f"frame {k} has {count} atoms, frame 0 has {n_atoms}: "
                              "a trajectory needs a constant atom count", line=lines.number, reader=READER.id)
        start = lines.number - 1
        body = lines.take(count + 1)
        while body and not body[-1].strip():  # blank lines at the end of the file are not atom rows
            body.pop()
        if len(body) < count + 1:
            have = max(len(body) - 1, 0)
            raise FormatError(path, f"truncated frame {k}: {count} atom rows announced, "
                              f"{have} present before the end of the file", line=start + 1 + len(body),
                              reader=READER.id)
        yield start, [raw + "\n", *body]
        k += 1
    if n_atoms is None:
        raise FormatError(path, "file is empty", reader=READER.id)


def _plain_frame(path: Path, start: int, frame: list[str], n_atoms: int,
                 want_coordinates: bool) -> tuple[list[str], np.ndarray | None]:
    """Labels and (when wanted) coordinates of a plain-XYZ frame; every row is checked either way."""
    rows = [row.split() for row in frame[2:]]
    for j, parts in enumerate(rows):
        if len(parts) < 4:
            raise FormatError(path, f"atom row needs a label and 3 coordinates, found {len(parts)} field(s)",
                              line=start + 3 + j, reader=READER.id)
    text = " ".join([v for parts in rows for v in parts[1:4]])
    try:
        coords = np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError:  # newer numpy: "could not be read to its end"
        coords = np.empty(0)
    if coords.size != 3 * n_atoms:
        for j, parts in enumerate(rows):
            try:
                [float(v) for v in parts[1:4]]
            except ValueError:
                raise FormatError(path, f"non-numeric coordinate in {' '.join(parts[1:4])!r}",
                                  line=start + 3 + j, reader=READER.id) from None
        raise FormatError(path, "unreadable coordinates", line=start + 3, reader=READER.id)  # pragma: no cover
    return [parts[0] for parts in rows], coords.reshape(n_atoms, 3) if want_coordinates else None


class _Extended:
    """What the extended-XYZ frames say, collected frame by frame (ASE parses each frame)."""

    def __init__(self, energy_unit: str, time_unit: str | None) -> None:
        self.energy_unit, self.time_unit = energy_unit, time_unit
        self.energies: list[float] = []
        self.steps: list[int] = []
        self.times: list[float] = []
        self.extra: dict[str, Any] = {}

    def frame(self, path: Path, k: int, start: int, lines: list[str], frames: FrameSet, collect: bool) -> None:
        from ase.io.extxyz import read_xyz

        try:
            atoms = next(read_xyz(io.StringIO("".join(lines)), index=slice(None)))
            if k == 0:
                frames.species = list(atoms.get_chemical_symbols())
                self.extra["info_frame0"] = {key: _plain(v) for key, v in atoms.info.items()}
                per_atom = set(atoms.arrays) - {"numbers", "positions"}
                results = atoms.calc.results if atoms.calc is not None else {}
                per_atom |= {key for key, v in results.items() if np.ndim(v) == 2 or key in ("energies", "forces")}
                self.extra["per_atom_properties"] = sorted(per_atom)
                self.extra["has_stress"] = "stress" in results or "stress" in atoms.info
                frames.periodic = bool(np.any(atoms.pbc))
                self.extra["temperature"] = next((atoms.info[t] for t in ("temperature", "T", "temp")
                                                  if t in atoms.info), None)
            results = atoms.calc.results if atoms.calc is not None else {}
            energy = results.get("energy", atoms.info.get("energy"))
            if energy is not None:
                self.energies.append(float(energy))
            if "step" in atoms.info:
                self.steps.append(int(atoms.info["step"]))
            if "time" in atoms.info:
                self.times.append(float(atoms.info["time"]))
            has_cell = bool(np.any(atoms.pbc)) or bool(np.any(atoms.cell.array))
            frames.boxes.append(np.asarray(atoms.cell.cellpar()) if has_cell else None)
            if collect:
                frames.add_positions(np.asarray(atoms.positions, dtype=np.float64))
        except Exception as exc:  # ASE raises bare ValueError/KeyError/IndexError for malformed frames
            raise FormatError(path, f"extended XYZ frame {k} could not be parsed: {type(exc).__name__}: {exc}",
                              line=start + 2, reader=READER.id) from exc

    def finish(self, frames: FrameSet) -> dict[str, Any]:
        n = frames.n_frames
        extra = dict(self.extra)
        if self.energies and len(self.energies) == n:
            extra["energies"] = np.asarray(self.energies)
        if self.steps and len(self.steps) == n:
            frames.steps = np.asarray(self.steps)
        if self.times and len(self.times) == n and self.time_unit:
            frames.times, frames.time_unit = np.asarray(self.times), self.time_unit
        elif self.times:
            extra["warn_time"] = True
        extra["energy_unit"] = self.energy_unit
        return extra


def _plain(value: Any) -> Any:
    """JSON-friendly copy of an ASE info value."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read an XYZ or extended-XYZ trajectory frame by frame (see the module docstring)."""
    path = Path(path)
    warnings: list[str] = []
    raw: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    frame_arrays: list[ArrayData] = []
    if topology is not None:
        warnings.append("XYZ files carry their own atom labels; the topology option was ignored")
    collect = wants_positions(store_positions, options)
    frames = FrameSet(n_atoms=0, n_frames=0)
    extended: _Extended | None = None
    comments: list[str] = []
    with TextLines(path, READER.id) as lines:
        for k, (start, frame) in enumerate(_frames(path, lines)):
            if k == 0:
                frames.n_atoms = len(frame) - 2
                if _EXTENDED_HINT.search(frame[1]):
                    time_unit = options.get("time_unit")
                    extended = _Extended(str(options.get("energy_unit", "eV")), str(time_unit) if time_unit else None)
                    frames.species_source = "element"
                else:
                    frames.species_source = "atom label as written"
            if len(comments) < 10:
                comments.append(frame[1].strip())
            if extended is not None:
                extended.frame(path, k, start, frame, frames, collect)
            else:
                labels, coords = _plain_frame(path, start, frame, frames.n_atoms, collect)
                if k == 0:
                    frames.species = labels
                    frames.select_species(options.get("transport"), store_positions)
                if coords is not None:
                    frames.add_positions(coords)
            if k == 0 and extended is not None:
                frames.select_species(options.get("transport"), store_positions)
                if collect and frames.keep is not None and frames.positions:
                    # frame 0 was read before its species chose the selection
                    frames.positions[0] = frames.positions[0][frames.keep].astype(np.float32)
            frames.n_frames = k + 1
    metadata: dict[str, Any] = {"xyz_flavour": "extended" if extended is not None else "plain"}
    if extended is None:
        raw["comments"] = comments
    else:
        extra = extended.finish(frames)
        raw["info_frame0"] = extra["info_frame0"]
        metadata["per_atom_properties"] = extra["per_atom_properties"]
        metadata["has_stress"] = extra["has_stress"]
        if "energies" in extra:
            frame_arrays.append(ArrayData("potential_energy", extra["energies"], "PotentialEnergy",
                                          extended.energy_unit, "calculator energy of each frame (extxyz 'energy' key)"))
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
