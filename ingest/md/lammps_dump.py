"""LAMMPS dump trajectories (``dump atom``/``dump custom``): ``.lammpstrj``, ``.dump``, also ``.gz``/``.bz2``.

Usage
    ``battkg ingest md traj.lammpstrj --topology system.data`` (format id
    ``md.lammps.dump``); options ``topology=`` (a LAMMPS data file: species
    and a consistency check), ``atom_style=`` (for that data file, see
    :mod:`battkg.ingest.md.lammps_data`), ``units=`` (LAMMPS units style:
    time and length units; the dump does not say unless written with
    ``dump_modify units yes``), ``timestep=`` (integration timestep in the
    style's time unit: frame times become step × timestep),
    ``store_positions=True``.

Schema
    Frames of ``ITEM:`` sections: ``TIMESTEP``, optional ``UNITS``/``TIME``,
    ``NUMBER OF ATOMS``, ``BOX BOUNDS`` (orthogonal ``pp pp pp``; restricted
    triclinic ``xy xz yz`` with bounding-box corners, converted to lo/hi as in
    the LAMMPS manual's "Triclinic" howto; general triclinic ``abc origin``),
    ``ATOMS <columns>``.  Coordinates are taken, in order of preference, from
    ``xu yu zu`` (unwrapped), ``x y z`` (+ ``ix iy iz`` image flags), ``xsu``
    or ``xs`` (scaled, converted with the frame's cell).

Metadata
    Shared trajectory summary; ``step`` per frame in the ``frames`` block;
    ``coordinates`` (``unwrapped``, ``wrapped``, ``scaled``, ``scaled
    unwrapped``), ``positions_unwrapped`` (True when image flags were applied
    or the columns are unwrapped), ``atom_columns``, ``box_origin`` (lo corner
    of frame 0), ``species_counts`` from an ``element`` column, else from the
    topology, else by LAMMPS ``type``.

Known gaps
    Atoms are sorted by ``id`` in each frame so rows line up between frames
    (LAMMPS writes them in processor order).  Unlike MDAnalysis, coordinates
    are not shifted to put the box origin at 0.  Lengths are taken as
    angstrom unless ``units=`` says otherwise.  Per-atom columns other than
    coordinates (velocities, forces, charges) are not copied.

Sample files
    ``shared/samples/md/mdanalysis_image_vf.lammpstrj`` (+ ``.data``),
    ``mdanalysis_albite_triclinic.dump`` (triclinic, scaled; + ``.data``),
    ``mdanalysis_mass_q_elem.lammpstrj`` (element column),
    ``mdanalysis_wat.lammpstrj.bz2`` (compressed, scaled).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import (
    LENGTH_TO_ANGSTROM,
    TIME_TO_PS,
    FrameSet,
    cell_to_dimensions,
    head_text,
    read_lines,
    trajectory_file,
    wants_positions,
)
from battkg.ingest.md._lammps import lammps_cell, parse_data_file, unit_for
from battkg.readers import ParsedFile, ReaderInfo


def _sniff(head: bytes) -> bool:
    return head_text(head).lstrip().startswith("ITEM:")


READER = ReaderInfo(
    id="md.lammps.dump",
    technique="md",
    suffixes=(".lammpstrj", ".dump", ".lammpsdump", ".bz2", ".gz"),
    description="LAMMPS dump trajectory (orthogonal or triclinic box, scaled/unwrapped coordinates, gz/bz2)",
    magic=(b"ITEM: TIMESTEP", b"ITEM: UNITS", b"ITEM: TIME"),
    sniff=_sniff,
    priority=40,
)

_COORD_SETS = (  # (columns, kind, scaled, unwrapped)
    (("xu", "yu", "zu"), "unwrapped", False, True),
    (("x", "y", "z"), "wrapped", False, False),
    (("xsu", "ysu", "zsu"), "scaled unwrapped", True, True),
    (("xs", "ys", "zs"), "scaled", True, False),
)


@dataclass
class _Frame:
    step: int
    time: float | None
    n_atoms: int
    cell: np.ndarray  # 3×3 rows a, b, c
    origin: np.ndarray
    columns: list[str]
    rows: list[list[str]]
    first_row_line: int
    count_line: int  # 1-based line of the NUMBER OF ATOMS value


def _box(path: Path, header: str, lines: list[str], at: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell (rows a, b, c) and origin from a ``BOX BOUNDS`` item whose values start at line index ``at``."""
    try:
        values = [[float(v) for v in lines[at + k].split()] for k in range(3)]
    except (ValueError, IndexError):
        raise FormatError(path, "BOX BOUNDS needs 3 numeric lines", line=min(at + 1, len(lines)),
                          reader=READER.id) from None
    if "abc origin" in header:  # general triclinic (LAMMPS 2023+): vector + origin component per line
        cell = np.array([row[:3] for row in values])
        return cell, np.array([row[3] for row in values])
    if "xy" in header:
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = (row[:3] for row in values)
        # Bounding box → box corners (LAMMPS manual, "Triclinic (non-orthogonal) simulation boxes").
        xlo = xlo_b - min(0.0, xy, xz, xy + xz)
        xhi = xhi_b - max(0.0, xy, xz, xy + xz)
        ylo, yhi = ylo_b - min(0.0, yz), yhi_b - max(0.0, yz)
        lo, hi = np.array([xlo, ylo, zlo]), np.array([xhi, yhi, zhi])
        return lammps_cell(lo, hi, np.array([xy, xz, yz])), lo
    lo = np.array([row[0] for row in values])
    hi = np.array([row[1] for row in values])
    return lammps_cell(lo, hi, None), lo


