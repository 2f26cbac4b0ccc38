"""Maccor text export (tab separated, key/value header, then the data table).

Usage
    ``battkg ingest cycling run.txt`` (format id ``cycling.maccor.txt``); reader option
    ``time_unit`` (``s``, ``min`` or ``h``) when the file has no ``DPT Time`` column.

Schema
    Header lines ``key<TAB>value`` (``Name:``, ``Channel:``, ``Tester``, ``Procedure``,
    ``Description``, ``Started``, ``SCap``, ``C Rate``, limits), a blank line, the column
    header line starting ``Rec<TAB>``, then one row per record: ``Rec``, ``Cycle P``,
    ``Cycle C``, ``Step``, ``TestTime``, ``StepTime``, ``Cap. [Ah]``, ``Ener. [Wh]``,
    ``Current [A]``, ``Voltage [V]``, ``Md``, ``ES``, ``DPT Time``, ``VAR1..15``.  The file is
    Windows-1252/latin-1 text (the Description field may hold control bytes): decoded as latin-1.

Units
    ``TestTime`` carries no unit in the header.  Its unit is found from the wall clock: the
    span of ``DPT Time`` (the record's date and time) divided by the span of TestTime must be
    1, 60 or 3600 (s, min, h) within 2 % (or 2 s); otherwise the file is refused.  In the
    sample it is minutes (3809.84 over 63.5 h of DPT Time).  Other columns: A, V, A·h.

Sign convention
    Maccor writes the current unsigned; the mode column ``Md`` says what it is: ``C`` charge,
    ``D`` discharge, ``R`` rest.  battkg's current is positive while charging: +|I| for ``C``,
    −|I| for ``D``; other modes must have zero current (else the file is refused, naming the
    line).  An export that already has negative currents is taken as signed (Maccor's signed
    option uses the same convention).  ``Cap. [Ah]`` (unsigned, reset at every step) becomes
    ``charge_capacity`` on ``C`` rows and ``discharge_capacity`` on ``D`` rows (0 elsewhere).

Counters
    ``cycle_index`` = ``Cycle C`` (Maccor's cycle counter, 1-based in the sample; shifted to
    1-based if it starts at 0), ``step_index`` = ``Step``.  ``Cycle P``, ``ES`` (end status)
    and the VAR columns are listed in ``raw_metadata['unmapped_columns']``.

Metadata
    ``start_time`` from ``Started`` (month/day/year, 12-hour clock, local time, naive),
    ``instrument`` "Maccor" + the ``Tester`` name, ``channel``, ``schedule``
    (``Procedure``), ``test_name`` (``Name``), ``comment`` (``Description`` without control
    bytes); all header pairs in ``raw_metadata['header']``.

Sample files
    ``shared/samples/cycling/cellpy_maccor_002.txt`` (cellpy 1.0.3's maccor_txt loader fails
    on it; pandas with the header skipped is the MANIFEST oracle).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

_HEADER_START = b"Rec\tCycle P\tCycle C\tStep\t"


def _sniff(head: bytes) -> bool:
    return head.startswith(_HEADER_START) or b"\n" + _HEADER_START in head


READER = ReaderInfo(
    id="cycling.maccor.txt",
    technique="cycling",
    suffixes=(".txt",),
    description="Maccor text export (tab separated; Md column gives the current's direction)",
    sniff=_sniff,
    priority=20,
    media_type="text/tab-separated-values",
    options=(ReaderOption("time_unit", str, "unit of TestTime (s, min, h) when DPT Time cannot tell"),),
)

_COLUMNS: dict[str, tuple[str, ...]] = {
    "time": ("TestTime", "Test Time"),
    "voltage": ("Voltage [V]", "Voltage", "Volts"),
    "current": ("Current [A]", "Current", "Amps"),
    "capacity": ("Cap. [Ah]", "Capacity", "Amp-hr"),
    "cycle_index": ("Cycle C", "Cycle", "Cyc#"),
    "step_index": ("Step",),
    "mode": ("Md", "State"),
    "temperature": ("Temp 1", "Temperature", "Temp1"),
}
_TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}
_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
# Control bytes and 0xFF padding seen in the Description field (not text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\xff]+")


def _header(text: str, path: Path) -> tuple[int, dict[str, str]]:
    """(0-based index of the column header line, header key/value pairs)."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines()):
        if line.startswith("Rec\t"):
            return number, pairs
        key, _, value = line.partition("\t")
        if key.strip():
            pairs[key.strip().rstrip(":")] = re.sub(r"\s{2,}", " ", _CONTROL.sub(" ", value)).strip()
    raise FormatError(path, "no column header line starting 'Rec<TAB>' (is this a Maccor text export?)",
                      reader=READER.id)


def _line_of(text: str, header_index: int, row: int) -> int:
    """1-based file line of data row ``row`` (blank lines after the header are skipped, as pandas does)."""
    seen = -1
    for number, line in enumerate(text.splitlines()[header_index + 1:], start=header_index + 2):
        if line.strip():
            seen += 1
            if seen == row:
                return number
    return header_index + 2 + row


