"""Siemens/Bruker DIFFRAC RAW (``.raw``), binary versions 1, 2, 3 (``RAW1.01``) and 4 (``RAW4.00``).

Usage
    ``battkg ingest xrd pattern.raw`` (format id ``xrd.bruker.raw``).
    Detected by the magic bytes ``RAW `` (v1), ``RAW2`` (v2), ``RAW1.01``
    (v3: the vendor's numbering) and ``RAW4.00`` (v4), so the ``.raw`` files
    of other vendors are not claimed and a renamed file is still recognised.

Schema
    One :class:`Block` per range (``range0``, ``range1``, ...): ``two_theta``
    (TwoTheta, degree) = start + i·step from the range header, ``intensity``
    (DiffractionIntensity, count) = the range's float32 values verbatim (no
    clipping: GSAS-II raises values below 1 to 1, battkg does not).  The
    layouts are the tables below (offset -> (struct code, name, unit)),
    relative to the start of the file or of the range header:

    * v1: per range a 152-byte header then the data (xylib ``load_version1``);
    * v2: 256-byte file header, per range a header of declared length
      (xylib ``load_version2``, GSAS-II ``ver. 2``);
    * v3: 712-byte file header, per range a 304-byte header, a supplementary
      header of declared size, then records of the declared length (DIFFRAC
      plus XCH V5 manual, appendix A, as implemented by xylib);
    * v4: 61-byte preamble, a chain of ``(uint32 type, uint32 length)``
      segments; type 0 or 160 starts a range: a 160-byte header, a nested
      chain of declared total size, then ``steps × datum size`` bytes
      (xylib ``load_version4``, GSAS-II ``ver. 4``).

Metadata
    ``metadata``: ``anode``, ``radiation`` ("Cu Kα"), ``sample_name``,
    ``operator`` (the USER field), ``comment``, ``instrument`` (v4: the
    goniometer description in the OPTICS_V5 record), ``start_time`` (date +
    time fields, read as MM/DD/YY[YY] as the DIFFRAC manual specifies; the
    file has no time zone, so it is naive and a warning says so).  Per
    block: ``scan_axis`` (v4 scan type verbatim, e.g. "Locked Coupled"),
    ``scan_mode`` where known.  Quantities: ``Wavelength`` Kα1/Kα2/Kβ,
    ``KAlphaRatio`` (file level), and per block ``GeneratorVoltage``,
    ``GeneratorCurrent``, ``CountingTime`` (v1–v3: seconds per step as the
    format specifies); the per-range USED_LAMBDA stays in ``raw_metadata``.
    Every header field of the tables, every v4 VarInfo tag and every
    unmapped v4 segment (hex) is kept in ``raw_metadata``.

Known gaps
    v3 ranges whose data records are longer than 4 bytes (per-point varying
    drives) and v4 ranges with a datum size other than 4 raise
    :class:`FormatError` instead of guessing a layout.  v4 ranges of other
    scan types than Locked/Unlocked Coupled and Detector Scan (rocking
    curves, PSD snapshots, reciprocal-space maps) are skipped with a
    warning; a file with none left is a :class:`FormatError`.  The v4 time
    per step (offset +92) is kept raw only: GSAS-II reads it as ms, xylib
    gives no unit, and it is not ``CountingTime`` until a sample with a
    vendor export settles the unit.  v1 and v2 are implemented from xylib
    and GSAS-II (which agree) and tested on synthetic files only: there is
    no real v1/v2 sample.

Sample files
    ``shared/samples/xrd/xylib_BT86.raw``, ``xylib_Cu3Au-1.raw`` (RAW1.01),
    ``datalab_TiO2.raw`` (RAW4.00 written by V5Converter 1.1.0.7; xylib
    refuses it and fairmat-readers-xrd returns nonsense).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.xrd._common import pattern_block, radiation_label, read_bytes, source_quantities
from battkg.readers import Block, ParsedFile, ReaderInfo, ScalarQuantity

READER = ReaderInfo(
    id="xrd.bruker.raw",
    technique="xrd",
    suffixes=(".raw",),
    description="Bruker/Siemens DIFFRAC RAW binary, versions 1, 2, 3 (RAW1.01) and 4 (RAW4.00)",
    magic=(b"RAW ", b"RAW2", b"RAW1.01", b"RAW4.00"),
    priority=20,
    media_type="application/octet-stream",
)

# offset -> (struct code, name, unit).  Strings are "<n>s" (NUL-padded).
Layout = dict[int, tuple[str, str, str | None]]

V1_RANGE: Layout = {
    0: ("<I", "STEPS", None),
    4: ("<f", "TIME_PER_STEP", "s"),
    8: ("<f", "STEP_SIZE", "degree"),
    12: ("<I", "SCAN_MODE", None),
    20: ("<f", "START_2THETA", "degree"),
    24: ("<f", "THETA_START", "degree"),
    28: ("<f", "KHI_START", "degree"),
    32: ("<f", "PHI_START", "degree"),
    36: ("32s", "SAMPLE_NAME", None),
    68: ("<f", "K_ALPHA1", "angstrom"),
    72: ("<f", "K_ALPHA2", "angstrom"),
    148: ("<I", "FOLLOWING_RANGE", None),
}
V1_RANGE_HEADER = 152

V2_FILE: Layout = {
    4: ("<H", "RANGE_COUNT", None),
    168: ("20s", "DATE_TIME_MEASURE", None),
    188: ("2s", "ANODE_MATERIAL", None),
    190: ("<f", "ALPHA1", "angstrom"),
    194: ("<f", "ALPHA2", "angstrom"),
    198: ("<f", "ALPHA_RATIO", None),
    206: ("<f", "BETA", "angstrom"),
    210: ("<f", "TOTAL_SAMPLE_RUNTIME", "s"),
}
V2_FIRST_RANGE = 256
V2_RANGE: Layout = {
    0: ("<H", "HEADER_LENGTH", None),
    2: ("<H", "STEPS", None),
    8: ("<f", "TIME_PER_STEP", "s"),
    12: ("<f", "STEP_SIZE", "degree"),
    16: ("<f", "START_2THETA", "degree"),
    46: ("<H", "TEMPERATURE", "K"),
}

V3_FILE: Layout = {
    8: ("<I", "FILE_STATUS", None),  # 1 done, 2 active, 3 aborted, 4 interrupted
    12: ("<I", "RANGE_COUNT", None),
    16: ("10s", "MEASURE_DATE", None),
    26: ("10s", "MEASURE_TIME", None),
    36: ("72s", "USER", None),
    108: ("218s", "SITE", None),
    326: ("60s", "SAMPLE_ID", None),
    386: ("160s", "COMMENT", None),
    548: ("<I", "GONIOMETER_CODE", None),
    552: ("<I", "GONIOMETER_STAGE_CODE", None),
    556: ("<I", "SAMPLE_LOADER_CODE", None),
    560: ("<I", "GONIOMETER_CONTROLLER_CODE", None),
    564: ("<f", "GONIOMETER_RADIUS", "mm"),
    568: ("<f", "FIXED_DIVERGENCE_SLIT", None),
    572: ("<f", "FIXED_SAMPLE_SLIT", None),
    576: ("<I", "PRIMARY_SOLLER_SLIT", None),
    580: ("<I", "PRIMARY_MONOCHROMATOR", None),
    584: ("<f", "FIXED_ANTISCATTER_SLIT", None),
    588: ("<f", "FIXED_DETECTOR_SLIT", None),
    592: ("<I", "SECONDARY_SOLLER_SLIT", None),
    596: ("<I", "FIXED_THIN_FILM_ATTACHMENT", None),
    600: ("<I", "BETA_FILTER", None),
    604: ("<I", "SECONDARY_MONOCHROMATOR", None),
    608: ("4s", "ANODE_MATERIAL", None),
    616: ("<d", "ALPHA_AVERAGE", "angstrom"),
    624: ("<d", "ALPHA1", "angstrom"),
    632: ("<d", "ALPHA2", "angstrom"),
    640: ("<d", "BETA", "angstrom"),
    648: ("<d", "ALPHA_RATIO", None),
    656: ("4s", "UNIT_NAME", None),
    660: ("<f", "INTENSITY_BETA_ALPHA1", None),
    664: ("<f", "MEASUREMENT_TIME", "s"),
}
V3_FILE_HEADER = 712
V3_RANGE: Layout = {
    0: ("<I", "HEADER_LENGTH", None),
    4: ("<I", "STEPS", None),
    8: ("<d", "START_THETA", "degree"),
    16: ("<d", "START_2THETA", "degree"),
    24: ("<d", "START_CHI", "degree"),
    32: ("<d", "START_PHI", "degree"),
    40: ("<d", "START_X", "mm"),
    48: ("<d", "START_Y", "mm"),
    56: ("<d", "START_Z", "mm"),
    96: ("<I", "DETECTOR_CODE", None),
    100: ("<f", "HIGH_VOLTAGE", "V"),
    104: ("<f", "AMPLIFIER_GAIN", None),
    108: ("<f", "DISCRIMINATOR_1_LOWER_LEVEL", None),
    176: ("<d", "STEP_SIZE", "degree"),
    192: ("<f", "TIME_PER_STEP", "s"),
    208: ("<f", "ROTATION_SPEED", "rpm"),
    224: ("<I", "GENERATOR_VOLTAGE", "kV"),
    228: ("<I", "GENERATOR_CURRENT", "mA"),
    240: ("<d", "USED_LAMBDA", "angstrom"),
    248: ("<I", "VARYING_PARAMETERS", None),
    252: ("<I", "DATA_RECORD_LENGTH", None),
    256: ("<I", "SUPPLEMENTARY_HEADERS_SIZE", None),
}
V3_RANGE_HEADER = 304

V4_PREAMBLE: Layout = {
    12: ("12s", "MEASURE_DATE", None),
    24: ("10s", "MEASURE_TIME", None),
}
V4_FIRST_SEGMENT = 61
V4_HARDWARE: Layout = {  # segment type 30, offsets from the segment start
    72: ("<d", "ALPHA_AVERAGE", "angstrom"),
    80: ("<d", "ALPHA1", "angstrom"),
    88: ("<d", "ALPHA2", "angstrom"),
    96: ("<d", "BETA", "angstrom"),
    104: ("<d", "ALPHA_RATIO", None),
    116: ("4s", "ANODE_MATERIAL", None),
}
V4_RANGE: Layout = {  # offsets from the range marker (type 0 or 160)
    32: ("24s", "SCAN_TYPE", None),
    72: ("<d", "START_ANGLE", "degree"),
    80: ("<d", "STEP_SIZE", "degree"),
    88: ("<I", "STEPS", None),
    92: ("<f", "TIME_PER_STEP", None),  # unit not established (see Known gaps)
    100: ("<f", "GENERATOR_VOLTAGE", "kV"),
    104: ("<f", "GENERATOR_CURRENT", "mA"),
    112: ("<d", "USED_LAMBDA", "angstrom"),
    136: ("<I", "DATUM_SIZE", None),
    140: ("<I", "EXTRA_HEADER_SIZE", None),
}
V4_RANGE_HEADER = 160
V4_DRIVE: Layout = {  # segment type 50 inside a range header
    12: ("24s", "DRIVE_NAME", None),
    56: ("<d", "START", None),
}
V4_VARINFO_NAME = (12, 24)  # segment type 10: tag name at +12 (24 bytes), value from +36
V4_TWO_THETA_SCANS = {"Locked Coupled", "Unlocked Coupled", "Detector Scan"}


class _Buffer:
    """Bounds-checked little-endian reads; running past the end is a truncated file."""

    def __init__(self, data: bytes, path: Path, version: str) -> None:
        self.data = data
        self.path = path
        self.version = version

    def need(self, offset: int, size: int, what: str) -> None:
        if offset < 0 or offset + size > len(self.data):
            raise FormatError(self.path, f"truncated {self.version} file: {what} needs bytes {offset}–"
                              f"{offset + size} but the file has {len(self.data)}", field=what, reader=READER.id)

    def table(self, layout: Layout, base: int, what: str) -> dict[str, Any]:
        """Decode one layout table at ``base``."""
        out: dict[str, Any] = {}
        for offset, (code, name, _unit) in layout.items():
            size = struct.calcsize(code)
            self.need(base + offset, size, f"{what}/{name}")
            value = struct.unpack_from(code, self.data, base + offset)[0]
            if isinstance(value, bytes):
                value = value.split(b"\x00", 1)[0].decode("latin-1").strip()
            out[name] = value
        return out

    def floats(self, offset: int, count: int, what: str) -> np.ndarray:
        self.need(offset, 4 * count, what)
        return np.frombuffer(self.data, dtype="<f4", count=count, offset=offset).astype(np.float64)


def _date(date: str, time: str, warnings: list[str]) -> datetime | None:
    """``MM/DD/YY[YY]`` + ``HH:MM:SS`` (DIFFRAC order), naive: the file stores no time zone."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", date.strip())
    clock = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", time.strip())
    if not match or not clock:
        if date.strip() or time.strip():
            warnings.append(f"measurement date {date!r} {time!r} not understood; kept in raw_metadata only")
        return None
    month, day, year = (int(g) for g in match.groups())
    year += 2000 if year < 80 else (1900 if year < 100 else 0)
    try:
        stamp = datetime(year, month, day, *(int(g) for g in clock.groups()))
    except ValueError:
        warnings.append(f"measurement date {date!r} {time!r} is not a valid MM/DD/YY date; kept raw only")
        return None
    warnings.append("start_time has no time zone in the RAW file; kept as naive local time")
    return stamp


