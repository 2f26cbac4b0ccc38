"""Shared helpers of the XRD vendor readers (not a reader: the leading ``_`` keeps it out of the scan).

What lives here is what at least two readers need: building a checked
2θ/intensity :class:`Block`, the X-ray source quantities, timestamps, safe
XML parsing with the error located, flattening XML metadata into verbatim
``raw_metadata`` keys, and zip handling (container formats ``.brml`` and
``.rasx`` are zip archives whose member names identify them).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable
from xml.etree import ElementTree as ET

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ScalarQuantity

# Vendor spellings of wavelength units -> pint names ("a" would be a year to pint).
_VENDOR_LENGTH_UNITS = {"angstrom": "angstrom", "å": "angstrom", "a": "angstrom", "ang": "angstrom",
                        "nm": "nanometer", "pm": "picometer", "m": "meter"}
_ZIP_LOCAL_HEADER = b"PK\x03\x04"


def read_bytes(path: Path, reader: str) -> bytes:
    """The whole file, or a :class:`FormatError` for unreadable and empty files."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc
    if not data:
        raise FormatError(path, "file is empty", reader=reader)
    return data


def natural_sort_key(name: str) -> list[Any]:
    """Sort key that orders ``Data2`` before ``Data10`` (archive members, scan numbers)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, path: Path, reader: str, member: str | None = None) -> ET.Element:
    """Parse XML bytes; a syntax error becomes a :class:`FormatError` with its line.

    The stdlib parser does not fetch external entities or DTDs, and expat
    (>= 2.4) limits entity expansion, so vendor files cannot make it fetch
    or blow up.
    """
    where = f"member '{member}': " if member else ""
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise FormatError(path, f"{where}XML is not well-formed ({exc}); truncated or corrupt file?",
                          line=line, reader=reader) from None


def to_float(text: str | None, path: Path, reader: str, field: str) -> float:
    """One number from an XML text/attribute, or a :class:`FormatError` naming the field."""
    if text is None or not text.strip():
        raise FormatError(path, "value is missing", field=field, reader=reader)
    try:
        return float(text.strip())
    except ValueError:
        raise FormatError(path, f"non-numeric value {text.strip()!r}", field=field, reader=reader) from None


def parse_number_list(text: str | None, path: Path, reader: str, field: str) -> np.ndarray:
    """Whitespace-separated numbers (XML list types) as float64; names the bad token."""
    tokens = (text or "").split()
    if not tokens:
        raise FormatError(path, "empty data block (no values)", field=field, reader=reader)
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        for index, token in enumerate(tokens):
            try:
                float(token)
            except ValueError:
                raise FormatError(path, f"non-numeric value {token!r} at position {index + 1} of {len(tokens)}",
                                  field=field, reader=reader) from None
        raise  # pragma: no cover - one token above always fails


def pattern_block(
    path: Path,
    reader: str,
    name: str,
    two_theta: np.ndarray,
    intensity: np.ndarray,
    intensity_unit: str,
    *,
    uncertainty: np.ndarray | None = None,
    extra: Iterable[ArrayData] = (),
    metadata: dict[str, Any] | None = None,
    quantities: list[ScalarQuantity] | None = None,
    field: str | None = None,
) -> Block:
    """A checked diffraction block: equal lengths, finite values, float64 arrays."""
    two_theta = np.asarray(two_theta, dtype=np.float64)
    intensity = np.asarray(intensity, dtype=np.float64)
    if intensity.ndim != 1 or two_theta.ndim != 1:
        raise FormatError(path, f"{name}: expected 1-D arrays, got 2θ {two_theta.shape} and intensity "
                          f"{intensity.shape}", field=field, reader=reader)
    if intensity.size == 0:
        raise FormatError(path, f"{name}: empty data block (0 points)", field=field, reader=reader)
    if two_theta.size != intensity.size:
        raise FormatError(path, f"{name}: inconsistent point counts: {two_theta.size} 2θ values but "
                          f"{intensity.size} intensities", field=field, reader=reader)
    for label, values in (("2θ", two_theta), ("intensity", intensity)):
        if not np.all(np.isfinite(values)):
            bad = int(np.argmax(~np.isfinite(values)))
            raise FormatError(path, f"{name}: non-finite {label} value at point {bad + 1}", field=field,
                              reader=reader)
    arrays = [
        ArrayData("two_theta", two_theta, "TwoTheta", "degree", "scattering angle 2θ"),
        ArrayData("intensity", intensity, "DiffractionIntensity", intensity_unit, "detector intensity"),
    ]
    if uncertainty is not None:
        uncertainty = np.asarray(uncertainty, dtype=np.float64)
        if uncertainty.shape != intensity.shape:
            raise FormatError(path, f"{name}: inconsistent point counts: {uncertainty.size} uncertainties "
                              f"for {intensity.size} intensities", field=field, reader=reader)
        arrays.append(ArrayData("intensity_uncertainty", uncertainty, "IntensityUncertainty", intensity_unit,
                                "standard uncertainty of the intensity"))
    for arr in extra:
        if arr.values.shape[-1] != intensity.size:
            raise FormatError(path, f"{name}: inconsistent point counts: {arr.values.shape[-1]} values of "
                              f"'{arr.name}' for {intensity.size} intensities", field=field, reader=reader)
        arrays.append(arr)
    return Block(name, arrays=arrays, quantities=list(quantities or []), metadata=dict(metadata or {}))


def to_angstrom(value: float, unit: str | None) -> float | None:
    """A wavelength in ångström, or None when the unit is absent or unknown (never guessed)."""
    if unit is None:
        return None
    from battkg.units import convert

    pint_unit = _VENDOR_LENGTH_UNITS.get(unit.strip().lower())
    return None if pint_unit is None else float(convert(value, pint_unit, "angstrom"))


def source_quantities(
    *,
    kalpha1: float | None = None,
    kalpha2: float | None = None,
    kbeta: float | None = None,
    ratio: float | None = None,
    voltage_kv: float | None = None,
    current_ma: float | None = None,
) -> list[ScalarQuantity]:
    """The X-ray source scalars the brief asks for, skipping absent or zero wavelengths."""
    out: list[ScalarQuantity] = []
    for label, value in (("Kα1", kalpha1), ("Kα2", kalpha2), ("Kβ", kbeta)):
        # Vendors write 0 for "not used" (e.g. no Kβ line in a monochromated setup).
        if value is not None and value > 0:
            out.append(ScalarQuantity("Wavelength", float(value), "angstrom", label))
    if ratio is not None:
        out.append(ScalarQuantity("KAlphaRatio", float(ratio), "dimensionless", "Kα2/Kα1"))
    if voltage_kv is not None:
        out.append(ScalarQuantity("GeneratorVoltage", float(voltage_kv), "kV"))
    if current_ma is not None:
        out.append(ScalarQuantity("GeneratorCurrent", float(current_ma), "mA"))
    return out


def radiation_label(anode: str | None, line: str = "Kα") -> str | None:
    """``"Cu"`` -> ``"Cu Kα"``."""
    anode = (anode or "").strip()
    return f"{anode} {line}" if anode else None


def parse_timestamp(text: str | None, field: str, warnings: list[str]) -> datetime | None:
    """ISO 8601 timestamp; naive values are kept naive with a warning, bad ones only warned about."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        warnings.append(f"{field}: cannot parse timestamp {value!r}; kept in raw_metadata only")
        return None
    if stamp.year <= 1:  # .NET's DateTime.MinValue means "not set"
        return None
    if stamp.tzinfo is None:
        warnings.append(f"{field}: timestamp {value!r} has no time zone; kept as naive local time")
    return stamp


