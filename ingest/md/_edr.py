"""GROMACS energy files (``.edr``) as a thermo time series, read with ``pyedr``.

An ``.edr`` belongs to a run, not to a structure: it has no atom count, so it is not a record of its
own.  It is attached to the GROMACS trajectory or structure of the same run with the reader option
``energies=`` (CLI ``--energies FILE.edr``), and becomes the HDF5 block ``energies``, like the thermo
table of a LAMMPS log.

Arrays
    ``time`` (Time, ps), ``temperature`` (ThermodynamicTemperature, K), ``pressure`` (Pressure, bar),
    ``potential_energy`` (PotentialEnergy, kJ/mol), ``kinetic_energy`` (KineticEnergy),
    ``total_energy`` (SystemTotalEnergy), ``conserved_energy`` (Energy), ``density`` (Density, kg/m³),
    ``volume`` (Volume, converted from nm³ to Å³: battkg knows no cubic-nanometre unit).  Every other
    term keeps its GROMACS name (``LJ (SR)``, ``Pres-XX``, ``Box-X``, ``T-Protein``...) with the unit
    pyedr reports and a quantity kind by unit (kJ/mol → Energy, bar → Pressure, nm → Length,
    K → ThermodynamicTemperature).  Terms whose unit battkg does not know (``#Surf*SurfTen`` bar nm,
    ``Mu-X`` D, ``Constr. rmsd``) are not recorded, with a warning: the ``.edr`` itself is not stored
    as a blob (its checksum is in the record's ingest options).

Block metadata
    ``energy_file`` (name), ``n_energy_frames``, ``time_first_ps``/``time_last_ps``, ``terms`` (every
    term name as written) and the mean temperature, pressure and density over the file.

Known gaps
    pyedr stops silently at a truncated frame: a file cut inside its first frame is refused, a file cut
    later gives the frames before the cut.  Free-energy (dH/dλ) blocks are not read.
"""

from __future__ import annotations

import warnings as python_warnings
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block

# GROMACS term -> (array name, quantity key)
_MAPPED: dict[str, tuple[str, str]] = {
    "Time": ("time", "Time"),
    "Temperature": ("temperature", "ThermodynamicTemperature"),
    "Pressure": ("pressure", "Pressure"),
    "Pressure (bar)": ("pressure", "Pressure"),  # GROMACS 3.x names carry their unit
    "Potential": ("potential_energy", "PotentialEnergy"),
    "Kinetic En.": ("kinetic_energy", "KineticEnergy"),
    "Total Energy": ("total_energy", "SystemTotalEnergy"),
    "Conserved En.": ("conserved_energy", "Energy"),
    "Density": ("density", "Density"),
    "Volume": ("volume", "Volume"),
}
# pyedr unit string -> (pint unit, quantity kind of an unmapped term, factor to the stored unit)
_UNITS: dict[str, tuple[str, str]] = {
    "kJ/mol": ("kilojoule/mole", "Energy"),
    "K": ("kelvin", "ThermodynamicTemperature"),
    "bar": ("bar", "Pressure"),
    "nm": ("nanometer", "Length"),
    "ps": ("picosecond", "Time"),
    "kg/m^3": ("kilogram/meter**3", "Density"),
    "nm^3": ("angstrom**3", "Volume"),  # values converted ×1000 below
}
_NM3_TO_A3 = 1000.0


_MAGIC = -55555  # first XDR int of an .edr since GROMACS 4 (file_version ≥ 2)
_MAX_TERMS = 100_000


def _check_header(path: Path, reader: str) -> None:
    """Refuse a file that does not start like an .edr before pyedr sees it.

    pyedr trusts the term count of the first bytes (old files start with it), so a text file would make
    it allocate gigabytes; the magic number or a plausible count plus a printable first term name is
    required here."""
    with open(path, "rb") as handle:
        head = handle.read(12 + 4 + 256)
    ints = np.frombuffer(head[: len(head) // 4 * 4], dtype=">i4")
    if len(ints) >= 3 and ints[0] == _MAGIC and 1 <= ints[1] <= 64 and 0 < ints[2] <= _MAX_TERMS:
        name_at = 12
    elif len(ints) >= 1 and 0 < ints[0] <= _MAX_TERMS:
        name_at = 4  # GROMACS 3.x: the term count comes first
    else:
        raise FormatError(path, "not a GROMACS .edr energy file (no energy-names magic number -55555 or term "
                          "count at the start)", field="energies", reader=reader)
    length = int(np.frombuffer(head[name_at:name_at + 4], dtype=">i4")[0]) if len(head) >= name_at + 4 else 0
    name = head[name_at + 4:name_at + 4 + length]
    if not 0 < length <= 255 or len(name) < length or not all(32 <= b < 127 for b in name):
        raise FormatError(path, "not a GROMACS .edr energy file (the first energy-term name is not readable)",
                          field="energies", reader=reader)


def read_energies(path: Path, reader: str) -> tuple[Block, list[str]]:
    """The ``energies`` Block of a GROMACS ``.edr`` file, and warnings (see the module docstring)."""
    import pyedr

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FormatError(path, f"cannot read energy file: {exc.strerror or exc}", field="energies",
                          reader=reader) from exc
    if not head:
        raise FormatError(path, "energy file is empty", field="energies", reader=reader)
    _check_header(path, reader)
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")  # "Note: enx file_version N": old files read fine
            energies, names, times = pyedr.read_edr(str(path), verbose=False)
            units = pyedr.get_unit_dictionary(str(path))
    except Exception as exc:  # pyedr raises bare EOFError/ValueError/struct.error on non-EDR input
        raise FormatError(path, f"not a readable GROMACS .edr energy file: {type(exc).__name__}: {exc}",
                          field="energies", reader=reader) from exc
    if not times:
        raise FormatError(path, "no complete energy frame (truncated or empty .edr)", field="energies",
                          reader=reader)
    table = np.asarray(energies, dtype=np.float64).reshape(len(times), len(names))
    time = np.asarray(times, dtype=np.float64)
    arrays = [ArrayData("time", time, "Time", "picosecond", "GROMACS energy frame time")]
    unknown: list[str] = []
    for column, term in enumerate(names):
        if term == "Time":  # pyedr lists the frame time as the first term
            continue
        unit = units.get(term, "")
        values = table[:, column]
        name, quantity = _MAPPED.get(term, (term.replace("/", "_"), ""))
        if unit not in _UNITS:
            unknown.append(f"{term} ({unit or 'no unit'})")
            continue
        pint_unit, kind = _UNITS[unit]
        if unit == "nm^3":
            values = values * _NM3_TO_A3
        arrays.append(ArrayData(name, values, quantity or kind, pint_unit,
                                f"GROMACS energy term '{term}' ({unit}{', converted to Å³' if unit == 'nm^3' else ''})"))
    meta: dict[str, Any] = {"energy_file": path.name, "n_energy_frames": int(time.size),
                            "time_first_ps": float(time[0]), "time_last_ps": float(time[-1]), "terms": list(names)}
    for term, key in (("Temperature", "mean_temperature_K"), ("Pressure", "mean_pressure_bar"),
                      ("Density", "mean_density_kg_m3")):
        if term in names:
            meta[key] = float(table[:, names.index(term)].mean())
    warnings = []
    if unknown:
        warnings.append(f"{len(unknown)} energy term(s) of {path.name} without a unit battkg knows not recorded "
                        f"(the .edr is not stored): {', '.join(unknown[:6])}{' ...' if len(unknown) > 6 else ''}")
    return Block("energies", arrays=arrays, metadata=meta), warnings