def _file_level(fields: dict[str, Any], metadata: dict[str, Any]) -> list[ScalarQuantity]:
    anode = str(fields.get("ANODE_MATERIAL") or "").strip()
    if anode:
        metadata["anode"] = anode
        metadata["radiation"] = radiation_label(anode)
    for key, target in (("SAMPLE_ID", "sample_name"), ("USER", "operator"), ("COMMENT", "comment")):
        if str(fields.get(key) or "").strip():
            metadata[target] = str(fields[key]).strip()
    return source_quantities(kalpha1=fields.get("ALPHA1"), kalpha2=fields.get("ALPHA2"), kbeta=fields.get("BETA"),
                             ratio=fields.get("ALPHA_RATIO"))


def _range_quantities(fields: dict[str, Any], *, counting_time: bool) -> list[ScalarQuantity]:
    out = source_quantities(voltage_kv=fields.get("GENERATOR_VOLTAGE") or None,
                            current_ma=fields.get("GENERATOR_CURRENT") or None)
    if counting_time and fields.get("TIME_PER_STEP", 0) > 0:
        out.append(ScalarQuantity("CountingTime", float(fields["TIME_PER_STEP"]), "s"))
    return out


def _steps(path: Path, start: float, step: float, n: int, what: str) -> np.ndarray:
    if n == 0:
        raise FormatError(path, "empty data block (range with 0 steps)", field=what, reader=READER.id)
    if not (np.isfinite(start) and np.isfinite(step)):
        raise FormatError(path, f"non-finite start {start} or step {step}", field=what, reader=READER.id)
    return start + step * np.arange(n, dtype=np.float64)


