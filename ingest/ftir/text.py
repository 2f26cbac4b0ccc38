"""Two-column FTIR text (wavenumber, ordinate): ``.txt``, ``.csv``, ``.dat``, ``.xy``.

Usage
    ``battkg ingest ftir spectrum.csv`` (format id ``ftir.text``)

Schema
    Column 1: wavenumber in 1/cm; column 2: the ordinate.  Delimiter
    whitespace, comma, semicolon or tab.  The ordinate is taken from the
    header only where it says so: a column name or a ``YUNITS``/``Y units``/
    ``ordinate`` header value naming absorbance, transmittance (``%T``) or
    reflectance.  Otherwise ``metadata['ordinate'] = None``, quantity
    SpectralIntensity and a warning (the ingester asks the user).  A header
    stating ``micrometers``/``µm`` or ``nm`` for the x axis converts it.

Metadata
    Header lines are kept in ``raw_metadata['header_lines']`` and as pairs
    in ``raw_metadata['header']``.

Known gaps
    Only one spectrum per file; multi-column exports must be split first.

Sample files
    No plain FTIR text sample; ``datalab_FTIRText020.jdx.txt`` is a JCAMP
    header over a table and goes to ``ftir.jcamp``.
"""

from __future__ import annotations

import re
from pathlib import Path

from battkg.ingest.spectra.common import ordinate_from_label
from battkg.ingest.spectra.text import parse_xy_text
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

READER = ReaderInfo(
    id="ftir.text",
    technique="ftir",
    suffixes=(".txt", ".csv", ".dat", ".xy"),
    description="two-column wavenumber/ordinate text with optional header",
    priority=90,  # generic fallback
)

_Y_KEYS = ("yunits", "y units", "y unit", "ordinate", "y axis", "yaxis")
_X_KEYS = ("xunits", "x units", "x unit", "x axis", "xaxis")


def _header_value(header: dict[str, str], keys: tuple[str, ...]) -> tuple[str, str] | None:
    for key, value in header.items():
        if key.lower().strip().lstrip("#") in keys and value.strip():
            return key, value.strip()
    return None


def read(path: Path, **options: object) -> ParsedFile:
    """Read a two-column FTIR text file into one ``spectrum`` block."""
    text = parse_xy_text(path, READER.id)
    warnings: list[str] = []
    metadata: dict[str, object] = {}
    x_unit = "1/cm"
    x_stated = _header_value(text.header, _X_KEYS)
    x_label = x_stated[1] if x_stated else (text.column_names[0] if text.column_names else "")
    if re.search(r"micro|µm|\bum\b", x_label, re.IGNORECASE):
        x_unit = "micrometer"
    elif re.search(r"\bnm\b|nanomet", x_label, re.IGNORECASE):
        x_unit = "nanometer"
    wavenumber = wavenumber_axis(path, text.x, x_unit, "x axis", READER.id, warnings, metadata)
    stated = _header_value(text.header, _Y_KEYS)
    if stated:
        ordinate = ordinate_from_label(stated[1], text.y, f"header '{stated[0]}'")
    elif text.column_names:
        ordinate = ordinate_from_label(text.column_names[1], text.y, f"column name {text.column_names[1]!r}")
    else:
        ordinate = ordinate_from_label(None, text.y, "text header")
    metadata.update(file_metadata(ordinate, warnings))
    block = spectrum_block(path, "spectrum", wavenumber, text.y, ordinate, READER.id)
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"header": text.header, "header_lines": text.header_lines,
                                    "column_names": text.column_names}, warnings=warnings)
