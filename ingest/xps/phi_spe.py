"""PHI MultiPak / Compass spectrum file (``.spe``), ULVAC-PHI instruments.

Usage
    ``battkg ingest xps ragr0001.spe`` (format id ``xps.phi.spe``).  Detected by
    the first line ``SOFH``.

Schema
    An ASCII header between the lines ``SOFH`` and ``EOFH`` (``Key: value``
    lines), then a little-endian binary part.  One Block per spectral region,
    named by the region name of its ``SpectralRegDef`` line, e.g.
    ``2 2 F1s 9 161 -0.1250 695.0 675.0 695.0 680.0 0.160000 29.35 AREA``:

    =====  ==========================================  ==========================
    token  meaning                                     used as
    =====  ==========================================  ==========================
    1      region number                               matched to the trace header
    2      region number (again)                       raw
    3      region name ("F1s", "1su" = survey)         block name, species/transition
    4      atomic number (111 for a survey)            raw
    5      number of points                            checked against the trace header
    6      step (eV, negative: decreasing BE)          checked against start/stop
    7, 8   first / last binding energy (eV)            ``binding_energy`` axis
    9, 10  acquisition window (meaning not confirmed)  raw
    11     dwell time per point (s)                    DwellTime
    12     pass energy (eV)                            PassEnergy
    13     region type ("AREA")                        raw
    =====  ==========================================  ==========================

    Binary part (offsets from its first byte, all little-endian):

    ======  =====  ======================  ========================================
    offset  type   name                    meaning
    ======  =====  ======================  ========================================
    0x00    u4     group                   data group number
    0x04    u4     n_regions               must equal ``NoSpectralReg``
    0x08    u4     trace_header_size       n_regions × 96
    0x0c    u4     data_header_size        16
    ======  =====  ======================  ========================================

    then one 96-byte trace header per region:

    ======  =====  ======================  ========================================
    offset  type   name                    meaning
    ======  =====  ======================  ========================================
    0x00    u4     region_number           as in ``SpectralRegDef``
    0x0c    u4     region_number_again
    0x14    u4     n_points                as in ``SpectralRegDef``
    0x20    S4     abscissa_tag            "pnt"
    0x28    S4     ordinate_tag            "sar"
    0x38    S4     y_unit                  "c/s" (only unit accepted)
    0x48    S4     dtype                   "f8" or "f4" (only types accepted)
    0x4c    u4     n_data_bytes            n_points × item size
    0x50    u4     data_offset             first data byte
    0x5c    u4     data_end                data_offset + n_data_bytes
    ======  =====  ======================  ========================================

    The other header words are unknown and kept raw; after each region's data
    a float32 repeats the dwell time (checked, mismatch = warning).

    Arrays: ``binding_energy`` (linearly spaced from start to stop, as the
    header gives it), ``kinetic_energy`` = hν − BE, ``intensity`` in
    ``count/s`` as stored (PHI stores count rates; nothing is rescaled).

Metadata
    File: ``technique`` (``Technique``), ``instrument`` (``InstrumentModel``),
    ``operator``, ``comment`` (``FileDesc``), ``institution``,
    ``experiment_id``, ``acquisition_date`` (a ``date``: ``AcqFileDate`` has
    no time of day, so ``start_time`` is not set), ``software``.  Per block:
    the ``_common`` keys (``analyser_mode`` from ``AnalyserMode``, ``n_scans``
    absent: the header has no sweep count); quantities ExcitationEnergy (from
    ``XraySource``), PassEnergy, DwellTime, WorkFunction (``AnalyserWorkFcn``).
    Every header key verbatim in ``raw_metadata['header']`` (repeated keys as
    lists); the region's tokens and trace-header words under the block's
    ``raw``.

Known gaps
    Only XPS files: a PHI AES/UPS file is refused (its energy reference is not
    established from samples).  Depth profiles, line scans and maps
    (``FileType`` other than ``SPECTRUM``) and the newer ``SpectralRegDef2``
    lines are not read.  No scan count.

Sample files
    ``shared/samples/xps/phi_test0.spe``, ``phi_test1.spe`` (PHI Quantum 2000,
    Compass V6.4; pynxtools-xps fails on their dates, spe-xps-reader mis-decodes
    their data).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo

from battkg.ingest.xps import _common

READER = ReaderInfo(
    id="xps.phi.spe",
    technique="xps",
    suffixes=(".spe",),
    description="PHI MultiPak/Compass .spe spectrum (ASCII header SOFH…EOFH + binary data)",
    magic=(b"SOFH\n", b"SOFH\r\n"),
    priority=10,
)

_DATA_HEADER = np.dtype([("group", "<u4"), ("n_regions", "<u4"), ("trace_header_size", "<u4"),
                         ("data_header_size", "<u4")])
_TRACE_HEADER = np.dtype([
    ("region_number", "<u4"), ("unknown_04", "<u4"), ("unknown_08", "<u4"), ("region_number_again", "<u4"),
    ("unknown_10", "<u4"), ("n_points", "<u4"), ("unknown_18", "<u4"), ("unknown_1c", "<u4"),
    ("abscissa_tag", "S4"), ("unknown_24", "<u4"), ("ordinate_tag", "S4"), ("unknown_2c", "<u4"),
    ("unknown_30", "<u4"), ("unknown_34", "<u4"), ("y_unit", "S4"), ("unknown_3c", "<u4"),
    ("unknown_40", "<u4"), ("unknown_44", "<u4"), ("dtype", "S4"), ("n_data_bytes", "<u4"),
    ("data_offset", "<u4"), ("unknown_54", "<u4"), ("unknown_58", "<u4"), ("data_end", "<u4"),
])
_DTYPES = {b"f8": np.dtype("<f8"), b"f4": np.dtype("<f4")}
_Y_UNITS = {b"c/s": "count/s"}
_REGION_FIELDS = ("region_number", "region_number_again", "name", "atomic_number", "n_points", "step",
                  "start", "stop", "window_start", "window_stop", "dwell_time", "pass_energy", "region_type")


def _fail(path: Path, message: str, **kw: Any) -> FormatError:
    return FormatError(path, message, reader=READER.id, **kw)


def _split_header(path: Path, data: bytes) -> tuple[list[str], bytes]:
    """Header lines (without SOFH/EOFH; line 2 of the file first) and the binary part."""
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    if first_line != b"SOFH":
        raise _fail(path, f"first line is {first_line[:40]!r}, not 'SOFH': not a PHI .spe file", line=1)
    match = re.search(rb"\nEOFH\r?\n", data)
    if match is None:
        raise _fail(path, "no 'EOFH' line ends the ASCII header (file truncated?)", field="EOFH")
    head = data[: match.start()].decode("latin-1").replace("\r", "")
    lines = head.split("\n")[1:]
    return lines, data[match.end():]


def _parse_header(path: Path, lines: list[str]) -> dict[str, Any]:
    header: dict[str, Any] = {}
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise _fail(path, f"header line is not 'Key: value': {line[:60]!r}", line=number)
        key, value = key.strip(), value.strip()
        if key in header:
            existing = header[key]
            header[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            header[key] = value
    return header


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _region_defs(path: Path, header: dict[str, Any], header_lines: list[str]) -> list[dict[str, Any]]:
    defs = []
    line_of = {line: i for i, line in enumerate(header_lines, start=2) if line.startswith("SpectralRegDef:")}
    for text in _as_list(header.get("SpectralRegDef")):
        line = line_of.get(f"SpectralRegDef: {text}")
        tokens = text.split()
        if len(tokens) != len(_REGION_FIELDS):
            raise _fail(path, f"SpectralRegDef has {len(tokens)} token(s), expected {len(_REGION_FIELDS)}",
                        line=line, field="SpectralRegDef")
        region: dict[str, Any] = dict(zip(_REGION_FIELDS, tokens))
        for key, cast in (("region_number", int), ("n_points", int), ("step", float), ("start", float),
                          ("stop", float), ("dwell_time", float), ("pass_energy", float)):
            try:
                region[key] = cast(region[key])
            except ValueError:
                raise _fail(path, f"SpectralRegDef token {key!r} is not a number: {region[key]!r}",
                            line=line, field="SpectralRegDef") from None
        region["_line"] = line
        defs.append(region)
    expected = header.get("NoSpectralReg")
    try:
        n_expected = int(expected) if expected is not None else None
    except ValueError:
        raise _fail(path, f"NoSpectralReg is not an integer: {expected!r}", field="NoSpectralReg") from None
    if n_expected is not None and n_expected != len(defs):
        raise _fail(path, f"NoSpectralReg says {n_expected} region(s) but {len(defs)} SpectralRegDef line(s) "
                    "are present", field="NoSpectralReg")
    if not defs:
        raise _fail(path, "no SpectralRegDef line: the file defines no spectral region", field="SpectralRegDef")
    return defs


def _first_float(text: str | None) -> float | None:
    match = re.search(r"[-+]?\d+(?:\.\d*)?", text or "")
    return float(match.group(0)) if match else None


def read(path: Path, **options: object) -> ParsedFile:
    """Read a PHI .spe spectrum file: one Block per spectral region."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise _fail(path, "file is empty")
    header_lines, binary = _split_header(path, data)
    header = _parse_header(path, header_lines)
    technique = header.get("Technique", "").strip()
    if technique != "XPS":
        raise _fail(path, f"Technique is {technique!r}: only PHI XPS spectra are read (the energy reference "
                    "of other techniques is not established)", field="Technique")
    file_type = header.get("FileType", "").strip()
    if file_type and file_type != "SPECTRUM":
        raise _fail(path, f"FileType {file_type!r} is not read (only SPECTRUM files)", field="FileType")
    regions = _region_defs(path, header, header_lines)

    if len(binary) < _DATA_HEADER.itemsize:
        raise _fail(path, f"binary part is {len(binary)} bytes, shorter than its 16-byte header (truncated)",
                    field="data_header")
    dh = np.frombuffer(binary, dtype=_DATA_HEADER, count=1)[0]
    if int(dh["n_regions"]) != len(regions):
        raise _fail(path, f"binary header holds {int(dh['n_regions'])} region(s), the ASCII header "
                    f"{len(regions)} (inconsistent region count)", field="n_regions")
    if int(dh["data_header_size"]) != _DATA_HEADER.itemsize or \
            int(dh["trace_header_size"]) != _TRACE_HEADER.itemsize * len(regions):
        raise _fail(path, f"unknown binary layout: data header {int(dh['data_header_size'])} bytes, trace "
                    f"headers {int(dh['trace_header_size'])} bytes for {len(regions)} region(s) (known: 16 and "
                    f"96 per region; software {header.get('SoftwareVersion', '?')}); please send the file "
                    "or a VAMAS export", field="trace_header_size")
    need = _DATA_HEADER.itemsize + _TRACE_HEADER.itemsize * len(regions)
    if len(binary) < need:
        raise _fail(path, f"binary part is {len(binary)} bytes, shorter than its headers ({need}; truncated)",
                    field="trace_header")
    traces = np.frombuffer(binary, dtype=_TRACE_HEADER, count=len(regions), offset=_DATA_HEADER.itemsize)

    hv = _first_float(header.get("XraySource"))
    source_text = header.get("XraySource", "")
    work_function = _first_float(header.get("AnalyserWorkFcn"))
    warnings: list[str] = []
    blocks: list[Block] = []
    taken: set[str] = set()
    for region, trace in zip(regions, traces):
        name = region["name"]
        where = f"region {region['region_number']} ({name})"
        if int(trace["region_number"]) != region["region_number"]:
            raise _fail(path, f"{where}: trace header is for region {int(trace['region_number'])} (regions out "
                        "of order)", field="region_number")
        n = int(trace["n_points"])
        if n != region["n_points"]:
            raise _fail(path, f"{where}: SpectralRegDef gives {region['n_points']} points, the binary trace "
                        f"header {n} (inconsistent point count)", line=region["_line"], field="n_points")
        if n == 0:
            raise _fail(path, f"{where}: region has no data points (empty region)", line=region["_line"],
                        field="n_points")
        dtype = _DTYPES.get(bytes(trace["dtype"]))
        if dtype is None:
            raise _fail(path, f"{where}: unknown data type tag {bytes(trace['dtype'])!r} (known: f8, f4; "
                        f"software {header.get('SoftwareVersion', '?')}); please send the file or a VAMAS "
                        "export", field="dtype")
        y_unit = _Y_UNITS.get(bytes(trace["y_unit"]))
        if y_unit is None:
            raise _fail(path, f"{where}: unknown intensity unit tag {bytes(trace['y_unit'])!r} (known: c/s)",
                        field="y_unit")
        offset, nbytes, end = int(trace["data_offset"]), int(trace["n_data_bytes"]), int(trace["data_end"])
        if nbytes != n * dtype.itemsize or end != offset + nbytes:
            raise _fail(path, f"{where}: data size {nbytes} bytes / end {end} do not match {n} points of "
                        f"{dtype.itemsize} bytes from offset {offset}", field="n_data_bytes")
        if end > len(binary):
            raise _fail(path, f"{where}: data end at byte {end} of the binary part but it has only "
                        f"{len(binary)} bytes (file truncated)", field="data_end")
        intensity = np.frombuffer(binary, dtype=dtype, count=n, offset=offset).astype(np.float64)
        if not np.all(np.isfinite(intensity)):
            raise _fail(path, f"{where}: non-finite intensity values in the data block", field="data")
        if end + 4 <= len(binary):
            trailer = float(np.frombuffer(binary, dtype="<f4", count=1, offset=end)[0])
            if not np.isclose(trailer, region["dwell_time"], rtol=1e-4):
                warnings.append(f"{where}: dwell time after the data ({trailer:g} s) differs from "
                                f"SpectralRegDef ({region['dwell_time']:g} s)")
        energy = np.linspace(region["start"], region["stop"], n)
        if n > 1 and not np.isclose((region["stop"] - region["start"]) / (n - 1), region["step"], rtol=1e-3):
            raise _fail(path, f"{where}: start {region['start']}, stop {region['stop']} and step {region['step']} "
                        f"do not give {n} points (inconsistent point count)", line=region["_line"],
                        field="SpectralRegDef")
        arrays = _common.energy_arrays(energy, "binding", hv, path=path, reader=READER.id, block=where)
        arrays.append(ArrayData("intensity", intensity, "SpectralIntensity", y_unit,
                                "intensity as stored by PHI (counts per second)"))
        species, transition = _common.split_region_name(name)
        raw = {k: v for k, v in region.items() if k != "_line"}
        raw["trace_header"] = {k: (bytes(trace[k]).decode("latin-1") if trace.dtype[k].kind == "S"
                                   else int(trace[k])) for k in trace.dtype.names}
        meta = _common.block_metadata(
            name=name, species=species, transition=transition, binding_energy=arrays[0].values,
            excitation_energy=hv, file_source_label=source_text, analyser=None,
            analyser_mode=header.get("AnalyserMode"), technique=technique, n_scans=None, raw=raw)
        quantities = _common.block_quantities(excitation_energy=hv, pass_energy=region["pass_energy"],
                                              dwell_time_s=region["dwell_time"], work_function=work_function)
        blocks.append(Block(_common.unique_name(name, taken), arrays=arrays, quantities=quantities,
                            metadata=meta))

    metadata: dict[str, Any] = {"technique": technique}
    for key, source in (("instrument", "InstrumentModel"), ("operator", "Operator"), ("comment", "FileDesc"),
                        ("institution", "Institution"), ("experiment_id", "ExperimentID"),
                        ("software", "SoftwareVersion")):
        value = header.get(source)
        if isinstance(value, str) and value.strip():
            metadata[key] = value.strip()
    acq = header.get("AcqFileDate") or header.get("FileDate")
    if isinstance(acq, str) and acq.strip():
        try:
            metadata["acquisition_date"] = date(*(int(t) for t in acq.split()))
            warnings.append("the file gives an acquisition date without a time of day; start_time not set")
        except (TypeError, ValueError):
            warnings.append(f"AcqFileDate {acq!r} is not 'YYYY M D'; kept raw only")
    return ParsedFile(format_id=READER.id, blocks=blocks, metadata=metadata,
                      raw_metadata={"header": header}, warnings=warnings)