def _read_v1(buf: _Buffer, warnings: list[str], raw: dict[str, Any]) -> tuple[list[Block], list, dict]:
    blocks: list[Block] = []
    metadata: dict[str, Any] = {}
    quantities: list[ScalarQuantity] = []
    offset, index, following = 4, 0, 1
    raw["ranges"] = []
    while following:
        # Early DIFFRAC-AT files repeat "RAW " before additional ranges, later ones do not.
        if index and buf.data[offset:offset + 4] == b"RAW ":
            offset += 4
        what = f"range{index}"
        fields = buf.table(V1_RANGE, offset, what)
        raw["ranges"].append(fields)
        n = int(fields["STEPS"])
        start = offset + V1_RANGE_HEADER
        y = buf.floats(start, n, f"{what}/data")
        x = _steps(buf.path, fields["START_2THETA"], fields["STEP_SIZE"], n, what)
        if index == 0:
            quantities = source_quantities(kalpha1=fields["K_ALPHA1"] or None, kalpha2=fields["K_ALPHA2"] or None)
            if fields["SAMPLE_NAME"]:
                metadata["sample_name"] = fields["SAMPLE_NAME"]
        block_q = _range_quantities(fields, counting_time=True)
        blocks.append(pattern_block(buf.path, READER.id, what, x, y, "count", quantities=block_q,
                                    metadata={"scan_axis": "2Theta"}, field=what))
        following = int(fields["FOLLOWING_RANGE"])
        offset = start + 4 * n
        index += 1
    return blocks, quantities, metadata


