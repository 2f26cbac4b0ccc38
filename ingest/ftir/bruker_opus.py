"""Bruker OPUS binary spectra: ``.0``, ``.1``, … (numbered suffixes).

Usage
    ``battkg ingest ftir sample.0000`` (format id ``ftir.bruker.opus``);
    option ``block="t"`` picks another data block than the default.

Layout (little-endian), checked here before the file is decoded

    ======  =======  =============================================
    offset  type     meaning
    ======  =======  =============================================
    0       4 B      magic ``0A 0A FE FE``
    4       float64  program version
    12      int32    directory offset (bytes)
    16      int32    maximum number of directory entries
    20      int32    number of directory entries
    dir+12k uint32   block type (data type, channel, text flags)
    +4      int32    block length in 4-byte words
    +8      int32    block offset in bytes
    ======  =======  =============================================

    Every directory entry must lie inside the file; a truncated file is a
    FormatError naming the first block that runs past the end.  Blocks are
    then decoded with ``brukeropus`` (parameter blocks, data-status blocks,
    data blocks).

Schema
    One block named after the OPUS data block, by default the first present of
    ``a`` (absorbance → Absorbance, dimensionless), ``t`` (transmittance →
    Transmittance; OPUS stores a fraction, percent if values exceed 1.5, with
    a warning either way) and ``r`` (reflectance).  Without any of these the
    sample single channel ``sm`` is taken with ``ordinate`` None
    (SpectralIntensity) and a warning.  The abscissa unit ``DXU`` ``WN`` is
    used as is, ``MI`` (µm) is converted; others are an error.
    ``metadata['opus_blocks']`` lists every data block (key → label) so that
    reference/sample/interferogram blocks stay visible.

Metadata
    ``instrument`` ← ``INS``; ``sample_name`` ← ``SNM``; ``operator`` ← ``CNM``;
    ``start_time`` ← data-status ``DAT``/``TIM`` (``dd/mm/yyyy``, ``HH:MM:SS.fff
    (GMT+h)``: timezone-aware when the zone is given); ``n_scans`` ← ``NSS``;
    ``resolution_cm-1`` ← ``RES``.  All parameters go to ``raw_metadata``.

Known gaps
    Only one data block becomes arrays; 3-D/series files (``iter_series``) are
    refused.

Dependency
    ``brukeropus`` 1.4.3 (MIT) — the MANIFEST oracle; battkg agrees with it
    on the sample.

Sample files
    ``shared/samples/ftir/opus_test.0000`` (Vertex 80V; rf, igrf, a, sm, phsm, igsm).
"""

from __future__ import annotations

import re
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.spectra.common import ordinate_from_kind, unknown_ordinate
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

MAGIC = b"\x0a\x0a\xfe\xfe"

READER = ReaderInfo(
    id="ftir.bruker.opus",
    technique="ftir",
    suffixes=tuple(f".{i}" for i in range(10)) + (".0000", ".0001", ".opus"),
    description="Bruker OPUS binary file (absorbance/transmittance block)",
    magic=(MAGIC,),
    priority=30,
)

_KINDS = {"a": "absorbance", "t": "transmittance", "r": "reflectance"}
_DEFAULT_ORDER = ("a", "t", "r", "sm")
_X_UNITS = {"WN": "1/cm", "MI": "micrometer"}
_HEADER = struct.Struct("<4sdiii")
_ENTRY = struct.Struct("<Iii")


def _check_directory(path: Path, data: bytes) -> int:
    """Validate magic and directory bounds before decoding; returns the number of entries."""
    if not data.startswith(MAGIC):
        raise FormatError(path, f"not an OPUS file: first bytes {data[:4].hex(' ')}, expected 0a 0a fe fe",
                          field="magic", reader=READER.id)
    if len(data) < _HEADER.size:
        raise FormatError(path, f"file truncated: {len(data)} bytes, OPUS header is {_HEADER.size}",
                          reader=READER.id)
    _, _version, dir_offset, _max_entries, n_entries = _HEADER.unpack_from(data, 0)
    if n_entries < 1 or dir_offset < _HEADER.size or dir_offset + n_entries * _ENTRY.size > len(data):
        raise FormatError(path, f"directory ({n_entries} entries at offset {dir_offset}) does not fit in the "
                          f"file ({len(data)} bytes): truncated or not OPUS", field="directory", reader=READER.id)
    for index in range(n_entries):
        block_type, length, offset = _ENTRY.unpack_from(data, dir_offset + index * _ENTRY.size)
        if length < 0 or offset < 0 or offset + 4 * length > len(data):
            raise FormatError(path, f"file truncated: directory entry {index} (type 0x{block_type:08x}) spans "
                              f"bytes {offset}..{offset + 4 * length}, file has {len(data)}",
                              field="directory", reader=READER.id)
    return n_entries


