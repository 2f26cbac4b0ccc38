"""Bruker DIFFRAC.SUITE BRML (``.brml``): a zip archive of XML documents.

Usage
    ``battkg ingest xrd scan.brml`` (format id ``xrd.bruker.brml``).
    Detected by content: a zip archive whose local headers name
    ``Experiment<N>/...`` members or ``experimentCollection.xml``.

Schema
    The raw data of an experiment are listed in
    ``Experiment<N>/DataContainer.xml`` (``RawDataReferenceList``; without it
    every ``RawData<k>.xml`` member is read).  One :class:`Block` per
    ``DataRoute`` of each ``RawData<k>.xml`` (``RouteFlag="Measured"`` routes
    only when the file has any), named after the member
    (``Experiment0_RawData0``, ``_route<i>`` for further routes).  Each
    ``<Datum>`` is one comma-separated
    row; the ``<DataViews>`` say what each column is:

    * ``two_theta`` (TwoTheta, degree): the ``TwoTheta`` field of the
      ``VaryingRawDataView`` (the measured positions); when the route has no
      such column, the ``TwoTheta`` ``ScanAxisInfo`` start/stop spread over
      the points, with a warning;
    * ``intensity`` (DiffractionIntensity): the first ``RecordedRawDataView``
      column verbatim, unit from its ``<Unit Base=...>`` (``Counts`` ->
      count, ``CountsPerSecond`` -> count/s).  These values already include
      the automatic absorber: where ``AbsorptionFactor`` ≠ 1 the stored value
      divided by the factor is an integer (checked on the sample), so no
      further correction is applied;
    * ``counting_time`` (Time, s): the ``MeasuredTime`` column, only when it
      varies (a constant one becomes ``CountingTime``).

Metadata
    ``metadata``: ``anode`` (``TubeMaterial``), ``radiation``, ``instrument``
    (``InstrumentDescription/InstrumentName``), ``goniometer``
    (``GoniometerType``), ``sample_name``, ``operator``, ``comment`` (the
    ``MeasurementInfo`` / ``InfoItem`` entries), ``start_time``/``end_time``
    (``TimeStampStarted``/``TimeStampFinished``, timezone-aware).  Per block:
    ``scan_axis`` (``ScanName``, e.g. "TwoThetaOmegaScan"), ``scan_mode``
    (``ScanMode``: continuous/step), ``scan_axes`` (start/stop/increment of
    each ``ScanAxisInfo``).  Quantities: ``Wavelength`` Kα1/Kα2/Kβ,
    ``KAlphaRatio``, ``GeneratorVoltage``, ``GeneratorCurrent`` (the tube's
    ``Generator``), per block ``CountingTime`` (``TimePerStep`` s; the
    effective time of 1-D detectors is in block metadata).  Everything but
    the ``<Datum>`` rows is kept verbatim in ``raw_metadata['raw_data']``
    (one flattened dict per RawData member) and
    ``raw_metadata['data_container']``; a varying ``AbsorptionFactor`` column
    is kept in ``raw_metadata['absorption_factor']``.

Known gaps
    Reciprocal-space maps and area-detector measurements (one RawData member
    per frame) are not assembled into 2-D data: each member becomes its own
    block, and members without a 2θ column or axis raise
    :class:`FormatError`.  Old BRML files without ``<DataViews>`` are refused
    rather than read with guessed column positions.  Only the first tube
    found gives the source quantities.

Sample files
    ``shared/samples/xrd/fairmat_23-012-AG_2thomegascan_long.brml``
    (DIFFRAC 6.5, 2θ-ω scan with the rotary absorber active on 29 points;
    datalab's reader takes the wrong column there, battkg matches the
    fairmat oracle).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.xrd._common import (
    natural_sort_key,
    flatten_xml,
    open_zip,
    parse_timestamp,
    parse_xml,
    pattern_block,
    radiation_label,
    read_member,
    source_quantities,
    to_angstrom,
    to_float,
    zip_member_names,
)
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity


def _sniff(head: bytes) -> bool:
    """A zip whose first member names are BRML's ``Experiment<N>/...`` or ``experimentCollection.xml``."""
    return any(re.match(r"Experiment\d+/", name) or name == "experimentCollection.xml"
               for name in zip_member_names(head))


READER = ReaderInfo(
    id="xrd.bruker.brml",
    technique="xrd",
    suffixes=(".brml",),
    description="Bruker DIFFRAC.SUITE BRML (zip of XML), 1-D scans",
    sniff=_sniff,
    priority=20,
    media_type="application/zip",
)

