"""Shared pieces of the MD readers: file access, boxes, species and the record summary.

Every trajectory reader collects a :class:`FrameSet` and hands it to
:func:`trajectory_file`, so all MD formats describe a simulation the same way.

``ParsedFile.metadata`` keys (where the file has them)
    ``software``, ``software_version``; ``n_atoms``; ``n_frames``;
    ``species_counts`` (label → count) and ``species_source`` (what the labels
    are: ``"element"``, ``"LAMMPS atom type"``, ``"atom name as written"``...);
    ``periodic`` (bool); ``box_varies`` (True when any frame's box differs from
    the first, e.g. NPT); ``step_first``/``step_last``; ``time_unit``;
    ``ensemble``, ``thermostat``, ``force_field`` when the file says.

``ParsedFile.quantities``
    ``BoxLengthA/B/C`` (angstrom) and ``BoxAngleAlpha/Beta/Gamma`` (degree) of
    the *first* frame; ``Timestep`` labelled ``"integration"`` (Δtime/Δstep,
    when both are stored) and/or ``"between frames"`` (frame spacing), in the
    file's time unit (ps or fs as given); ``SimulatedTime`` (ps, last − first
    frame time); ``ThermodynamicTemperature`` (K) when the file gives one.

Blocks
    ``frames``: per-frame ``step`` (quantity ``Step``) and/or ``time``
    (``Time``) when stored, plus per-frame observables a format carries
    (e.g. extended-XYZ energies).  ``positions`` (frames × atoms × 3,
    angstrom, as written, i.e. possibly wrapped) only with
    ``store_positions=True``: coordinates are bulk data and stay in the raw
    file otherwise.

Transport (reader option ``transport={species: charge or None}``)
    Readers then return a :class:`TrajectoryFile`: the ParsedFile plus, in
    memory only, the coordinates of the atoms of the named species, their
    labels, per-frame boxes and frame times, for
    :mod:`battkg.ingest.md` to compute MSDs and diffusion coefficients.
    Only the named species' atoms are kept (frames × selected atoms × 3
    float64), never every atom unless ``store_positions`` asks for it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ScalarQuantity

# Time units as written by the formats we read, in picoseconds: the shared
# SimulatedTime quantity is always ps so records compare without pint.
TIME_TO_PS: dict[str, float] = {"fs": 1e-3, "femtosecond": 1e-3, "ps": 1.0, "picosecond": 1.0,
                                "ns": 1e3, "nanosecond": 1e3, "us": 1e6, "microsecond": 1e6,
                                "s": 1e12, "second": 1e12}

# Length units of coordinates and boxes, in angstrom.
LENGTH_TO_ANGSTROM: dict[str, float] = {"angstrom": 1.0, "a": 1.0, "å": 1.0, "ang": 1.0,
                                        "nm": 10.0, "nanometer": 10.0, "pm": 0.01, "bohr": 0.529177210903,
                                        "m": 1e10, "cm": 1e8, "um": 1e4, "micrometer": 1e4}

_BOX_KEYS = ("BoxLengthA", "BoxLengthB", "BoxLengthC", "BoxAngleAlpha", "BoxAngleBeta", "BoxAngleGamma")


def read_bytes(path: Path, reader: str) -> bytes:
    """The file's bytes, transparently decompressed for ``.gz``/``.bz2``/``.xz``.

    Compression is recognised by magic bytes, not only by suffix, because MD
    codes and users often compress trajectories after the fact.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc
    try:
        if raw.startswith(b"\x1f\x8b"):
            raw = gzip.decompress(raw)
        elif raw.startswith(b"BZh"):
            raw = bz2.decompress(raw)
        elif raw.startswith(b"\xfd7zXZ\x00"):
            raw = lzma.decompress(raw)
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise FormatError(path, f"compressed file is truncated or corrupt: {exc}", reader=reader) from exc
    if not raw.strip():
        raise FormatError(path, "file is empty", reader=reader)
    return raw


def read_lines(path: Path, reader: str) -> list[str]:
    """Text lines of a (possibly compressed) text file; NUL bytes mean it is binary."""
    raw = read_bytes(path, reader)
    if b"\x00" in raw[:4096]:
        raise FormatError(path, "binary content where a text file was expected", reader=reader)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


