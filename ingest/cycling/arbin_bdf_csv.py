"""Arbin data as Battery Data Format (BDF) CSV, and plain Arbin CSV exports.

Usage
    ``battkg ingest cycling run.bdf.csv`` (format id ``cycling.arbin.bdf_csv``)

Schema
    The instrument's own Arbin columns (``Test_Time``, ``Voltage``,
    ``Current``, ``Charge_Capacity``, ``Discharge_Capacity``, ``Step_Index``,
    ``Cycle_Index``; s, V, A, A·h) are preferred, the BDF columns
    (``Test Time / s``, ``Voltage / V``, ``Current / A``, ...) are the
    fallback: in the datalab sample, which has both, the BDF ``Current / A``
    written by navani is the Arbin current divided by 1000 (A taken for mA),
    so the Arbin values are the trustworthy ones.  ``half cycle`` (written by
    navani/datalab) is kept.

Sign and counters
    Arbin and BDF count charging current as positive: no sign change.
    Arbin's ``Cycle_Index`` is 1-based and used as is; without it, BDF
    ``Cycle Count / 1`` is shifted to 1-based when it starts at 0.  Arbin
    capacities are cumulative within each cycle (reset when Cycle_Index
    increments) and are taken as written.

Metadata
    ``start_time`` from the first ``DateTime`` (an Excel/OLE serial day
    number, local time, naive) where present; ``instrument`` "Arbin".
    Unmapped columns are listed in ``raw_metadata['unmapped_columns']``.

Sample files
    ``shared/samples/cycling/datalab_arbin_example.bdf.csv``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo


def _sniff(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return (b"Test Time / s" in first and b"Voltage / V" in first) or (
        b"Test_Time" in first and b"Cycle_Index" in first and b"Voltage" in first)


READER = ReaderInfo(
    id="cycling.arbin.bdf_csv",
    technique="cycling",
    suffixes=(".csv",),
    description="Arbin data as Battery Data Format CSV (or Arbin CSV with Test_Time/Cycle_Index columns)",
    sniff=_sniff,
    priority=30,
)

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "time": ("Test_Time", "Test_Time(s)", "Test Time / s"),
    "voltage": ("Voltage", "Voltage(V)", "Voltage / V"),
    "current": ("Current", "Current(A)", "Current / A"),
    "charge_capacity": ("Charge_Capacity", "Charge_Capacity(Ah)", "Charging Capacity / Ah"),
    "discharge_capacity": ("Discharge_Capacity", "Discharge_Capacity(Ah)", "Discharging Capacity / Ah"),
    "cycle_index": ("Cycle_Index", "Cycle Count / 1"),
    "step_index": ("Step_Index", "Step Index / 1"),
    "half_cycle": ("half cycle",),
}


def read(path: Path, **options: Any) -> ParsedFile:
    """Read an Arbin BDF/Arbin CSV into one cycling ``timeseries`` block."""
    import pandas as pd

    from battkg.ingest.cycling._common import timeseries_block
    from battkg.ingest.cycling.generic_csv import read_mapped

    path = Path(path)
    try:
        frame = pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FormatError(path, f"cannot parse as CSV: {exc}", reader=READER.id) from exc
    columns = {}
    for name, candidates in _CANDIDATES.items():
        found = next((c for c in candidates if c in frame.columns), None)
        if found:
            columns[name] = found
    missing = [k for k in ("time", "voltage", "current") if k not in columns]
    if missing:
        raise FormatError(path, f"no column for {missing} (expected one of "
                          f"{[_CANDIDATES[k] for k in missing]}); columns: {list(frame.columns)}",
                          reader=READER.id)
    arrays, _units, frame = read_mapped(path, reader=READER.id, columns=columns, frame=frame)
    block = timeseries_block(path, READER.id, **arrays)
    metadata: dict[str, Any] = {"instrument": "Arbin"}
    if "DateTime" in frame.columns:
        first = pd.to_numeric(frame["DateTime"].iloc[:1], errors="coerce").iloc[0]
        if np.isfinite(first):
            metadata["start_time"] = datetime(1899, 12, 30) + timedelta(milliseconds=round(first * 86_400_000))
    if "cycle_index" in arrays:
        metadata["n_cycles"] = int(len(np.unique(arrays["cycle_index"])))
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"column_mapping": columns,
                                    "unmapped_columns": [c for c in frame.columns if c not in columns.values()]})
