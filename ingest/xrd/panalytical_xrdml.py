"""PANalytical / Malvern Panalytical XRDML (``.xrdml``), schema versions 1.x and 2.0.

Usage
    ``battkg ingest xrd scan.xrdml`` (format id ``xrd.panalytical.xrdml``).
    Detected by content: an XML document whose root is ``<xrdMeasurements>``,
    so a renamed file is still recognised.

Schema
    One :class:`Block` per ``<dataPoints>`` of every ``<scan>`` of every
    ``<xrdMeasurement>`` (named ``scan<appendNumber>``; ``m<i>_`` and ``_<j>``
    are added only when there are several measurements or several
    ``<dataPoints>`` in a scan).  Arrays:

    * ``two_theta`` (TwoTheta, degree) from the ``2Theta`` ``<positions>``:
      ``<listPositions>`` verbatim, or ``<startPosition>``/``<endPosition>``
      spread linearly over the number of intensities (what the Data
      Collector writes for continuous and step scans);
    * ``intensity`` (DiffractionIntensity): ``<intensities>`` verbatim
      (schema 1.x, already corrected), or ``<counts>`` multiplied by
      ``<beamAttenuationFactors>`` when that element is present (schema 2.0,
      as in the vendor's own viewer).  The unit comes from the element's
      ``unit`` attribute: ``counts`` -> ``count``, ``cps`` -> ``count/s``;
    * ``raw_counts`` (count): the uncorrected ``<counts>`` when an attenuation
      correction was applied;
    * ``counting_time`` (Time, s) when the file lists ``<countingTimes>`` per
      point.

Metadata
    ``metadata``: ``anode`` (``anodeMaterial``), ``radiation`` (anode +
    ``usedWavelength/@intended``, e.g. "Cu Kα1"), ``instrument`` (comment
    entry ``Diffractometer system=``, else the instrument control software),
    ``goniometer`` (comment entry ``Goniometer=``), ``sample_name``
    (``sample/name``, else ``sample/id``), ``operator`` (first scan's
    ``author/name``), ``comment`` (the measurement's non-empty comment
    entries), ``start_time``/``end_time`` (first scan start, last scan end,
    timezone-aware as written).  Per block: ``scan_mode`` (continuous/step),
    ``scan_axis`` (``scanAxis`` verbatim, e.g. "Gonio", "2Theta"),
    ``start_time``/``end_time``, ``measurement_type``, and the other axes'
    positions (``positions`` -> {axis: {start, end | common | n_listed, unit}}).
    Quantities (file level, from the first measurement): ``Wavelength``
    Kα1/Kα2/Kβ (Å), ``KAlphaRatio``, ``GeneratorVoltage`` (kV),
    ``GeneratorCurrent`` (mA); per block ``CountingTime`` (s, from
    ``commonCountingTime``).  Everything else outside the bulk arrays is kept
    verbatim in ``raw_metadata['xml']`` as ``path -> text`` and
    ``path@attribute -> value``.

Known gaps
    Only scans with a varying ``2Theta`` axis are read: a rocking curve or
    an omega/phi scan (``2Theta`` at a ``commonPosition``) raises
    :class:`FormatError`.  Area-detector frames (``<intensities>`` of 2-D
    data) and the non-2θ axes as arrays are not kept.  No intensity
    uncertainty is invented (the file gives none; √N is left to the user).
    When later measurements in one file use another tube/wavelength, their
    source quantities go into their blocks' ``quantities`` and a warning is
    added.

Sample files
    ``shared/samples/xrd/*.xrdml`` (Empyrean and X'Pert PRO, schema 1.5, 1.6
    and 2.0 with ``<counts>``), ``shared/samples/xrd/series_scan_c/`` (eight
    scans of one operando series).  yadg 7.0.1 fails on three of them and
    xylib on the ``<counts>`` variant; this reader matches the oracle on all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.xrd._common import (
    flatten_xml,
    local_name,
    parse_number_list,
    parse_timestamp,
    parse_xml,
    pattern_block,
    radiation_label,
    read_bytes,
    source_quantities,
    to_angstrom,
    to_float,
)
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity


def _sniff(head: bytes) -> bool:
    """XML whose root element is ``xrdMeasurements`` (within the first 64 KiB)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"<") and b"<xrdMeasurements" in head


READER = ReaderInfo(
    id="xrd.panalytical.xrdml",
    technique="xrd",
    suffixes=(".xrdml",),
    description="PANalytical XRDML (XML) 2θ scans, schema 1.x and 2.0",
    sniff=_sniff,
    priority=20,
    media_type="application/xml",
)