def _frames(path: Path, lines: list[str]) -> tuple[list[_Frame], str | None]:
    """Split a dump into frames, checking every item; returns frames and an ``ITEM: UNITS`` value."""
    frames: list[_Frame] = []
    units: str | None = None
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    i = 0
    step: int | None = None
    time: float | None = None
    n_atoms: int | None = None
    cell = origin = None
    count_line = 0
    while i < end:
        line = lines[i].strip()
        if not line.startswith("ITEM:"):
            raise FormatError(path, f"expected an 'ITEM:' line, found {line[:40]!r}", line=i + 1, reader=READER.id)
        item = line[5:].strip()
        value_at = i + 1
        if item == "TIMESTEP" or item == "TIME" or item == "UNITS" or item == "NUMBER OF ATOMS":
            if value_at >= end:
                raise FormatError(path, f"truncated file: ITEM: {item} has no value", line=i + 1, reader=READER.id)
            text = lines[value_at].strip()
            try:
                if item == "TIMESTEP":  # LAMMPS writes ITEM: TIME before ITEM: TIMESTEP: keep it
                    step, n_atoms, cell = int(text), None, None
                elif item == "TIME":
                    time = float(text)
                elif item == "UNITS":
                    units = text
                else:
                    n_atoms, count_line = int(text), value_at + 1
            except ValueError:
                raise FormatError(path, f"ITEM: {item} value {text!r} is not a number", line=value_at + 1,
                                  reader=READER.id) from None
            i = value_at + 1
        elif item.startswith("BOX BOUNDS"):
            if value_at + 3 > end:
                raise FormatError(path, "truncated file inside BOX BOUNDS", line=end, reader=READER.id)
            cell, origin = _box(path, item, lines, value_at)
            i = value_at + 3
        elif item.startswith("ATOMS"):
            if step is None or n_atoms is None or cell is None:
                raise FormatError(path, "ITEM: ATOMS before TIMESTEP, NUMBER OF ATOMS and BOX BOUNDS",
                                  line=i + 1, reader=READER.id)
            columns = item.split()[1:]
            rows_end = value_at + n_atoms
            if rows_end > end:
                raise FormatError(path, f"truncated frame {len(frames)} (step {step}): {n_atoms} atom rows "
                                  f"announced, {end - value_at} present", line=end, reader=READER.id)
            rows = [lines[k].split() for k in range(value_at, rows_end)]
            for k, parts in enumerate(rows):
                if len(parts) != len(columns):
                    raise FormatError(path, f"atom row has {len(parts)} field(s), ITEM: ATOMS names "
                                      f"{len(columns)} (truncated or inconsistent row)",
                                      line=value_at + k + 1, reader=READER.id)
            frames.append(_Frame(step, time, n_atoms, cell, origin, columns, rows, value_at + 1, count_line))
            time = None
            i = rows_end
        else:
            raise FormatError(path, f"unknown dump item 'ITEM: {item}'", line=i + 1, reader=READER.id)
    if not frames:
        raise FormatError(path, "no complete frame (ITEM: ATOMS) found", reader=READER.id)
    return frames, units