def _read_v2(buf: _Buffer, warnings: list[str], raw: dict[str, Any]) -> tuple[list[Block], list, dict]:
    fields = buf.table(V2_FILE, 0, "file header")
    raw["file_header"] = fields
    metadata: dict[str, Any] = {}
    quantities = _file_level(fields, metadata)
    blocks: list[Block] = []
    offset = V2_FIRST_RANGE
    raw["ranges"] = []
    for index in range(int(fields["RANGE_COUNT"])):
        what = f"range{index}"
        rng = buf.table(V2_RANGE, offset, what)
        raw["ranges"].append(rng)
        header = int(rng["HEADER_LENGTH"])
        if header < 48:
            raise FormatError(buf.path, f"range header length {header} < 48", field=f"{what}/HEADER_LENGTH",
                              reader=READER.id)
        n = int(rng["STEPS"])
        y = buf.floats(offset + header, n, f"{what}/data")
        x = _steps(buf.path, rng["START_2THETA"], rng["STEP_SIZE"], n, what)
        blocks.append(pattern_block(buf.path, READER.id, what, x, y, "count",
                                    quantities=_range_quantities(rng, counting_time=True),
                                    metadata={"scan_axis": "2Theta"}, field=what))
        offset += header + 4 * n
    return blocks, quantities, metadata


