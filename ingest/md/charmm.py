"""CHARMM/NAMD trajectories: ``.dcd`` with a ``.psf`` topology.

Usage
    ``battkg ingest md traj.dcd --topology system.psf`` (format id
    ``md.charmm.dcd``); ``store_positions=True`` keeps coordinates.

Schema
    DCD (Fortran unformatted, CHARMM/NAMD/LAMMPS/OpenMM): a header with the
    atom count, ``ISTART`` (step of the first frame), ``NSAVC`` (steps between
    frames), ``DELTA`` (integration timestep, AKMA time units) and title
    remarks, then one record per frame: an optional unit cell and the x, y, z
    coordinates (angstrom, float32).  The header is read with MDAnalysis'
    ``libdcd``; frames are streamed one by one with MDAnalysis' ``DCDReader``,
    which converts the unit cell of every CHARMM/NAMD variant to
    ``[a b c α β γ]``.  The PSF (standard, ``EXT`` and NAMD variants) is parsed
    by MDAnalysis' ``PSFParser`` after this reader checks its ``!NATOM``
    section, so a short file is reported with its line.

Metadata
    Shared trajectory summary; ``step`` (ISTART + k × NSAVC) and ``time``
    (ps) per frame; ``Timestep`` "integration" (DELTA) and "between frames"
    (DELTA × NSAVC); ``SimulatedTime``.  ``species_counts`` by element when
    every PSF mass is the standard atomic weight of an element (within
    0.01 u; ``species_source`` says so), else by PSF atom type;
    ``residue_counts`` and ``segment_counts``; ``psf_format``
    (standard/extended/NAMD); ``software`` ``NAMD`` or ``CHARMM`` when the DCD
    remarks or the PSF title name it; the remarks are kept in
    ``raw_metadata``.

Known gaps
    A DCD without a PSF gives atom count, frames, box and time but no species.
    Bonds and charges of the PSF are not recorded.  Fixed-atom DCDs (free-atom
    lists) are refused by libdcd.

Sample files
    None in ``shared/samples/md``; the tests write a PSF by hand and a DCD with
    MDAnalysis' ``DCDWriter``.
"""

from __future__ import annotations

import re
import warnings as python_warnings
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import FrameSet, read_lines, species_counts, trajectory_file, wants_positions
from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="md.charmm.dcd",
    technique="md",
    suffixes=(".dcd",),
    description="CHARMM/NAMD DCD trajectory (with a .psf topology)",
    # Fortran record marker 84 then "CORD", little- or big-endian.
    magic=(b"T\x00\x00\x00CORD", b"\x00\x00\x00TCORD"),
    priority=40,
    file_options=("topology",),
)

_AKMA_TO_PS = 4.888821e-2  # 1 AKMA time unit = 48.88821 fs (CHARMM documentation, "usage")
_MASS_TOLERANCE = 0.01  # u: CHARMM/NAMD parameter files give standard atomic weights to 3 decimals
_SOFTWARE = re.compile(r"\b(NAMD|CHARMM)\b", re.IGNORECASE)


def _check_complete(path: Path, n_atoms: int, periodic: bool, n_dims: int) -> int:
    """Number of complete frames; a FormatError when the file ends inside a frame.

    libdcd counts frames by integer division of the file size and silently drops a cut last frame,
    so the header's three Fortran records are walked here and the rest must be whole frames."""
    data_start = 0
    with open(path, "rb") as handle:
        first = handle.read(4)
        order = "<" if int.from_bytes(first, "little") == 84 else ">"
        handle.seek(0)
        for _ in range(3):  # the CORD header, the title, the atom count
            marker = handle.read(4)
            if len(marker) < 4:
                raise FormatError(path, "truncated DCD header", reader=READER.id)
            length = int(np.frombuffer(marker, dtype=f"{order}i4")[0])
            data_start += length + 8
            handle.seek(data_start)
    frame_size = (56 if periodic else 0) + n_dims * (8 + 4 * n_atoms)
    body = path.stat().st_size - data_start
    complete, rest = divmod(body, frame_size)
    if rest:
        raise FormatError(path, f"truncated DCD file: {complete} complete frame(s), then {rest} byte(s) of a cut "
                          f"frame ({frame_size} bytes each)", reader=READER.id)
    return complete


def _check_psf(path: Path) -> tuple[int, str, list[str]]:
    """Atom count, PSF flavour and title remarks, checking the ``!NATOM`` section is complete."""
    lines = read_lines(path, READER.id)
    if not lines[0].startswith("PSF"):
        raise FormatError(path, f"a PSF file starts with 'PSF', found {lines[0].strip()[:40]!r}", line=1,
                          reader=READER.id)
    flags = lines[0][3:].split()
    flavour = "NAMD" if "NAMD" in flags else "extended" if "EXT" in flags else "standard"
    title: list[str] = []
    for number, line in enumerate(lines, start=1):
        if "!NTITLE" in line:
            try:
                n_title = int(line.split()[0])
            except ValueError:
                raise FormatError(path, "!NTITLE line must start with the number of title lines", line=number,
                                  reader=READER.id) from None
            title = [t.strip() for t in lines[number:number + n_title]]
        if "!NATOM" in line:
            try:
                n_atoms = int(line.split()[0])
            except ValueError:
                raise FormatError(path, "!NATOM line must start with the atom count", line=number,
                                  reader=READER.id) from None
            rows = lines[number:number + n_atoms]
            for k, row in enumerate(rows):
                if len(row.split()) < 8:
                    raise FormatError(path, f"atom line {k + 1} of {n_atoms} needs id, segment, residue number, "
                                      "residue name, atom name, type, charge and mass", line=number + k + 1,
                                      reader=READER.id)
            if len(rows) < n_atoms:
                raise FormatError(path, f"!NATOM announces {n_atoms} atom lines, {len(rows)} present "
                                  "(truncated file?)", line=len(lines), reader=READER.id)
            return n_atoms, flavour, title
    raise FormatError(path, "no !NATOM section: not a PSF topology", reader=READER.id)


