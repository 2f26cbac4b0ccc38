"""Shared part of the Arbin readers (``.res``, SQL-export HDF5, ``.xlsx``).

All Arbin sources carry the same channel table (``Test_ID``, ``Data_Point``,
``Test_Time``, ``Step_Index``, ``Cycle_Index``, ``Current``, ``Voltage``,
``Charge_Capacity``, ``Discharge_Capacity``, ...), with or without a unit
suffix (``Test_Time(s)`` in the MITS Pro exports).  The column candidates are
those of :mod:`battkg.ingest.cycling.arbin_bdf_csv` (one mapping for every
Arbin reader, the CSV export included); this module adds the temperature
auxiliary channel, the OLE date conversion and the choice of one test when a
file holds several ``Test_ID`` values.

Arbin conventions (as the vendor writes them, no conversion needed): current
positive = charging (battkg's convention); ``Cycle_Index`` 1-based;
charge/discharge capacities cumulative within a cycle (reset when
``Cycle_Index`` increments); s, V, A, A·h.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.cycling.arbin_bdf_csv import _CANDIDATES as ARBIN_COLUMNS
from battkg.readers import ArrayData, ParsedFile, ScalarQuantity

# Auxiliary temperature channel of the MITS Pro exports, e.g. "Aux_Temperature_1(C)" or "Temperature(C)".
_TEMPERATURE = re.compile(r"^(Aux_)?Temperature(_\d+)?\s*\((C|°C|degC|K)\)$", re.IGNORECASE)
_OLE_EPOCH = datetime(1899, 12, 30)


def ole_to_datetime(days: float) -> datetime:
    """An OLE automation date (days since 1899-12-30, local time of the cycler PC) as a naive datetime."""
    return _OLE_EPOCH + timedelta(milliseconds=round(float(days) * 86_400_000))


def map_columns(columns: list[str]) -> dict[str, str]:
    """battkg array name -> the frame's Arbin column (first candidate present)."""
    mapping: dict[str, str] = {}
    for name, candidates in ARBIN_COLUMNS.items():
        found = next((c for c in candidates if c in columns), None)
        if found:
            mapping[name] = found
    temperature = next((c for c in columns if _TEMPERATURE.match(str(c))), None)
    if temperature:
        mapping["temperature"] = temperature
    return mapping


def select_test(frame: Any, path: Path, reader: str, test_id: int | None, *,
                joinable: bool) -> tuple[Any, list[int]]:
    """(rows of one test or of all tests, the Test_IDs in the file).

    Arbin stores each started test under its own ``Test_ID``.  With ``test_id`` the rows of that
    test are kept.  Without it a file with several tests is read whole only when ``joinable``
    (the caller has checked they are one cell: same channel and test name, i.e. a restarted
    test); otherwise it is refused naming the Test_IDs, because joining different cells would
    make one nonsense time series.
    """
    if "Test_ID" not in frame.columns:
        return frame, []
    ids = sorted(int(v) for v in frame["Test_ID"].unique())
    if test_id is not None:
        if int(test_id) not in ids:
            raise FormatError(path, f"no rows with Test_ID {test_id}; the file has Test_ID {ids}",
                              field="Test_ID", reader=reader)
        return frame[frame["Test_ID"] == int(test_id)].reset_index(drop=True), ids
    if len(ids) > 1 and not joinable:
        raise FormatError(path, f"the file holds {len(ids)} Arbin tests (Test_ID {ids}) on different channels or "
                          "with different test names; choose one with the reader option test_id=N",
                          field="Test_ID", reader=reader)
    return frame, ids


def arbin_parsed(path: Path, reader: str, frame: Any, *, time: np.ndarray | None = None,
                 time_description: str | None = None, metadata: dict[str, Any] | None = None,
                 raw_metadata: dict[str, Any] | None = None, quantities: list[ScalarQuantity] | None = None,
                 warnings: list[str] | None = None, extra_arrays: list[ArrayData] | None = None,
                 spreadsheet_rows: bool = False) -> ParsedFile:
    """The cycling ParsedFile of one Arbin channel table (a DataFrame with Arbin columns).

    ``time`` replaces the table's ``Test_Time`` (the SQL export's restarted tests); the Arbin
    ``Test_Time`` is then kept as the extra array ``arbin_test_time``.  ``spreadsheet_rows``:
    the frame's row i is line i + 2 of the file (CSV, sheet); otherwise a bad value is named by
    record number and ``Data_Point``.
    """
    import pandas as pd
    from battkg.ingest.cycling._common import timeseries_block
    from battkg.ingest.cycling.generic_csv import read_mapped

    columns = map_columns([str(c) for c in frame.columns])
    missing = [k for k in ("time", "voltage", "current") if k not in columns]
    if missing:
        raise FormatError(path, f"the Arbin channel table has no column for {missing} (expected one of "
                          f"{[ARBIN_COLUMNS[k] for k in missing]}); columns: {list(frame.columns)}", reader=reader)
    if not spreadsheet_rows:
        for column in columns.values():
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(values).any():
                row = int(np.flatnonzero(np.isnan(values))[0])
                point = f", Data_Point {frame['Data_Point'].iloc[row]}" if "Data_Point" in frame.columns else ""
                raise FormatError(path, f"non-numeric or empty value {frame[column].iloc[row]!r} at record {row + 1}"
                                  f"{point}", field=column, reader=reader)
    arrays, _units, frame = read_mapped(path, reader=reader, columns=columns, frame=frame)
    extras = list(extra_arrays or [])
    descriptions: dict[str, str] = {}
    if time is not None:
        extras.append(ArrayData("arbin_test_time", arrays["time"], "Time", "s",
                                "Arbin Test_Time as written (restarts with each Test_ID)"))
        arrays["time"] = np.asarray(time, dtype=np.float64)
        descriptions["time"] = time_description or "test time"
    if "temperature" in arrays:
        unit = "K" if columns["temperature"].rstrip(")").endswith("K") else "degC"
        descriptions["temperature"] = f"Arbin auxiliary channel '{columns['temperature']}'"
    else:
        unit = "degC"
    block = timeseries_block(path, reader, temperature_unit=unit, descriptions=descriptions, **arrays)
    block.arrays.extend(extras)
    meta: dict[str, Any] = {"instrument": "Arbin", **(metadata or {})}
    if "cycle_index" in arrays:
        meta["n_cycles"] = int(len(np.unique(arrays["cycle_index"])))
    raw = {"column_mapping": columns,
           "unmapped_columns": [str(c) for c in frame.columns if c not in columns.values()], **(raw_metadata or {})}
    return ParsedFile(format_id=reader, blocks=[block], quantities=list(quantities or []), metadata=meta,
                      raw_metadata=raw, warnings=list(warnings or []))


def active_mass(value: Any, unit: str = "g") -> list[ScalarQuantity]:
    """``ActiveMass`` from an Arbin mass field (grams in MITS), when it is a positive number."""
    try:
        mass = float(value)
    except (TypeError, ValueError):
        return []
    return [ScalarQuantity("ActiveMass", mass, unit)] if np.isfinite(mass) and mass > 0 else []
