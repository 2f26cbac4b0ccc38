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

Memory
    The dump is streamed (also through gz/bz2/xz decompression): one frame
    is held at a time, and only the coordinates that are kept (``store_positions``,
    or the transport species as float32) accumulate.  Numbers are parsed
    in C (numpy); a bad value falls back to a per-value pass that names its line.

Known gaps
    A frame with one short row and one long row of compensating lengths is
    caught only by the per-row field count, which is checked.  Atoms are sorted by ``id`` in each frame so rows line up between frames
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

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import (
    LENGTH_TO_ANGSTROM,
    TIME_TO_PS,
    FrameSet,
    TextLines,
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
    file_options=("topology",),
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
    text: str = ""  # the atom rows as read (for fast numeric parsing)
    table: np.ndarray | None = None  # every column as float64, when every column is numeric (parsed once)


def _box(path: Path, header: str, lines: list[str], line: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell (rows a, b, c) and origin from the 3 value lines of a ``BOX BOUNDS`` item (first at ``line``)."""
    try:
        values = [[float(v) for v in lines[k].split()] for k in range(3)]
    except (ValueError, IndexError):
        raise FormatError(path, "BOX BOUNDS needs 3 numeric lines", line=line, reader=READER.id) from None
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


class _DumpStream:
    """Frames of a dump, read one at a time from a line stream (memory: one frame)."""

    def __init__(self, path: Path, lines: TextLines) -> None:
        self.path, self.lines = path, lines
        self.units: str | None = None  # an ``ITEM: UNITS`` value

    def _error(self, message: str, line: int) -> FormatError:
        return FormatError(self.path, message, line=line, reader=READER.id)

    def frames(self) -> Iterator[_Frame]:
        """Every frame, checking every item; a FormatError names the line where the file breaks."""
        path, lines = self.path, self.lines
        step: int | None = None
        time: float | None = None
        n_atoms: int | None = None
        cell = origin = None
        count_line = 0
        k_frame = 0
        seen_item = False
        while (raw := lines.next()) is not None:
            line = raw.strip()
            if not line:
                at = lines.number
                while (rest := lines.next()) is not None and not rest.strip():
                    pass
                if rest is None:
                    if not seen_item:
                        raise FormatError(path, "file is empty", reader=READER.id)
                    break  # trailing blank lines are not a frame
                raise self._error("expected an 'ITEM:' line, found ''", at)
            if not line.startswith("ITEM:"):
                raise self._error(f"expected an 'ITEM:' line, found {line[:40]!r}", lines.number)
            item = line[5:].strip()
            item_line = lines.number
            seen_item = True
            if item in ("TIMESTEP", "TIME", "UNITS", "NUMBER OF ATOMS"):
                value = lines.next()
                if value is None or not value.strip():
                    raise self._error(f"truncated file: ITEM: {item} has no value", item_line)
                text = value.strip()
                try:
                    if item == "TIMESTEP":  # LAMMPS writes ITEM: TIME before ITEM: TIMESTEP: keep it
                        step, n_atoms, cell = int(text), None, None
                    elif item == "TIME":
                        time = float(text)
                    elif item == "UNITS":
                        self.units = text
                    else:
                        n_atoms, count_line = int(text), lines.number
                except ValueError:
                    raise self._error(f"ITEM: {item} value {text!r} is not a number", lines.number) from None
            elif item.startswith("BOX BOUNDS"):
                values = lines.take(3)
                if len(values) < 3 or not all(v.strip() for v in values):
                    raise self._error("truncated file inside BOX BOUNDS", lines.number)
                cell, origin = _box(path, item, values, item_line + 1)
            elif item.startswith("ATOMS"):
                if step is None or n_atoms is None or cell is None:
                    raise self._error("ITEM: ATOMS before TIMESTEP, NUMBER OF ATOMS and BOX BOUNDS", item_line)
                columns = item.split()[1:]
                text_rows = lines.take(n_atoms)
                if len(text_rows) < n_atoms or (text_rows and not text_rows[-1].strip()):
                    present = sum(1 for r in text_rows if r.strip())
                    raise self._error(f"truncated frame {k_frame} (step {step}): {n_atoms} atom rows announced, "
                                      f"{present} present", lines.number)
                rows = [r.split() for r in text_rows]
                width = len(columns)
                for k, parts in enumerate(rows):
                    if len(parts) != width:
                        raise self._error(f"atom row has {len(parts)} field(s), ITEM: ATOMS names {width} "
                                          "(truncated or inconsistent row)", item_line + k + 1)
                yield _Frame(step, time, n_atoms, cell, origin, columns, rows, item_line + 1, count_line,
                             "".join(text_rows))
                k_frame += 1
                time = None
            else:
                raise self._error(f"unknown dump item 'ITEM: {item}'", item_line)
        if k_frame == 0:
            if not seen_item:
                raise FormatError(path, "file is empty", reader=READER.id)
            raise FormatError(path, "no complete frame (ITEM: ATOMS) found", reader=READER.id)


def _whole_table(frame: _Frame) -> np.ndarray:
    """Every column of a frame in one C pass when all are numeric; an empty array otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            values = np.fromstring(frame.text, dtype=np.float64, sep=" ")
    except ValueError:  # a non-numeric column (element names): parse columns one by one
        return np.empty(0)
    if values.size != frame.n_atoms * len(frame.columns):
        return np.empty(0)
    return values.reshape(frame.n_atoms, len(frame.columns))


def _fast_numeric(path: Path, frame: _Frame, names: tuple[str, ...], kind: type) -> np.ndarray:
    """Columns ``names`` of a frame, parsed in C (numpy); the slow per-value path names a bad value."""
    index = [frame.columns.index(n) for n in names]
    if frame.table is None and frame.text:
        frame.table = _whole_table(frame)
        frame.text = ""  # parsed (or not parseable as a whole): the rows stay for the slow path
    if frame.table is not None and frame.table.size:
        values = frame.table[:, index]
        if kind is int:
            if not np.all(values == np.round(values)):
                return _numeric(path, frame, names, kind)
            return values.astype(np.int64)
        return values
    text = " ".join([parts[c] for parts in frame.rows for c in index])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # older numpy warns on a bad value: size checked
            values = np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError:  # newer numpy: "could not be read to its end"
        return _numeric(path, frame, names, kind)
    if values.size != frame.n_atoms * len(index):
        return _numeric(path, frame, names, kind)  # raises naming the row
    values = values.reshape(frame.n_atoms, len(index))
    if kind is int:
        if not np.all(values == np.round(values)):
            return _numeric(path, frame, names, kind)
        return values.astype(np.int64)
    return values


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
    """Read a LAMMPS dump frame by frame (see the module docstring); memory holds one frame at a time."""
    path = Path(path)
    with TextLines(path, READER.id) as lines:
        stream = _DumpStream(path, lines)
        frames = stream.frames()
        try:
            first = next(frames)
        except StopIteration:  # pragma: no cover - frames() raises when there is none
            raise FormatError(path, "no complete frame (ITEM: ATOMS) found", reader=READER.id) from None
        return _read_frames(path, stream, first, frames, topology, store_positions, options)


def _read_frames(path: Path, stream: _DumpStream, first: _Frame, rest: Iterator[_Frame], topology: Path | None,
                 store_positions: bool, options: dict[str, Any]) -> ParsedFile:
    """Set up from the first frame (species, topology, units, coordinates), then stream every frame."""
    warnings_out: list[str] = []
    n_atoms = first.n_atoms
    columns = first.columns
    ids = _fast_numeric(path, first, ("id",), int)[:, 0] if "id" in columns else None
    order0 = np.argsort(ids, kind="stable") if ids is not None else None
    if ids is not None:
        ids = ids[order0]
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
    for column, label in (("element", "element"), ("type", "LAMMPS atom type")):
        if column in columns and (column == "element" or species is None):
            col = columns.index(column)
            labels = [row[col] for row in first.rows]
            species, source = ([labels[k] for k in order0] if order0 is not None else labels), label
            break
    coord = next(((names, kind, scaled, unwrapped) for names, kind, scaled, unwrapped in _COORD_SETS
                  if all(n in columns for n in names)), None)
    if coord is not None:
        metadata["coordinates"] = coord[1]
    has_images = all(n in columns for n in ("ix", "iy", "iz"))
    metadata["positions_unwrapped"] = bool(coord is not None and (coord[3] or has_images))
    result = FrameSet(n_atoms=n_atoms, n_frames=0, species=species, species_source=source, periodic=True)
    result.select_species(options.get("transport"), store_positions)
    collect = wants_positions(store_positions, options)
    if collect and coord is None:
        raise FormatError(path, "store_positions needs coordinate columns (x y z, xu, xs or xsu)", reader=READER.id)
    # ITEM: UNITS (dump_modify units yes) is written in the first frame, before its atoms.
    units = str(options.get("units") or stream.units or "") or None
    length_unit = unit_for(units, "distance") if units else "angstrom"
    factor = None if length_unit == "dimensionless" else LENGTH_TO_ANGSTROM.get(length_unit, 1.0)
    if not units:
        warnings_out.append("the dump does not record its units style: lengths taken as angstrom (units real/metal); "
                            "pass units= otherwise")
    else:
        metadata["units_style"] = units
    scale = np.array([factor or 1.0] * 3 + [1.0] * 3)
    steps: list[int] = []
    times: list[float | None] = []
    frame = first
    while True:
        if frame.n_atoms != n_atoms:
            raise FormatError(path, f"frame {len(steps)} (step {frame.step}) has {frame.n_atoms} atoms, frame 0 has "
                              f"{n_atoms}: a trajectory needs a constant atom count",
                              line=frame.count_line, reader=READER.id)
        steps.append(frame.step)
        times.append(frame.time)
        result.boxes.append(None if factor is None else cell_to_dimensions(frame.cell) * scale)
        if collect:
            xyz = _fast_numeric(path, frame, coord[0], float)  # type: ignore[index]
            if coord[2]:  # type: ignore[index]  # scaled → Cartesian: r = origin + s · cell
                xyz = frame.origin + xyz @ frame.cell
            if has_images and not coord[3]:  # type: ignore[index]
                xyz = xyz + _fast_numeric(path, frame, ("ix", "iy", "iz"), int) @ frame.cell
            if "id" in frame.columns:  # LAMMPS writes atoms in processor order: sort by id
                xyz = xyz[np.argsort(_fast_numeric(path, frame, ("id",), int)[:, 0], kind="stable")]
            result.add_positions(xyz * (factor or 1.0))
        next_frame = next(rest, None)
        if next_frame is None:
            break
        frame = next_frame
    result.n_frames = len(steps)
    result.steps = np.asarray(steps, dtype=np.int64)
    time_unit = unit_for(units, "time") if units else None
    if all(t is not None for t in times) and time_unit:
        result.times, result.time_unit = np.array(times, dtype=np.float64), time_unit
    elif options.get("timestep") is not None:
        if not time_unit:
            raise FormatError(path, "timestep= needs units= (the LAMMPS units style gives its time unit)",
                              field="units", reader=READER.id)
        result.times = result.steps.astype(np.float64) * float(options["timestep"])
        result.time_unit = time_unit
    if result.time_unit and result.time_unit.lower() not in TIME_TO_PS:
        warnings_out.append(f"time unit {result.time_unit!r} (units {units}) has no picosecond equivalent: "
                            "SimulatedTime not reported")
    return trajectory_file(path, READER.id, result, store_positions=store_positions, metadata=metadata,
                           warnings=warnings_out, transport=options.get("transport"))