class TextLines:
    """Numbered lines of a (possibly gz/bz2/xz-compressed) text file, read as a stream.

    Large trajectories are read frame by frame through this, so memory stays bounded by one frame
    instead of the whole file.  ``number`` is the 1-based number of the last line returned.  Use as a
    context manager; decompression errors become a FormatError naming the file.
    """

    def __init__(self, path: Path, reader: str) -> None:
        self.path, self.reader, self.number = Path(path), reader, 0
        try:
            raw = open(self.path, "rb")
        except OSError as exc:
            raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc
        magic = raw.read(6)
        raw.seek(0)
        binary: Any = raw
        if magic.startswith(b"\x1f\x8b"):
            binary = gzip.GzipFile(fileobj=raw)
        elif magic.startswith(b"BZh"):
            binary = bz2.BZ2File(raw)
        elif magic.startswith(b"\xfd7zXZ\x00"):
            binary = lzma.LZMAFile(raw)
        self._raw, self._binary = raw, binary
        first = self._guard(lambda: binary.peek(4096) if hasattr(binary, "peek") else b"")[:4096]
        if b"\x00" in first:
            self.close()
            raise FormatError(path, "binary content where a text file was expected", reader=reader)
        self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace")
        self._pushed: list[str] = []

    def _guard(self, read: Any) -> Any:
        try:
            return read()
        except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            raise FormatError(self.path, f"compressed file is truncated or corrupt: {exc}", line=self.number or None,
                              reader=self.reader) from exc

    def next(self) -> str | None:
        """The next line without its newline, or None at the end of the file."""
        if self._pushed:
            self.number += 1
            return self._pushed.pop()
        line = self._guard(self._text.readline)
        if not line:
            return None
        self.number += 1
        return line.rstrip("\r\n")

    def push_back(self, line: str) -> None:
        """Return ``line`` to the stream: the next call of :meth:`next` gives it again."""
        self._pushed.append(line)
        self.number -= 1

    def take(self, count: int) -> list[str]:
        """Up to ``count`` further lines (fewer at the end of the file), with their newlines."""
        lines: list[str] = []
        while self._pushed and len(lines) < count:
            lines.append(self._pushed.pop() + "\n")
        readline = self._text.readline
        try:
            for _ in range(count - len(lines)):
                line = readline()
                if not line:
                    break
                lines.append(line)
        except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            raise FormatError(self.path, f"compressed file is truncated or corrupt: {exc}",
                              line=self.number + len(lines) + 1, reader=self.reader) from exc
        self.number += len(lines)
        return lines

    def close(self) -> None:
        """Close the file (and the decompressor)."""
        for handle in (getattr(self, "_text", None), self._binary, self._raw):
            try:
                if handle is not None:
                    handle.close()
            except (OSError, ValueError):  # pragma: no cover - closing a half-read corrupt stream
                pass

    def __enter__(self) -> "TextLines":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def head_text(head: bytes) -> str:
    """Decode a detection head (first 64 KiB) leniently, decompressing a gz/bz2 start."""
    try:
        if head.startswith(b"\x1f\x8b"):
            head = gzip.GzipFile(fileobj=io.BytesIO(head)).read1(65536)
        elif head.startswith(b"BZh"):
            head = bz2.BZ2Decompressor().decompress(head)
    except (OSError, EOFError, ValueError):
        return ""
    return head.decode("latin-1", errors="replace")


def cell_to_dimensions(cell: np.ndarray) -> np.ndarray:
    """``[a, b, c, α, β, γ]`` (length unit of ``cell``, degrees) from a 3×3 matrix of row vectors."""
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    lengths = np.linalg.norm(cell, axis=1)

    def angle(u: np.ndarray, v: np.ndarray, lu: float, lv: float) -> float:
        if lu == 0 or lv == 0:
            return 90.0
        return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / (lu * lv), -1.0, 1.0))))

    alpha = angle(cell[1], cell[2], lengths[1], lengths[2])
    beta = angle(cell[0], cell[2], lengths[0], lengths[2])
    gamma = angle(cell[0], cell[1], lengths[0], lengths[1])
    return np.array([*lengths, alpha, beta, gamma])


