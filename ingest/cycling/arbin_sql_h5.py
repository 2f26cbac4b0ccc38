"""Arbin MITS Pro 8 SQL data exported to HDF5 by pandas/PyTables ("the HDF5 a cycler analysis server writes").

Usage
    ``battkg ingest cycling run.h5`` (format id ``cycling.arbin.sql_h5``); reader option
    ``test_id=N`` reads one test only.

Schema
    A pandas ``HDFStore`` with ``/data_df`` (the channel table: ``Test_ID``, ``Data_Point``,
    ``Date_Time``, ``Test_Time``, ``Step_Time``, ``Cycle_Index``, ``Step_Index``, ``Current``,
    ``Voltage``, ``Power``, capacities, energies, ``Internal_Resistance``, ``Aux_*``),
    ``/info_df`` (one row per test: channel, schedule, start/resume times, mass) and
    ``/stat_df`` (statistics rows with ``Channel_ID`` and ``Test_Name``).  Arbin units and
    signs (s, V, A positive = charging, A·h cumulative per cycle, ``Cycle_Index`` 1-based).
    ``Date_Time`` is an integer count of 100 ns ticks since the Unix epoch.

Several Test_IDs (a restarted test)
    The SQL database gives every start of a schedule a new ``Test_ID`` whose ``Data_Point``
    and ``Test_Time`` restart.  When all Test_IDs of ``data_df`` ran on one channel under one
    test name (``stat_df``), battkg reads all rows, in file order, as one time series; its
    ``time`` is then the first ``Test_Time`` plus the wall-clock time elapsed since the first
    record (from ``Date_Time``), and Arbin's own ``Test_Time`` is kept as the array
    ``arbin_test_time``.  The same applies to a single test whose ``Test_Time`` goes backwards
    (a resume).  Different channels or test names are refused unless ``test_id`` is given.

    cellpy 1.0.3 (``instrument="arbin_sql_h5"``) reads 34 of the sample's 47 rows: it indexes
    the rows on ``Data_Point``, which restarts in each Test_ID, and keeps the first row per
    Data_Point number — Data_Points 1–2 of test 1, 3–11 of test 2 and 12–34 of test 3, a
    mixture of three runs out of time order.  battkg keeps all 47 records (the MANIFEST
    oracle's row count) in wall-clock order; the test in
    ``tests/ingest/test_cycling_arbin.py`` reproduces cellpy's 34 rows and extremes.

Metadata
    ``start_time`` = first ``Date_Time`` (UTC; an epoch count), ``channel`` (``IV_Ch_ID``),
    ``schedule``, ``schedule_version``, ``test_name``;
    ``SpecificMASS`` (g, as cellpy reads it) becomes ``ActiveMass``.  info_df rows and the
    statistics table's shape go to ``raw_metadata``.

Dependency
    ``tables`` (PyTables; pandas' HDFStore needs it to read ``frame_table`` nodes).

Sample files
    ``shared/samples/cycling/cellpy_20200624_test001_cc_01.h5``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

READER = ReaderInfo(
    id="cycling.arbin.sql_h5",
    technique="cycling",
    suffixes=(".h5", ".hdf5"),
    description="Arbin SQL data exported to HDF5 by pandas (data_df, info_df, stat_df)",
    magic=(b"\x89HDF\r\n\x1a\n",),
    priority=30,
    media_type="application/x-hdf5",
    options=(ReaderOption("test_id", int, "Test_ID of the test to read when the file holds several"),),
)

_TICKS_PER_SECOND = 10_000_000  # Arbin SQL Date_Time: 100 ns ticks since 1970-01-01


def _frames(path: Path) -> dict[str, Any]:
    import pandas as pd

    try:
        with pd.HDFStore(str(path), mode="r") as store:
            keys = set(store.keys())
            if "/data_df" not in keys:
                raise FormatError(path, f"an HDF5 file without /data_df is not an Arbin SQL export; keys: "
                                  f"{sorted(keys)}", reader=READER.id)
            return {key.strip("/"): store.select(key) for key in ("/data_df", "/info_df", "/stat_df")
                    if key in keys}
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/PyTables raise many types for truncated files
        # HDF5 errors carry a C back trace; its last informative line says what is wrong (e.g. "truncated file").
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.strip().startswith(("File ", "End "))]
        detail = next((ln for ln in reversed(lines) if "truncated" in ln), lines[-1] if lines else "")
        raise FormatError(path, f"cannot read as a pandas HDFStore: {type(exc).__name__}: {detail}",
                          reader=READER.id) from None


def _one_cell(frames: dict[str, Any], test_ids: list[int]) -> bool:
    """All tests on one channel under one test name (a restarted test), per the statistics table."""
    stat = frames.get("stat_df")
    if stat is None or not {"Test_ID", "Channel_ID", "Test_Name"} <= set(stat.columns):
        return len(test_ids) <= 1
    rows = stat[stat["Test_ID"].isin(test_ids)]
    return set(rows["Test_ID"]) == set(test_ids) and rows["Channel_ID"].nunique() == 1 and \
        rows["Test_Name"].nunique() == 1


def read(path: Path, **options: Any) -> ParsedFile:
    """Read an Arbin SQL HDF5 export into one cycling ``timeseries`` block (see the module docstring)."""
    from battkg.ingest.cycling._arbin import active_mass, arbin_parsed, select_test

    path = Path(path)
    frames = _frames(path)
    data = frames["data_df"].reset_index(drop=True)
    if data.empty:
        raise FormatError(path, "data_df holds no data points", field="data_df", reader=READER.id)
    all_ids = sorted(int(v) for v in data["Test_ID"].unique()) if "Test_ID" in data.columns else []
    data, test_ids = select_test(data, path, READER.id, options.get("test_id"),
                                 joinable=_one_cell(frames, all_ids))
    chosen = [int(options["test_id"])] if options.get("test_id") is not None else test_ids

    metadata: dict[str, Any] = {}
    raw: dict[str, Any] = {"test_ids": test_ids, "hdf5_keys": sorted(frames)}
    warnings: list[str] = []
    time = time_description = None
    if "Date_Time" in data.columns:
        ticks = data["Date_Time"].to_numpy(dtype=np.int64)
        metadata["start_time"] = datetime.fromtimestamp(ticks[0] / _TICKS_PER_SECOND, tz=timezone.utc)
        test_time = data["Test_Time"].to_numpy(dtype=np.float64) if "Test_Time" in data.columns else None
        restarted = len(chosen) > 1 or (test_time is not None and bool(np.any(np.diff(test_time) < 0)))
        if restarted:
            back = np.flatnonzero(np.diff(ticks) < 0)
            if back.size:
                raise FormatError(path, f"Date_Time goes backwards at record {back[0] + 2} (Data_Point "
                                  f"{data['Data_Point'].iloc[back[0] + 1]}); cannot order the restarted test",
                                  field="Date_Time", reader=READER.id)
            first = float(test_time[0]) if test_time is not None else 0.0
            time = first + (ticks - ticks[0]) / _TICKS_PER_SECOND
            time_description = ("test time: first Test_Time + wall-clock time since the first record (Date_Time); "
                                "Arbin's Test_Time restarts with each Test_ID / resume")
            warnings.append(f"{len(chosen)} Arbin test(s) (Test_ID {chosen}) with restarting Test_Time read as one "
                            "time series on the Date_Time clock; Arbin's Test_Time is kept as 'arbin_test_time'")
    quantities = []
    info = frames.get("info_df")
    if info is not None and not info.empty:
        raw["info"] = [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                       for row in info.to_dict("records")]
        row = info.iloc[0]
        for key, source in (("channel", "IV_Ch_ID"), ("schedule", "Schedule_File_Name"),
                            ("schedule_version", "Schedule_Version")):
            if source in info.columns and str(row[source]).strip():
                metadata[key] = str(row[source]).strip()
        if "SpecificMASS" in info.columns:
            quantities = active_mass(row["SpecificMASS"], "g")
    stat = frames.get("stat_df")
    if stat is not None and "Test_Name" in stat.columns and not stat.empty:
        names = sorted({str(n) for n in stat.loc[stat["Test_ID"].isin(chosen), "Test_Name"]}) \
            if "Test_ID" in stat.columns else sorted({str(n) for n in stat["Test_Name"]})
        if names:
            metadata["test_name"] = ", ".join(names)
        raw["statistics_rows"] = int(len(stat))
    return arbin_parsed(path, READER.id, data, time=time, time_description=time_description, metadata=metadata,
                        raw_metadata=raw, quantities=quantities, warnings=warnings)