def _read_v3(buf: _Buffer, warnings: list[str], raw: dict[str, Any]) -> tuple[list[Block], list, dict]:
    fields = buf.table(V3_FILE, 0, "file header")
    raw["file_header"] = fields
    metadata: dict[str, Any] = {}
    quantities = _file_level(fields, metadata)
    stamp = _date(fields["MEASURE_DATE"], fields["MEASURE_TIME"], warnings)
    if stamp:
        metadata["start_time"] = stamp
    status = {1: "done", 2: "active", 3: "aborted", 4: "interrupted"}.get(int(fields["FILE_STATUS"]))
    if status and status != "done":
        warnings.append(f"file status is '{status}': the measurement may be incomplete")
    blocks: list[Block] = []
    offset = V3_FILE_HEADER
    raw["ranges"] = []
    for index in range(int(fields["RANGE_COUNT"])):
        what = f"range{index}"
        rng = buf.table(V3_RANGE, offset, what)
        raw["ranges"].append(rng)
        if rng["HEADER_LENGTH"] != V3_RANGE_HEADER:
            raise FormatError(buf.path, f"range header length {rng['HEADER_LENGTH']}, expected {V3_RANGE_HEADER} "
                              "(RAW1.01)", field=f"{what}/HEADER_LENGTH", reader=READER.id)
        record = int(rng["DATA_RECORD_LENGTH"])
        # 4 = one float32 intensity per step; 0 is written by older software that
        # had no per-point extras (the manual defines intensities as float32).
        if record not in (0, 4):
            raise FormatError(buf.path, f"data records of {record} bytes (varying-parameter mask "
                              f"0x{int(rng['VARYING_PARAMETERS']):x}) after the 4-byte intensity are not supported "
                              "by battkg (format RAW1.01); their layout would have to be guessed — please export "
                              "the pattern as text (DIFFRAC.EVA: File > Export > xy)",
                              field=f"{what}/DATA_RECORD_LENGTH", reader=READER.id)
        n = int(rng["STEPS"])
        start = offset + V3_RANGE_HEADER + int(rng["SUPPLEMENTARY_HEADERS_SIZE"])
        y = buf.floats(start, n, f"{what}/data")
        x = _steps(buf.path, rng["START_2THETA"], rng["STEP_SIZE"], n, what)
        blocks.append(pattern_block(buf.path, READER.id, what, x, y, "count",
                                    quantities=_range_quantities(rng, counting_time=True),
                                    metadata={"scan_axis": "2Theta"}, field=what))
        offset = start + 4 * n
    if not blocks:
        raise FormatError(buf.path, "the file header declares 0 ranges: no data", field="file header/RANGE_COUNT",
                          reader=READER.id)
    if offset != len(buf.data):
        warnings.append(f"{len(buf.data) - offset} byte(s) after the last range were not read")
    return blocks, quantities, metadata


