"""Generic two-column Raman text (shift, intensity): ``.txt``, ``.csv``, ``.dat``, ``.xy``.

Usage
    ``battkg ingest raman spectrum.txt`` (format id ``raman.text``)

Schema
    Column 1: Raman shift in 1/cm (either order); column 2: intensity in
    counts.  Delimiter whitespace, comma, semicolon or tab.  A header row such
    as ``#Wave<TAB><TAB>#Intensity`` (WiRE text export) is header, not data.

Metadata
    Header lines are kept in ``raw_metadata['header_lines']``; ``key = value``
    and ``key: value`` lines as pairs in ``raw_metadata['header']``.  Laser
    wavelength is taken from a ``laser``/``wavelength``/``excitation`` header
    value in nm when present.

Known gaps
    Maps exported as text (x, y, shift, intensity columns) are refused (more
    than two columns): use the ``.wdf`` file.  Horiba LabSpec exports have
    their own reader (``raman.horiba.labspec``).

Sample files
    ``shared/samples/raman/datalab_raman_example.txt`` (WiRE export).
"""

from __future__ import annotations

import re
from pathlib import Path

from battkg.ingest.spectra.text import parse_xy_text
from battkg.readers import Block, ParsedFile, ReaderInfo, ScalarQuantity

from ._common import shift_and_intensity

READER = ReaderInfo(
    id="raman.text",
    technique="raman",
    suffixes=(".txt", ".csv", ".dat", ".xy"),
    description="two-column Raman shift/intensity text with optional header",
    priority=90,  # generic fallback
)

_LASER = re.compile(r"(\d{3,4}(?:\.\d+)?)\s*nm", re.IGNORECASE)


def read(path: Path, **options: object) -> ParsedFile:
    """Read a two-column Raman spectrum into one ``spectrum`` block."""
    text = parse_xy_text(path, READER.id)
    quantities: list[ScalarQuantity] = []
    metadata: dict[str, object] = {}
    for key, value in text.header.items():
        if re.search(r"laser|excitation|wavelength", key, re.IGNORECASE):
            match = _LASER.search(value) or re.fullmatch(r"\s*(\d{3,4}(?:\.\d+)?)\s*", value)
            if match:
                quantities.append(ScalarQuantity("LaserWavelength", float(match.group(1)), "nm"))
                metadata["laser_wavelength_source"] = f"header '{key}'"
                break
    block = Block("spectrum", arrays=shift_and_intensity(text.x, text.y))
    return ParsedFile(format_id=READER.id, blocks=[block], quantities=quantities, metadata=metadata,
                      raw_metadata={"header": text.header, "header_lines": text.header_lines,
                                    "column_names": text.column_names}, warnings=text.warnings)
