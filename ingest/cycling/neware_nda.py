"""Neware BTS ``.nda`` binary (format id ``cycling.neware.nda``), read with fastnda.

Usage ``battkg ingest cycling run.nda``.  Arrays, units and signs: see
:func:`battkg.ingest.cycling._neware.read_neware`; the auxiliary temperature channel,
where present, becomes ``temperature`` (degC).  The vendor header (creator, remarks,
BTS version, ...) is kept in ``raw_metadata['header']``; fastnda warns that its header
decoding of NDA versions 129/130 is little tested, and that warning is passed on.

Sample files ``shared/samples/cycling/newarenda_TestFile.nda`` (NDA 130, BTS 9.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="cycling.neware.nda",
    technique="cycling",
    suffixes=(".nda",),
    description="Neware BTS .nda binary (fastnda)",
    magic=(b"NEWARE",),
    media_type="application/octet-stream",
)


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a Neware ``.nda`` file (see the module docstring)."""
    from battkg.ingest.cycling._neware import read_neware

    return read_neware(Path(path), READER.id)
