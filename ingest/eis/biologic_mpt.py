"""BioLogic EC-Lab ``.mpt`` impedance exports (PEIS, GEIS): a thin layer over :mod:`battkg.ingest._eclab`.

Usage
    ``battkg ingest eis spectrum.mpt`` (format id ``eis.biologic.mpt``)

Schema
    As :mod:`battkg.ingest.eis.biologic_mpr` (one block per spectrum).  The
    text layout, decimal-comma detection and header checks are those of
    :func:`battkg.ingest._eclab.read_mpt`.

Sample files
    ``shared/samples/eis/eclab_*.mpt``.
"""

from __future__ import annotations

from pathlib import Path

from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="eis.biologic.mpt",
    technique="eis",
    suffixes=(".mpt",),
    description="BioLogic EC-Lab impedance text export (.mpt, PEIS/GEIS)",
    magic=(b"EC-Lab ASCII FILE",),
    priority=10,
)


def read(path: Path, **options: object) -> ParsedFile:
    """Read an EC-Lab .mpt impedance export."""
    from battkg.ingest._eclab import read_mpt
    from battkg.ingest.eis.biologic_mpr import to_parsed

    return to_parsed(read_mpt(Path(path), reader=READER.id), READER.id)
