"""Agilent MicroLab / GRAMS "ASCII with header": ``.asp``.

Usage
    ``battkg ingest ftir spectrum.asp`` (format id ``ftir.agilent.asp``)

Schema
    Agilent MicroLab exports ``.asp`` as "an ASCII output of the Y data with a
    header defined X" (MicroLab user guide); the layout is Galactic's GRAMS
    "ASCII with header" converter: numbers separated by commas, blanks or line
    breaks, in this order

    ====  =====================================================
    #     meaning
    ====  =====================================================
    1     number of Y values (integer; 0 = count what follows)
    2     X of the first point
    3     X of the last point (X is evenly spaced in between)
    4     X type code (SPC ``fxtype``: 1 cm⁻¹, 2 µm, 3 nm, 0 arbitrary)
    5     Y type code (SPC ``fytype``: 2 absorbance, 128 transmittance, 129 reflectance)
    6     resolution (0 = not given)
    (7)   optional comment line starting with an apostrophe
    ...   the Y values
    ====  =====================================================

    One ``spectrum`` block: ``wavenumber`` (1/cm) and the ordinate stated by
    the Y type code; any other code leaves the ordinate unknown (the ingester
    then asks the user).  X type 0 ("arbitrary", allowed by GRAMS) is read as
    wavenumber with a warning, because MicroLab writes FTIR spectra only.

Metadata
    ``comment`` (the apostrophe line), ``resolution_cm-1`` when > 0; the six
    header values in ``raw_metadata['header']``.

Known gaps
    No ``.asp`` sample is in ``shared/samples``; tests use files written from
    the specification above.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.ingest.spectra.common import ordinate_from_kind, unknown_ordinate
from battkg.ingest.spectra.spc import X_TYPES, Y_TYPES
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

READER = ReaderInfo(
    id="ftir.agilent.asp",
    technique="ftir",
    suffixes=(".asp",),
    description="Agilent MicroLab / GRAMS ASCII-with-header .asp (Y values with an X header)",
    priority=60,
)

_HEADER = ("n_points", "first_x", "last_x", "x_type", "y_type", "resolution")
_ORDINATE_KIND = {2: "absorbance", 128: "transmittance", 129: "reflectance"}
_SEPARATORS = re.compile(r"[,\s]+")


def _tokens(path: Path) -> tuple[list[tuple[str, int]], str | None]:
    """Every number with its line number, and the comment line (if any)."""
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise FormatError(path, f"cannot read file: {exc.strerror or exc}", reader=READER.id) from exc
    tokens: list[tuple[str, int]] = []
    comment = None
    for number, line in enumerate(text.replace("\f", "\n").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("'"):
            if len(tokens) != len(_HEADER):
                raise FormatError(path, "a comment line is only allowed right after the six header values",
                                  line=number, reader=READER.id)
            comment = stripped[1:].strip()
            continue
        tokens += [(t, number) for t in _SEPARATORS.split(stripped) if t]
    return tokens, comment


def _number(path: Path, token: str, line: int, field: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise FormatError(path, f"{field} must be a number (got {token!r})", line=line, field=field,
                          reader=READER.id) from None


def read(path: Path, **options: object) -> ParsedFile:
    """Read an ``.asp`` file into one ``spectrum`` block."""
    tokens, comment = _tokens(path)
    if len(tokens) < len(_HEADER):
        raise FormatError(path, f"file truncated: the header needs {len(_HEADER)} values, the file has "
                          f"{len(tokens)}", reader=READER.id)
    first, first_line = tokens[0]
    if not re.fullmatch(r"\d+", first):
        raise FormatError(path, f"not an ASP file: the first value must be the number of points (got {first!r})",
                          line=first_line, field="n_points", reader=READER.id)
    header = {name: _number(path, tok, line, name) for name, (tok, line) in zip(_HEADER, tokens)}
    values = tokens[len(_HEADER):]
    y = np.array([_number(path, tok, line, "Y value") for tok, line in values], dtype=np.float64)
    declared = int(header["n_points"])
    if declared and declared != y.size:
        raise FormatError(path, f"inconsistent point counts: the header declares {declared} Y values, the file "
                          f"holds {y.size}", line=tokens[0][1], field="n_points", reader=READER.id)
    warnings: list[str] = []
    metadata: dict[str, object] = {}
    x_code, y_code = int(header["x_type"]), int(header["y_type"])
    if x_code not in X_TYPES:
        raise FormatError(path, f"unknown X type code {x_code}", line=tokens[3][1], field="x_type", reader=READER.id)
    x_name, x_unit = X_TYPES[x_code]
    if x_code == 0:
        warnings.append("X type 0 (arbitrary): read as wavenumber in 1/cm, as MicroLab writes FTIR spectra only")
        x_unit = "1/cm"
    x = np.linspace(header["first_x"], header["last_x"], y.size) if y.size else np.empty(0)
    wavenumber = wavenumber_axis(path, x, x_unit if x_code in (0, 1, 2, 3) else f"{x_name} (X type {x_code})",
                                 "x_type", READER.id, warnings, metadata)
    source = f"ASP Y type {y_code} ({Y_TYPES.get(y_code, 'unknown code')})"
    kind = _ORDINATE_KIND.get(y_code)
    ordinate = (ordinate_from_kind(kind, y, source, percent=None) if kind and y.size
                else unknown_ordinate(source, Y_TYPES.get(y_code, str(y_code))))
    block = spectrum_block(path, "spectrum", wavenumber, y, ordinate, READER.id)
    metadata.update(file_metadata(ordinate, warnings))
    if header["resolution"] > 0:
        metadata["resolution_cm-1"] = float(header["resolution"])
    if comment:
        metadata["comment"] = comment
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"header": header, "comment": comment}, warnings=warnings)