def _species_by_mass(masses: np.ndarray, types: list[str]) -> tuple[list[str], str]:
    """Elements when every mass is an element's standard atomic weight, else the PSF atom types.

    Atom types (CHARMM ``CG2O1``, ``LIT``) are force-field names, not elements; masses are explicit in a
    PSF, so they identify the element unless the model uses united atoms or isotopes (then: types)."""
    from ase.data import atomic_masses, chemical_symbols

    reference = np.asarray(atomic_masses[1:])
    index = np.abs(masses[:, None] - reference[None, :]).argmin(axis=1)
    if np.all(np.abs(reference[index] - masses) <= _MASS_TOLERANCE):
        return [chemical_symbols[k + 1] for k in index], "element from the PSF atomic mass"
    return list(types), "PSF atom type"


def _read_psf(path: Path, n_dcd_atoms: int, dcd: Path) -> tuple[list[str], str, dict[str, Any]]:
    """Species, their source and metadata of a PSF topology of ``n_dcd_atoms`` atoms."""
    from MDAnalysis.topology.PSFParser import PSFParser

    n_atoms, flavour, title = _check_psf(path)
    if n_atoms != n_dcd_atoms:
        raise FormatError(dcd, f"topology {path.name} has {n_atoms} atoms, the trajectory has {n_dcd_atoms}",
                          field="topology", reader=READER.id)
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            with PSFParser(str(path)) as parser:
                topology = parser.parse()
    except Exception as exc:  # MDAnalysis raises ValueError/IndexError for malformed fixed-width lines
        raise FormatError(path, f"malformed PSF: {type(exc).__name__}: {exc}", reader=READER.id) from exc
    masses = np.asarray(topology.masses.values, dtype=np.float64)
    species, source = _species_by_mass(masses, [str(t) for t in topology.types.values])
    meta: dict[str, Any] = {
        "topology": path.name, "psf_format": flavour,
        "residue_counts": species_counts(list(topology.resnames.values)),
        "segment_counts": species_counts(list(topology.segids.values)),
    }
    return species, source, {"meta": meta, "title": title}


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read a DCD trajectory, with a PSF topology for species (see the module docstring)."""
    from MDAnalysis.coordinates.DCD import DCDReader
    from MDAnalysis.lib.formats.libdcd import DCDFile

    path = Path(path)
    try:
        with DCDFile(str(path)) as handle:
            header = dict(handle.header)
            n_dims = int(handle.ndims)
    except (OSError, IOError, ValueError, RuntimeError) as exc:
        raise FormatError(path, f"not a readable DCD file: {exc}", reader=READER.id) from exc
    n_atoms, nsavc, istart = int(header["natoms"]), int(header["nsavc"]), int(header["istart"])
    _check_complete(path, n_atoms, bool(header["is_periodic"]), n_dims)
    remarks = str(header.get("remarks") or "").strip()
    meta: dict[str, Any] = {}
    raw: dict[str, Any] = {"dcd_remarks": remarks} if remarks else {}
    warnings: list[str] = []
    frames = FrameSet(n_atoms=n_atoms, n_frames=0, time_unit="ps")
    titles = remarks
    if topology is not None:
        topology = Path(topology)
        if topology.suffix.lower() != ".psf":
            raise FormatError(topology, "the topology of a DCD must be a .psf file", field="topology",
                              reader=READER.id)
        frames.species, frames.species_source, psf = _read_psf(topology, n_atoms, path)
        meta.update(psf["meta"])
        raw["psf_title"] = psf["title"]
        titles += " " + " ".join(psf["title"])
        frames.select_species(options.get("transport"), store_positions)
    else:
        warnings.append("no topology given: species unknown (pass topology= a .psf file)")
    software = _SOFTWARE.search(titles)
    if software:
        meta["software"] = software.group(1).upper()
    # DELTA is the integration timestep; frame k is step ISTART + k·NSAVC (CHARMM's convention).
    # DELTA is float32 in the file: keep its 7 significant digits, not the float32 rounding noise.
    timestep_ps = float(f"{float(header['delta']) * _AKMA_TO_PS:.7g}")
    collect = wants_positions(store_positions, options)
    boxes: list[np.ndarray | None] = []
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore", DeprecationWarning)  # DCDReader's copy-timestep notice
            reader = DCDReader(str(path))
        try:
            for ts in reader:
                dims = ts.dimensions
                boxes.append(None if dims is None or not np.all(np.asarray(dims[:3]) > 0)
                             else np.asarray(dims, dtype=np.float64))
                if collect:
                    frames.add_positions(ts.positions)
        finally:
            reader.close()
    except FormatError:
        raise
    except (OSError, IOError, ValueError, RuntimeError, EOFError) as exc:
        raise FormatError(path, f"truncated or corrupt DCD file after {len(boxes)} complete frame(s): {exc}",
                          reader=READER.id) from exc
    if not boxes:
        raise FormatError(path, "no complete DCD frame", reader=READER.id)
    steps = istart + nsavc * np.arange(len(boxes), dtype=np.int64)
    frames.n_frames, frames.boxes, frames.steps = len(boxes), boxes, steps
    frames.times = steps.astype(np.float64) * timestep_ps
    frames.periodic = any(b is not None for b in boxes)
    meta["dcd_nsavc"], meta["dcd_istart"] = nsavc, istart
    return trajectory_file(path, READER.id, frames, store_positions=store_positions, metadata=meta,
                           raw_metadata=raw, warnings=warnings, transport=options.get("transport"))
