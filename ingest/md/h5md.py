"""H5MD trajectories (HDF5, h5md.nongnu.org specification 1.1): ``.h5md``, ``.h5``.

Usage
    ``battkg ingest md traj.h5md`` (format id ``md.h5md``); options
    ``particles_group=`` (default: the first group under ``/particles``),
    ``store_positions=True``.

Schema
    Read with h5py.  ``/particles/<group>/position`` (time-dependent
    ``value``/``step``/``time`` or fixed), ``box`` (``edges`` as a vector or a
    3×3 matrix, time-dependent or fixed; ``boundary`` attribute),
    ``species`` (atomic numbers when integer-valued, else labels).  Every
    element under ``/observables`` with a ``value`` dataset becomes a Block
    with ``step``, ``time`` and the value array.  Units come from the
    datasets' ``unit`` attributes (``Angstrom``/``nm`` lengths converted to
    angstrom; times kept in the file's unit, e.g. fs).

Metadata
    Shared trajectory summary; ``software`` and ``software_version`` from
    ``/h5md/creator``; ``author`` from ``/h5md/author``; ``h5md_version``;
    ``particles_group``; ``observables`` (their paths).  Observable
    quantity keys: ``energy``/``potential_energy`` → PotentialEnergy,
    ``total_energy`` → SystemTotalEnergy, ``temperature`` → ThermodynamicTemperature,
    ``pressure`` → Pressure, ``volume`` → Volume, ``density`` → Density;
    others keep their name with quantity ``""``.

Known gaps
    Only the first particles group is summarised (pass ``particles_group=``
    for another).  Velocities, forces and momenta are not copied.

Sample files
    ``shared/samples/md/mdanalysis_cu.h5md`` (ZnH5MD: 108 Cu atoms, 20
    frames 1 fs apart, energy observable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import (
    LENGTH_TO_ANGSTROM,
    FrameSet,
    cell_to_dimensions,
    element_symbols,
    trajectory_file,
    wants_positions,
)
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="md.h5md",
    technique="md",
    suffixes=(".h5md", ".h5", ".hdf5"),
    description="H5MD (HDF5) trajectory with particles, box and observables",
    magic=(b"\x89HDF\r\n\x1a\n",),
    priority=45,  # other techniques' HDF5 readers live in other packages; within md, H5MD is the HDF5 format
)

_OBSERVABLE_KEYS = {"energy": "PotentialEnergy", "potential_energy": "PotentialEnergy",
                    "total_energy": "SystemTotalEnergy", "temperature": "ThermodynamicTemperature",
                    "pressure": "Pressure", "volume": "Volume", "density": "Density"}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.item())
    return str(value)


def _unit(dataset: Any) -> str | None:
    unit = dataset.attrs.get("unit")
    return None if unit is None else _text(unit).strip()


def _element(group: Any) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(step, time, value) of an H5MD element: a time-dependent group or a fixed dataset."""
    if hasattr(group, "keys") and "value" in group:
        step = np.asarray(group["step"]) if "step" in group else None
        time = np.asarray(group["time"]) if "time" in group else None
        return step, time, group["value"]
    return None, None, group


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read an H5MD file (see the module docstring)."""
    from battkg.hdf5_input import open_input_hdf5

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise FormatError(path, "file is empty" if path.exists() else "file does not exist", reader=READER.id)
    with open_input_hdf5(path, READER.id) as handle:
        return _read_open(path, handle, store_positions, options)


def _read_open(path: Path, f: Any, store_positions: bool, options: dict[str, Any]) -> ParsedFile:
    if "h5md" not in f or "particles" not in f:
        raise FormatError(path, "HDF5 file is not H5MD: '/h5md' or '/particles' group missing", reader=READER.id)
    meta: dict[str, Any] = {}
    h5md = f["h5md"]
    if "version" in h5md.attrs:
        meta["h5md_version"] = ".".join(str(int(v)) for v in np.ravel(h5md.attrs["version"]))
    if "creator" in h5md:
        creator = h5md["creator"].attrs
        if "name" in creator:
            meta["software"] = _text(creator["name"])
        if "version" in creator:
            meta["software_version"] = _text(creator["version"])
    if "author" in h5md and "name" in h5md["author"].attrs:
        author = _text(h5md["author"].attrs["name"])
        if author.strip().upper() not in ("", "N/A", "NONE"):  # ZnH5MD writes "N/A" placeholders
            meta["author"] = author
    groups = list(f["particles"].keys())
    name = str(options.get("particles_group") or (groups[0] if groups else ""))
    if name not in f["particles"]:
        raise FormatError(path, f"no particles group {name!r}; groups: {', '.join(groups) or 'none'}",
                          field="particles_group", reader=READER.id)
    meta["particles_group"] = name
    particles = f["particles"][name]
    if "position" not in particles:
        raise FormatError(path, f"/particles/{name} has no 'position' element", reader=READER.id)
    try:
        steps, times, values = _element(particles["position"])
        shape = values.shape
        if len(shape) == 2:  # fixed positions: one frame
            shape = (1, *shape)
        if len(shape) != 3 or shape[2] not in (2, 3):
            raise FormatError(path, f"position value has shape {values.shape}, expected (frames, atoms, 3)",
                              field="position", reader=READER.id)
        n_frames, n_atoms = int(shape[0]), int(shape[1])
        for label, series in (("step", steps), ("time", times)):
            if series is not None and series.ndim == 1 and series.shape[0] != n_frames:
                raise FormatError(path, f"position/{label} has {series.shape[0]} entries for {n_frames} frames "
                                  "(truncated file?)", field="position", reader=READER.id)
        length_unit = _unit(values) or "angstrom"
        factor = LENGTH_TO_ANGSTROM.get(length_unit.lower())
        if factor is None:
            raise FormatError(path, f"unknown position unit {length_unit!r}", field="position", reader=READER.id)
        time_unit = _unit(particles["position"]["time"]) if times is not None and times.ndim else None
        frames = FrameSet(n_atoms=n_atoms, n_frames=n_frames)
        if steps is not None and steps.ndim == 1:
            frames.steps = steps.astype(np.int64)
        if times is not None and times.ndim == 1 and time_unit:
            frames.times, frames.time_unit = times.astype(np.float64), time_unit
        frames.boxes, frames.periodic = _boxes(particles, n_frames, factor)
        if "species" in particles:
            _, _, species = _element(particles["species"])
            first = np.asarray(species[0] if species.ndim == 2 else species[()])
            if first.dtype.kind in "iuf" and np.allclose(first, np.round(first)):
                frames.species, frames.species_source = element_symbols(first), "element (atomic number)"
            else:
                frames.species, frames.species_source = [_text(s) for s in first], "species label as written"
        if wants_positions(store_positions, options):
            data = np.asarray(values, dtype=np.float64).reshape(n_frames, n_atoms, -1) * factor
            frames.positions = list(data)
        blocks = _observables(path, f)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError) as exc:  # h5py raises OSError on truncated chunks
        raise FormatError(path, f"H5MD content unreadable (truncated or corrupt?): {exc}", reader=READER.id) from exc
    meta["observables"] = [b.name for b in blocks]
    return trajectory_file(path, READER.id, frames, store_positions=store_positions, metadata=meta,
                           extra_blocks=blocks, transport=options.get("transport"))


def _boxes(particles: Any, n_frames: int, factor: float) -> tuple[list[np.ndarray | None], bool | None]:
    if "box" not in particles:
        return [None] * n_frames, None
    box = particles["box"]
    boundary = box.attrs.get("boundary")
    periodic = None if boundary is None else all(_text(b) == "periodic" for b in np.ravel(boundary))
    if "edges" not in box or periodic is False:
        return [None] * n_frames, periodic
    _, _, edges_ds = _element(box["edges"])
    # The box may carry its own unit; fall back to the positions' unit.
    scale = LENGTH_TO_ANGSTROM.get((_unit(edges_ds) or "").lower(), factor)
    edges = np.asarray(edges_ds, dtype=np.float64)
    if edges.ndim in (1, 2) and edges.shape[-1] == 3 and (edges.ndim == 1 or edges.shape == (3, 3)):
        edges = np.broadcast_to(edges, (n_frames, *edges.shape))  # fixed box
    out: list[np.ndarray | None] = []
    for frame in edges[:n_frames]:
        cell = np.diag(frame) if frame.ndim == 1 else frame
        out.append(cell_to_dimensions(cell) * np.array([scale] * 3 + [1.0] * 3))
    return out, periodic


def _observables(path: Path, f: Any) -> list[Block]:
    """One Block per observable (its own step/time grid)."""
    if "observables" not in f:
        return []
    found: list[tuple[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        if hasattr(obj, "keys") and "value" in obj:
            found.append((name, obj))

    f["observables"].visititems(visit)
    blocks: list[Block] = []
    for name, group in found:
        steps, times, values = _element(group)
        base = name.rsplit("/", 1)[-1]
        arrays: list[ArrayData] = []
        if steps is not None:
            arrays.append(ArrayData("step", steps.astype(np.int64), "Step", "dimensionless", "MD step"))
        if times is not None:
            arrays.append(ArrayData("time", times.astype(np.float64), "Time",
                                    _unit(group["time"]) or "", "simulation time"))
        arrays.append(ArrayData(base, np.asarray(values, dtype=np.float64), _OBSERVABLE_KEYS.get(base.lower(), ""),
                                _unit(values) or "", f"H5MD observable /observables/{name}"))
        blocks.append(Block(f"observables/{name}", arrays=arrays, metadata={"h5md_path": f"/observables/{name}"}))
    return blocks
