"""Arbin MITS ``.res`` result file (an MS Access JET4 database), read with access-parser.

Usage
    ``battkg ingest cycling run.res`` (format id ``cycling.arbin.res``); reader option
    ``test_id=N`` picks one test of a file that holds several (several channels).

Schema
    ``Channel_Normal_Table`` (one row per data point: ``Test_ID``, ``Data_Point``,
    ``Test_Time``, ``Step_Time``, ``DateTime``, ``Step_Index``, ``Cycle_Index``, ``Current``,
    ``Voltage``, ``Charge_Capacity``, ``Discharge_Capacity``, energies, ``dV/dt``,
    ``Internal_Resistance``, ...) becomes the ``timeseries`` block, rows in ``Data_Point``
    order.  Units, signs and counters are Arbin's and battkg's at once (see
    :mod:`battkg.ingest.cycling._arbin`): s, V, A (positive = charging), A·h cumulative per
    cycle, ``Cycle_Index`` 1-based.

Metadata
    From ``Global_Table`` (the row of the test read): ``start_time`` (``Start_DateTime``, an
    OLE date, local time of the cycler PC, naive), ``channel`` (``Channel_Number``),
    ``software_version``, ``schedule`` (``Schedule_File_Name``), ``test_name``, ``comment``;
    ``MASS`` (g) becomes ``ActiveMass``.  The whole Global_Table row and ``Version_Table`` go
    to ``raw_metadata``.

Known gaps
    ``Auxiliary_Table`` (auxiliary voltage/temperature channels) is not joined to the data
    points; a file with auxiliary rows gets a warning.  ``Channel_Statistic_Table`` is not
    read (battkg computes its own per-cycle summary).

Dependency
    ``access-parser`` (pure Python, PyPI): on the sample it gives the 10261 × 18
    Channel_Normal_Table cell for cell identical to ``mdb-export`` (mdbtools), in ≈0.9 s.

Sample files
    ``shared/samples/cycling/cellpy_20160805_test001_45_cc_01.res``.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

READER = ReaderInfo(
    id="cycling.arbin.res",
    technique="cycling",
    suffixes=(".res",),
    description="Arbin MITS .res result file (MS Access JET4 database; access-parser)",
    magic=(b"\x00\x01\x00\x00Standard Jet DB",),
    priority=20,
    media_type="application/x-msaccess",
    options=(ReaderOption("test_id", int, "Test_ID of the test to read when the file holds several"),),
)

_DATA_TABLE = "Channel_Normal_Table"


class _Damage(logging.Handler):
    """Collects access-parser's log records: it logs (and skips) unreadable pages and rows instead of raising."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _damage_log() -> Iterator[_Damage]:
    logger = logging.getLogger("access_parser")
    handler, propagate = _Damage(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # its messages become our FormatError, not stderr noise
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _check_pages(path: Path) -> None:
    """A JET file is a whole number of pages (2 KiB for JET3, 4 KiB for JET4/ACCDB): else it was cut short."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(0x15)
    page = 2048 if len(head) > 0x14 and head[0x14] == 0 else 4096
    if size < page or size % page:
        raise FormatError(path, f"truncated: {size} bytes is not a whole number of {page}-byte database pages",
                          reader=READER.id)


def _table(db: Any, name: str, path: Path) -> Any:
    import pandas as pd

    try:
        table = db.get_table(name)
        if table is None:
            raise FormatError(path, "the catalog names this table but its definition page is missing (truncated or "
                              "damaged file)", field=name, reader=READER.id)
        expected = int(table.table_header.number_of_rows)
        columns = table.parse()
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - access-parser raises assorted errors on damaged pages
        raise FormatError(path, f"cannot decode the Access table: {type(exc).__name__}: {exc}", field=name,
                          reader=READER.id) from None
    if all(not isinstance(v, list) for v in columns.values()):  # access-parser's form of an empty table
        frame = pd.DataFrame(columns=[str(c) for c in columns])
    else:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise FormatError(path, f"the Access table has columns of different lengths {sorted(lengths)} "
                              "(damaged data pages)", field=name, reader=READER.id)
        frame = pd.DataFrame(dict(columns))
    # access-parser skips data pages it cannot find; the table definition's row count tells.
    if len(frame) != expected:
        raise FormatError(path, f"the table definition counts {expected} rows but only {len(frame)} are readable "
                          "(truncated or damaged file)", field=name, reader=READER.id)
    return frame


def read(path: Path, **options: Any) -> ParsedFile:
    """Read an Arbin ``.res`` file into one cycling ``timeseries`` block (see the module docstring)."""
    from access_parser import AccessParser

    from battkg.ingest.cycling._arbin import active_mass, arbin_parsed, ole_to_datetime, select_test

    path = Path(path)
    _check_pages(path)
    with _damage_log() as damage:
        try:
            db = AccessParser(str(path))
        except Exception as exc:  # noqa: BLE001 - a damaged or non-Access file fails in many ways
            raise FormatError(path, f"not a readable MS Access (JET) database: {type(exc).__name__}: {exc}",
                              reader=READER.id) from None
        tables = set(db.catalog)
        if _DATA_TABLE not in tables:
            raise FormatError(path, f"an Access database without {_DATA_TABLE} is not an Arbin result file; tables: "
                              f"{sorted(t for t in tables if not t.startswith('MSys'))}", reader=READER.id)
        frame = _table(db, _DATA_TABLE, path)
    if damage.messages:
        raise FormatError(path, f"damaged database pages ({len(damage.messages)} problems; first: "
                          f"{damage.messages[0]})", field=_DATA_TABLE, reader=READER.id)
    if frame.empty:
        raise FormatError(path, "the channel table holds no data points", field=_DATA_TABLE, reader=READER.id)
    frame, test_ids = select_test(frame, path, READER.id, options.get("test_id"), joinable=False)
    if "Data_Point" in frame.columns:
        frame = frame.sort_values("Data_Point", kind="stable").reset_index(drop=True)
        # Arbin numbers the records of a test 1, 2, 3, ...: a gap means rows were lost.
        points = frame["Data_Point"].to_numpy()
        gaps = np.flatnonzero(points != np.arange(points[0], points[0] + points.size))
        if gaps.size:
            raise FormatError(path, f"Data_Point jumps from {points[gaps[0] - 1]} to {points[gaps[0]]}: records are "
                              "missing (damaged file)", field="Data_Point", reader=READER.id)

    metadata: dict[str, Any] = {}
    raw: dict[str, Any] = {"test_ids": test_ids}
    quantities = []
    warnings: list[str] = []
    if "Global_Table" in tables:
        global_table = _table(db, "Global_Table", path)
        chosen = int(options["test_id"]) if options.get("test_id") is not None else (test_ids or [None])[0]
        if chosen is not None and "Test_ID" in global_table.columns:
            global_table = global_table[global_table["Test_ID"] == chosen]
        if not global_table.empty:
            row = {str(k): v for k, v in global_table.iloc[0].to_dict().items()}
            raw["global"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            if row.get("Start_DateTime") not in (None, ""):
                metadata["start_time"] = ole_to_datetime(float(row["Start_DateTime"]))
            for key, source in (("channel", "Channel_Number"), ("software_version", "Software_Version"),
                                ("schedule", "Schedule_File_Name"), ("test_name", "Test_Name"),
                                ("comment", "Comments")):
                if row.get(source) not in (None, ""):
                    metadata[key] = str(row[source])
            quantities = active_mass(row.get("MASS"), "g")
    if "Version_Table" in tables:
        raw["version"] = _table(db, "Version_Table", path).to_dict("list")
    if "Auxiliary_Table" in tables:
        n_aux = len(_table(db, "Auxiliary_Table", path))
        raw["auxiliary_rows"] = n_aux
        if n_aux:
            warnings.append(f"Auxiliary_Table has {n_aux} rows (auxiliary voltage/temperature channels); "
                            "they are not read")
    return arbin_parsed(path, READER.id, frame, metadata=metadata, raw_metadata=raw, quantities=quantities,
                        warnings=warnings)
