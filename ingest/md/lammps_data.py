"""LAMMPS data files (``read_data``/``write_data`` format): ``.data``, ``.lmp``.

Usage
    ``battkg ingest md system.data`` (format id ``md.lammps.data``); options
    ``atom_style=`` (a LAMMPS style such as ``atomic``/``full`` or a column
    list such as ``"id type x y z"``; needed only when the ``Atoms`` header
    has no ``# style`` comment) and ``units=`` (LAMMPS units style; default
    ``real``-like angstrom lengths).  A data file is also the ``topology`` of
    a dump (:mod:`battkg.ingest.md.lammps_dump`).

Schema
    Header (``N atoms``, ``N atom types``, ``xlo xhi`` ..., optional
    ``xy xz yz``), then sections; ``Atoms`` and ``Masses`` are read, atoms are
    sorted by id.  Box lengths and angles come from lo/hi and the tilt factors.

Metadata
    Shared trajectory summary (one frame); ``atom_style``; ``type_masses``
    (type → mass); ``species_counts`` by element when the ``Masses`` rows
    carry ``# Element`` comments, else by LAMMPS atom type; ``force_field``
    from a ``Pair Coeffs # style`` comment; ``software_version`` from a
    ``write_data`` title; ``has_image_flags``.

Known gaps
    Data files do not record their units style: lengths are taken as
    angstrom unless ``units=`` says otherwise (``lj`` boxes are reduced and
    not reported as BoxLength quantities).  Bonds, velocities and coefficients
    are not read (the raw file keeps them).

Sample files
    ``shared/samples/md/mdanalysis_albite_triclinic.data`` (``Atoms # atomic``
    with image flags, triclinic), ``mdanalysis_image_vf.data`` (``full``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from battkg.ingest.md._common import LENGTH_TO_ANGSTROM, FrameSet, head_text, read_lines, trajectory_file, wants_positions
from battkg.ingest.md._lammps import DataFile, box_dimensions, parse_data_file, unit_for
from battkg.readers import ParsedFile, ReaderInfo

_ATOMS_LINE = re.compile(r"^\s*\d+\s+atoms\s*$", re.MULTILINE)
_BOX_LINE = re.compile(r"\bxlo\s+xhi\b")


def _sniff(head: bytes) -> bool:
    text = head_text(head)
    return bool(_ATOMS_LINE.search(text) and _BOX_LINE.search(text))


READER = ReaderInfo(
    id="md.lammps.data",
    technique="md",
    suffixes=(".data", ".lmp"),
    description="LAMMPS data file (atoms, types, masses, orthogonal or triclinic box)",
    sniff=_sniff,
    priority=40,
)


def length_factor(units: str | None) -> float | None:
    """Angstrom per length unit of a LAMMPS units style (None for reduced lj)."""
    if units is None:
        return 1.0
    unit = unit_for(units, "distance")
    if unit == "dimensionless":
        return None
    return LENGTH_TO_ANGSTROM.get(unit, 1.0)


def species_of(data: DataFile) -> tuple[list[str], str]:
    """Element labels from ``Masses`` comments when every type has one, else LAMMPS types."""
    if data.type_labels and all(t in data.type_labels for t in set(data.types)):
        return [data.type_labels[t] for t in data.types], "element (Masses comment)"
    return list(data.types), "LAMMPS atom type"


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read a LAMMPS data file as a one-frame system description."""
    path = Path(path)
    atom_style = options.get("atom_style")
    units = options.get("units")
    data = parse_data_file(path, read_lines(path, READER.id), READER.id,
                           atom_style=str(atom_style) if atom_style else None)
    factor = length_factor(str(units) if units else None)
    dims = box_dimensions(data.lo, data.hi, data.tilt)
    species, source = species_of(data)
    frames = FrameSet(n_atoms=data.n_atoms, n_frames=1, species=species, species_source=source,
                      boxes=[None if factor is None else dims * np.array([factor] * 3 + [1.0] * 3)],
                      periodic=True)
    if wants_positions(store_positions, options):
        frames.positions.append(data.positions * (factor or 1.0))
    metadata: dict[str, Any] = {"software": "LAMMPS", "atom_style": data.atom_style,
                                "type_masses": data.masses, "has_image_flags": data.image_flags is not None}
    warnings: list[str] = []
    if data.software_version:
        metadata["software_version"] = data.software_version
    if data.force_field:
        metadata["force_field"] = data.force_field
    if units:
        metadata["units_style"] = str(units)
    else:
        warnings.append("LAMMPS data files do not record their units style: lengths taken as angstrom "
                        "(units real/metal); pass units= otherwise")
    if factor is None:
        metadata["box_reduced_units"] = dims.tolist()
    return trajectory_file(path, READER.id, frames, store_positions=store_positions, metadata=metadata,
                           raw_metadata={"title": data.title}, warnings=warnings,
                           transport=options.get("transport"))