def _numeric(path: Path, frame: _Frame, names: tuple[str, ...], kind: type) -> np.ndarray:
    """Columns ``names`` of a frame as an array, naming the first bad row if conversion fails."""
    index = [frame.columns.index(n) for n in names]
    try:
        return np.array([[kind(row[c]) for c in index] for row in frame.rows])
    except ValueError:
        for k, row in enumerate(frame.rows):
            for c in index:
                try:
                    kind(row[c])
                except ValueError:
                    raise FormatError(path, f"non-numeric value {row[c]!r} in column '{frame.columns[c]}'",
                                      line=frame.first_row_line + k, reader=READER.id) from None
        raise  # pragma: no cover


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read a LAMMPS dump (see the module docstring)."""
    path = Path(path)
    frames, file_units = _frames(path, read_lines(path, READER.id))
    units = str(options.get("units") or file_units or "") or None
    warnings: list[str] = []
    n_atoms = frames[0].n_atoms
    for k, frame in enumerate(frames):
        if frame.n_atoms != n_atoms:
            raise FormatError(path, f"frame {k} (step {frame.step}) has {frame.n_atoms} atoms, frame 0 has "
                              f"{n_atoms}: a trajectory needs a constant atom count",
                              line=frame.count_line, reader=READER.id)
    first = frames[0]
    columns = first.columns
    order_per_frame: list[np.ndarray | None] = []
    for frame in frames:
        order_per_frame.append(np.argsort(_numeric(path, frame, ("id",), int)[:, 0], kind="stable")
                               if "id" in frame.columns else None)
    ids = _numeric(path, first, ("id",), int)[:, 0] if "id" in columns else None
    if ids is not None:
        ids = ids[order_per_frame[0]]
    metadata: dict[str, Any] = {"software": "LAMMPS", "atom_columns": columns,
                                "box_origin": first.origin.tolist()}
    species: list[str] | None = None
    source: str | None = None
    if topology is not None:
        data = parse_data_file(Path(topology), read_lines(Path(topology), READER.id), READER.id,
                               atom_style=str(options["atom_style"]) if options.get("atom_style") else None)
        if data.n_atoms != n_atoms:
            raise FormatError(path, f"topology {topology} has {data.n_atoms} atoms, the trajectory has {n_atoms}",
                              field="topology", reader=READER.id)
        if ids is not None and not np.array_equal(np.sort(ids), data.ids):
            raise FormatError(path, f"atom ids differ between the trajectory and topology {topology}",
                              field="topology", reader=READER.id)
        from battkg.ingest.md.lammps_data import species_of

        species, source = species_of(data)
        metadata["topology"] = Path(topology).name
        metadata["type_masses"] = data.masses
        if data.force_field:
            metadata["force_field"] = data.force_field
    if "element" in columns:
        col = columns.index("element")
        order = order_per_frame[0]
        labels = [row[col] for row in first.rows]
        species, source = ([labels[k] for k in order] if order is not None else labels), "element"
    elif species is None and "type" in columns:
        col = columns.index("type")
        order = order_per_frame[0]
        labels = [row[col] for row in first.rows]
        species, source = ([labels[k] for k in order] if order is not None else labels), "LAMMPS atom type"
    length_unit = unit_for(units, "distance") if units else "angstrom"
    factor = None if length_unit == "dimensionless" else LENGTH_TO_ANGSTROM.get(length_unit, 1.0)
    if not units:
        warnings.append("the dump does not record its units style: lengths taken as angstrom (units real/metal); "
                        "pass units= otherwise")
    else:
        metadata["units_style"] = units
    coord = next(((names, kind, scaled, unwrapped) for names, kind, scaled, unwrapped in _COORD_SETS
                  if all(n in columns for n in names)), None)
    if coord is not None:
        metadata["coordinates"] = coord[1]
    has_images = all(n in columns for n in ("ix", "iy", "iz"))
    metadata["positions_unwrapped"] = bool(coord is not None and (coord[3] or has_images))
    result = FrameSet(n_atoms=n_atoms, n_frames=len(frames), species=species, species_source=source,
                      periodic=True, steps=np.array([f.step for f in frames], dtype=np.int64))
    collect = wants_positions(store_positions, options)
    for frame, order in zip(frames, order_per_frame, strict=True):
        dims = cell_to_dimensions(frame.cell)
        result.boxes.append(None if factor is None else dims * np.array([factor] * 3 + [1.0] * 3))
        if collect:
            if coord is None:
                raise FormatError(path, "store_positions needs coordinate columns (x y z, xu, xs or xsu)",
                                  reader=READER.id)
            xyz = _numeric(path, frame, coord[0], float)
            if coord[2]:  # scaled → Cartesian: r = origin + s · cell
                xyz = frame.origin + xyz @ frame.cell
            if has_images and not coord[3]:
                xyz = xyz + _numeric(path, frame, ("ix", "iy", "iz"), int) @ frame.cell
            if order is not None:
                xyz = xyz[order]
            result.positions.append(xyz * (factor or 1.0))
    times = [f.time for f in frames]
    time_unit = unit_for(units, "time") if units else None
    if all(t is not None for t in times) and time_unit:
        result.times, result.time_unit = np.array(times, dtype=np.float64), time_unit
    elif options.get("timestep") is not None:
        if not time_unit:
            raise FormatError(path, "timestep= needs units= (the LAMMPS units style gives its time unit)",
                              field="units", reader=READER.id)
        result.times = result.steps.astype(np.float64) * float(options["timestep"])  # type: ignore[union-attr]
        result.time_unit = time_unit
    if result.time_unit and result.time_unit.lower() not in TIME_TO_PS:
        warnings.append(f"time unit {result.time_unit!r} (units {units}) has no picosecond equivalent: "
                        "SimulatedTime not reported")
    return trajectory_file(path, READER.id, result, store_positions=store_positions, metadata=metadata,
                           warnings=warnings, transport=options.get("transport"))
