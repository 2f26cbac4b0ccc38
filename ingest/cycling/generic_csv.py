"""Any cycler CSV/TSV export, read through an explicit column mapping.

Usage
    ``read(path, columns={"time": "Test_Time(s)", "voltage": "Voltage(V)",
    "current": "Current(A)", "cycle_index": "Cycle_Index"}, units={"current": "mA"})``
    (format id ``cycling.generic.csv``).  ``columns`` maps battkg array names
    (``time``, ``voltage``, ``current``, ``charge_capacity``,
    ``discharge_capacity``, ``cycle_index``, ``half_cycle``, ``step_index``,
    ``temperature``) to the file's column names; ``time``, ``voltage`` and
    ``current`` are required.  ``units`` gives the file's unit per array
    (pint strings; defaults s, V, A, A*h, degC) and is converted to battkg's
    units.  Options: ``current_sign=-1`` for cyclers that count discharge
    current as positive (battkg: positive = charging); ``cycle_base=0`` when
    the file's cycle counter starts at 0 (it is then shifted to 1-based; the
    default ``None`` shifts a counter whose minimum is 0); ``delimiter``
    (default: detected by pandas' sniffer among ``,`` ``;`` tab).

Metadata
    Columns not mapped are listed in ``raw_metadata['unmapped_columns']``.
    ``technique``/``instrument`` can be passed as options and are copied.

Known gaps
    Decimal commas are not handled (export with decimal points); capacities
    are taken as the file gives them (cumulative per half cycle or per cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ParsedFile, ReaderInfo, ReaderOption

READER = ReaderInfo(
    id="cycling.generic.csv",
    technique="cycling",
    suffixes=(".csv", ".tsv", ".txt"),
    description="cycler CSV/TSV with a user-given column mapping (columns={...}, units={...})",
    priority=95,  # the fallback: vendor formats with content detection win
    options=(
        ReaderOption("units.*", str, "the file's unit of an array, e.g. units.current=mA (pint)"),
        ReaderOption("current_sign", int, "-1 when the cycler counts discharge current as positive"),
        ReaderOption("cycle_base", int, "0 when the cycle counter starts at 0"),
        ReaderOption("delimiter", str, "field separator when the sniffer guesses wrong"),
    ),
)

TARGET_UNITS = {"time": "s", "voltage": "V", "current": "A", "charge_capacity": "A*h",
                "discharge_capacity": "A*h"}
COUNTER_ARRAYS = ("cycle_index", "half_cycle", "step_index")
ARRAY_NAMES = ("time", "voltage", "current", "charge_capacity", "discharge_capacity", "cycle_index",
               "half_cycle", "step_index", "temperature")


def _convert(values: np.ndarray, source: str, target: str, path: Path, name: str, reader: str) -> np.ndarray:
    if source == target:
        return values
    from battkg.errors import MetadataError
    from battkg.units import convert

    try:
        return np.asarray(convert(values, source, target))
    except MetadataError as exc:
        # A fresh pint registry per file cost ~0.2 s; the shared one is built once.
        raise FormatError(path, f"cannot convert '{name}' from unit '{source}' to '{target}': {exc}",
                          field=name, reader=reader) from exc


def read_mapped(path: Path, *, reader: str, columns: dict[str, str], units: dict[str, str] | None = None,
                current_sign: int = 1, cycle_base: int | None = None, delimiter: str | None = None,
                frame: Any = None) -> tuple[dict[str, np.ndarray], dict[str, str], Any]:
    """Read and convert the mapped columns; returns (arrays, units used, the DataFrame)."""
    import pandas as pd

    from battkg.ingest.cycling._common import one_based_cycles

    units = dict(units or {})
    unknown = set(columns) - set(ARRAY_NAMES)
    if unknown:
        raise FormatError(path, f"unknown target array(s) {sorted(unknown)}; allowed: {', '.join(ARRAY_NAMES)}",
                          reader=reader)
    missing_required = [k for k in ("time", "voltage", "current") if k not in columns]
    if missing_required:
        raise FormatError(path, f"the column mapping must name {missing_required} (columns={{...}})",
                          reader=reader)
    if frame is None:
        if delimiter is None:
            # Sniff the delimiter once from the head, so pandas' C parser (≈10x the python engine) reads the rest.
            import csv

            with open(path, newline="", encoding="utf-8", errors="replace") as handle:
                head = handle.read(65536)
            try:
                delimiter = csv.Sniffer().sniff(head.split("\n", 1)[0], delimiters=",;\t").delimiter
            except csv.Error:
                delimiter = ","
        try:
            frame = pd.read_csv(path, sep=delimiter, engine="c", encoding_errors="replace")
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise FormatError(path, f"cannot parse as CSV: {exc}", reader=reader) from exc
    if frame.empty:
        raise FormatError(path, "the data section is empty (no rows)", reader=reader)
    absent = [c for c in columns.values() if c not in frame.columns]
    if absent:
        raise FormatError(path, f"column(s) {absent} not in the file; it has {list(frame.columns)}",
                          reader=reader)
    arrays: dict[str, np.ndarray] = {}
    for name, column in columns.items():
        series = frame[column]
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu" and name in COUNTER_ARRAYS:
            arrays[name] = series.to_numpy(dtype=np.int64)  # whole numbers as parsed: no float round trip
            continue
        # A view of pandas' float block when the parser already saw numbers (no copy at 10^6 rows).
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            row = int(np.flatnonzero(np.isnan(values))[0])
            raise FormatError(path, f"non-numeric or empty value {series.iloc[row]!r} in column "
                              f"'{column}'", line=row + 2, field=column, reader=reader)
        if name in TARGET_UNITS:
            values = _convert(values, units.get(name, TARGET_UNITS[name]), TARGET_UNITS[name], path, name, reader)
        arrays[name] = values
    if current_sign < 0:
        arrays["current"] = -arrays["current"]
    if "cycle_index" in arrays:
        cycles = arrays["cycle_index"].astype(np.int64, copy=False)
        arrays["cycle_index"] = cycles + 1 if cycle_base == 0 else (
            one_based_cycles(cycles) if cycle_base is None else cycles)
    used_units = {k: TARGET_UNITS.get(k, units.get(k, "")) for k in arrays}
    if "temperature" in arrays:
        used_units["temperature"] = units.get("temperature", "degC")
    return arrays, used_units, frame


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a cycler CSV through ``columns={battkg name: file column}`` (see the module docstring)."""
    from battkg.ingest.cycling._common import count_cycles, timeseries_block

    path = Path(path)
    columns = options.get("columns")
    if not columns:
        import pandas as pd

        try:
            names = list(pd.read_csv(path, nrows=0, sep=None, engine="python").columns)
        except Exception:  # noqa: BLE001 - only to enrich the message below
            names = []
        raise FormatError(path, "the generic CSV reader needs a column mapping, e.g. columns={'time': ..., "
                          f"'voltage': ..., 'current': ...}}; the file's columns are {names}", reader=READER.id)
    arrays, used_units, frame = read_mapped(
        path, reader=READER.id, columns=columns, units=options.get("units"),
        current_sign=int(options.get("current_sign", 1)), cycle_base=options.get("cycle_base"),
        delimiter=options.get("delimiter"))
    block = timeseries_block(path, READER.id, temperature_unit=used_units.get("temperature", "degC"),
                             **{k: v for k, v in arrays.items()})
    metadata = {k: options[k] for k in ("technique", "instrument") if options.get(k)}
    if "cycle_index" in arrays:
        metadata["n_cycles"] = count_cycles(arrays["cycle_index"])
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"column_mapping": dict(columns), "units": dict(options.get("units") or {}),
                                    "unmapped_columns": [c for c in frame.columns if c not in columns.values()]})
