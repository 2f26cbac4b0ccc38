"""LAMMPS log files: thermo output of every run, ``thermo_style custom``/``one`` and ``multi``.

Usage
    ``battkg ingest md log.lammps`` (format id ``md.lammps.log``); option
    ``units=`` (LAMMPS units style) is needed only when the log has no
    ``units`` command and no ``tau/day`` performance line (see below).

Schema
    The log echoes the input script, then for every ``run``/``minimize`` a
    thermo section: ``custom``/``one`` style is a header line of keywords
    (``Step Temp PotEng ...``) followed by one row per output step;
    ``multi`` style is a ``---- Step N ----- CPU = t (sec) ----`` line followed
    by ``Key = value`` lines.  A section ends at ``Loop time of ...``.  Each
    run becomes one Block (``run 0``, ``run 1``...), even when a later run
    repeats the previous run's last step, because the runs may differ in
    ensemble, thermo keywords or timestep.

Units
    The LAMMPS ``units`` style decides every unit string (table in
    :mod:`battkg.ingest.md._lammps`): e.g. ``real`` → fs, kcal/mol, atm;
    ``metal`` → ps, eV, bar; ``lj`` → reduced, labelled ``dimensionless`` and
    flagged ``reduced_units: True``.  The style is taken from the ``units``
    command; failing that, a ``Performance: ... tau/day`` line proves ``lj``
    (LAMMPS prints tau only for lj); failing that, ``units=`` is required and
    its absence is a :class:`~battkg.errors.MetadataError`-like
    :class:`FormatError` with ``field='units'``.  LAMMPS's own default is
    ``lj``, but a log started with ``log`` mid-script may simply not show the
    command, so it is not assumed.

Arrays (per run Block)
    ``step`` (Step), ``time`` (Time), ``temperature`` (ThermodynamicTemperature),
    ``pressure`` (Pressure, as written: atm for real, bar for metal),
    ``potential_energy`` (PotentialEnergy), ``total_energy`` (SystemTotalEnergy),
    ``density`` (Density), ``volume`` (Volume).  Every other column is kept
    under its LAMMPS keyword with quantity ``""`` (no ontology class) and the
    unit its kind implies (``KinEng``, ``E_*`` energy; ``Pxx`` pressure;
    ``Lx`` distance; ``CPU``/``CPULeft`` seconds; ``v_``/``c_``/``f_``
    user values unit ``""``, unknown).

Metadata
    Record: ``software`` ``LAMMPS``, ``software_version`` (first line),
    ``units_style``, ``units_source``, ``n_atoms``, ``n_runs``,
    ``atom_style``, ``force_field`` (``pair_style`` name), ``ensemble`` and
    ``thermostat`` of the longest run; quantities ``Timestep`` (last value of
    the ``timestep`` command, time unit of the style; LAMMPS defaults when no
    command: 0.005 τ lj, 1 fs real, 0.001 ps metal), ``SimulatedTime`` (ps,
    Σ steps × timestep over runs; not for lj), ``ThermodynamicTemperature``
    (the longest run's thermostat target).  Per run Block: ``thermo_style``,
    ``keywords`` (verbatim), ``n_steps``, ``n_procs``, ``loop_time_s``,
    ``ensemble``, ``thermostat``, ``fixes`` (the integrator/thermostat fix
    commands active during the run), ``units_style``, ``reduced_units``.
    ``raw_metadata['commands']`` keeps every echoed input command.

Memory
    The log is streamed line by line (also gz/bz2/xz); thermo rows are kept
    as flat C double arrays (8 bytes a value), the size of the HDF5 output.

Known gaps
    ``thermo_modify line yaml`` output and ``thermo_style multi`` with
    ``thermo_modify lost`` messages mid-block are not parsed.  Ensemble
    detection knows the common fixes (nve, nvt, npt, nph, langevin,
    temp/berendsen, temp/csvr, temp/rescale, press/berendsen, rigid/*).

Sample files
    ``shared/samples/md/lammpslogfile_bcc_custom_thermo.log.lammps`` (four
    custom runs), ``lammpslogfile_crack.log.lammps`` (columns change between
    runs, no ``units`` command), ``lammpslogfile_fcc_thermo_multi.log.lammps``.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.md._common import TIME_TO_PS, TextLines, head_text
from battkg.ingest.md._lammps import UNIT_STYLES, unit_for
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity

_VERSION = re.compile(r"^LAMMPS \((.+)\)\s*$")


def _sniff(head: bytes) -> bool:
    return bool(_VERSION.match(head_text(head).lstrip().split("\n", 1)[0]))


READER = ReaderInfo(
    id="md.lammps.log",
    technique="md",
    suffixes=(".log", ".lammps"),
    description="LAMMPS log: thermo tables of every run (thermo_style custom/one and multi)",
    magic=(b"LAMMPS (",),
    sniff=_sniff,
    priority=40,
)

# LAMMPS thermo keyword -> (array name, quantity key, kind for the unit table)
_MAPPED: dict[str, tuple[str, str, str]] = {
    "Step": ("step", "Step", "dimensionless"),
    "Time": ("time", "Time", "time"),
    "Temp": ("temperature", "ThermodynamicTemperature", "temperature"),
    "Press": ("pressure", "Pressure", "pressure"),
    "PotEng": ("potential_energy", "PotentialEnergy", "energy"),
    "TotEng": ("total_energy", "SystemTotalEnergy", "energy"),
    "Density": ("density", "Density", "density"),
    "Volume": ("volume", "Volume", "volume"),
}
_KIND_OF_UNMAPPED: dict[str, str] = {
    "KinEng": "energy", "Enthalpy": "energy", "Ecouple": "energy", "Econserve": "energy",
    "Pxx": "pressure", "Pyy": "pressure", "Pzz": "pressure", "Pxy": "pressure", "Pxz": "pressure",
    "Pyz": "pressure", "Lx": "distance", "Ly": "distance", "Lz": "distance", "Xlo": "distance",
    "Xhi": "distance", "Ylo": "distance", "Yhi": "distance", "Zlo": "distance", "Zhi": "distance",
    "Xy": "distance", "Xz": "distance", "Yz": "distance", "Cella": "distance", "Cellb": "distance",
    "Cellc": "distance", "CellAlpha": "degree", "CellBeta": "degree", "CellGamma": "degree",
    "Dt": "time", "CPU": "cpu_time", "CPULeft": "cpu_time", "TimeRemain": "cpu_time", "T/CPU": "dimensionless",
    "S/CPU": "dimensionless", "Elapsed": "dimensionless", "Elaplong": "dimensionless", "Atoms": "dimensionless",
    "Part": "dimensionless", "Fmax": "force", "Fnorm": "force",
}
# Default timestep per style when the input never sets one (LAMMPS manual, ``timestep``).
_DEFAULT_TIMESTEP = {"lj": 0.005, "real": 1.0, "metal": 0.001, "si": 1e-8, "cgs": 1e-8, "electron": 0.001,
                     "micro": 2.0, "nano": 0.00045}
_MULTI_HEAD = re.compile(r"^-+\s*Step\s+(\S+)\s+-+\s*CPU\s*=\s*(\S+)\s*\(sec\)\s*-+\s*$")
_MULTI_PAIR = re.compile(r"(\S+)\s*=\s*(\S+)")
_LOOP = re.compile(r"^Loop time of (\S+) on (\d+) procs for (\d+) steps with (\d+) atoms")
_CREATED = re.compile(r"^\s*Created (\d+) atoms")
_READ_ATOMS = re.compile(r"^\s*(\d+) atoms\s*$")
# (ensemble, thermostat) of integrator/thermostat fix styles
_FIX_STYLES: dict[str, tuple[str | None, str | None]] = {
    "nve": ("NVE", None), "nvt": ("NVT", "Nose-Hoover"), "npt": ("NPT", "Nose-Hoover"), "nph": ("NPH", None),
    "langevin": ("NVT", "Langevin"), "temp/berendsen": ("NVT", "Berendsen"), "temp/csvr": ("NVT", "CSVR"),
    "temp/csld": ("NVT", "CSLD"), "temp/rescale": ("NVT", "velocity rescaling"),
    "press/berendsen": ("NPT", None), "rigid/nve": ("NVE", None), "rigid/nvt": ("NVT", "Nose-Hoover"),
    "rigid/npt": ("NPT", "Nose-Hoover"), "nvt/sllod": ("NVT", "Nose-Hoover"), "gld": ("NVT", "GLD"),
    "gle": ("NVT", "GLE"),
}
_COMMANDS = {"units", "timestep", "fix", "unfix", "pair_style", "thermo_style", "run", "minimize",
             "atom_style", "dimension", "boundary", "read_data", "thermo"}


@dataclass
class _Run:
    style: str
    keywords: list[str]
    # Thermo values, row after row, as a flat C double array: 8 bytes a value instead of a Python float.
    rows: array = field(default_factory=lambda: array("d"))
    n_rows: int = 0

    def add_row(self, values: list[float]) -> None:
        self.rows.extend(values)
        self.n_rows += 1
    header_line: int = 0
    fixes: list[str] = field(default_factory=list)
    timestep: float | None = None
    loop: dict[str, Any] = field(default_factory=dict)


def _float(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def _ensemble(fixes: list[str]) -> tuple[str | None, str | None, float | None]:
    """Ensemble, thermostat and target temperature from active fix commands."""
    ensemble = thermostat = None
    target: float | None = None
    for command in fixes:
        parts = command.split()
        style = parts[3] if len(parts) > 3 else ""
        if style not in _FIX_STYLES:
            continue
        ens, thermo = _FIX_STYLES[style]
        # A thermostat fix on top of nve (langevin, berendsen) makes it NVT; NPT wins over NVT.
        if ensemble in (None, "NVE") or ens in ("NPT", "NPH"):
            ensemble = ens if not (ensemble == "NPH" and ens == "NVT") else "NPT"
        thermostat = thermostat or thermo
        args = parts[4:]
        if "temp" in args and style in ("nvt", "npt", "rigid/nvt", "rigid/npt", "nvt/sllod"):
            k = args.index("temp")
            target = _float(args[k + 2]) if k + 2 < len(args) else None  # Tstop: the target the run ends at
        elif style in ("langevin", "temp/berendsen", "temp/csvr", "temp/csld", "temp/rescale") and len(args) > 1:
            k = 1 if style == "temp/rescale" else 0  # temp/rescale: N Tstart Tstop ...
            target = _float(args[k + 1]) if k + 1 < len(args) else None
    return ensemble, thermostat, target


def _parse(path: Path, src: TextLines) -> tuple[list[_Run], dict[str, Any], list[str], list[str]]:
    state: dict[str, Any] = {"fixes": {}, "timestep": None, "units": None}
    commands: list[str] = []
    warnings: list[str] = []
    runs: list[_Run] = []
    current: _Run | None = None
    first = src.next()
    if first is not None:
        if m := _VERSION.match(first.strip()):
            state["version"] = m.group(1)
        src.push_back(first)
    while (raw := src.next()) is not None:
        text = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("---") else raw.strip()
        tokens = text.split()
        if current is not None:
            loop = _LOOP.match(raw.strip())
            if loop:
                current.loop = {"loop_time_s": float(loop.group(1)), "n_procs": int(loop.group(2)),
                                "n_steps": int(loop.group(3)), "n_atoms": int(loop.group(4))}
                state["n_atoms"] = int(loop.group(4))
                runs.append(current)
                current = None
                continue
            if current.style == "custom":
                if tokens and _float(tokens[0]) is not None:
                    if len(tokens) != len(current.keywords):
                        raise FormatError(path, f"thermo row has {len(tokens)} value(s), the header names "
                                          f"{len(current.keywords)} (truncated or inconsistent row)",
                                          line=src.number, reader=READER.id)
                    values = [_float(t) for t in tokens]
                    if any(v is None for v in values):
                        col = next(k for k, v in enumerate(values) if v is None)
                        raise FormatError(path, f"non-numeric value {tokens[col]!r} in thermo column "
                                          f"'{current.keywords[col]}'", line=src.number, field=current.keywords[col],
                                          reader=READER.id)
                    current.add_row(values)  # type: ignore[arg-type]
                elif tokens and len(tokens) == len(current.keywords) and sum(
                        _float(t) is not None for t in tokens) >= len(tokens) // 2:
                    bad = next(t for t in tokens if _float(t) is None)
                    raise FormatError(path, f"non-numeric value {bad!r} in a thermo row", line=src.number,
                                      reader=READER.id)
                elif tokens:
                    # LAMMPS interleaves warnings and fix messages with thermo rows; keep them as notes.
                    warnings.append(f"line {src.number}: non-thermo line inside run {len(runs)}: {raw.strip()[:80]}")
                continue
            # multi style
            head = _MULTI_HEAD.match(raw.strip())
            if head:
                values: dict[str, float] = {"Step": float(head.group(1)), "CPU": float(head.group(2))}
                while (pair_line := src.next()) is not None:
                    if "=" not in pair_line or _MULTI_HEAD.match(pair_line.strip()):
                        src.push_back(pair_line)  # the next block's head or the end of the run
                        break
                    for key, value in _MULTI_PAIR.findall(pair_line):
                        number = _float(value)
                        if number is None:
                            raise FormatError(path, f"non-numeric value {value!r} for '{key}' in a thermo block",
                                              line=src.number, field=key, reader=READER.id)
                        values[key] = number
                if not current.keywords:
                    current.keywords = list(values)
                elif list(values) != current.keywords:
                    raise FormatError(path, "thermo multi block has different keywords than the run's first "
                                      "block", line=src.number, reader=READER.id)
                current.add_row([values[k] for k in current.keywords])
                continue
            if tokens:
                warnings.append(f"line {src.number}: non-thermo line inside run {len(runs)}: {raw.strip()[:80]}")
            continue
        # Outside a thermo section: commands and status lines.
        if _MULTI_HEAD.match(raw.strip()):
            current = _Run("multi", [], header_line=src.number)
            current.fixes = list(state["fixes"].values())
            current.timestep = state["timestep"]
            src.push_back(raw)
            continue  # re-handle this line as the first block
        if "Step" in tokens and all(_float(t) is None for t in tokens) and tokens[0] not in _COMMANDS:
            current = _Run("custom", tokens, header_line=src.number)
            current.fixes = list(state["fixes"].values())
            current.timestep = state["timestep"]
            continue
        if tokens and tokens[0] in _COMMANDS:
            commands.append(text)
            name = tokens[0]
            if name == "units" and len(tokens) > 1:
                state["units"] = tokens[1]
            elif name == "timestep" and len(tokens) > 1 and _float(tokens[1]) is not None:
                state["timestep"] = _float(tokens[1])  # "${dt}" lines are followed by their expansion
            elif name == "fix" and len(tokens) > 3:
                state["fixes"][tokens[1]] = text
            elif name == "unfix" and len(tokens) > 1:
                state["fixes"].pop(tokens[1], None)
            elif name == "pair_style" and len(tokens) > 1:
                state["pair_style"] = tokens[1]
            elif name == "atom_style" and len(tokens) > 1:
                state["atom_style"] = tokens[1]
        elif (m := _CREATED.match(raw)) or (m := _READ_ATOMS.match(raw)):
            state["n_atoms"] = int(m.group(1))
        elif "tau/day" in raw and raw.startswith("Performance:"):
            state["tau_seen"] = True
    if current is not None:
        if current.n_rows:
            warnings.append(f"run {len(runs)} has no 'Loop time' line: the log ends inside the run (crashed or "
                            "still running); its rows so far are kept")
            runs.append(current)
        else:
            warnings.append(f"run {len(runs)} starting at line {current.header_line} has no rows")
    return runs, state, commands, warnings


def read(path: Path, *, topology: Path | None = None, store_positions: bool = False,
         **options: Any) -> ParsedFile:
    """Read every thermo table of a LAMMPS log, one Block per run."""
    path = Path(path)
    with TextLines(path, READER.id) as src:  # streamed: a long log is never held as a whole
        runs, state, commands, warnings = _parse(path, src)
        if src.number == 0:
            raise FormatError(path, "file is empty", reader=READER.id)
    if not runs:
        raise FormatError(path, "no thermo output found (neither a 'Step ...' header nor a thermo multi block)",
                          reader=READER.id)
    units = state["units"]
    source = "units command"
    if units is None and options.get("units"):
        units, source = str(options["units"]), "option units="
    elif units is None and state.get("tau_seen"):
        units, source = "lj", "Performance line in tau/day (printed only for units lj)"
    if units is None:
        raise FormatError(path, "the log has no 'units' command and nothing proves the units style; pass units= "
                          f"(one of {', '.join(UNIT_STYLES)})", field="units", reader=READER.id)
    if units not in UNIT_STYLES:
        raise FormatError(path, f"unknown LAMMPS units style {units!r}; known: {', '.join(UNIT_STYLES)}",
                          field="units", reader=READER.id)
    reduced = units == "lj"
    blocks: list[Block] = []
    total_ps = 0.0
    longest: tuple[int, int] = (-1, -1)
    per_run: list[tuple[str | None, str | None, float | None]] = []
    for k, run in enumerate(runs):
        data = np.frombuffer(run.rows, dtype=np.float64).reshape(run.n_rows, len(run.keywords))
        arrays: list[ArrayData] = []
        for c, keyword in enumerate(run.keywords):
            if keyword in _MAPPED:
                name, quantity, kind = _MAPPED[keyword]
            else:
                name, quantity, kind = keyword, "", _KIND_OF_UNMAPPED.get(keyword, "unknown")
            unit = "degree" if kind == "degree" else unit_for(units, kind)
            values = data[:, c].astype(np.int64) if keyword == "Step" else data[:, c]
            arrays.append(ArrayData(name, values, quantity, unit, f"LAMMPS thermo keyword {keyword}"))
        ensemble, thermostat, target = _ensemble(run.fixes)
        per_run.append((ensemble, thermostat, target))
        timestep = run.timestep if run.timestep is not None else _DEFAULT_TIMESTEP.get(units)
        meta: dict[str, Any] = {"run_index": k, "thermo_style": run.style, "keywords": run.keywords,
                                "units_style": units, "reduced_units": reduced, "fixes": run.fixes,
                                "first_line": run.header_line, **run.loop}
        if ensemble:
            meta["ensemble"] = ensemble
        if thermostat:
            meta["thermostat"] = thermostat
        quantities: list[ScalarQuantity] = []
        time_unit = unit_for(units, "time")
        if timestep is not None:
            quantities.append(ScalarQuantity("Timestep", float(timestep), time_unit, "integration"))
            n_steps = int(run.loop.get("n_steps", 0))
            if not reduced and time_unit in TIME_TO_PS:
                total_ps += n_steps * timestep * TIME_TO_PS[time_unit]
            if n_steps > longest[1]:
                longest = (k, n_steps)
        if target is not None:
            quantities.append(ScalarQuantity("ThermodynamicTemperature", target, unit_for(units, "temperature"),
                                             "thermostat target"))
        blocks.append(Block(f"run {k}", arrays=arrays, quantities=quantities, metadata=meta))
    metadata: dict[str, Any] = {"software": "LAMMPS", "units_style": units, "units_source": source,
                                "n_runs": len(runs), "reduced_units": reduced}
    if "version" in state:
        metadata["software_version"] = state["version"]
    for key in ("n_atoms", "atom_style"):
        if key in state:
            metadata[key] = state[key]
    if "pair_style" in state:
        metadata["force_field"] = state["pair_style"]
    quantities = []
    last_timestep = state["timestep"] if state["timestep"] is not None else _DEFAULT_TIMESTEP.get(units)
    if last_timestep is not None:
        quantities.append(ScalarQuantity("Timestep", float(last_timestep), unit_for(units, "time"), "integration"))
    if not reduced:
        quantities.append(ScalarQuantity("SimulatedTime", total_ps, "ps"))
    if longest[0] >= 0:
        ensemble, thermostat, target = per_run[longest[0]]
        if ensemble:
            metadata["ensemble"] = ensemble
        if thermostat:
            metadata["thermostat"] = thermostat
        if target is not None:
            quantities.append(ScalarQuantity("ThermodynamicTemperature", target, unit_for(units, "temperature"),
                                             "thermostat target"))
    if state["timestep"] is None:
        warnings.append(f"no timestep command: LAMMPS default for units {units} assumed")
    return ParsedFile(format_id=READER.id, blocks=blocks, quantities=quantities, metadata=metadata,
                      raw_metadata={"commands": commands}, warnings=warnings)


def keyword_kind(keyword: str) -> str:
    """The kind (energy, pressure, distance, ...) of a thermo keyword this reader leaves unclassified."""
    return _KIND_OF_UNMAPPED.get(keyword, "unknown")
