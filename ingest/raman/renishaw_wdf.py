"""Renishaw WiRE data file: ``.wdf`` (single spectra, series and maps).

Usage
    ``battkg ingest raman map.wdf`` (format id ``raman.renishaw.wdf``)

Layout (little-endian), checked here before decoding with Renishaw's
``renishaw-wdf`` accessor

    ======  =======  =====================================================
    offset  type     meaning
    ======  =======  =====================================================
    0       4 B      magic ``WDF1`` (block id of the 512-byte file header)
    60      uint32   npoints (points per spectrum)
    64      uint64   nspectra (capacity)
    72      uint64   ncollected (spectra actually measured)
    80      uint32   naccum (accumulations)
    88      uint32   xlistcount
    152     uint32   scan type; 156 uint32 measurement type
    160     uint64   start time (Windows FILETIME, UTC)
    176     uint32   data unit (6 = counts)
    180     float32  laser wavenumber (1/cm)
    block   16 B     id (4 B), uid (uint32), size (uint64, incl. header)
    ======  =======  =====================================================

    Blocks follow each other (``DATA`` float32 nspectra × npoints, ``XLST``
    data type + unit + float32 × xlistcount, ``ORGN`` per-spectrum origins
    such as X/Y/Z position and time, property sets ``WXDA``/``WXDM``/
    ``WXCS``/``WXIS``).  Every block must end inside the file, ``DATA`` must
    hold npoints × nspectra values and ``xlistcount`` must equal ``npoints``.

Schema
    One block ``spectrum``.  Single spectrum: ``raman_shift`` (1/cm) and
    ``intensity`` (count) of n_points.  Map/series: ``intensity`` has shape
    (n_spectra, n_points), and the X/Y(/Z) origins become ``map_x``,
    ``map_y`` (``map_z``) arrays in µm.  ``metadata['n_spectra']`` =
    ``ncollected``.  An x list in nm (absolute wavelength) is refused.

Metadata
    LaserWavelength (nm) = 10⁷ / laser wavenumber; Accumulations = ``naccum``;
    ExposureTime = measurement ``Scan/Exposure Time`` (WiRE stores ms, shown by
    ``ScanDuration(ms)`` ≈ exposure × accumulations in the samples) in s;
    ``title``, ``operator`` (header user), ``start_time`` (UTC, aware),
    ``end_time``, ``objective`` (``WXIS Microscope/Objective name``),
    ``grating`` (the one calibrated grating, when exactly one is listed),
    ``scan_type``, ``measurement_type``, ``software``.  Header fields and every
    property set are kept flattened (``BLOCK/path/key``) in ``raw_metadata``;
    binary values are listed by size only.

Known gaps
    Multitrack files, white-light images (``WHTL``) and map-area geometry
    (``WMAP``) are not decoded (listed in ``raw_metadata['blocks']``).

Dependency
    ``renishaw-wdf`` 1.4.0 (Apache-2.0, Renishaw's own accessor; no deps).
    It agrees with the MANIFEST oracle (renishawWiRE) on all samples.

Sample files
    ``shared/samples/raman/wire_sp.wdf``, ``datalab_raman_example.wdf`` (single),
    ``wire_line.wdf`` (StreamHR line map, 235 × 1015).
"""

from __future__ import annotations

import struct
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity

from ._common import shift_and_intensity

MAGIC = b"WDF1"

READER = ReaderInfo(
    id="raman.renishaw.wdf",
    technique="raman",
    suffixes=(".wdf",),
    description="Renishaw WiRE .wdf (single spectra, series, line and area maps)",
    magic=(MAGIC,),
    priority=30,
)

_BLOCK = struct.Struct("<4sIQ")
_HEADER_SIZE = 512
_SPATIAL = {"Spatial_X": "map_x", "Spatial_Y": "map_y", "Spatial_Z": "map_z"}
_LENGTH_UNITS = {"Micron": "micrometer", "Millimetres": "millimeter", "Metres": "meter", "Nanometre": "nanometer"}
_INTENSITY_UNITS = {"Counts": "count", "Electrons": "count"}