# Bulk data elements: kept out of the flattened raw metadata.
_BULK = frozenset({"intensities", "counts", "listPositions", "beamAttenuationFactors", "countingTimes"})
_INTENSITY_UNITS = {"counts": "count", "count": "count", "cps": "count/s", "counts/s": "count/s",
                    "counts per second": "count/s"}
_SCAN_MODES = {"continuous": "continuous", "pre-set time": "step", "pre-set counts": "step", "step": "step"}
_LINES = {"k-alpha": "Kα", "k-alpha 1": "Kα1", "k-alpha1": "Kα1", "k-alpha 2": "Kα2", "k-beta": "Kβ"}


class _Xml:
    """Namespace-aware lookups on one document (XRDML's namespace changes with the schema version)."""

    def __init__(self, root: ET.Element, path: Path) -> None:
        self.ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        self.path = path

    def q(self, steps: str) -> str:
        if not self.ns:
            return steps
        return "/".join(f"{{{self.ns}}}{step}" for step in steps.split("/"))

    def find(self, element: ET.Element, steps: str) -> ET.Element | None:
        return element.find(self.q(steps))

    def findall(self, element: ET.Element, steps: str) -> list[ET.Element]:
        return element.findall(self.q(steps))

    def text(self, element: ET.Element, steps: str) -> str | None:
        found = self.find(element, steps)
        if found is None or found.text is None or not found.text.strip():
            return None
        return found.text.strip()

    def number(self, element: ET.Element, steps: str, field: str) -> float | None:
        found = self.find(element, steps)
        if found is None or found.text is None or not found.text.strip():
            return None
        return to_float(found.text, self.path, READER.id, field)


def _comment_value(entries: list[str], key: str) -> str | None:
    """``Key=value`` from the document comment entries (``Goniometer=Theta/Theta; Minimum ...``)."""
    for entry in entries:
        if entry.startswith(key + "="):
            return entry[len(key) + 1:].split(";", 1)[0].split(", Identifier=", 1)[0].strip() or None
    return None


def _source(x: _Xml, measurement: ET.Element, where: str) -> tuple[list[ScalarQuantity], dict[str, Any]]:
    """Wavelengths and tube of one ``<xrdMeasurement>``."""
    wl = x.find(measurement, "usedWavelength")
    values: dict[str, float | None] = {}
    for tag in ("kAlpha1", "kAlpha2", "kBeta"):
        element = None if wl is None else x.find(wl, tag)
        value = None
        if element is not None and element.text and element.text.strip():
            number = to_float(element.text, x.path, READER.id, f"{where}/usedWavelength/{tag}")
            value = to_angstrom(number, element.get("unit", "Angstrom"))
            if value is None:
                raise FormatError(x.path, f"unknown wavelength unit {element.get('unit')!r}",
                                  field=f"{where}/usedWavelength/{tag}", reader=READER.id)
        values[tag] = value
    ratio = None if wl is None else x.number(wl, "ratioKAlpha2KAlpha1", f"{where}/usedWavelength/ratioKAlpha2KAlpha1")
    tube = x.find(measurement, "incidentBeamPath/xRayTube")
    voltage = current = None
    anode = None
    if tube is not None:
        voltage = x.number(tube, "tension", f"{where}/incidentBeamPath/xRayTube/tension")
        current = x.number(tube, "current", f"{where}/incidentBeamPath/xRayTube/current")
        anode = x.text(tube, "anodeMaterial")
        for tag, unit in (("tension", "kV"), ("current", "mA")):
            element = x.find(tube, tag)
            if element is not None and element.get("unit", unit) != unit:
                raise FormatError(x.path, f"unexpected unit {element.get('unit')!r} (expected {unit})",
                                  field=f"{where}/incidentBeamPath/xRayTube/{tag}", reader=READER.id)
    quantities = source_quantities(kalpha1=values["kAlpha1"], kalpha2=values["kAlpha2"], kbeta=values["kBeta"],
                                   ratio=ratio, voltage_kv=voltage, current_ma=current)
    info: dict[str, Any] = {}
    if anode:
        info["anode"] = anode
        intended = (wl.get("intended") if wl is not None else None) or "K-Alpha"
        info["radiation"] = radiation_label(anode, _LINES.get(intended.strip().lower(), intended.strip()))
    return quantities, info