def dimensions_to_cell(dims: np.ndarray) -> np.ndarray:
    """3×3 matrix of row vectors (a along x, b in the xy plane) from ``[a, b, c, α, β, γ]``."""
    a, b, c, alpha, beta, gamma = (float(x) for x in dims)
    al, be, ga = np.radians([alpha, beta, gamma])
    bx, by = b * np.cos(ga), b * np.sin(ga)
    cx = c * np.cos(be)
    cy = c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
    cz = np.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return np.array([[a, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def box_quantities(dims: np.ndarray | None) -> list[ScalarQuantity]:
    """Box lengths (angstrom) and angles (degree); nothing for a missing or zero box."""
    if dims is None:
        return []
    dims = np.asarray(dims, dtype=np.float64)
    if dims.shape != (6,) or not np.all(np.isfinite(dims)) or np.any(dims[:3] <= 0):
        return []
    units = ("angstrom",) * 3 + ("degree",) * 3
    return [ScalarQuantity(key, float(value), unit) for key, value, unit in zip(_BOX_KEYS, dims, units, strict=True)]


def species_counts(labels: list[str] | np.ndarray) -> dict[str, int]:
    """``label → count`` in order of first appearance (stable, readable records)."""
    counts: dict[str, int] = {}
    for label in labels:
        key = str(label)
        counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass
class FrameSet:
    """What a trajectory reader learnt about a file, before it becomes a ParsedFile."""

    n_atoms: int
    n_frames: int
    species: list[str] | None = None
    species_source: str | None = None
    boxes: list[np.ndarray | None] = field(default_factory=list)  # per frame, [a b c α β γ] in Å/deg
    steps: np.ndarray | None = None
    times: np.ndarray | None = None
    time_unit: str | None = None  # "ps", "fs", ...
    positions: list[np.ndarray] = field(default_factory=list)  # only filled when store_positions/transport
    periodic: bool | None = None
    # Atom indices to keep per frame (transport without store_positions); None = every atom.
    keep: np.ndarray | None = None

    def add_positions(self, xyz: np.ndarray) -> None:
        """Keep one frame's coordinates (angstrom), only the ``keep`` atoms when a selection is set.

        The transport selection is held as float32 (XTC and DCD store float32 anyway; 7 significant
        digits are 1e-4 Å at 1000 Å), which halves the memory of a long trajectory; coordinates to
        store (``store_positions``) stay float64 as before."""
        if self.keep is not None:
            self.positions.append(np.asarray(xyz)[self.keep].astype(np.float32))
        else:
            self.positions.append(np.asarray(xyz, dtype=np.float64))

    def select_species(self, wanted: Mapping[str, Any] | None, store_positions: bool) -> None:
        """Restrict kept coordinates to the atoms of ``wanted`` species (unless all are stored)."""
        if wanted and not store_positions and self.species is not None:
            labels = np.asarray([str(s) for s in self.species])
            self.keep = np.flatnonzero(np.isin(labels, list(wanted)))


@dataclass
class TrajectoryFile(ParsedFile):
    """A ParsedFile plus what transport analysis needs, in memory only (never written as is).

    ``positions``: frames × len(``atom_species``) × 3 angstrom, the atoms of the
    requested species in file order; ``boxes``: frames × 6 ``[a b c α β γ]``
    (None when any frame lacks a box); ``times_ps``: frame times in ps (None when
    the file stores none); ``transport``: the requested species → charge (e).
    """

    transport: dict[str, float | None] = field(default_factory=dict)
    positions: np.ndarray | None = None
    atom_species: list[str] | None = None
    species_present: list[str] = field(default_factory=list)
    boxes: np.ndarray | None = None
    times_ps: np.ndarray | None = None
    positions_unwrapped: bool = False
    extra_blocks: list[Block] = field(default_factory=list)  # analysis arrays added by the technique


def wants_positions(store_positions: bool, options: Mapping[str, Any]) -> bool:
    """Whether a reader must collect coordinates: to store them, or for a transport analysis."""
    return bool(store_positions or options.get("transport"))


def _constant_step(values: np.ndarray) -> float | None:
    """The common difference of a series, or None when it is not (nearly) constant."""
    if values.size < 2:
        return None
    diffs = np.diff(values.astype(np.float64))
    if diffs[0] <= 0 or not np.allclose(diffs, diffs[0], rtol=1e-4, atol=0):
        return None
    return float(diffs[0])


def trajectory_file(
    path: Path,
    reader: str,
    frames: FrameSet,
    *,
    store_positions: bool = False,
    metadata: dict[str, Any] | None = None,
    raw_metadata: dict[str, Any] | None = None,
    quantities: list[ScalarQuantity] | None = None,
    frame_arrays: list[ArrayData] | None = None,
    extra_blocks: list[Block] | None = None,
    warnings: list[str] | None = None,
    transport: Mapping[str, float | None] | None = None,
) -> ParsedFile:
    """Assemble the shared record summary (see the module docstring) into a ParsedFile.

    With ``transport`` (species → charge), a :class:`TrajectoryFile` carrying the
    requested species' coordinates, boxes and times (see the module docstring).
    """
    if frames.n_frames < 1:
        raise FormatError(path, "no complete frame found", reader=reader)
    if frames.n_atoms < 1:
        raise FormatError(path, "the file describes no atoms", reader=reader)
    meta: dict[str, Any] = {"n_atoms": int(frames.n_atoms), "n_frames": int(frames.n_frames)}
    if frames.species is not None:
        meta["species_counts"] = species_counts(frames.species)
        meta["species_source"] = frames.species_source or "label as written"
    qty: list[ScalarQuantity] = []
    first_box = frames.boxes[0] if frames.boxes else None
    qty.extend(box_quantities(first_box))
    if frames.periodic is not None:
        meta["periodic"] = bool(frames.periodic)
    known = [b for b in frames.boxes if b is not None]
    if len(known) > 1:
        meta["box_varies"] = bool(any(not np.allclose(b, known[0], rtol=1e-6, atol=1e-9) for b in known[1:]))
    arrays: list[ArrayData] = []
    if frames.steps is not None:
        steps = np.asarray(frames.steps)
        arrays.append(ArrayData("step", steps.astype(np.int64), "Step", "dimensionless", "MD step of each frame"))
        meta["step_first"], meta["step_last"] = int(steps[0]), int(steps[-1])
    if frames.times is not None and frames.time_unit:
        times = np.asarray(frames.times, dtype=np.float64)
        arrays.append(ArrayData("time", times, "Time", frames.time_unit, "simulation time of each frame"))
        meta["time_unit"] = frames.time_unit
        interval = _constant_step(times)
        if frames.steps is not None and len(frames.steps) > 1:
            dstep = np.diff(np.asarray(frames.steps, dtype=np.float64))
            if np.all(dstep > 0):
                dt = np.diff(times) / dstep
                if np.allclose(dt, dt[0], rtol=1e-4):
                    qty.append(ScalarQuantity("Timestep", float(dt[0]), frames.time_unit, "integration"))
        if interval is not None:
            qty.append(ScalarQuantity("Timestep", interval, frames.time_unit, "between frames"))
        elif times.size > 1:
            meta["frame_spacing_varies"] = True
        factor = TIME_TO_PS.get(frames.time_unit.lower())
        if factor is not None and times.size > 1:
            qty.append(ScalarQuantity("SimulatedTime", float((times[-1] - times[0]) * factor), "ps"))
    arrays.extend(frame_arrays or [])
    blocks: list[Block] = []
    if arrays:
        blocks.append(Block("frames", arrays=arrays, metadata={"n_frames": int(frames.n_frames)}))
    if store_positions:
        if len(frames.positions) != frames.n_frames:  # pragma: no cover - reader bug guard
            raise FormatError(path, "internal: positions were not collected for every frame", reader=reader)
        stacked = np.stack(frames.positions).astype(np.float64)
        blocks.append(Block("positions", arrays=[ArrayData(
            "positions", stacked, "Position", "angstrom",
            "Cartesian coordinates, frames × atoms × 3, as written (may be wrapped into the box)")]))
    meta.update(metadata or {})
    qty.extend(quantities or [])
    blocks.extend(extra_blocks or [])
    if not transport:
        return ParsedFile(format_id=reader, blocks=blocks, quantities=qty, metadata=meta,
                          raw_metadata=raw_metadata or {}, warnings=warnings or [])
    return _with_transport_data(path, reader, frames, transport, blocks, qty, meta, raw_metadata or {},
                                warnings or [])


def _with_transport_data(path: Path, reader: str, frames: FrameSet, transport: Mapping[str, float | None],
                         blocks: list[Block], qty: list[ScalarQuantity], meta: dict[str, Any],
                         raw_metadata: dict[str, Any], warnings: list[str]) -> TrajectoryFile:
    """The TrajectoryFile of a transport request: selected coordinates, boxes and times in memory."""
    if len(frames.positions) != frames.n_frames:  # pragma: no cover - reader bug guard
        raise FormatError(path, "internal: positions were not collected for every frame", reader=reader)
    labels = [str(s) for s in frames.species] if frames.species is not None else None
    positions: np.ndarray | None = None
    selected: list[str] | None = None
    if labels is not None:
        index = frames.keep if frames.keep is not None else np.flatnonzero(np.isin(labels, list(transport)))
        selected = [labels[i] for i in index]
        if frames.keep is not None:
            positions = np.stack(frames.positions)
        else:
            positions = np.stack([p[index] for p in frames.positions])
        frames.positions.clear()  # the per-frame arrays are copied into ``positions``: free them now
    boxes = None
    if frames.boxes and all(b is not None for b in frames.boxes):
        boxes = np.stack([np.asarray(b, dtype=np.float64) for b in frames.boxes])
    times_ps = None
    if frames.times is not None and frames.time_unit and frames.time_unit.lower() in TIME_TO_PS:
        times_ps = np.asarray(frames.times, dtype=np.float64) * TIME_TO_PS[frames.time_unit.lower()]
    return TrajectoryFile(
        format_id=reader, blocks=blocks, quantities=qty, metadata=meta, raw_metadata=raw_metadata,
        warnings=warnings, transport=dict(transport), positions=positions, atom_species=selected,
        species_present=list(dict.fromkeys(labels)) if labels is not None else [], boxes=boxes,
        times_ps=times_ps, positions_unwrapped=bool(meta.get("positions_unwrapped")))


def element_symbols(numbers: np.ndarray) -> list[str]:
    """Element symbols for atomic numbers (ASE's table; imported lazily)."""
    from ase.data import chemical_symbols

    out: list[str] = []
    for z in np.asarray(numbers).astype(int).ravel():
        out.append(chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"Z{z}")
    return out