def _blocks(path: Path, data: bytes) -> list[tuple[bytes, int, int, int]]:
    """(id, uid, offset, size) of every block; a block running past the end is a FormatError."""
    found = []
    pos = 0
    while pos + _BLOCK.size <= len(data):
        block_id, uid, size = _BLOCK.unpack_from(data, pos)
        if size < _BLOCK.size:
            raise FormatError(path, f"block {block_id!r} at offset {pos} has impossible size {size}",
                              field=block_id.decode("latin-1"), reader=READER.id)
        if pos + size > len(data):
            raise FormatError(path, f"file truncated: block {block_id.decode('latin-1')!r} at offset {pos} "
                              f"declares {size} bytes, file ends at {len(data)}",
                              field=block_id.decode("latin-1"), reader=READER.id)
        found.append((block_id, uid, pos, size))
        pos += size
    if pos != len(data):
        raise FormatError(path, f"file truncated: {len(data) - pos} stray byte(s) after the last block",
                          reader=READER.id)
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _flatten(pset: Any, prefix: str, out: dict[str, Any]) -> None:
    for key, item in pset:
        value = item.value
        if hasattr(value, "items") and hasattr(value, "keys") and not isinstance(value, dict):
            _flatten(value, f"{prefix}/{key}", out)
        else:
            out[f"{prefix}/{key}"] = _plain(value)


