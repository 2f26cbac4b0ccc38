"""battery-data-toolkit HDF5: the standardized cycling file a cycler analysis server writes.

The battery-data-toolkit (PyPI ``battery-data-toolkit``, import name ``battdat``; ROVI-org, formerly
``batdata``) converts Arbin, Maccor, Neware, BatteryArchive... exports into one HDF5 file per cell or
campaign: the cycling time series, per-cycle statistics and impedance tables plus a JSON description of the
cell and its test.  battkg reads the layout of versions 0.4.x (``BatteryDataset.to_hdf``).

Usage
    ``battkg ingest cycling cell.h5`` (format id ``cycling.batdata.h5``, detected from the file's
    ``battdat_version`` / ``metadata`` root attributes); ``--reader-option cell=NAME`` picks one cell when
    the file holds several (battdat's "prefix"; ``cell=/`` is the cell stored at the root).

Schema (battdat 0.4, ``battdat/io/hdf.py``; read here with h5py, never PyTables/pandas)
    Root attributes: ``metadata`` (``BatteryMetadata`` as JSON), ``battdat_version``, ``json_schema``
    (a pickled dict: ignored, battkg never unpickles what a file holds).  Tables are PyTables ``Table``
    nodes, i.e. HDF5 compound datasets: ``/raw_data`` (time series), ``/cycle_stats``, ``/eis_data`` at the
    root, or ``/<prefix>/raw_data``... for several cells sharing the metadata.  Each table has an attribute
    ``metadata``: its column schema as JSON (per column ``units``, ``type``, ``required``, ``monotonic``,
    ``description``; extra columns under ``extra_columns``).  Units are taken from that schema, in battdat's
    spelling (``s``, ``V``, ``A``, ``A-hr``, ``C`` = degree Celsius, ``ohm``), and converted with pint.

Arrays (battkg's conventions, see :mod:`battkg.ingest.cycling`)
    ``test_time`` → ``time`` (s; battdat requires it monotonic: a row going back is refused);
    ``voltage`` → ``voltage`` (V); ``current`` → ``current`` (A; battdat's convention is battkg's:
    positive = charging, no sign change); ``cycle_number`` → ``cycle_index`` = ``cycle_number + 1``
    (battdat counts cycles from 0, its schema says so, so the shift is unconditional);
    ``step_index`` → ``step_index`` as written (battdat: from 0, restarting in every cycle);
    ``temperature`` → ``temperature`` (degC); ``cycle_capacity_charge`` / ``cycle_capacity_discharge``
    → ``charge_capacity`` / ``discharge_capacity`` (A·h, magnitudes: battdat fills each only during its
    half of the cycle); ``internal_resistance`` → ``internal_resistance`` (ohm).
    ``cycle_capacity`` (charge since the start of the cycle) → ``cycle_capacity`` (A·h, positive =
    charge put into the cell).  battdat contradicts itself on its sign (schema text: positive =
    discharged; its ``StateOfCharge`` code: the integral of the current, positive = charged), so the
    sign is read from the data: its increments are compared with ∫I dt and the array is flipped when
    they run against the current; when neither sign fits, it is left out with a warning.
    Not mapped (listed in ``raw_metadata['unmapped_columns']``): ``state``, ``method``, ``substep_index``,
    ``file_number``, ``cycle_time``, ``cycle_energy`` (schema unit J, but battdat's code writes W·h),
    user-defined columns.  ``cycle_stats`` and ``eis_data`` are not read: battkg computes its own per-cycle
    summary from the time series; the raw file keeps them.

Metadata
    ``name`` → ``sample_name``; ``comments`` → ``comment``; ``test_protocol.cycler`` → ``instrument``,
    ``.schedule`` → ``schedule``, ``.start_date`` → ``start_date``, ``.set_temperature`` (°C) → the
    file-level quantity ThermodynamicTemperature "set temperature"; ``battery.nominal_capacity`` (A·h) →
    Capacity "nominal capacity"; the first and last value of the ``time`` column (UNIX seconds) →
    ``start_time`` / ``end_time`` (UTC).  The whole JSON (battery, electrodes, source, authors, associated
    ids...) is kept in ``raw_metadata['battdat_metadata']``.  A file whose metadata says
    ``is_measurement: false`` (simulated data) is refused: a cycling record is a measurement.

Dependency
    h5py only (battdat's own reader needs pydantic, PyTables and EMMOntoPy, which pins owlready2 < 0.50).

Files for tests
    No sample in ``shared/``: ``tests/ingest/test_cycling_batdata.py`` writes files with
    battery-data-toolkit itself when it is installed, else with PyTables following battdat 0.4.6's layout
    exactly (a test pins one to the other when both are available).  Files of batdata < 0.4 (pandas
    ``frame_table`` groups) are recognised and refused with a message saying so.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, ParsedFile, ReaderInfo, ReaderOption, ScalarQuantity

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ROOT_CELL = "/"  # the ``cell`` option naming the cell stored at the file's root (battdat prefix None)


def looks_like_batdata(path: Path) -> bool:
    """True for an HDF5 file written by battery-data-toolkit (any version): its root attributes."""
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError:
        # A damaged file (e.g. cut short): battdat writes its root attributes before any table, so their
        # names are within the first bytes; the reader then says what is wrong instead of another reader.
        with open(path, "rb") as fh:
            return b"battdat_version" in fh.read(65536)
    with h5:
        if "battdat_version" in h5.attrs:
            return True
        if "metadata" not in h5.attrs:
            return False
        try:  # batdata < 0.4 wrote no version attribute, only the BatteryMetadata JSON
            described = json.loads(_text(h5.attrs["metadata"]))
        except ValueError:
            return False
        return isinstance(described, dict) and "version" in described and "is_measurement" in described


READER = ReaderInfo(
    id="cycling.batdata.h5",
    technique="cycling",
    suffixes=(".h5", ".hdf5", ".hdf"),
    description="battery-data-toolkit (battdat 0.4) HDF5: raw_data table + BatteryMetadata JSON",
    magic=(HDF5_MAGIC,),
    probe=looks_like_batdata,
    priority=25,  # before the Arbin SQL export (30), which takes any other HDF5 of the cycling technique
    media_type="application/x-hdf5",
    options=(ReaderOption("cell", str, "battery-data-toolkit prefix of the cell to read when the file holds "
                                       "several ('/' = the cell at the root)"),),
)

REQUIRED = ("test_time", "voltage", "current")
# battdat column -> (battkg array, battkg unit); the file's unit comes from the table's column schema.
_MAPPED = {
    "test_time": ("time", "s"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "temperature": ("temperature", "degC"),
    "cycle_capacity_charge": ("charge_capacity", "A*h"),
    "cycle_capacity_discharge": ("discharge_capacity", "A*h"),
}
_COUNTERS = ("cycle_number", "step_index")
_EXTRAS = ("cycle_capacity", "internal_resistance", "time")
# battdat spells some units its own way; pint would read "C" as coulomb.
_UNIT_SPELLING = {"A-hr": "A*h", "mA-hr": "mA*h", "W-hr": "W*h", "C": "degC", "Ohm": "ohm", "Degree": "degree"}


def _text(value: Any) -> str:
    """An HDF5 string attribute (bytes, numpy bytes or str) as str."""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    return str(value)


def _fail(path: Path, message: str, field: str | None = None) -> FormatError:
    return FormatError(path, message, field=field, reader=READER.id)


def _json_attribute(path: Path, node: Any, name: str, where: str) -> dict[str, Any]:
    if name not in node.attrs:
        raise _fail(path, f"{where} has no attribute '{name}' (battery-data-toolkit writes its JSON description "
                    "there)", field=name)
    try:
        value = json.loads(_text(node.attrs[name]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(path, f"attribute '{name}' of {where} is not JSON: {exc}", field=name) from None
    if not isinstance(value, dict):
        raise _fail(path, f"attribute '{name}' of {where} is not a JSON object", field=name)
    return value


def _tables(h5: Any) -> list[str]:
    """Paths of the compound (table) datasets in the file, for messages."""
    import h5py

    found: list[str] = []
    h5.visititems(lambda name, obj: found.append("/" + name)
                  if isinstance(obj, h5py.Dataset) and obj.dtype.names else None)
    return sorted(found)


def _cells(path: Path, h5: Any) -> dict[str, Any]:
    """battdat prefix (``/`` for the root) -> the group holding that cell's ``raw_data``."""
    import h5py

    cells: dict[str, Any] = {}
    groups = [(ROOT_CELL, h5)] + [(name, obj) for name, obj in h5.items() if isinstance(obj, h5py.Group)]
    for name, group in groups:
        node = group.get("raw_data")
        if node is None:
            continue
        if isinstance(node, h5py.Group) and "pandas_type" in node.attrs:
            raise _fail(path, f"'{node.name}' is a pandas frame_table: a file of batdata < 0.4, whose layout battkg "
                        "does not read; re-save it with battery-data-toolkit ≥ 0.4 (BatteryDataset.to_hdf)",
                        field="raw_data")
        cells[name] = group
    # batdata < 0.4 named several cells "<prefix>_raw_data" at the root
    old = [name for name, obj in h5.items() if name.endswith("_raw_data") and isinstance(obj, h5py.Group)
           and "pandas_type" in obj.attrs]
    if old and not cells:
        raise _fail(path, f"{old} are pandas frame_tables: a file of batdata < 0.4, whose layout battkg does not "
                    "read; re-save it with battery-data-toolkit ≥ 0.4 (BatteryDataset.to_hdf)", field="raw_data")
    return cells