def flatten_xml(element: ET.Element, *, skip: frozenset[str] = frozenset(), prefix: str = "",
                out: dict[str, str] | None = None) -> dict[str, str]:
    """Every text and attribute below ``element`` as ``path -> value`` (namespace-free, verbatim).

    Repeated siblings get ``[i]`` suffixes; elements whose local name is in
    ``skip`` (bulk data) are left out.
    """
    out = {} if out is None else out
    for key, value in element.attrib.items():
        out[f"{prefix}@{local_name(key)}"] = value
    text = (element.text or "").strip()
    if text:
        out[prefix or local_name(element.tag)] = text
    counts: dict[str, int] = {}
    for child in element:
        counts[local_name(child.tag)] = counts.get(local_name(child.tag), 0) + 1
    seen: dict[str, int] = {}
    for child in element:
        name = local_name(child.tag)
        if name in skip:
            continue
        if counts[name] > 1:
            index = seen.get(name, 0)
            seen[name] = index + 1
            name = f"{name}[{index}]"
        flatten_xml(child, skip=skip, prefix=f"{prefix}/{name}" if prefix else name, out=out)
    return out


def zip_member_names(head: bytes) -> list[str]:
    """Member names from the zip local headers found in the first bytes of a file.

    Each local header carries its file name, so a sniff on the first 64 KiB
    sees at least the first member's name without opening the archive.
    """
    if not head.startswith(_ZIP_LOCAL_HEADER):
        return []
    names: list[str] = []
    for match in re.finditer(re.escape(_ZIP_LOCAL_HEADER), head):
        start = match.start()
        if start + 30 > len(head):
            break
        name_len, = struct.unpack_from("<H", head, start + 26)
        name = head[start + 30:start + 30 + name_len]
        if len(name) == name_len:
            names.append(name.decode("cp437", errors="replace"))
    return names


def open_zip(path: Path, reader: str) -> zipfile.ZipFile:
    """Open a zip container; a damaged archive becomes a :class:`FormatError`."""
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise FormatError(path, f"not a readable zip archive ({exc}); truncated or corrupt file?",
                          reader=reader) from None
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc


def read_member(archive: zipfile.ZipFile, member: str, path: Path, reader: str) -> bytes:
    """One member's bytes; missing, truncated or CRC-failing members become :class:`FormatError`."""
    try:
        return archive.read(member)
    except KeyError:
        raise FormatError(path, f"zip member '{member}' is missing", reader=reader) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise FormatError(path, f"zip member '{member}' cannot be decompressed ({exc}); truncated or "
                          "corrupt file?", reader=reader) from None
