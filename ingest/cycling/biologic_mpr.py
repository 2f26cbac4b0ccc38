"""BioLogic EC-Lab binary ``.mpr`` cycling files (GCPL, CP, MB, OCV, CA, ...).

Usage
    ``battkg ingest cycling run.mpr`` (format id ``cycling.biologic.mpr``)

Schema
    One ``timeseries`` block: time, voltage, current (positive = charging; no
    sign change from EC-Lab), charge/discharge capacity (per half cycle),
    cycle_index (``half cycle // 2 + 1``), half_cycle, step_index (``Ns``).
    The mapping, the sign convention and the derivation of the current for
    GCPL files (which store ``dq`` but no current) are documented in
    :mod:`battkg.ingest.cycling._biologic`; the binary layout, the column-id
    table and the handling of unknown column ids in :mod:`battkg.ingest._eclab`.

Metadata
    technique (from the settings module's technique id), start_time (the LOG
    module's acquisition start, local time, naive), software_version
    ("EC-Lab 11.50"), instrument (device serial number and channel);
    ``ActiveMass`` in mg where the settings give a positive mass.

Known gaps
    The device model (SP-300, VMP3) is only in the .mpt export.  Files whose
    data module version is not 2, 3 or 11, or with two or more unknown column
    ids, raise FormatError asking for the .mpt export.

Sample files
    ``shared/samples/cycling/*.mpr`` (EC-Lab 11.32-11.61; yadg and datalab
    test files, a real 5-cycle GCPL coin cell).
"""

from __future__ import annotations

from pathlib import Path

from battkg.readers import ParsedFile, ReaderInfo

READER = ReaderInfo(
    id="cycling.biologic.mpr",
    technique="cycling",
    suffixes=(".mpr",),
    description="BioLogic EC-Lab binary data file (.mpr)",
    magic=(b"BIO-LOGIC MODULAR FILE",),
    priority=10,
)


def read(path: Path, **options: object) -> ParsedFile:
    """Read an EC-Lab .mpr file into one cycling ``timeseries`` block."""
    from battkg.ingest._eclab import read_mpr
    from battkg.ingest.cycling._biologic import to_parsed

    return to_parsed(read_mpr(Path(path), reader=READER.id), READER.id)