_RAW_DATA = re.compile(r"(?:^|/)RawData\d*\.xml$")
_INTENSITY_UNITS = {"counts": "count", "countspersecond": "count/s", "cps": "count/s"}
_SCAN_MODES = {"continuousscan": "continuous", "stepscan": "step", "continuous": "continuous", "step": "step"}


def _raw_members(archive: Any, path: Path) -> list[str]:
    """RawData members in the order the DataContainers list them (else natural name order)."""
    names = archive.namelist()
    ordered: list[str] = []
    for container in sorted((n for n in names if n.endswith("DataContainer.xml")), key=natural_sort_key):
        root = parse_xml(read_member(archive, container, path, READER.id), path, READER.id, container)
        for ref in root.iterfind("RawDataReferenceList/string"):
            member = (ref.text or "").strip()
            if member and member not in names:
                # An incomplete archive: reading the rest would silently drop a scan.
                raise FormatError(path, f"zip member '{member}' is missing (listed in {container})",
                                  reader=READER.id)
            if member and member not in ordered:
                ordered.append(member)
    if not ordered:
        ordered = sorted((n for n in names if _RAW_DATA.search(n)), key=natural_sort_key)
    if not ordered:
        raise FormatError(path, "no RawData*.xml member in the archive (is this a BRML file?)", reader=READER.id)
    return ordered


def _rows(route: ET.Element, path: Path, field: str) -> np.ndarray:
    """The ``<Datum>`` rows as a (n_rows, n_columns) float64 array."""
    data = [d.text or "" for d in route.iterfind("Datum")]
    if not data:
        raise FormatError(path, "empty data block (no <Datum> rows)", field=field, reader=READER.id)
    width = len(data[0].split(","))
    rows = np.empty((len(data), width), dtype=np.float64)
    for index, text in enumerate(data):
        parts = text.split(",")
        if len(parts) != width:
            raise FormatError(path, f"row has {len(parts)} column(s), expected {width} (truncated or inconsistent "
                              "row)", field=f"{field}/Datum[{index}]", reader=READER.id)
        try:
            rows[index] = [float(p) for p in parts]
        except ValueError:
            bad = next(p for p in parts if not _is_number(p))
            raise FormatError(path, f"non-numeric value {bad.strip()!r} in the data block",
                              field=f"{field}/Datum[{index}]", reader=READER.id) from None
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _views(route: ET.Element, path: Path, field: str) -> dict[str, tuple[int, str | None]]:
    """Column index (and unit) of each named quantity from the ``<DataViews>``."""
    columns: dict[str, tuple[int, str | None]] = {}
    views = route.findall("DataViews/RawDataView")
    if not views:
        raise FormatError(path, "no <DataViews>: the meaning of the <Datum> columns is not declared (old BRML "
                          "layout); battkg does not guess column positions", field=field, reader=READER.id)
    for view in views:
        kind = view.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
        start = int(to_float(view.get("Start"), path, READER.id, f"{field}/DataViews/RawDataView/@Start"))
        if kind == "FixedRawDataView":
            columns[view.get("LogicName", f"column{start}")] = (start, view.get("Unit"))
        elif kind == "VaryingRawDataView":
            for offset, definition in enumerate(view.iterfind("Varying/FieldDefinitions")):
                name = definition.get("FieldName") or definition.get("AxisId") or f"column{start + offset}"
                columns[name] = (start + offset, None)
        elif kind == "RecordedRawDataView":
            recording = view.find("Recording")
            unit = recording.find("Unit") if recording is not None else None
            base = unit.get("Base") if unit is not None else None
            columns.setdefault("__intensity__", (start, base))
            if recording is not None and recording.get("LogicName"):
                columns[recording.get("LogicName")] = (start, base)
    return columns


def _scan_axes(info: ET.Element | None, path: Path, field: str) -> dict[str, dict[str, float]]:
    axes: dict[str, dict[str, float]] = {}
    if info is None:
        return axes
    for axis in info.iterfind("ScanAxes/ScanAxisInfo"):
        name = axis.get("AxisId") or axis.get("AxisName") or "?"
        entry: dict[str, float] = {}
        for key in ("Reference", "Start", "Stop", "Increment"):
            text = axis.findtext(key)
            if text is not None and text.strip():
                entry[key.lower()] = to_float(text, path, READER.id, f"{field}/ScanAxisInfo[{name}]/{key}")
        axes[name] = entry
    return axes