def _opus_datetime(date: str | None, time: str | None) -> tuple[datetime | None, bool]:
    if not date or not time:
        return None, False
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(?:\(GMT([+-]\d+(?::?\d{2})?)?\))?\s*", time)
    try:
        day = datetime.strptime(date.strip(), "%d/%m/%Y")
    except ValueError:
        return None, False
    if not match:
        return None, False
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3))
    micro = int((match.group(4) or "0")[:6].ljust(6, "0"))
    value = day.replace(hour=hour, minute=minute, second=second, microsecond=micro)
    if match.group(5) is not None or "(GMT)" in time:
        offset_text = match.group(5) or "+0"
        sign = -1 if offset_text.startswith("-") else 1
        hours, _, minutes = offset_text[1:].partition(":")
        value = value.replace(tzinfo=timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0))))
        return value, True
    return value, False


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read(path: Path, block: str | None = None, **options: object) -> ParsedFile:
    """Read an OPUS file: the absorbance (or chosen) data block with wavenumber."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=READER.id) from exc
    _check_directory(path, data)
    from brukeropus import read_opus  # heavy optional import, only when an OPUS file is read

    try:
        opus = read_opus(str(path))
    except (KeyError, ValueError, IndexError, struct.error, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(path, f"OPUS blocks cannot be decoded ({type(exc).__name__}: {exc})",
                          reader=READER.id) from exc
    keys = list(opus.data_keys)
    if getattr(opus, "series_keys", None):
        raise FormatError(path, f"OPUS 3-D/series data ({', '.join(opus.series_keys)}) is not supported",
                          reader=READER.id)
    if not keys:
        raise FormatError(path, "empty spectrum: the OPUS file has no data block", reader=READER.id)
    labels = {key: getattr(getattr(opus, key), "label", key) for key in keys}
    if block is not None:
        if block not in keys:
            raise FormatError(path, f"data block {block!r} not in file; present: {', '.join(keys)}",
                              field="block", reader=READER.id)
        key = block
    else:
        key = next((k for k in _DEFAULT_ORDER if k in keys), keys[0])
    spectrum = getattr(opus, key)
    status = {k: _plain(spectrum.params[k]) for k in spectrum.params.keys()}
    try:
        x = np.asarray(spectrum.x, dtype=np.float64)
        y = np.asarray(spectrum.y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FormatError(path, f"data block {key!r} cannot be read as numbers: {exc}", field=key,
                          reader=READER.id) from exc
    npt = status.get("npt")
    if npt is not None and int(npt) != y.size:
        raise FormatError(path, f"inconsistent point counts: NPT={npt} but block {key!r} holds {y.size} values",
                          field="NPT", reader=READER.id)
    warnings: list[str] = []
    metadata: dict[str, Any] = {"opus_blocks": labels, "opus_block": key}
    dxu = str(status.get("dxu", ""))
    wavenumber = wavenumber_axis(path, x, _X_UNITS.get(dxu, f"DXU={dxu!r}"), "DXU", READER.id, warnings, metadata)
    source = f"OPUS data block {key!r} ({labels[key]})"
    kind = _KINDS.get(key)
    ordinate = ordinate_from_kind(kind, y, source, percent=None) if kind else unknown_ordinate(source, labels[key])
    metadata.update(file_metadata(ordinate, warnings))
    params = {k: _plain(opus.params[k]) for k in opus.params.keys()}
    for field, meta_key in (("ins", "instrument"), ("snm", "sample_name"), ("cnm", "operator")):
        if params.get(field):
            metadata[meta_key] = str(params[field]).strip()
    if isinstance(params.get("nss"), (int, float)):
        metadata["n_scans"] = int(params["nss"])
    if isinstance(params.get("res"), (int, float)):
        metadata["resolution_cm-1"] = float(params["res"])
    start, aware = _opus_datetime(status.get("dat"), status.get("tim"))
    if start is not None:
        metadata["start_time"] = start
        if not aware:
            warnings.append("OPUS DAT/TIM carry no time zone: start_time is naive local time")
    spectrum_meta = {"opus_block": key, "opus_label": labels[key]}
    block_out = spectrum_block(path, key, wavenumber, y, ordinate, READER.id, spectrum_meta)
    raw = {"params": params, "data_status": status,
           "block_params": {k: {p: _plain(getattr(opus, k).params[p]) for p in getattr(opus, k).params.keys()}
                            for k in keys}}
    return ParsedFile(format_id=READER.id, blocks=[block_out], metadata=metadata, raw_metadata=raw,
                      warnings=warnings)
