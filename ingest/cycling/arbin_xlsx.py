"""Arbin MITS Pro Excel export (``.xlsx``), read with openpyxl through pandas.

Usage
    ``battkg ingest cycling run.xlsx`` (format id ``cycling.arbin.xlsx``); reader option
    ``channel="Channel_1-007"`` picks one channel of a workbook that holds several.

Schema
    Data sheets are named ``Channel_<unit>-<channel>`` (``Channel_1-006``); a channel with
    more rows than a sheet holds continues in ``Channel_1-006_1``, ``_2``, ... and the parts
    are joined in sheet order.  Columns, as the Arbin .csv export: ``Data_Point``,
    ``Test_Time(s)``, ``Date_Time``, ``Step_Time(s)``, ``Step_Index``, ``Cycle_Index``,
    ``Current(A)``, ``Voltage(V)``, ``Charge_Capacity(Ah)``, ``Discharge_Capacity(Ah)``,
    ``Charge_Energy(Wh)``, ``Discharge_Energy(Wh)``, ``dV/dt(V/s)``,
    ``Internal_Resistance(Ohm)``, optional ``Aux_Temperature_1(C)``; the column mapping is
    the one of the Arbin CSV reader (:mod:`battkg.ingest.cycling._arbin`).  Units and signs
    are Arbin's = battkg's (s, V, A positive = charging, A·h cumulative per cycle,
    ``Cycle_Index`` 1-based).  ``Statistics_*`` sheets are not read.

Metadata
    The ``Global_Info`` (or ``Info``) sheet: the row holding ``Test Name`` / ``Channel`` /
    ``Start DateTime`` / ... headers and the row below it give ``test_name``, ``channel``,
    ``start_time`` (local time, naive), ``schedule``, ``software_version``, ``comment`` and
    ``ActiveMass`` from ``Mass(g)``; every pair goes to ``raw_metadata['global_info']``.
    Without it, ``start_time`` is the first ``Date_Time``.

Known gaps
    No real Arbin workbook in the shared samples: the layout follows Arbin's documented
    MITS Pro export and cellpy/bat2dat's readers (sheets containing "Channel"); the test
    builds such a workbook with openpyxl.  Legacy ``.xls`` is not read.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

READER = ReaderInfo(
    id="cycling.arbin.xlsx",
    technique="cycling",
    suffixes=(".xlsx",),
    description="Arbin MITS Pro Excel export (Channel_* sheets, Global_Info)",
    magic=(b"PK\x03\x04",),
    priority=40,
    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    options=(ReaderOption("channel", str, "data sheet of the channel to read, e.g. Channel_1-005"),),
)

# "Channel_1-006" and its continuation sheets "Channel_1-006_1", "_2", ...; other "Channel..." sheets stand alone.
_CONTINUATION = re.compile(r"^(?P<base>Channel_?\d+-\d+)_\d+$", re.IGNORECASE)
_INFO_SHEETS = ("global_info", "info")
# Global_Info header (normalised: lower case, no spaces/underscores) -> metadata key.
_INFO_KEYS = {"testname": "test_name", "channel": "channel", "schedulefilename": "schedule",
              "softwareversion": "software_version", "mitsversion": "software_version", "comments": "comment",
              "comment": "comment"}
_MASS_KEYS = ("mass(g)", "mass")
_START_KEYS = ("startdatetime", "starttime")


def _norm(text: Any) -> str:
    return re.sub(r"[\s_]", "", str(text)).lower()


def _as_datetime(value: Any) -> datetime | None:
    """A Global_Info / Date_Time cell as a naive datetime (Excel date, OLE number or text)."""
    import pandas as pd

    from battkg.ingest.cycling._arbin import ole_to_datetime

    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, (int, float)) and np.isfinite(value):
        return ole_to_datetime(float(value))
    stamp = pd.to_datetime(str(value), errors="coerce")
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def _global_info(sheet: Any) -> dict[str, Any]:
    """Header -> value from the info sheet: the first row with a 'Test Name' or 'Channel' header."""
    rows = sheet.fillna("").values.tolist()
    for index, row in enumerate(rows[:-1]):
        keys = [_norm(c) for c in row]
        if "testname" in keys or "channel" in keys:
            return {str(h).strip(): v for h, v in zip(row, rows[index + 1]) if str(h).strip()}
    return {}


def read(path: Path, **options: Any) -> ParsedFile:
    """Read an Arbin ``.xlsx`` export into one cycling ``timeseries`` block (see the module docstring)."""
    import zipfile

    import pandas as pd

    from battkg.ingest.cycling._arbin import active_mass, arbin_parsed, map_columns

    path = Path(path)
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FormatError(path, f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}",
                          reader=READER.id) from None
    with workbook:
        names = [str(n) for n in workbook.sheet_names]
        groups: dict[str, list[str]] = {}
        for name in names:
            if name.lower().startswith("channel"):
                match = _CONTINUATION.match(name)
                groups.setdefault(match["base"] if match else name, []).append(name)
        wanted = options.get("channel")
        if wanted is not None:
            if wanted not in groups:
                raise FormatError(path, f"no data sheet {wanted!r}; channels: {sorted(groups)}", field="channel",
                                  reader=READER.id)
            groups = {wanted: groups[wanted]}
        if not groups:
            raise FormatError(path, f"no Arbin data sheet (named Channel_<unit>-<channel>); sheets: {names}",
                              reader=READER.id)
        if len(groups) > 1:
            raise FormatError(path, f"the workbook holds {len(groups)} channels {sorted(groups)}; choose one with the "
                              "reader option channel=...", field="channel", reader=READER.id)
        (channel_sheets,) = groups.values()
        parts = []
        for name in channel_sheets:
            try:
                part = pd.read_excel(workbook, sheet_name=name)
            except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted errors on damaged sheets
                raise FormatError(path, f"sheet '{name}' cannot be read: {type(exc).__name__}: {exc}",
                                  reader=READER.id) from None
            for column in map_columns([str(c) for c in part.columns]).values():
                values = pd.to_numeric(part[column], errors="coerce").to_numpy(dtype=np.float64)
                if np.isnan(values).any():
                    row = int(np.flatnonzero(np.isnan(values))[0])
                    raise FormatError(path, f"sheet '{name}': non-numeric or empty value {part[column].iloc[row]!r}",
                                      line=row + 2, field=column, reader=READER.id)
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        info_sheet = next((n for n in names if n.lower() in _INFO_SHEETS), None)
        info = _global_info(pd.read_excel(workbook, sheet_name=info_sheet, header=None)) if info_sheet else {}

    metadata: dict[str, Any] = {}
    quantities = []
    for header, value in info.items():
        key = _norm(header)
        if key in _INFO_KEYS and str(value).strip():
            metadata[_INFO_KEYS[key]] = str(value).strip()
        elif key in _START_KEYS and _as_datetime(value) is not None:
            metadata["start_time"] = _as_datetime(value)
        elif key in _MASS_KEYS:
            quantities = active_mass(value, "g")
    if "start_time" not in metadata and "Date_Time" in frame.columns and len(frame):
        first = _as_datetime(frame["Date_Time"].iloc[0])
        if first is not None:
            metadata["start_time"] = first
    raw = {"sheets": names, "data_sheets": channel_sheets,
           "global_info": {str(k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in info.items()}}
    return arbin_parsed(path, READER.id, frame, metadata=metadata, raw_metadata=raw, quantities=quantities,
                        spreadsheet_rows=True)