def _two_theta(x: _Xml, points: ET.Element, n: int, field: str) -> tuple[np.ndarray, dict[str, Any]]:
    """2θ values of one ``<dataPoints>`` plus a summary of the other axes."""
    two_theta: np.ndarray | None = None
    others: dict[str, Any] = {}
    for positions in x.findall(points, "positions"):
        axis = positions.get("axis", "?")
        unit = positions.get("unit", "")
        here = f"{field}/positions[@axis='{axis}']"
        listed = x.find(positions, "listPositions")
        start = x.find(positions, "startPosition")
        end = x.find(positions, "endPosition")
        common = x.find(positions, "commonPosition")
        if listed is not None:
            values = parse_number_list(listed.text, x.path, READER.id, here + "/listPositions")
            if values.size != n:
                raise FormatError(x.path, f"inconsistent point counts: {values.size} listed positions but {n} "
                                  "intensities", field=here + "/listPositions", reader=READER.id)
            summary: dict[str, Any] = {"n_listed": int(values.size), "first": float(values[0]),
                                       "last": float(values[-1]), "unit": unit}
        elif start is not None and end is not None:
            first = to_float(start.text, x.path, READER.id, here + "/startPosition")
            last = to_float(end.text, x.path, READER.id, here + "/endPosition")
            # The Data Collector writes only the ends; points are equally spaced between them.
            values = np.linspace(first, last, n) if n > 1 else np.array([first])
            summary = {"start": first, "end": last, "unit": unit}
        elif common is not None:
            values = None
            summary = {"common": to_float(common.text, x.path, READER.id, here + "/commonPosition"), "unit": unit}
        else:
            raise FormatError(x.path, "positions without listPositions, start/endPosition or commonPosition",
                              field=here, reader=READER.id)
        if axis == "2Theta":
            if values is None:
                raise FormatError(x.path, "2Theta is fixed (commonPosition): not a 2θ scan; battkg reads "
                                  "2θ patterns only", field=here, reader=READER.id)
            if unit not in ("deg", "degree", "degrees", "°"):
                raise FormatError(x.path, f"2Theta unit {unit!r} is not degrees", field=here, reader=READER.id)
            two_theta = values
        else:
            others[axis] = summary
    if two_theta is None:
        raise FormatError(x.path, "no <positions axis=\"2Theta\"> in this scan", field=field, reader=READER.id)
    return two_theta, others


def _block(x: _Xml, points: ET.Element, field: str, name: str, block_meta: dict[str, Any],
           quantities: list[ScalarQuantity]) -> Block:
    """One ``<dataPoints>`` as a checked block."""
    intensities = x.find(points, "intensities")
    counts = x.find(points, "counts")
    element = intensities if intensities is not None else counts
    if element is None:
        raise FormatError(x.path, "no <intensities> or <counts> element", field=field, reader=READER.id)
    tag = local_name(element.tag)
    values = parse_number_list(element.text, x.path, READER.id, f"{field}/{tag}")
    unit_text = (element.get("unit") or "counts").strip()
    unit = _INTENSITY_UNITS.get(unit_text.lower())
    if unit is None:
        raise FormatError(x.path, f"unknown intensity unit {unit_text!r}", field=f"{field}/{tag}/@unit",
                          reader=READER.id)
    extra: list[ArrayData] = []
    attenuation = x.find(points, "beamAttenuationFactors")
    if tag == "counts" and attenuation is not None:
        factors = parse_number_list(attenuation.text, x.path, READER.id, f"{field}/beamAttenuationFactors")
        if factors.size not in (1, values.size):
            raise FormatError(x.path, f"inconsistent point counts: {factors.size} attenuation factors for "
                              f"{values.size} counts", field=f"{field}/beamAttenuationFactors", reader=READER.id)
        extra.append(ArrayData("raw_counts", values, "DiffractionIntensity", unit,
                               "detector counts before the beam attenuation correction"))
        values = values * factors
        block_meta["intensity_correction"] = "counts × beamAttenuationFactors"
    times = x.find(points, "countingTimes")
    if times is not None:
        per_point = parse_number_list(times.text, x.path, READER.id, f"{field}/countingTimes")
        extra.append(ArrayData("counting_time", per_point, "Time", "s", "counting time per point"))
    common_time = x.find(points, "commonCountingTime")
    if common_time is not None and common_time.text and common_time.text.strip():
        if common_time.get("unit", "seconds") not in ("seconds", "s"):
            raise FormatError(x.path, f"counting time unit {common_time.get('unit')!r} is not seconds",
                              field=f"{field}/commonCountingTime", reader=READER.id)
        quantities = [*quantities, ScalarQuantity(
            "CountingTime", to_float(common_time.text, x.path, READER.id, f"{field}/commonCountingTime"), "s")]
    two_theta, others = _two_theta(x, points, values.size, field)
    if others:
        block_meta["positions"] = others
    return pattern_block(x.path, READER.id, name, two_theta, values, unit, extra=extra, metadata=block_meta,
                         quantities=quantities, field=field)