def _choose_cell(path: Path, cells: dict[str, Any], h5: Any, cell: str | None) -> tuple[str, Any]:
    if not cells:
        raise _fail(path, f"no raw_data table (the cycling time series: test_time, voltage, current); tables in the "
                    f"file: {_tables(h5)}", field="raw_data")
    if cell is not None:
        key = ROOT_CELL if cell.strip("/") == "" else cell.strip("/")
        if key not in cells:
            raise _fail(path, f"no cell '{cell}' with raw_data; cells: {sorted(cells)}", field="cell")
        return key, cells[key]
    if len(cells) > 1:
        raise _fail(path, f"{len(cells)} cells with raw_data ({sorted(cells)}); choose one with --reader-option "
                    "cell=NAME", field="cell")
    return next(iter(cells.items()))


def _columns_schema(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Column name -> battdat ColumnInfo dict (the schema's own fields plus ``extra_columns``)."""
    columns = {k: v for k, v in schema.items() if k != "extra_columns" and isinstance(v, dict)}
    columns.update({k: v for k, v in (schema.get("extra_columns") or {}).items() if isinstance(v, dict)})
    return columns


def _unit(path: Path, columns: dict[str, dict[str, Any]], column: str) -> str:
    info = columns.get(column)
    if info is None or not info.get("units"):
        raise _fail(path, f"raw_data's column schema gives no unit for '{column}'", field=column)
    text = str(info["units"]).strip()
    return _UNIT_SPELLING.get(text, text)


def _convert(path: Path, values: np.ndarray, source: str, target: str, column: str) -> np.ndarray:
    if source == target:
        return values
    from battkg.errors import MetadataError
    from battkg.units import convert

    try:
        return np.asarray(convert(values, source, target), dtype=np.float64)
    except MetadataError as exc:
        raise _fail(path, f"raw_data column '{column}' is in '{source}' per its schema, not convertible to "
                    f"'{target}': {exc}", field=column) from None


def _numbers(path: Path, data: np.ndarray, column: str, *, finite: bool) -> np.ndarray:
    values = data[column]
    if values.dtype.kind not in "fiub" or values.ndim != 1:
        raise _fail(path, f"raw_data column '{column}' holds {values.dtype}{values.shape[1:] or ''}, not one number "
                    "per row", field=column)
    values = values.astype(np.float64, copy=False)
    if finite and not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise _fail(path, f"raw_data row {row + 1}: '{column}' is {values[row]} (every row needs a number)",
                    field=column)
    return values


def _counter(path: Path, data: np.ndarray, column: str) -> np.ndarray:
    values = data[column]
    if values.dtype.kind in "iu":
        counts = values.astype(np.int64)
    else:
        floats = _numbers(path, data, column, finite=True)
        counts = floats.astype(np.int64)
        if np.any(counts != floats):
            row = int(np.flatnonzero(counts != floats)[0])
            raise _fail(path, f"raw_data row {row + 1}: '{column}' is {floats[row]}, not a whole number", field=column)
    if counts.size and counts.min() < 0:
        row = int(np.flatnonzero(counts < 0)[0])
        raise _fail(path, f"raw_data row {row + 1}: '{column}' is {counts[row]} (battdat counts from 0)", field=column)
    return counts


def _capacity_sign(capacity: np.ndarray, time: np.ndarray, current: np.ndarray,
                   cycles: np.ndarray | None) -> int:
    """+1 when ``cycle_capacity`` grows while charging (battkg's sign), -1 when it falls, 0 when undecidable.

    Compares the sign of each increment with the charge ∫I dt over the same interval (trapezoid), within
    a cycle (the counter restarts at each cycle start), over intervals where both are clearly non-zero.
    """
    if capacity.size < 2:
        return 0
    d_capacity = np.diff(capacity)
    charge = (current[1:] + current[:-1]) / 2 * np.diff(time) / 3600.0
    usable = np.isfinite(d_capacity) & (np.abs(charge) > 0)
    usable &= np.abs(d_capacity) > 1e-3 * np.abs(charge)
    if cycles is not None:
        usable &= np.diff(cycles) == 0
    if np.count_nonzero(usable) < 2:
        return 0
    agree = float(np.mean(np.sign(d_capacity[usable]) == np.sign(charge[usable])))
    return 1 if agree >= 0.9 else -1 if agree <= 0.1 else 0


def read(path: Path, **options: Any) -> ParsedFile:
    """Read one cell of a battery-data-toolkit HDF5 file into a cycling ``timeseries`` block."""
    import h5py

    from battkg.hdf5_input import open_input_hdf5
    from battkg.ingest.cycling._common import count_cycles, timeseries_block

    path = Path(path)
    with open_input_hdf5(path, READER.id) as h5:
        metadata_json = _json_attribute(path, h5, "metadata", "the file's root group")
        version = _text(h5.attrs["battdat_version"]) if "battdat_version" in h5.attrs else None
        if metadata_json.get("is_measurement") is False:
            model = metadata_json.get("modeling")
            raise _fail(path, "the battery-data-toolkit metadata says is_measurement: false (simulated data"
                        f"{', modeling: ' + json.dumps(model) if model else ''}); a cycling record describes a "
                        "measurement", field="is_measurement")
        cell, group = _choose_cell(path, _cells(path, h5), h5, options.get("cell"))
        table = group["raw_data"]
        if not isinstance(table, h5py.Dataset) or not table.dtype.names:
            raise _fail(path, f"'{table.name}' is not a table (an HDF5 compound dataset)", field="raw_data")
        columns = _columns_schema(_json_attribute(path, table, "metadata", f"'{table.name}'"))
        names = list(table.dtype.names)
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise _fail(path, f"'{table.name}' has no column {', '.join(repr(c) for c in missing)}: battery-data-"
                        f"toolkit's raw_data requires test_time, voltage and current; columns: {names}",
                        field=missing[0])
        wanted = [c for c in names if c in _MAPPED or c in _COUNTERS or c in _EXTRAS]
        if table.shape[0] == 0:
            raise _fail(path, f"'{table.name}' holds no rows", field="raw_data")
        data = table.fields(wanted)[()]  # only the columns battkg maps (no state/method strings)
        table_version = _text(table.attrs["battdat_version"]) if "battdat_version" in table.attrs else None
        all_tables = _tables(h5)

    arrays: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for column, (name, target) in _MAPPED.items():
        if column not in names:
            continue
        values = _numbers(path, data, column, finite=column in REQUIRED)
        unit = _unit(path, columns, column)
        units[column] = unit
        if name == "temperature" and unit in ("K", "kelvin"):
            target = "K"
        arrays[name] = _convert(path, values, unit, target, column)
        if name in ("charge_capacity", "discharge_capacity"):
            arrays[name] = np.abs(arrays[name])
    time = arrays["time"]
    back = np.flatnonzero(np.diff(time) < 0)
    if back.size:
        row = int(back[0]) + 1
        raise _fail(path, f"raw_data row {row + 1}: test_time goes backwards ({time[row - 1]:g} s → "
                    f"{time[row]:g} s); battery-data-toolkit's schema requires it monotonic", field="test_time")

    warnings: list[str] = []
    cycles = None
    if "cycle_number" in names:
        cycles = _counter(path, data, "cycle_number") + 1  # battdat: 0-based
        arrays["cycle_index"] = cycles
        if np.any(np.diff(cycles) < 0):
            row = int(np.flatnonzero(np.diff(cycles) < 0)[0]) + 2
            warnings.append(f"cycle_number decreases at raw_data row {row} (battdat's schema says it is monotonic); "
                            "cycles are summarised by number")
    if "step_index" in names:
        arrays["step_index"] = _counter(path, data, "step_index")

    extra: list[ArrayData] = []
    raw: dict[str, Any] = {"battdat_version": version or table_version, "cell": cell, "tables": all_tables,
                           "column_units": units, "battdat_metadata": metadata_json}
    if "cycle_capacity" in names:
        capacity = _convert(path, _numbers(path, data, "cycle_capacity", finite=False),
                            _unit(path, columns, "cycle_capacity"), "A*h", "cycle_capacity")
        sign = _capacity_sign(capacity, time, arrays["current"], cycles)
        if sign:
            raw["cycle_capacity_sign_in_file"] = "positive = charged" if sign > 0 else "positive = discharged"
            how = "as written" if sign > 0 else "flipped: the file counts discharge as positive"
            extra.append(ArrayData("cycle_capacity", sign * capacity, "Capacity", "A*h",
                                   f"charge put into the cell since the start of the cycle (battdat cycle_capacity; "
                                   f"sign {how})"))
        else:
            warnings.append("battdat cycle_capacity left out: its increments follow neither sign of the current, so "
                            "its sign convention is unknown")
    if "internal_resistance" in names:
        resistance = _convert(path, _numbers(path, data, "internal_resistance", finite=False),
                              _unit(path, columns, "internal_resistance"), "ohm", "internal_resistance")
        extra.append(ArrayData("internal_resistance", resistance, "ElectricResistance", "ohm",
                               "internal resistance of the cell (battdat internal_resistance)"))

    meta: dict[str, Any] = {}  # battdat converted the file; the cycler (instrument) only if test_protocol names it
    if "time" in names:  # UNIX timestamps (s, UTC)
        stamps = _numbers(path, data, "time", finite=False)
        finite = stamps[np.isfinite(stamps)]
        if finite.size:
            meta["start_time"] = datetime.fromtimestamp(float(finite[0]), tz=timezone.utc)
            meta["end_time"] = datetime.fromtimestamp(float(finite[-1]), tz=timezone.utc)
    quantities = _metadata(metadata_json, meta)
    if cell != ROOT_CELL:
        meta["cell"] = cell
    if cycles is not None:
        meta["n_cycles"] = int(count_cycles(cycles))
    descriptions = {"time": "test time (battdat test_time)", "cycle_index": "cycle number, 1-based (battdat "
                    "cycle_number + 1)", "step_index": "battdat step_index: from 0, restarting in every cycle",
                    "current": "current, positive = charging the cell (battdat's convention too)"}
    temperature_unit = "K" if units.get("temperature") in ("K", "kelvin") else "degC"
    block = timeseries_block(path, READER.id, temperature_unit=temperature_unit, descriptions=descriptions, **arrays)
    block.arrays.extend(extra)
    raw["unmapped_columns"] = [c for c in names if c not in _MAPPED and c not in _COUNTERS and c not in _EXTRAS]
    return ParsedFile(format_id=READER.id, blocks=[block], quantities=quantities, metadata=meta, raw_metadata=raw,
                      warnings=warnings)


def _metadata(described: dict[str, Any], meta: dict[str, Any]) -> list[ScalarQuantity]:
    """battdat ``BatteryMetadata`` → battkg metadata keys (in ``meta``) and file-level quantities."""
    quantities: list[ScalarQuantity] = []
    if described.get("name"):
        meta["sample_name"] = str(described["name"])
    if described.get("comments"):
        meta["comment"] = str(described["comments"])
    protocol = described.get("test_protocol") or {}
    if isinstance(protocol, dict):
        if protocol.get("cycler"):
            meta["instrument"] = str(protocol["cycler"])
        for key in ("schedule", "start_date"):
            if protocol.get(key):
                meta[key] = str(protocol[key])
        if isinstance(protocol.get("set_temperature"), (int, float)):
            quantities.append(ScalarQuantity("ThermodynamicTemperature", float(protocol["set_temperature"]), "degC",
                                             "set temperature"))
    battery = described.get("battery") or {}
    if isinstance(battery, dict) and isinstance(battery.get("nominal_capacity"), (int, float)) \
            and battery["nominal_capacity"] > 0:
        quantities.append(ScalarQuantity("Capacity", float(battery["nominal_capacity"]), "A*h", "nominal capacity"))
    return quantities
