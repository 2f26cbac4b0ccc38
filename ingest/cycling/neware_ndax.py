"""Neware BTS ``.ndax`` (zip of XML headers and binary data; format id ``cycling.neware.ndax``), read with fastnda.

Usage ``battkg ingest cycling run.ndax``.  Arrays, units and signs: see
:func:`battkg.ingest.cycling._neware.read_neware`.  The step file, test info and version
XML are kept as dicts in ``raw_metadata['header']``.

Sample files ``shared/samples/cycling/fastnda_nw4-120-1-6-53.ndax`` (160 cycles) and
``fastnda_21_10_7_85.ndax`` (a 141-record rest step; NewareNDA reads 140 of them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="cycling.neware.ndax",
    technique="cycling",
    suffixes=(".ndax",),
    description="Neware BTS .ndax (zip; fastnda)",
    magic=(b"PK\x03\x04",),
    media_type="application/zip",
)


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a Neware ``.ndax`` file (see the module docstring)."""
    from battkg.ingest.cycling._neware import read_neware

    return read_neware(Path(path), READER.id)