def read(path: Path, **options: object) -> ParsedFile:
    """Read every 2θ scan of an XRDML file into one block each."""
    path = Path(path)
    root = parse_xml(read_bytes(path, READER.id), path, READER.id)
    if local_name(root.tag) != "xrdMeasurements":
        raise FormatError(path, f"root element is <{local_name(root.tag)}>, expected <xrdMeasurements>",
                          reader=READER.id)
    x = _Xml(root, path)
    warnings: list[str] = []
    measurements = x.findall(root, "xrdMeasurement")
    if not measurements:
        raise FormatError(path, "no <xrdMeasurement> element", field="xrdMeasurements", reader=READER.id)
    entries = [e.text.strip() for e in x.findall(root, "comment/entry") if e.text and e.text.strip()]
    metadata: dict[str, Any] = {}
    for key, comment_key in (("instrument", "Diffractometer system"), ("goniometer", "Goniometer")):
        value = _comment_value(entries, comment_key)
        if value:
            metadata[key] = value
    sample = x.find(root, "sample")
    if sample is not None:
        name = x.text(sample, "name") or x.text(sample, "id")
        if name:
            metadata["sample_name"] = name

    file_quantities: list[ScalarQuantity] = []
    blocks: list[Block] = []
    starts, ends = [], []
    for mi, measurement in enumerate(measurements):
        where = f"xrdMeasurement[{mi}]"
        quantities, source_info = _source(x, measurement, where)
        if mi == 0:
            file_quantities = quantities
            metadata.update(source_info)
            block_source: list[ScalarQuantity] = []
        else:
            same = quantities == file_quantities
            block_source = [] if same else quantities
            if not same:
                warnings.append(f"{where} uses other source settings than the first measurement; "
                                "they are in its blocks' quantities")
        comment = [e.text.strip() for e in x.findall(measurement, "comment/entry") if e.text and e.text.strip()]
        if comment and "comment" not in metadata:
            metadata["comment"] = "; ".join(comment)
        scans = x.findall(measurement, "scan")
        if not scans:
            raise FormatError(path, "no <scan> element", field=where, reader=READER.id)
        for si, scan in enumerate(scans):
            field = f"{where}/scan[{si}]"
            header = x.find(scan, "header")
            block_meta: dict[str, Any] = {}
            if measurement.get("measurementType"):
                block_meta["measurement_type"] = measurement.get("measurementType")
            mode = scan.get("mode")
            if mode:
                block_meta["scan_mode"] = _SCAN_MODES.get(mode.strip().lower(), mode)
            if scan.get("scanAxis"):
                block_meta["scan_axis"] = scan.get("scanAxis")
            if header is not None:
                start = parse_timestamp(x.text(header, "startTimeStamp"), f"{field}/header/startTimeStamp", warnings)
                end = parse_timestamp(x.text(header, "endTimeStamp"), f"{field}/header/endTimeStamp", warnings)
                if start:
                    block_meta["start_time"] = start
                    starts.append(start)
                if end:
                    block_meta["end_time"] = end
                    ends.append(end)
                author = x.text(header, "author/name")
                if author and "operator" not in metadata:
                    metadata["operator"] = author
                control = x.text(header, "source/instrumentControlSoftware")
                if control and "instrument" not in metadata:
                    metadata["instrument"] = control
            all_points = x.findall(scan, "dataPoints")
            if not all_points:
                raise FormatError(path, "scan has no <dataPoints>", field=field, reader=READER.id)
            for pj, points in enumerate(all_points):
                name = f"scan{scan.get('appendNumber', si)}"
                if len(measurements) > 1:
                    name = f"m{mi}_{name}"
                if len(all_points) > 1:
                    name = f"{name}_{pj}"
                if any(b.name == name for b in blocks):  # repeated appendNumber: names must stay unique
                    name = f"{name}_s{si}"
                blocks.append(_block(x, points, f"{field}/dataPoints[{pj}]", name, dict(block_meta),
                                     list(block_source)))
    if starts:
        metadata["start_time"] = starts[0]
    if ends:
        metadata["end_time"] = ends[-1]
    raw = {"xml": flatten_xml(root, skip=_BULK), "comment_entries": entries,
           "schema_namespace": x.ns}
    return ParsedFile(format_id=READER.id, blocks=blocks, quantities=file_quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
