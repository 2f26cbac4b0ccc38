"""Thermo OMNIC single spectrum: ``.spa``.

Usage
    ``battkg ingest ftir spectrum.spa`` (format id ``ftir.thermo.spa``)

Layout (little-endian; reverse-engineered, as in SpectroChemPy ``read_omnic``)

    ============  ======  =====================================================
    offset        type    meaning
    ============  ======  =====================================================
    0             18 B    magic ``Spectral Data File``
    30            256 B   spectrum title (NUL-terminated)
    296           uint32  acquisition time, seconds since 1899-12-31 00:00 UTC
    304 + 16·k    uint8   directory entry key; entry ends at key 0 or 1
    +2            uint32  offset of the entry's data
    +6            uint32  size of the entry's data in bytes
    ============  ======  =====================================================

    Directory keys used: 2 = spectral header, 3 = intensities (float32),
    27 = history text.  Others are listed in ``raw_metadata['directory']``.

    Spectral header (at the key-2 offset): +4 uint32 number of points,
    +8 uint8 x-unit code (1 = cm⁻¹, 3 = nm, 4 = µm, 2 = data points,
    32 = Raman shift), +12 uint8 y-unit code (17 = absorbance,
    16 = transmittance %, 11 = reflectance %; 12 log(1/R), 20 Kubelka-Munk,
    22 volts, 26 photoacoustic, 31 Raman intensity), +16 float32 first x,
    +20 float32 last x, +36 uint32 number of scans, +52 uint32 number of
    background scans.

Schema
    One block ``spectrum``: ``wavenumber`` (1/cm, evenly spaced from first to
    last x) and the ordinate from the y-unit code: 17 → Absorbance
    (dimensionless), 16 → Transmittance (percent), 11 → Reflectance
    (percent); any other code → SpectralIntensity, ``ordinate`` None and a
    warning.  nm/µm axes are converted to wavenumber with a note; data-point
    or Raman-shift axes are an error.

Metadata
    ``sample_name`` ← title; ``start_time`` ← acquisition time (UTC, aware);
    ``n_scans``, ``n_background_scans``; ``raw_metadata``: history text,
    directory, unit codes.

Known gaps
    Multi-spectrum ``.spg`` files and the interferogram blocks (keys 102/103)
    are not read.

Sample files
    ``shared/samples/ftir/omnic_7_CZ0-100_Pd_101.SPA`` (absorbance, 5549 points).
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.spectra.common import ordinate_from_kind, unknown_ordinate
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

MAGIC = b"Spectral Data File"

READER = ReaderInfo(
    id="ftir.thermo.spa",
    technique="ftir",
    suffixes=(".spa",),
    description="Thermo OMNIC single spectrum (.spa)",
    magic=(MAGIC,),
    priority=30,
)

_X_UNITS = {1: "1/cm", 3: "nanometer", 4: "micrometer"}
_X_OTHER = {2: "data points", 32: "Raman shift"}
#: y-unit code -> (ordinate kind or None, name)
_Y_UNITS = {17: ("absorbance", "absorbance"), 16: ("transmittance", "transmittance %"),
            11: ("reflectance", "reflectance %"), 12: (None, "log(1/R)"), 20: (None, "Kubelka-Munk"),
            22: (None, "volts"), 26: (None, "photoacoustic"), 31: (None, "Raman intensity")}
_DIRECTORY_START = 304
_EPOCH = datetime(1899, 12, 31, tzinfo=timezone.utc)


def _unpack(path: Path, data: bytes, fmt: str, offset: int, what: str) -> tuple:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise FormatError(path, f"file truncated: {what} at offset {offset} is past the end ({len(data)} bytes)",
                          field=what, reader=READER.id)
    return struct.unpack_from(fmt, data, offset)


def read(path: Path, **options: object) -> ParsedFile:
    """Read an OMNIC ``.spa`` spectrum into one ``spectrum`` block."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=READER.id) from exc
    if not data.startswith(MAGIC):
        raise FormatError(path, f"not an OMNIC SPA file: first bytes {data[:18]!r}, expected {MAGIC!r}",
                          field="magic", reader=READER.id)
    title = data[30:286].split(b"\x00", 1)[0].decode("latin-1").strip()
    (seconds,) = _unpack(path, data, "<I", 296, "acquisition time")
    directory: list[dict[str, int]] = []
    entries: dict[int, tuple[int, int]] = {}
    pos = _DIRECTORY_START
    while True:
        (key,) = _unpack(path, data, "<B", pos, "directory")
        if key in (0, 1):
            break
        offset, size = _unpack(path, data, "<II", pos + 2, "directory")
        directory.append({"key": key, "offset": offset, "size": size})
        entries.setdefault(key, (offset, size))
        pos += 16
    for key, what in ((2, "spectral header"), (3, "intensities")):
        if key not in entries:
            raise FormatError(path, f"directory has no {what} entry (key {key})", field="directory",
                              reader=READER.id)
    header_pos = entries[2][0]
    (npts,) = _unpack(path, data, "<I", header_pos + 4, "spectral header")
    (x_code,) = _unpack(path, data, "<B", header_pos + 8, "spectral header")
    (y_code,) = _unpack(path, data, "<B", header_pos + 12, "spectral header")
    firstx, lastx = _unpack(path, data, "<ff", header_pos + 16, "spectral header")
    (n_scans,) = _unpack(path, data, "<I", header_pos + 36, "spectral header")
    (n_bkg,) = _unpack(path, data, "<I", header_pos + 52, "spectral header")
    if npts < 2:
        raise FormatError(path, f"empty spectrum: header gives {npts} point(s)", field="npoints", reader=READER.id)
    y_offset, y_size = entries[3]
    if y_size != 4 * npts:
        raise FormatError(path, f"inconsistent point counts: header gives {npts} points but the intensity block "
                          f"holds {y_size} bytes ({y_size / 4:g} float32)", field="npoints", reader=READER.id)
    if y_offset + y_size > len(data):
        raise FormatError(path, f"file truncated: intensities end at byte {y_offset + y_size}, file has "
                          f"{len(data)}", field="intensities", reader=READER.id)
    y = np.frombuffer(data, "<f4", npts, y_offset).astype(np.float64)
    warnings: list[str] = []
    metadata: dict[str, object] = {}
    if x_code not in _X_UNITS:
        name = _X_OTHER.get(x_code, f"unknown code {x_code}")
        raise FormatError(path, f"x axis is {name} (code {x_code}), not wavenumber/wavelength",
                          field="x unit", reader=READER.id)
    x = np.linspace(firstx, lastx, npts)
    wavenumber = wavenumber_axis(path, x, _X_UNITS[x_code], "x unit", READER.id, warnings, metadata)
    kind, y_name = _Y_UNITS.get(y_code, (None, f"unknown code {y_code}"))
    source = f"OMNIC y-unit code {y_code} ({y_name})"
    ordinate = ordinate_from_kind(kind, y, source, percent=True) if kind else unknown_ordinate(source, y_name)
    metadata.update(file_metadata(ordinate, warnings))
    if title:
        metadata["sample_name"] = title
    if seconds:
        metadata["start_time"] = _EPOCH + timedelta(seconds=int(seconds))
    metadata["n_scans"] = int(n_scans)
    metadata["n_background_scans"] = int(n_bkg)
    raw: dict[str, object] = {"title": title, "directory": directory, "x_unit_code": x_code, "y_unit_code": y_code,
                              "first_x": float(firstx), "last_x": float(lastx)}
    if 27 in entries:
        h_offset, h_size = entries[27]
        raw["history"] = data[h_offset:h_offset + h_size].split(b"\x00", 1)[0].decode("latin-1")
    block = spectrum_block(path, "spectrum", wavenumber, y, ordinate, READER.id)
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata, raw_metadata=raw, warnings=warnings)