def read(path: Path, **options: object) -> ParsedFile:
    """Read a WDF file: one spectrum, or a map with 2-D intensity and map_x/map_y."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=READER.id) from exc
    if not data.startswith(MAGIC):
        raise FormatError(path, f"not a WDF file: first bytes {data[:4]!r}, expected {MAGIC!r}", field="magic",
                          reader=READER.id)
    if len(data) < _HEADER_SIZE:
        raise FormatError(path, f"file truncated: {len(data)} bytes, the WDF header alone is {_HEADER_SIZE}",
                          reader=READER.id)
    blocks = _blocks(path, data)
    from wdf import Wdf, WdfBlockId  # heavy optional import, only when a WDF file is read
    from wdf.pset import PsetParseError

    wdf = Wdf(str(path))
    try:
        return _read(path, data, wdf, blocks, WdfBlockId, PsetParseError)
    except (struct.error, EOFError, ValueError, PsetParseError) as exc:
        raise FormatError(path, f"WDF content cannot be decoded ({type(exc).__name__}: {exc})",
                          reader=READER.id) from exc
    finally:
        wdf.close()


def _read(path: Path, data: bytes, wdf: Any, blocks: list[tuple[bytes, int, int, int]], block_ids: Any,
          pset_error: type[Exception]) -> ParsedFile:
    hdr = wdf.hdr
    npoints, capacity, collected = hdr.npoints, hdr.nspectra, hdr.ncollected
    if npoints < 1 or collected < 1:
        raise FormatError(path, f"empty spectrum: npoints={npoints}, ncollected={collected}", field="npoints",
                          reader=READER.id)
    if collected > capacity:
        raise FormatError(path, f"ncollected={collected} exceeds nspectra={capacity}", field="ncollected",
                          reader=READER.id)
    if hdr.xlistcount != npoints:
        raise FormatError(path, f"inconsistent point counts: xlistcount={hdr.xlistcount} but npoints={npoints}",
                          field="xlistcount", reader=READER.id)
    by_id = {}
    for block_id, uid, pos, size in blocks:
        by_id.setdefault(block_id, (uid, pos, size))
    if b"DATA" not in by_id or b"XLST" not in by_id:
        missing = [name for name in ("DATA", "XLST") if name.encode() not in by_id]
        raise FormatError(path, f"required block(s) {', '.join(missing)} missing", field=missing[0],
                          reader=READER.id)
    _, data_pos, data_size = by_id[b"DATA"]
    needed = collected * npoints * 4
    if data_size - _BLOCK.size < needed:
        raise FormatError(path, f"inconsistent point counts: DATA holds {(data_size - _BLOCK.size) // 4} values, "
                          f"{collected} spectra × {npoints} points need {needed // 4}", field="DATA",
                          reader=READER.id)
    spectra = np.frombuffer(data, "<f4", collected * npoints, data_pos + _BLOCK.size)
    spectra = spectra.astype(np.float64).reshape(collected, npoints)
    xlist = wdf.xlist()
    x_unit = xlist.units.name
    if x_unit != "RamanShift":
        raise FormatError(path, f"x list is in {x_unit}, not Raman shift: export it as Raman shift in WiRE",
                          field="XLST", reader=READER.id)
    shift = np.asarray(xlist, dtype=np.float64)
    if not (np.all(np.isfinite(shift)) and np.all(np.isfinite(spectra))):
        raise FormatError(path, "non-finite value (nan/inf) in the x list or spectra", field="DATA",
                          reader=READER.id)
    warnings: list[str] = []
    if collected < capacity:
        warnings.append(f"incomplete measurement: {collected} of {capacity} spectra collected; only those are read")
    unit_name = hdr.units.name
    intensity_unit = _INTENSITY_UNITS.get(unit_name)
    if intensity_unit is None:
        intensity_unit = "dimensionless"
        warnings.append(f"WDF data unit is {unit_name}, not counts; intensity stored as dimensionless")
    single = collected == 1
    arrays = shift_and_intensity(shift, spectra[0] if single else spectra, intensity_unit)
    raw: dict[str, Any] = {"header": {k: _plain(getattr(hdr, k)) for k in (
        "version", "ntracks", "status", "npoints", "nspectra", "ncollected", "naccum", "ylistcount",
        "xlistcount", "origincount", "laser_wavenumber", "appversion", "title", "user", "uuid")}}
    raw["blocks"] = [(bid.decode("latin-1"), uid, size) for bid, uid, _, size in blocks]
    origins_meta: dict[str, Any] = {}
    if b"ORGN" in by_id:
        for origin in wdf.origins.values():
            name = origin.datatype.name
            if name in _SPATIAL and not single:
                unit = _LENGTH_UNITS.get(origin.dataunit.name)
                if unit is None:
                    raise FormatError(path, f"origin {origin.label!r} has length unit {origin.dataunit.name}",
                                      field="ORGN", reader=READER.id)
                values = np.asarray(origin[0:collected], dtype=np.float64)
                arrays.append(ArrayData(_SPATIAL[name], values, "Length", unit,
                                        f"stage {name[-1]} position of each spectrum"))
            elif name == "Time":
                times = origin[0:collected]
                origins_meta["first_spectrum_time"] = _plain(times[0])
                origins_meta["last_spectrum_time"] = _plain(times[-1])
            else:
                origins_meta[f"origin/{origin.label}"] = f"{name} ({origin.dataunit.name})"
    props: dict[str, Any] = {}
    gratings: list[str] = []
    for block_id, uid, _pos, _size in blocks:
        name = block_id.decode("latin-1")
        if name in ("WDF1", "DATA", "XLST", "YLST", "ORGN"):
            continue
        try:
            pset = wdf.get_section_properties(int.from_bytes(block_id, "little"), uid)
        except (struct.error, EOFError, UnicodeDecodeError, pset_error):
            warnings.append(f"property set of block {name} could not be decoded; skipped")
            continue
        if pset is not None:
            _flatten(pset, name, props)
            if name == "WXCS" and "Gratings" in pset.keys():
                # Grating names contain "/" ("1800 l/mm (vis)"), so read them from the tree.
                gratings = [str(key) for key in pset["Gratings"].value.keys()]
    raw["properties"] = props
    raw["origins"] = origins_meta
    quantities = [ScalarQuantity("Accumulations", float(hdr.naccum), "dimensionless")]
    if hdr.laser_wavenumber > 0:
        quantities.append(ScalarQuantity("LaserWavelength", 1e7 / float(hdr.laser_wavenumber), "nm"))
    exposure = props.get("WXDM/NamedItems/Scan/Exposure Time")
    if isinstance(exposure, (int, float)) and exposure > 0:
        quantities.append(ScalarQuantity("ExposureTime", float(exposure) / 1000.0, "s"))
    metadata: dict[str, Any] = {
        "n_spectra": int(collected),
        "title": hdr.title,
        "scan_type": hdr.scantype.name,
        "measurement_type": hdr.type.name,
        "software": f"{hdr.appname} {hdr.appversion}".strip(),
    }
    if hdr.user:
        metadata["operator"] = hdr.user
    if hdr.time_start_:
        metadata["start_time"] = hdr.time_start
    if hdr.time_end_:
        metadata["end_time"] = hdr.time_end
    objective = props.get("WXIS/Microscope/Objective name")
    if objective:
        metadata["objective"] = objective
    if len(gratings) == 1:
        metadata["grating"] = gratings[0]
    if not single:
        metadata["map_shape"] = [int(collected), int(npoints)]
    block = Block("spectrum", arrays=arrays, metadata={"n_spectra": int(collected)})
    return ParsedFile(format_id=READER.id, blocks=[block], quantities=quantities, metadata=metadata,
                      raw_metadata=raw, warnings=warnings)
