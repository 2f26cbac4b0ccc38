"""Rigaku SmartLab Studio II RASX (``.rasx``): a zip of profile text + measurement-condition XML.

Usage
    ``battkg ingest xrd scan.rasx`` (format id ``xrd.rigaku.rasx``).
    Detected by content: a zip archive whose local headers name
    ``Data<N>/Profile<k>.txt`` or ``Data<N>/MesurementConditions<k>.xml``
    (sic: Rigaku's spelling; ``MeasurementConditions`` is accepted too).

Schema
    One :class:`Block` per ``Profile<k>.txt`` (``Data0/Profile0`` ->
    ``Data0_Profile0``), with its ``MesurementConditions<k>.xml`` beside it.
    The profile is a UTF-8 (BOM) tab-separated table parsed with
    :func:`battkg.textdata.read_numeric_table`; columns:

    1. the scan axis position -> ``two_theta`` (TwoTheta, degree);
    2. the measured intensity, in ``ScanInformation/IntensityUnit``
       (``counts`` -> count, ``cps`` -> count/s);
    3. the attenuator coefficient.

    ``intensity`` (DiffractionIntensity) = column 2 × column 3, as SmartLab
    Studio displays it; ``raw_intensity`` keeps column 2 when any
    coefficient differs from 1.  Correction note: the MANIFEST oracle
    (fairmat-readers-xrd 0.0.10, and datalab) takes column 2 as is; on both
    samples every coefficient is 1, so battkg matches it exactly.  No
    scan-speed normalisation is applied (the file says the unit is counts).

Metadata
    ``metadata``: ``anode`` (``XrayGenerator/TargetName``), ``radiation``
    (anode + ``WaveType``, e.g. "Cu Kα1"), ``instrument``
    (``GeneralInformation/SystemName``), ``goniometer`` (RAS header
    ``*HW_GONIOMETER_NAME``, else the selected goniometer unit),
    ``sample_name``, ``operator``, ``comment``, ``start_time``/``end_time``
    (``ScanInformation``; UTC, written with ``Z``).  Per block:
    ``scan_axis`` (``AxisName`` verbatim, e.g. "TwoThetaOmega"),
    ``scan_mode`` (continuous/step), ``scan_range`` (start/stop/step/speed
    with units).  Quantities: ``Wavelength`` Kα1/Kα2/Kβ,
    ``GeneratorVoltage``, ``GeneratorCurrent``; per block ``CountingTime``
    = step / speed for continuous scans (deg/min or deg/s) and the speed for
    step scans timed in seconds.  No ``KAlphaRatio``: the file has none
    (fairmat-readers-xrd fills in 0.5; battkg does not invent it).
    ``raw_metadata``: the RAS header pairs verbatim (``ras_header``) and
    every other element/attribute of the conditions XML flattened
    (``conditions``), per profile.

Known gaps
    Only scans along a 2θ axis (``AxisName`` starting with ``TwoTheta``) are
    read; omega/phi scans and HyPix ``Image<k>`` frames (2-D) raise
    :class:`FormatError` / are ignored with a warning.  ``root.xml`` (content
    hashes and an XML signature) is not verified.

Sample files
    ``shared/samples/xrd/fairmat_TwoTheta_scan_powder.rasx``,
    ``fairmat_Omega-2Theta_scan_high_temperature.rasx`` (SmartLab XE,
    HyPix-3000, DHS 1100 at 550 °C).
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
from battkg.textdata import read_numeric_table

_MEMBER = re.compile(r"^Data\d+/(?:Profile\d+\.txt|Mes?urementConditions\d+\.xml|Measurement[Cc]onditions\d+\.xml)$")


def _sniff(head: bytes) -> bool:
    """A zip whose local headers name RASX members (``Data0/Profile0.txt`` ...)."""
    return any(_MEMBER.match(name) for name in zip_member_names(head))


READER = ReaderInfo(
    id="xrd.rigaku.rasx",
    technique="xrd",
    suffixes=(".rasx",),
    description="Rigaku SmartLab Studio II RASX (zip of profile text + conditions XML), 2θ scans",
    sniff=_sniff,
    priority=20,
    media_type="application/zip",
)

_PROFILE = re.compile(r"^(?P<dir>(?:.*/)?)Profile(?P<k>\d+)\.txt$")
_INTENSITY_UNITS = {"counts": "count", "count": "count", "cps": "count/s"}
_LINES = {"ka": "Kα", "ka1": "Kα1", "ka2": "Kα2", "kb": "Kβ"}


def _conditions_member(names: list[str], directory: str, k: str, path: Path) -> str:
    for stem in ("MesurementConditions", "MeasurementConditions", "Measurementconditions"):
        candidate = f"{directory}{stem}{k}.xml"
        if candidate in names:
            return candidate
    raise FormatError(path, f"zip member '{directory}MesurementConditions{k}.xml' (conditions of "
                      f"'{directory}Profile{k}.txt') is missing", reader=READER.id)


def _text(element: ET.Element | None, tag: str) -> str | None:
    if element is None:
        return None
    value = element.findtext(tag)
    return value.strip() if value and value.strip() else None


def _counting_time(scan: ET.Element, path: Path, member: str) -> float | None:
    mode = (_text(scan, "Mode") or "").lower()
    speed_text, step_text = _text(scan, "Speed"), _text(scan, "Step")
    unit = (_text(scan, "SpeedUnit") or "").lower().replace(" ", "")
    if speed_text is None:
        return None
    speed = to_float(speed_text, path, READER.id, f"{member}/ScanInformation/Speed")
    if mode == "continuous" and step_text is not None and speed > 0:
        step = to_float(step_text, path, READER.id, f"{member}/ScanInformation/Step")
        per = {"deg/min": 60.0, "°/min": 60.0, "deg/sec": 1.0, "deg/s": 1.0}.get(unit)
        return None if per is None else step / speed * per
    if mode == "step" and unit in ("s", "sec", "second", "seconds"):
        return speed
    return None


def _profile_block(archive: Any, names: list[str], member: str, path: Path, metadata: dict[str, Any],
                   quantities: list[ScalarQuantity], raw: dict[str, Any], warnings: list[str]) -> Block:
    directory, k = member.rsplit("Profile", 1)
    conditions = _conditions_member(names, directory, k[:-len(".txt")], path)
    root = parse_xml(read_member(archive, conditions, path, READER.id), path, READER.id, conditions)
    scan = root.find("ScanInformation")
    if scan is None:
        raise FormatError(path, "no <ScanInformation>", field=conditions, reader=READER.id)
    axis = _text(scan, "AxisName") or ""
    if not axis.startswith("TwoTheta"):
        raise FormatError(path, f"scan axis {axis!r} is not a 2θ axis; battkg reads 2θ patterns only",
                          field=f"{conditions}/ScanInformation/AxisName", reader=READER.id)
    position_unit = _text(scan, "PositionUnit") or "deg"
    if position_unit not in ("deg", "degree", "°"):
        raise FormatError(path, f"position unit {position_unit!r} is not degrees",
                          field=f"{conditions}/ScanInformation/PositionUnit", reader=READER.id)
    unit_text = _text(scan, "IntensityUnit") or "counts"
    unit = _INTENSITY_UNITS.get(unit_text.lower())
    if unit is None:
        raise FormatError(path, f"unknown intensity unit {unit_text!r}",
                          field=f"{conditions}/ScanInformation/IntensityUnit", reader=READER.id)

    data = read_member(archive, member, path, READER.id)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if not text.strip():
        raise FormatError(path, f"member '{member}': empty data block", reader=READER.id)
    try:
        table = read_numeric_table(path, reader=READER.id, min_columns=2, max_columns=3, text=text)
    except FormatError as exc:
        # Name the member: the archive path alone does not say which profile is bad.
        raise FormatError(path, f"member '{member}': {exc.message}", line=exc.line, reader=READER.id) from None
    two_theta, measured = table.columns[0], table.columns[1]
    extra: list[ArrayData] = []
    block_meta: dict[str, Any] = {"scan_axis": axis}
    intensity = measured
    if table.columns.shape[0] == 3:
        coefficient = table.columns[2]
        intensity = measured * coefficient
        if np.any(coefficient != 1):
            extra.append(ArrayData("raw_intensity", measured, "DiffractionIntensity", unit,
                                   "intensity before the attenuator coefficient (profile column 2)"))
            raw.setdefault("attenuator_coefficient", {})[member] = coefficient.tolist()
        block_meta["intensity_correction"] = "column 2 × attenuator coefficient (column 3)"
    count = _text(scan, "DataCount")
    if count is not None and int(to_float(count, path, READER.id, f"{conditions}/ScanInformation/DataCount")) \
            != two_theta.size:
        raise FormatError(path, f"inconsistent point counts: DataCount says {count} but '{member}' has "
                          f"{two_theta.size} rows", field=f"{conditions}/ScanInformation/DataCount", reader=READER.id)
    mode = _text(scan, "Mode")
    if mode:
        block_meta["scan_mode"] = {"continuous": "continuous", "step": "step"}.get(mode.lower(), mode)
    block_meta["scan_range"] = {key.lower(): _text(scan, key) for key in
                                ("Start", "Stop", "Step", "Speed", "SpeedUnit", "PositionUnit") if _text(scan, key)}
    for tag, key in (("StartTime", "start_time"), ("EndTime", "end_time")):
        stamp = parse_timestamp(_text(scan, tag), f"{conditions}/ScanInformation/{tag}", warnings)
        if stamp is not None:
            block_meta[key] = stamp
            if key == "start_time" and ("start_time" not in metadata or stamp < metadata["start_time"]):
                metadata[key] = stamp
            if key == "end_time" and ("end_time" not in metadata or stamp > metadata["end_time"]):
                metadata[key] = stamp
    block_q: list[ScalarQuantity] = []
    seconds = _counting_time(scan, path, conditions)
    if seconds is not None:
        block_q.append(ScalarQuantity("CountingTime", seconds, "s"))

    general = root.find("GeneralInformation")
    for tag, key in (("SampleName", "sample_name"), ("Operator", "operator"), ("Comment", "comment"),
                     ("SystemName", "instrument")):
        value = _text(general, tag)
        if value:
            metadata.setdefault(key, value)
    header = {}
    for pair in root.iterfind("RASHeader/Pair"):
        strings = [s.text or "" for s in pair]
        if strings:
            header[strings[0]] = strings[1] if len(strings) > 1 else ""
    goniometer = header.get("*HW_GONIOMETER_NAME") or next(
        (c.get("SelectedUnit") for c in root.iterfind("HWConfigurations/Categories/Category")
         if c.get("Name") == "Goniometer"), None)
    if goniometer:
        metadata.setdefault("goniometer", goniometer)
    generator = root.find("HWConfigurations/XrayGenerator")
    if generator is not None and not quantities:
        quantities.extend(_source(generator, path, conditions, metadata))
    raw.setdefault("ras_header", {})[conditions] = header
    raw.setdefault("conditions", {})[conditions] = flatten_xml(root, skip=frozenset({"RASHeader"}))
    name = member[:-len(".txt")].replace("/", "_")
    return pattern_block(path, READER.id, name, two_theta, intensity, unit, extra=extra, metadata=block_meta,
                         quantities=block_q, field=member)


def _source(generator: ET.Element, path: Path, member: str, metadata: dict[str, Any]) -> list[ScalarQuantity]:
    where = f"{member}/HWConfigurations/XrayGenerator"
    wave_unit = "angstrom"  # RAS header *HW_XG_WAVE_LENGTH_UNIT is "Angstrom" on every file seen
    values = {}
    for tag in ("WavelengthKalpha1", "WavelengthKalpha2", "WavelengthKbeta"):
        text = _text(generator, tag)
        values[tag] = None if text is None else to_angstrom(to_float(text, path, READER.id, f"{where}/{tag}"),
                                                            _text(generator, tag + "Unit") or wave_unit)
    volts = _text(generator, "Voltage")
    amps = _text(generator, "Current")
    for tag, expected in (("VoltageUnit", "kV"), ("CurrentUnit", "mA")):
        if (_text(generator, tag) or expected) != expected:
            raise FormatError(path, f"unit {_text(generator, tag)!r} (expected {expected})", field=f"{where}/{tag}",
                              reader=READER.id)
    anode = _text(generator, "TargetName")
    if anode:
        metadata.setdefault("anode", anode)
        wave = (_text(generator, "WaveType") or "Ka").lower()
        metadata.setdefault("radiation", radiation_label(anode, _LINES.get(wave, wave)))
    return source_quantities(
        kalpha1=values["WavelengthKalpha1"], kalpha2=values["WavelengthKalpha2"], kbeta=values["WavelengthKbeta"],
        voltage_kv=None if volts is None else to_float(volts, path, READER.id, f"{where}/Voltage"),
        current_ma=None if amps is None else to_float(amps, path, READER.id, f"{where}/Current"))


def read(path: Path, **options: object) -> ParsedFile:
    """Read every 2θ profile of a RASX archive into one block each."""
    path = Path(path)
    warnings: list[str] = []
    raw: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    with open_zip(path, READER.id) as archive:
        names = archive.namelist()
        profiles = sorted((n for n in names if _PROFILE.match(n)), key=natural_sort_key)
        if not profiles:
            raise FormatError(path, "no Data<N>/Profile<k>.txt member in the archive (is this a RASX file?)",
                              reader=READER.id)
        images = [n for n in names if re.search(r"(?:^|/)Image\d+\.", n)]
        if images:
            warnings.append(f"{len(images)} 2-D detector image member(s) not read: {', '.join(images[:3])}")
        blocks = [_profile_block(archive, names, member, path, metadata, quantities, raw, warnings)
                  for member in profiles]
    return ParsedFile(format_id=READER.id, blocks=blocks, quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