def _time_factor(frame: Any, time: np.ndarray, path: Path, option: str | None, line: Any) -> tuple[float, str]:
    """Seconds per TestTime unit: from the option, else from the DPT Time wall clock."""
    import pandas as pd

    if option is not None:
        if option not in _TIME_UNITS:
            raise FormatError(path, f"time_unit must be one of {sorted(_TIME_UNITS)} (got {option!r})",
                              field="TestTime", reader=READER.id)
        return _TIME_UNITS[option], f"{option} (reader option time_unit)"
    if "DPT Time" not in frame.columns:
        raise FormatError(path, "TestTime has no unit and there is no 'DPT Time' column to find it from; pass the "
                          "reader option time_unit='s'|'min'|'h'", field="TestTime", reader=READER.id)
    stamps = pd.to_datetime(frame["DPT Time"], format=_DATE_FORMAT, errors="coerce")
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise FormatError(path, f"DPT Time {frame['DPT Time'].iloc[row]!r} is not month/day/year h:m:s AM/PM",
                          line=line(row), field="DPT Time", reader=READER.id)
    wall = (stamps.iloc[-1] - stamps.iloc[0]).total_seconds()
    span = float(time[-1] - time[0])
    if span <= 0 or wall <= 0:
        return 1.0, "s (assumed: the file spans no time)"
    for unit, factor in _TIME_UNITS.items():
        if abs(wall - span * factor) <= max(0.02 * wall, 2.0):
            return factor, f"{unit} (DPT Time spans {wall:.0f} s over {span:g} TestTime units)"
    raise FormatError(path, f"TestTime spans {span:g} units while DPT Time spans {wall:.0f} s: not s, min or h; "
                      "pass the reader option time_unit", field="TestTime", reader=READER.id)


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a Maccor text export into one cycling ``timeseries`` block (see the module docstring)."""
    import io

    import pandas as pd

    from battkg.ingest.cycling._common import one_based_cycles, timeseries_block

    path = Path(path)
    text = path.read_bytes().decode("latin-1")  # every byte decodes; the header may hold control bytes
    header_index, header = _header(text, path)
    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t", skiprows=header_index, index_col=False, engine="c",
                            low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(path, f"cannot parse the data table: {exc}", reader=READER.id) from None
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed:")]]  # trailing tab
    if frame.empty:
        raise FormatError(path, "the data table is empty (no records)", reader=READER.id)
    columns = {name: next((c for c in cands if c in frame.columns), None) for name, cands in _COLUMNS.items()}
    missing = [n for n in ("time", "voltage", "current", "mode") if columns[n] is None]
    if missing:
        raise FormatError(path, f"no column for {missing} (expected one of {[_COLUMNS[n] for n in missing]}); "
                          f"columns: {list(frame.columns)}", reader=READER.id)

    def line(row: int) -> int:
        return _line_of(text, header_index, row)

    def numeric(name: str) -> np.ndarray:
        column = columns[name]
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            row = int(np.flatnonzero(np.isnan(values))[0])
            raise FormatError(path, f"non-numeric or empty value {frame[column].iloc[row]!r}", line=line(row),
                              field=column, reader=READER.id)
        return values

    time = numeric("time")
    factor, time_note = _time_factor(frame, time, path, options.get("time_unit"), line)
    mode = frame[columns["mode"]].astype(str).str.strip().str.upper().to_numpy()
    magnitude = numeric("current")
    charging, discharging = mode == "C", mode == "D"
    if np.any(magnitude < 0):
        current = magnitude  # a signed export: Maccor's sign is battkg's (charge positive)
        sign_note = "signed in the file (charge positive)"
    else:
        other = ~(charging | discharging) & (magnitude != 0)
        if other.any():
            row = int(np.flatnonzero(other)[0])
            raise FormatError(path, f"current {magnitude[row]:g} A in mode {mode[row]!r}: the sign of an unsigned "
                              "Maccor current is known only for modes C (charge) and D (discharge)",
                              line=line(row), field=columns["mode"], reader=READER.id)
        current = np.where(discharging, -magnitude, magnitude)
        sign_note = "unsigned in the file; sign from Md (C +, D −)"
    charge_capacity = discharge_capacity = None
    if columns["capacity"] is not None:
        capacity = np.abs(numeric("capacity"))
        charge_capacity = np.where(charging, capacity, 0.0)
        discharge_capacity = np.where(discharging, capacity, 0.0)
    cycle = one_based_cycles(numeric("cycle_index")) if columns["cycle_index"] else None
    block = timeseries_block(
        path, READER.id, time=time * factor, voltage=numeric("voltage"), current=current,
        charge_capacity=charge_capacity, discharge_capacity=discharge_capacity, cycle_index=cycle,
        step_index=numeric("step_index") if columns["step_index"] else None,
        temperature=numeric("temperature") if columns["temperature"] else None,
        descriptions={"time": f"TestTime, converted from {time_note}",
                      "current": f"current, positive = charging the cell ({sign_note})"},
    )
    tester = header.get("Tester", "").strip()
    metadata: dict[str, Any] = {"instrument": tester if "maccor" in tester.lower() else f"Maccor {tester}".strip()}
    for key, source in (("channel", "Channel"), ("schedule", "Procedure"), ("test_name", "Name")):
        if header.get(source, "").strip():
            metadata[key] = header[source].strip()
    if header.get("Description"):
        metadata["comment"] = header["Description"]
    if header.get("Started"):
        try:
            metadata["start_time"] = datetime.strptime(header["Started"].strip(), _DATE_FORMAT)
        except ValueError:
            raise FormatError(path, f"'Started' {header['Started']!r} is not month/day/year h:m:s AM/PM",
                              line=next(i + 1 for i, ln in enumerate(text.splitlines()) if ln.startswith("Started")),
                              field="Started", reader=READER.id) from None
    if cycle is not None:
        metadata["n_cycles"] = int(len(np.unique(cycle)))
    mapped = {c for c in columns.values() if c}
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"header": header, "column_mapping": {k: v for k, v in columns.items() if v},
                                    "time_unit": time_note,
                                    "modes": sorted(set(mode.tolist())),
                                    "unmapped_columns": [str(c) for c in frame.columns if c not in mapped]})
