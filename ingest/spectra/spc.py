"""Thermo Galactic SPC (GRAMS) parser: new format, LSB (``fversn`` 0x4B).

Main header (512 bytes, little-endian)

    ======  ====  =========  =======================================================
    offset  size  field      meaning
    ======  ====  =========  =======================================================
    0       1     ftflgs     flags: 0x01 TSPREC (16-bit y), 0x04 TMULTI, 0x40 TXYXYS,
                             0x80 TXVALS (x array after the header)
    1       1     fversn     0x4B new LSB; 0x4C new MSB and 0x4D old: not supported
    2       1     fexper     experiment type (4 = FT-IR/FT-NIR/FT-Raman, 11 = Raman)
    3       1     fexp       y exponent (int8); −128 (0x80) = IEEE float32 y
    4       4     fnpts      points per subfile (int32)
    8       8     ffirst     first x (float64)
    16      8     flast      last x (float64)
    24      4     fnsub      number of subfiles (int32)
    28      1     fxtype     x unit code (1 = cm⁻¹, 2 = µm, 3 = nm, 13 = Raman shift)
    29      1     fytype     y unit code (2 = absorbance, 128 = transmittance, 129 = reflectance)
    30      1     fztype     z unit code
    31      1     fpost      posting disposition
    32      4     fdate      packed date: year<<20 | month<<16 | day<<11 | hour<<6 | minute
    36      9     fres       resolution text
    45      9     fsource    source instrument text
    54      2     fpeakpt    peak point
    56      32    fspare     8 float32
    88      130   fcmnt      comment text
    218     30    fcatxt     axis labels (when ftflgs 0x20)
    248     4     flogoff    offset of the log block (0 = none)
    252     4     fmods      modification flags
    ======  ====  =========  =======================================================

Subfile header (32 bytes) then data

    ======  ====  =========  ===========================================
    0       1     subflgs
    1       1     subexp     y exponent of this subfile (int8; −128 = float)
    2       2     subindx    subfile index
    4       4     subtime    z start (float32)
    8       4     subnext    z end (float32)
    12      4     subnois
    16      4     subnpts    points (TXYXYS only)
    20      4     subscan    co-added scans
    24      4     subwlevel  w axis value
    ======  ====  =========  ===========================================

    y values: float32 when the exponent is −128, else int32 × 2^(exp−32)
    (int16 × 2^(exp−16) with TSPREC).

Log block at ``flogoff``: 64-byte header (``logsizd``, ``logsizm``, ``logtxto``,
...) and ``key=value`` text lines at ``flogoff + logtxto``.

Not supported (FormatError saying so): old format 0x4D, MSB 0x4C, the TXYXYS
subfile directory (``fnpts`` as directory offset) is ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError

TSPREC, TCGRAM, TMULTI, TRANDM, TORDRD, TALABS, TXYXYS, TXVALS = (1 << i for i in range(8))

_MAIN = struct.Struct("<BBBbiddiBBBBI9s9sH32s130s30siI")
_MAIN_FIELDS = ("ftflgs", "fversn", "fexper", "fexp", "fnpts", "ffirst", "flast", "fnsub", "fxtype", "fytype",
                "fztype", "fpost", "fdate", "fres", "fsource", "fpeakpt", "fspare", "fcmnt", "fcatxt",
                "flogoff", "fmods")
_SUB = struct.Struct("<BbHffIIIf4s")
_SUB_FIELDS = ("subflgs", "subexp", "subindx", "subtime", "subnext", "subnois", "subnpts", "subscan",
               "subwlevel", "subresv")
HEADER_SIZE = 512
SUBHEADER_SIZE = 32

#: fxtype code -> (name, pint unit or None)
X_TYPES: dict[int, tuple[str, str | None]] = {
    0: ("arbitrary", None), 1: ("wavenumber", "1/cm"), 2: ("micrometers", "micrometer"),
    3: ("nanometers", "nanometer"), 4: ("seconds", "s"), 5: ("minutes", "min"), 6: ("hertz", "Hz"),
    7: ("kilohertz", "kHz"), 8: ("megahertz", "MHz"), 9: ("mass (m/z)", None), 10: ("ppm", None),
    11: ("days", "day"), 12: ("years", "year"), 13: ("raman shift", "1/cm"), 14: ("electronvolt", "eV"),
    15: ("text labels", None), 16: ("diode number", None), 17: ("channel", None), 18: ("degrees", "degree"),
    19: ("degF", None), 20: ("degC", None), 21: ("kelvin", "K"), 22: ("data points", None),
    23: ("milliseconds", "ms"), 24: ("microseconds", "us"), 25: ("nanoseconds", "ns"), 26: ("gigahertz", "GHz"),
    27: ("centimeters", "cm"), 28: ("meters", "m"), 29: ("millimeters", "mm"), 30: ("hours", "h"),
    255: ("double interferogram", None),
}
#: fytype code -> name (codes from the Galactic SPC specification)
Y_TYPES: dict[int, str] = {
    0: "arbitrary", 1: "interferogram", 2: "absorbance", 3: "kubelka-munk", 4: "counts", 5: "volts",
    6: "degrees", 7: "milliamps", 8: "millimeters", 9: "millivolts", 10: "log(1/R)", 11: "percent",
    12: "intensity", 13: "relative intensity", 14: "energy", 16: "decibel", 19: "degF", 20: "degC",
    21: "kelvin", 22: "index of refraction", 23: "extinction coefficient", 24: "real", 25: "imaginary",
    26: "complex", 128: "transmittance", 129: "reflectance", 130: "arbitrary or single beam with valley peaks",
    131: "emission",
}
EXPERIMENT_TYPES: dict[int, str] = {
    0: "general", 1: "gas chromatogram", 2: "chromatogram", 3: "HPLC", 4: "FT-IR/FT-NIR/FT-Raman", 5: "NIR",
    7: "UV-VIS", 8: "X-ray diffraction", 9: "mass spectrum", 10: "NMR", 11: "Raman", 12: "fluorescence",
    13: "atomic", 14: "chromatography diode array",
}


@dataclass
class SpcSubfile:
    """One subfile: x (file units), y (scaled), and its header."""

    x: np.ndarray
    y: np.ndarray
    header: dict[str, Any]


@dataclass
class SpcFile:
    header: dict[str, Any]
    subfiles: list[SpcSubfile]
    x_type: tuple[int, str, str | None]  # code, name, unit
    y_type: tuple[int, str]
    date: datetime | None
    log: dict[str, str] = field(default_factory=dict)
    log_text: str = ""
    warnings: list[str] = field(default_factory=list)


def looks_like_spc(head: bytes) -> bool:
    """Sniff: new-format LSB version byte and a sane x/y type and point count."""
    if len(head) < HEADER_SIZE or head[1] != 0x4B:
        return False
    fnpts, fnsub = struct.unpack_from("<i", head, 4)[0], struct.unpack_from("<i", head, 24)[0]
    return head[28] in X_TYPES and head[29] in Y_TYPES and fnpts >= 0 and fnsub >= 0


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _date(packed: int) -> datetime | None:
    if packed == 0:
        return None
    year, month, day = packed >> 20, (packed >> 16) & 0x0F, (packed >> 11) & 0x1F
    hour, minute = (packed >> 6) & 0x1F, packed & 0x3F
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def _y_values(path: Path, data: bytes, offset: int, npts: int, exponent: int, tsprec: bool, where: str,
              reader: str) -> tuple[np.ndarray, int]:
    width = 2 if tsprec and exponent != -128 else 4
    end = offset + npts * width
    if end > len(data):
        raise FormatError(path, f"file truncated: {where} needs {npts} y values ({npts * width} bytes) at offset "
                          f"{offset}, but the file ends at {len(data)}", field="fnpts", reader=reader)
    if exponent == -128:
        y = np.frombuffer(data, "<f4", npts, offset).astype(np.float64)
    elif tsprec:
        y = np.frombuffer(data, "<i2", npts, offset).astype(np.float64) * 2.0 ** (exponent - 16)
    else:
        y = np.frombuffer(data, "<i4", npts, offset).astype(np.float64) * 2.0 ** (exponent - 32)
    return y, end


def parse_spc(path: Path, reader: str) -> SpcFile:
    """Parse a new-format (0x4B) SPC file into subfiles with x and scaled y values."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=reader) from exc
    if not data:
        raise FormatError(path, "file is empty", reader=reader)
    if len(data) >= 2 and data[1] in (0x4C, 0x4D):
        kind = "old-format (0x4D)" if data[1] == 0x4D else "big-endian new-format (0x4C)"
        raise FormatError(path, f"{kind} SPC is not supported; re-save it from GRAMS/OMNIC as new-format SPC",
                          field="fversn", reader=reader)
    if len(data) < 2 or data[1] != 0x4B:
        got = f"0x{data[1]:02X}" if len(data) > 1 else "nothing"
        raise FormatError(path, f"not an SPC file: version byte is {got}, expected 0x4B", field="fversn",
                          reader=reader)
    if len(data) < HEADER_SIZE:
        raise FormatError(path, f"file truncated: {len(data)} bytes, the SPC header alone is {HEADER_SIZE}",
                          reader=reader)
    values = _MAIN.unpack_from(data, 0)
    header: dict[str, Any] = dict(zip(_MAIN_FIELDS, values))
    for key in ("fres", "fsource", "fcmnt", "fcatxt"):
        header[key] = _text(header[key])
    header["fspare"] = list(struct.unpack("<8f", header["fspare"]))
    flags, npts, nsub = header["ftflgs"], header["fnpts"], header["fnsub"]
    if header["fxtype"] not in X_TYPES:
        raise FormatError(path, f"unknown x type code {header['fxtype']}", field="fxtype", reader=reader)
    if header["fytype"] not in Y_TYPES:
        raise FormatError(path, f"unknown y type code {header['fytype']}", field="fytype", reader=reader)
    if not flags & TMULTI:
        nsub = 1
    if nsub < 1:
        raise FormatError(path, f"no subfiles (fnsub={header['fnsub']})", field="fnsub", reader=reader)
    xyxys = bool(flags & TXYXYS)
    if not xyxys and npts < 1:
        raise FormatError(path, f"empty spectrum: fnpts={npts}", field="fnpts", reader=reader)
    offset = HEADER_SIZE
    common_x: np.ndarray | None = None
    if flags & TXVALS and not xyxys:
        if offset + 4 * npts > len(data):
            raise FormatError(path, f"file truncated inside the x array ({npts} float32 at offset {offset})",
                              field="fnpts", reader=reader)
        common_x = np.frombuffer(data, "<f4", npts, offset).astype(np.float64)
        offset += 4 * npts
    elif not xyxys:
        common_x = np.linspace(header["ffirst"], header["flast"], npts)
    subfiles: list[SpcSubfile] = []
    for index in range(nsub):
        if offset + SUBHEADER_SIZE > len(data):
            raise FormatError(path, f"file truncated: subfile {index + 1} of {nsub} header at offset {offset} "
                              f"is past the end ({len(data)} bytes)", field="fnsub", reader=reader)
        sub = dict(zip(_SUB_FIELDS, _SUB.unpack_from(data, offset)))
        sub.pop("subresv")
        offset += SUBHEADER_SIZE
        # Single-subfile files carry the exponent in the main header (subexp may be 0).
        exponent = sub["subexp"] if (flags & TMULTI) else header["fexp"]
        if xyxys:
            sub_npts = sub["subnpts"]
            if sub_npts < 1:
                raise FormatError(path, f"empty spectrum: subfile {index + 1} has subnpts={sub_npts}",
                                  field="subnpts", reader=reader)
            if offset + 4 * sub_npts > len(data):
                raise FormatError(path, f"file truncated inside the x array of subfile {index + 1}",
                                  field="subnpts", reader=reader)
            x = np.frombuffer(data, "<f4", sub_npts, offset).astype(np.float64)
            offset += 4 * sub_npts
        else:
            sub_npts = npts
            x = common_x if common_x is not None else np.linspace(header["ffirst"], header["flast"], npts)
        y, offset = _y_values(path, data, offset, sub_npts, exponent, bool(flags & TSPREC),
                              f"subfile {index + 1} of {nsub}", reader)
        subfiles.append(SpcSubfile(x, y, sub))
    log: dict[str, str] = {}
    log_text = ""
    warnings: list[str] = []
    if header["flogoff"]:
        log_text, log, log_warning = _read_log(data, header["flogoff"])
        if log_warning:
            warnings.append(log_warning)
    x_code = header["fxtype"]
    return SpcFile(header, subfiles, (x_code, *X_TYPES[x_code]), (header["fytype"], Y_TYPES[header["fytype"]]),
                   _date(header["fdate"]), log, log_text, warnings)


def _read_log(data: bytes, logoff: int) -> tuple[str, dict[str, str], str | None]:
    if logoff + 64 > len(data):
        return "", {}, f"log block offset {logoff} is past the end of the file; log ignored"
    _sizd, _sizm, txto = struct.unpack_from("<iii", data, logoff)
    start = logoff + txto
    if not 0 <= start < len(data):
        return "", {}, f"log text offset {start} is outside the file; log ignored"
    text = data[start:].split(b"\x00", 1)[0].decode("latin-1")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            pairs.setdefault(key.strip(), value.strip())
    return text, pairs, None