def _route_block(route: ET.Element, member: str, index: int, path: Path, warnings: list[str],
                 raw: dict[str, Any]) -> Block:
    field = f"{member}/DataRoute[{index}]"
    info = route.find("ScanInformation")
    rows = _rows(route, path, field)
    columns = _views(route, path, field)
    width = rows.shape[1]
    for name, (column, _unit) in columns.items():
        if column >= width:
            raise FormatError(path, f"data view '{name}' points at column {column + 1} but rows have {width}",
                              field=f"{field}/DataViews", reader=READER.id)
    if "__intensity__" not in columns:
        raise FormatError(path, "no RecordedRawDataView: no detector column", field=f"{field}/DataViews",
                          reader=READER.id)
    column, base = columns["__intensity__"]
    unit = _INTENSITY_UNITS.get((base or "Counts").lower())
    if unit is None:
        raise FormatError(path, f"unknown intensity unit {base!r}", field=f"{field}/DataViews/Recording/Unit",
                          reader=READER.id)
    intensity = rows[:, column]
    expected = None
    if info is not None:
        measured = [s.get("MeasuredSteps") for s in route.iterfind("SubScans/SubScanInfo")]
        if measured and all(m is not None for m in measured):
            expected = sum(int(to_float(m, path, READER.id, f"{field}/SubScans/@MeasuredSteps")) for m in measured)
        elif info.findtext("MeasurementPoints"):
            expected = int(to_float(info.findtext("MeasurementPoints"), path, READER.id,
                                    f"{field}/ScanInformation/MeasurementPoints"))
    if expected is not None and expected != rows.shape[0]:
        raise FormatError(path, f"inconsistent point counts: the header declares {expected} measured points but "
                          f"there are {rows.shape[0]} <Datum> rows", field=field, reader=READER.id)
    axes = _scan_axes(info, path, field)
    if "TwoTheta" in columns:
        two_theta = rows[:, columns["TwoTheta"][0]]
    elif "TwoTheta" in axes and {"start", "stop"} <= set(axes["TwoTheta"]):
        axis = axes["TwoTheta"]
        ref = axis.get("reference", 0.0)
        two_theta = np.linspace(axis["start"] + ref, axis["stop"] + ref, rows.shape[0])
        warnings.append(f"{field}: no measured 2θ column; 2θ spread linearly from the ScanAxisInfo start/stop")
    else:
        raise FormatError(path, "no TwoTheta column or scan axis: not a 2θ scan", field=field, reader=READER.id)
    block_meta: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    extra: list[ArrayData] = []
    if info is not None:
        if info.get("ScanName"):
            block_meta["scan_axis"] = info.get("ScanName")
        mode = info.findtext("ScanMode")
        if mode:
            block_meta["scan_mode"] = _SCAN_MODES.get(mode.strip().lower(), mode.strip())
        effective = info.findtext("TimePerStepEffective")
        if effective:
            block_meta["time_per_step_effective_s"] = to_float(effective, path, READER.id,
                                                               f"{field}/ScanInformation/TimePerStepEffective")
    if axes:
        block_meta["scan_axes"] = axes
    if "MeasuredTime" in columns:
        times = rows[:, columns["MeasuredTime"][0]]
        if np.all(times == times[0]):
            quantities.append(ScalarQuantity("CountingTime", float(times[0]), "s"))
        else:
            extra.append(ArrayData("counting_time", times, "Time", "s", "measured time per point"))
    elif info is not None and info.findtext("TimePerStep"):
        quantities.append(ScalarQuantity("CountingTime", to_float(info.findtext("TimePerStep"), path, READER.id,
                                                                  f"{field}/ScanInformation/TimePerStep"), "s"))
    if "AbsorptionFactor" in columns:
        factors = rows[:, columns["AbsorptionFactor"][0]]
        if np.any(factors != 1):
            raw.setdefault("absorption_factor", {})[field] = factors.tolist()
            block_meta["intensity_correction"] = "stored counts already include the absorber factor"
    stem = member[:-len(".xml")].replace("/", "_")  # Experiment0_RawData0: unique across experiments
    return pattern_block(path, READER.id, f"{stem}_route{index}" if index else stem,
                         two_theta, intensity, unit, extra=extra, metadata=block_meta, quantities=quantities,
                         field=field)


def _attr_number(element: ET.Element | None, path: Path, field: str) -> tuple[float | None, str | None]:
    if element is None or element.get("Value") in (None, ""):
        return None, None
    return to_float(element.get("Value"), path, READER.id, field), element.get("Unit")


