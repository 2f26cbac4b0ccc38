"""BioLogic EC-Lab text export ``.mpt`` of cycling runs (GCPL, CP, MB, ...).

Usage
    ``battkg ingest cycling run.mpt`` (format id ``cycling.biologic.mpt``)

Schema
    Same arrays as the ``.mpr`` reader (see :mod:`battkg.ingest.cycling._biologic`).
    The file is ``EC-Lab ASCII FILE`` + ``Nb header lines : N`` + header + a
    tab-separated table; numbers may use a decimal comma (German/French
    Windows locale), detected from the first data row.  The header line count
    must agree with the file: line N is the column header, line N+1 data.

Metadata
    technique (the long name on line 4, e.g. "Galvanostatic Cycling with
    Potential Limitation" -> GCPL), start_time ("Acquisition started on",
    month/day/year, local time, naive), software_version, instrument ("Device"
    and "Run on channel"), ``ActiveMass`` from "Mass of active material".
    All ``key : value`` header pairs go to ``raw_metadata['settings']`` and the
    header lines, including the parameter table, to ``raw_metadata['header_lines']``.

Known gaps
    Exports with only the column header (``Nb header lines : 3``) carry no
    technique, date or device.  Linked experiments: only the first technique
    is named.

Sample files
    ``shared/samples/cycling/*.mpt`` (one German-locale export: gcpl.issue_149).
"""

from __future__ import annotations

from pathlib import Path

from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="cycling.biologic.mpt",
    technique="cycling",
    suffixes=(".mpt",),
    description="BioLogic EC-Lab text export (.mpt)",
    magic=(b"EC-Lab ASCII FILE",),
    priority=10,
)


def read(path: Path, **options: object) -> ParsedFile:
    """Read an EC-Lab .mpt export into one cycling ``timeseries`` block."""
    from battkg.ingest._eclab import read_mpt
    from battkg.ingest.cycling._biologic import to_parsed

    return to_parsed(read_mpt(Path(path), reader=READER.id), READER.id)