def _optics(text: bytes, raw: dict[str, Any], metadata: dict[str, Any], warnings: list[str]) -> None:
    """The OPTICS_V5 VarInfo: base64 of a gzipped XML description of the goniometer."""
    try:
        xml = gzip.decompress(base64.b64decode(text, validate=True)).decode("utf-8")
    except (binascii.Error, OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        warnings.append(f"OPTICS_V5 record could not be decoded ({exc}); kept as stored")
        raw["varinfo"]["OPTICS_V5"] = text.decode("latin-1")
        return
    raw["varinfo"]["OPTICS_V5"] = xml
    match = re.search(r"<GoniometerComponentData\b[^>]*\bVisibleDescription=\"([^\"]*)\"", xml)
    if match and match.group(1).strip():
        metadata["instrument"] = match.group(1).strip()


def _varinfo(buf: _Buffer, offset: int, length: int, what: str) -> tuple[str, bytes]:
    if length < 36:
        raise FormatError(buf.path, f"VarInfo segment of {length} bytes (< 36)", field=what, reader=READER.id)
    start, size = V4_VARINFO_NAME
    name = buf.data[offset + start:offset + start + size].split(b"\x00", 1)[0].decode("latin-1")
    value = buf.data[offset + 36:offset + length].split(b"\x00", 1)[0]
    return name, value


def _read_v4(buf: _Buffer, warnings: list[str], raw: dict[str, Any]) -> tuple[list[Block], list, dict]:
    pre = buf.table(V4_PREAMBLE, 0, "preamble")
    raw["preamble"] = {**pre, "bytes_8_12": buf.data[8:12].hex(), "bytes_34_61": buf.data[34:61].hex()}
    metadata: dict[str, Any] = {}
    stamp = _date(pre["MEASURE_DATE"], pre["MEASURE_TIME"], warnings)
    if stamp:
        metadata["start_time"] = stamp
    raw["varinfo"] = {}
    raw["ranges"] = []
    quantities: list[ScalarQuantity] = []
    blocks: list[Block] = []
    offset = V4_FIRST_SEGMENT
    index = 0
    while offset < len(buf.data):
        if blocks and not buf.data[offset:].strip(b"\x00"):
            # Zero padding after the last range is not another range.
            warnings.append(f"{len(buf.data) - offset} zero byte(s) after the last range ignored")
            break
        buf.need(offset, 4, f"segment at byte {offset}")
        kind = struct.unpack_from("<I", buf.data, offset)[0]
        if kind not in (0, 160):
            buf.need(offset, 8, f"segment at byte {offset}")
            length = struct.unpack_from("<I", buf.data, offset + 4)[0]
            what = f"segment type {kind} at byte {offset}"
            if length < 8:
                raise FormatError(buf.path, f"segment length {length} < 8 (corrupt segment chain)", field=what,
                                  reader=READER.id)
            buf.need(offset, length, what)
            if kind == 10:
                name, value = _varinfo(buf, offset, length, what)
                if name == "OPTICS_V5":
                    _optics(value, raw, metadata, warnings)
                else:
                    raw["varinfo"][name] = value.decode("latin-1")
            elif kind == 30:
                hw = buf.table(V4_HARDWARE, offset, what)
                raw["hardware"] = hw
                quantities = _file_level(hw, metadata)
            else:
                # The segment declares its own length, so skipping it is exact.
                raw.setdefault("unknown_segments", []).append({"type": kind, "offset": offset,
                                                               "hex": buf.data[offset:offset + length].hex()})
                warnings.append(f"unknown RAW4.00 segment type {kind} ({length} bytes) at byte {offset} kept as hex")
            offset += length
            continue
        what = f"range{index}"
        rng = buf.table(V4_RANGE, offset, what)
        rng["drives"] = {}
        raw["ranges"].append(rng)
        sub = offset + V4_RANGE_HEADER
        end_of_header = sub + int(rng["EXTRA_HEADER_SIZE"])
        buf.need(sub, end_of_header - sub, f"{what}/extra header")
        while sub < end_of_header:
            kind, length = struct.unpack_from("<II", buf.data, sub)
            if length < 8 or sub + length > end_of_header:
                raise FormatError(buf.path, f"range header segment type {kind} of length {length} does not fit the "
                                  "declared header size", field=f"{what}/extra header", reader=READER.id)
            if kind == 50 and length >= 64:
                drive = buf.table(V4_DRIVE, sub, f"{what}/drive")
                rng["drives"][drive["DRIVE_NAME"]] = drive["START"]
            elif kind == 10:
                name, value = _varinfo(buf, sub, length, f"{what}/VarInfo")
                if name == "OPTICS_V5":
                    _optics(value, raw, metadata, warnings)
                else:
                    rng.setdefault("varinfo", {})[name] = value.decode("latin-1")
            else:
                rng.setdefault("segments", []).append({"type": kind, "hex": buf.data[sub:sub + length].hex()})
            sub += length
        n, datum = int(rng["STEPS"]), int(rng["DATUM_SIZE"])
        data_start = end_of_header
        scan_type = rng["SCAN_TYPE"]
        if scan_type not in V4_TWO_THETA_SCANS:
            buf.need(data_start, n * datum, f"{what}/data")
            warnings.append(f"{what}: scan type {scan_type!r} is not a 2θ scan; skipped ({n} points)")
            offset = data_start + n * datum
            index += 1
            continue
        if datum != 4:
            raise FormatError(buf.path, f"datum size {datum} bytes (scan type {scan_type!r}, after drive "
                              f"{list(rng['drives'])[-1] if rng['drives'] else 'none'}) is not supported by battkg "
                              "(format RAW4.00); the layout would have to be guessed — please export the pattern "
                              "as text (DIFFRAC.EVA: File > Export > xy)", field=f"{what}/DATUM_SIZE", reader=READER.id)
        y = buf.floats(data_start, n, f"{what}/data")
        x = _steps(buf.path, rng["START_ANGLE"], rng["STEP_SIZE"], n, what)
        two_theta_drive = rng["drives"].get("2Theta")
        if two_theta_drive is not None and abs(two_theta_drive - rng["START_ANGLE"]) > 1e-6:
            warnings.append(f"{what}: 2Theta drive start {two_theta_drive} differs from the range start "
                            f"{rng['START_ANGLE']}; the range start is used")
        block_meta = {"scan_axis": scan_type, "scan_type": scan_type}
        blocks.append(pattern_block(buf.path, READER.id, what, x, y, "count",
                                    quantities=_range_quantities(rng, counting_time=False),
                                    metadata=block_meta, field=what))
        offset = data_start + n * datum
        index += 1
    for key, target in (("SAMPLEID", "sample_name"), ("USER", "operator"), ("COMMENT", "comment")):
        value = raw["varinfo"].get(key, "").strip()
        if value:
            metadata[target] = value
    if not blocks:
        raise FormatError(buf.path, "no 2θ range found (no range marker, or only non-2θ scan types)",
                          reader=READER.id)
    return blocks, quantities, metadata


_VERSIONS = (  # magic -> (version label, parser)
    (b"RAW1.01", "RAW1.01", _read_v3),
    (b"RAW4.00", "RAW4.00", _read_v4),
    (b"RAW2", "RAW2", _read_v2),
    (b"RAW ", "RAW (v1)", _read_v1),
)


def read(path: Path, **options: object) -> ParsedFile:
    """Read every 2θ range of a Bruker RAW file (version from the magic bytes)."""
    path = Path(path)
    data = read_bytes(path, READER.id)
    for magic, version, parser in _VERSIONS:
        if data.startswith(magic):
            break
    else:
        raise FormatError(path, f"wrong magic bytes {data[:8]!r}: not a Bruker RAW file (expected 'RAW ', 'RAW2', "
                          "'RAW1.01' or 'RAW4.00')", reader=READER.id)
    warnings: list[str] = []
    raw: dict[str, Any] = {"version": version}
    blocks, quantities, metadata = parser(_Buffer(data, path, version), warnings, raw)
    return ParsedFile(format_id=READER.id, blocks=blocks, quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