def _instrument(root: ET.Element, path: Path, member: str, metadata: dict[str, Any]) -> list[ScalarQuantity]:
    tube = next(root.iter("Tube"), None)
    if tube is None:
        return []
    values: dict[str, float | None] = {}
    for tag in ("WaveLengthAlpha1", "WaveLengthAlpha2", "WaveLengthBeta"):
        value, unit = _attr_number(tube.find(tag), path, f"{member}/Tube/{tag}")
        values[tag] = None if value is None else to_angstrom(value, unit)
        if value is not None and values[tag] is None:
            raise FormatError(path, f"unknown wavelength unit {unit!r}", field=f"{member}/Tube/{tag}", reader=READER.id)
    ratio, _ = _attr_number(tube.find("WaveLengthRatio"), path, f"{member}/Tube/WaveLengthRatio")
    voltage, v_unit = _attr_number(tube.find("Generator/Voltage"), path, f"{member}/Tube/Generator/Voltage")
    current, c_unit = _attr_number(tube.find("Generator/Current"), path, f"{member}/Tube/Generator/Current")
    if voltage is not None and v_unit != "kV":
        raise FormatError(path, f"generator voltage unit {v_unit!r} (expected kV)",
                          field=f"{member}/Tube/Generator/Voltage", reader=READER.id)
    if current is not None and c_unit != "mA":
        raise FormatError(path, f"generator current unit {c_unit!r} (expected mA)",
                          field=f"{member}/Tube/Generator/Current", reader=READER.id)
    anode = (tube.findtext("TubeMaterial") or "").strip()
    if anode:
        metadata.setdefault("anode", anode)
        metadata.setdefault("radiation", radiation_label(anode))
    return source_quantities(kalpha1=values["WaveLengthAlpha1"], kalpha2=values["WaveLengthAlpha2"],
                             kbeta=values["WaveLengthBeta"], ratio=ratio, voltage_kv=voltage, current_ma=current)


def _describe(root: ET.Element, metadata: dict[str, Any], warnings: list[str], member: str) -> None:
    """Sample, operator, comment, times, goniometer from one RawData document."""
    for item in root.iter("InfoItem"):
        name, value = item.get("Name"), (item.get("Value") or "").strip()
        target = {"User": "operator", "SampleName": "sample_name", "Comment": "comment"}.get(name or "")
        if target and value:
            metadata.setdefault(target, value)
    goniometer = root.findtext("FixedInformation/Instrument/GoniometerType")
    if goniometer and goniometer.strip():
        metadata.setdefault("goniometer", goniometer.strip())
    for tag, key in (("TimeStampStarted", "start_time"), ("TimeStampFinished", "end_time")):
        stamp = parse_timestamp(root.findtext(tag), f"{member}/{tag}", warnings)
        if stamp is None:
            continue
        if key == "start_time" and ("start_time" not in metadata or stamp < metadata["start_time"]):
            metadata[key] = stamp
        if key == "end_time" and ("end_time" not in metadata or stamp > metadata["end_time"]):
            metadata[key] = stamp


def read(path: Path, **options: object) -> ParsedFile:
    """Read every measured 1-D route of a BRML archive into one block each."""
    path = Path(path)
    warnings: list[str] = []
    raw: dict[str, Any] = {"raw_data": {}, "data_container": {}}
    metadata: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    blocks: list[Block] = []
    with open_zip(path, READER.id) as archive:
        members = _raw_members(archive, path)
        containers = (n for n in archive.namelist() if n.endswith("DataContainer.xml"))
        for container in sorted(containers, key=natural_sort_key):
            root = parse_xml(read_member(archive, container, path, READER.id), path, READER.id, container)
            raw["data_container"][container] = flatten_xml(root)
            name = root.findtext("ExperimentInfo/InstrumentDescription/InstrumentName")
            if name and name.strip():
                metadata.setdefault("instrument", name.strip())
            info = root.find("MeasurementInfo")
            if info is not None:
                for attr, key in (("UserName", "operator"), ("SampleName", "sample_name"), ("Comment", "comment")):
                    if (info.get(attr) or "").strip():
                        metadata.setdefault(key, info.get(attr).strip())
        for member in members:
            root = parse_xml(read_member(archive, member, path, READER.id), path, READER.id, member)
            if root.tag != "RawData":
                raise FormatError(path, f"root element is <{root.tag}>, expected <RawData>", field=member,
                                  reader=READER.id)
            raw["raw_data"][member] = flatten_xml(root, skip=frozenset({"Datum"}))
            _describe(root, metadata, warnings, member)
            if not quantities:
                quantities = _instrument(root, path, member, metadata)
            routes = root.findall("DataRoutes/DataRoute")
            measured = [r for r in routes if r.get("RouteFlag") == "Measured"]
            if not routes:
                raise FormatError(path, "no <DataRoute>", field=f"{member}/DataRoutes", reader=READER.id)
            for index, route in enumerate(measured or routes):
                blocks.append(_route_block(route, member, index, path, warnings, raw))
    return ParsedFile(format_id=READER.id, blocks=blocks, quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
