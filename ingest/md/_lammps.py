"""LAMMPS pieces shared by the dump, data and log readers.

* :data:`UNIT_STYLES`: the unit of each kind of quantity in each LAMMPS
  ``units`` style (LAMMPS manual, ``units`` command).  ``lj`` is reduced:
  every value is dimensionless in units of σ, ε, τ, m, so its unit strings
  are ``"dimensionless"`` and blocks say ``reduced_units: True``.
* :func:`parse_data_file`: a LAMMPS data file (``write_data``) to atoms,
  types, masses and box.
* :func:`box_dimensions`: ``[a b c α β γ]`` from LAMMPS lo/hi and tilt factors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from battkg.errors import FormatError

# kind -> pint unit string, per LAMMPS units style.  ``None`` = the LAMMPS
# manual gives no unit for that kind in that style (kept as unknown "").
UNIT_STYLES: dict[str, dict[str, str | None]] = {
    "real": {"time": "fs", "energy": "kcal/mol", "temperature": "K", "pressure": "atm",
             "volume": "angstrom**3", "density": "g/cm**3", "distance": "angstrom"},
    "metal": {"time": "ps", "energy": "eV", "temperature": "K", "pressure": "bar",
              "volume": "angstrom**3", "density": "g/cm**3", "distance": "angstrom"},
    "si": {"time": "s", "energy": "J", "temperature": "K", "pressure": "Pa",
           "volume": "m**3", "density": "kg/m**3", "distance": "m"},
    "cgs": {"time": "s", "energy": "erg", "temperature": "K", "pressure": "dyne/cm**2",
            "volume": "cm**3", "density": "g/cm**3", "distance": "cm"},
    "electron": {"time": "fs", "energy": "hartree", "temperature": "K", "pressure": "Pa",
                 "volume": "bohr**3", "density": None, "distance": "bohr"},
    "micro": {"time": "microsecond", "energy": "picogram*micrometer**2/microsecond**2", "temperature": "K",
              "pressure": "picogram/(micrometer*microsecond**2)", "volume": "micrometer**3",
              "density": "picogram/micrometer**3", "distance": "micrometer"},
    "nano": {"time": "ns", "energy": "attogram*nm**2/ns**2", "temperature": "K",
             "pressure": "attogram/(nm*ns**2)", "volume": "nm**3", "density": "attogram/nm**3",
             "distance": "nm"},
    "lj": {kind: "dimensionless" for kind in ("time", "energy", "temperature", "pressure", "volume",
                                              "density", "distance")},
}


def unit_for(style: str, kind: str) -> str:
    """Pint unit string of ``kind`` in a LAMMPS units style ("" when unknown)."""
    if kind == "dimensionless":
        return "dimensionless"
    if kind == "cpu_time":
        return "s"  # CPU and wall-clock columns are always seconds
    return UNIT_STYLES.get(style, {}).get(kind) or ""


def box_dimensions(lo: np.ndarray, hi: np.ndarray, tilt: np.ndarray | None) -> np.ndarray:
    """``[a, b, c, α, β, γ]`` from the LAMMPS box (lo/hi corners and xy, xz, yz tilts)."""
    lx, ly, lz = (hi - lo).astype(np.float64)
    xy, xz, yz = (0.0, 0.0, 0.0) if tilt is None else (float(t) for t in tilt)
    a = lx
    b = np.sqrt(ly * ly + xy * xy)
    c = np.sqrt(lz * lz + xz * xz + yz * yz)
    alpha = np.degrees(np.arccos((xy * xz + ly * yz) / (b * c)))
    beta = np.degrees(np.arccos(xz / c))
    gamma = np.degrees(np.arccos(xy / b))
    return np.array([a, b, c, alpha, beta, gamma])


def lammps_cell(lo: np.ndarray, hi: np.ndarray, tilt: np.ndarray | None) -> np.ndarray:
    """3×3 row-vector cell (a, b, c) of a LAMMPS box."""
    lx, ly, lz = (hi - lo).astype(np.float64)
    xy, xz, yz = (0.0, 0.0, 0.0) if tilt is None else (float(t) for t in tilt)
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


# Column layout of the ``Atoms`` section per atom_style (LAMMPS ``read_data``).
# Only what we use is named: id, type, x y z; other fields are placeholders.
ATOM_STYLES: dict[str, tuple[str, ...]] = {
    "atomic": ("id", "type", "x", "y", "z"),
    "charge": ("id", "type", "q", "x", "y", "z"),
    "full": ("id", "mol", "type", "q", "x", "y", "z"),
    "molecular": ("id", "mol", "type", "x", "y", "z"),
    "bond": ("id", "mol", "type", "x", "y", "z"),
    "angle": ("id", "mol", "type", "x", "y", "z"),
    "dipole": ("id", "type", "q", "x", "y", "z", "mux", "muy", "muz"),
    "sphere": ("id", "type", "diameter", "density", "x", "y", "z"),
    "ellipsoid": ("id", "type", "ellipsoidflag", "density", "x", "y", "z"),
}

_HEADER_COUNT = re.compile(r"^\s*(\d+)\s+(atoms|atom types|bonds|angles|dihedrals|impropers|bond types|"
                           r"angle types|dihedral types|improper types)\s*$")
_HEADER_BOX = re.compile(r"^\s*(\S+)\s+(\S+)\s+(xlo xhi|ylo yhi|zlo zhi)\s*$")
_HEADER_TILT = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+xy xz yz\s*$")
_VERSION = re.compile(r"LAMMPS data file.*?version\s+([^,]+?)\s*(?:,|$)")


@dataclass
class DataFile:
    """What a LAMMPS data file says about the system (atoms sorted by id)."""

    n_atoms: int
    ids: np.ndarray
    types: list[str]
    positions: np.ndarray  # n_atoms × 3, as written (wrapped), distance units of the style
    lo: np.ndarray
    hi: np.ndarray
    tilt: np.ndarray | None
    atom_style: str
    masses: dict[str, float] = field(default_factory=dict)
    type_labels: dict[str, str] = field(default_factory=dict)  # from "# Al" comments in Masses
    image_flags: np.ndarray | None = None
    title: str = ""
    software_version: str | None = None
    force_field: str | None = None  # from a "Pair Coeffs # lj/cut" comment


def _style_columns(style: str, path: Path, reader: str, line: int | None) -> tuple[str, ...]:
    """Columns of an atom_style name or of an explicit column list ("id type x y z")."""
    name = style.strip()
    if name in ATOM_STYLES:
        return ATOM_STYLES[name]
    columns = tuple(name.split())
    if {"id", "type", "x", "y", "z"} <= set(columns):
        return columns
    raise FormatError(path, f"unknown atom_style {style!r}; known: {', '.join(ATOM_STYLES)} or a column list "
                      "such as 'id type x y z'", line=line, field="atom_style", reader=reader)


def parse_data_file(path: Path, lines: list[str], reader: str, atom_style: str | None = None) -> DataFile:
    """Parse a LAMMPS data file.

    The ``Atoms`` column layout comes from ``atom_style`` when given (a style
    name or a column list), else from the ``Atoms # style`` comment that
    ``write_data`` writes; without either the file is ambiguous and a
    :class:`FormatError` asks for ``atom_style=``.
    """
    if not lines or not any(line.strip() for line in lines):
        raise FormatError(path, "file is empty", reader=reader)
    title = lines[0].strip()
    version = _VERSION.search(title)
    counts: dict[str, int] = {}
    lo = np.zeros(3)
    hi = np.zeros(3)
    seen_box = set()
    tilt: np.ndarray | None = None
    sections: dict[str, tuple[int, str]] = {}  # name -> (header line index, comment)
    i = 1
    while i < len(lines):
        body = lines[i].split("#", 1)[0].strip()
        if not body:
            i += 1
            continue
        match = _HEADER_COUNT.match(body)
        if match:
            counts[match.group(2)] = int(match.group(1))
        elif (box := _HEADER_BOX.match(body)) is not None:
            axis = "xyz".index(box.group(3)[0])
            try:
                lo[axis], hi[axis] = float(box.group(1)), float(box.group(2))
            except ValueError:
                raise FormatError(path, f"non-numeric box bound in {body!r}", line=i + 1, reader=reader) from None
            seen_box.add(axis)
        elif (tilts := _HEADER_TILT.match(body)) is not None:
            try:
                tilt = np.array([float(tilts.group(k)) for k in (1, 2, 3)])
            except ValueError:
                raise FormatError(path, f"non-numeric tilt factor in {body!r}", line=i + 1, reader=reader) from None
        elif body[0].isalpha():
            break  # first section keyword ends the header
        i += 1
    while i < len(lines):
        text = lines[i].strip()
        if text and text[0].isalpha():
            name, _, comment = text.partition("#")
            sections[name.strip()] = (i, comment.strip())
        i += 1
    if "atoms" not in counts:
        raise FormatError(path, "no 'N atoms' line in the header: not a LAMMPS data file", reader=reader)
    if len(seen_box) != 3:
        raise FormatError(path, "box bounds (xlo xhi, ylo yhi, zlo zhi) missing from the header", reader=reader)
    n_atoms = counts["atoms"]
    if "Atoms" not in sections:
        raise FormatError(path, "no 'Atoms' section", reader=reader)
    atoms_at, style_comment = sections["Atoms"]
    style = atom_style or style_comment
    if not style:
        raise FormatError(path, "the Atoms section does not name its atom_style; pass atom_style= "
                          "(e.g. 'atomic', 'full', or 'id type x y z')", line=atoms_at + 1,
                          field="atom_style", reader=reader)
    columns = _style_columns(style, path, reader, atoms_at + 1)
    rows = _section_rows(path, lines, atoms_at, n_atoms, reader, "Atoms")
    ids = np.empty(n_atoms, dtype=np.int64)
    types: list[str] = []
    pos = np.empty((n_atoms, 3))
    images = np.zeros((n_atoms, 3), dtype=np.int64)
    has_images = False
    col = {name: k for k, name in enumerate(columns)}
    for j, (line_no, parts) in enumerate(rows):
        if len(parts) not in (len(columns), len(columns) + 3):
            raise FormatError(path, f"Atoms row has {len(parts)} field(s); atom_style {style!r} expects "
                              f"{len(columns)} (or {len(columns) + 3} with image flags)", line=line_no,
                              field="atom_style", reader=reader)
        try:
            ids[j] = int(parts[col["id"]])
            pos[j] = [float(parts[col[c]]) for c in ("x", "y", "z")]
            if len(parts) == len(columns) + 3:
                images[j] = [int(v) for v in parts[-3:]]
                has_images = True
        except ValueError:
            raise FormatError(path, f"non-numeric value in Atoms row {' '.join(parts)!r}", line=line_no,
                              reader=reader) from None
        types.append(parts[col["type"]])
    order = np.argsort(ids, kind="stable")  # LAMMPS writes atoms in any order; ids are the identity
    masses: dict[str, float] = {}
    labels: dict[str, str] = {}
    if "Masses" in sections:
        n_types = counts.get("atom types", 0)
        for line_no, parts in _section_rows(path, lines, sections["Masses"][0], n_types, reader, "Masses"):
            try:
                masses[parts[0]] = float(parts[1])
            except (ValueError, IndexError):
                raise FormatError(path, "Masses row must be 'type mass'", line=line_no, reader=reader) from None
            comment = lines[line_no - 1].partition("#")[2].strip()
            if comment:
                labels[parts[0]] = comment.split()[0]
    force_field = None
    for name in ("Pair Coeffs", "PairIJ Coeffs"):
        if name in sections and sections[name][1]:
            force_field = sections[name][1]
    return DataFile(
        n_atoms=n_atoms, ids=ids[order], types=[types[k] for k in order], positions=pos[order], lo=lo, hi=hi,
        tilt=tilt, atom_style=style, masses=masses, type_labels=labels,
        image_flags=images[order] if has_images else None, title=title,
        software_version=version.group(1).strip() if version else None, force_field=force_field,
    )


def _section_rows(path: Path, lines: list[str], header_at: int, n_rows: int, reader: str,
                  name: str) -> list[tuple[int, list[str]]]:
    """The ``n_rows`` data rows after a section header: (1-based line, fields)."""
    rows: list[tuple[int, list[str]]] = []
    i = header_at + 1
    while i < len(lines) and len(rows) < n_rows:
        body = lines[i].split("#", 1)[0].strip()
        if body:
            if body[0].isalpha():
                break
            rows.append((i + 1, body.split()))
        i += 1
    if len(rows) != n_rows:
        raise FormatError(path, f"section {name} has {len(rows)} row(s), the header announces {n_rows} "
                          "(truncated file?)", line=min(i, len(lines)), reader=reader)
    return rows
