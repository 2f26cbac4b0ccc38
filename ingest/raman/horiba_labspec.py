"""Horiba LabSpec 5/6 text export: ``.txt``.

Usage
    ``battkg ingest raman spectrum.txt`` (format id ``raman.horiba.labspec``;
    detected from its ``#Key=`` header lines)

Schema
    Header lines ``#Key=<TAB>value`` (Latin-1: ``°C``, ``µm``, ``cm-¹``), then
    two tab-separated columns: Raman shift (1/cm) and intensity (counts).

Metadata
    ``Acq. time (s)`` → ExposureTime (s); ``Accumulations`` → Accumulations;
    ``Laser`` (e.g. ``532nm_Edge``) → LaserWavelength (nm) when it holds a
    number followed by ``nm``; ``Grating`` → ``grating``; ``Objective`` →
    ``objective``; ``Instrument`` → ``instrument``; ``Sample`` → ``sample_name``;
    ``Title`` → ``title``; ``Remark`` → ``comment``; ``Acquired`` (else ``Date``),
    ``dd.mm.yyyy HH:MM[:SS]`` → ``start_time`` (naive local time, noted in
    ``warnings``).  Every header pair is kept verbatim in ``raw_metadata['header']``.

Known gaps
    LabSpec map/multi-column exports (several intensity columns) are refused.

Sample files
    ``shared/samples/raman/labspec_532nm-191216-Si_200mu.txt``,
    ``labspec_SMC1-Initial_RT.txt`` (LabRAM HR Evolution).
"""

from __future__ import annotations

import re
from pathlib import Path

from battkg.ingest.spectra.text import header_float, labspec_datetime, looks_like_labspec, parse_xy_text
from battkg.readers import Block, ParsedFile, ReaderInfo, ScalarQuantity

from ._common import shift_and_intensity

READER = ReaderInfo(
    id="raman.horiba.labspec",
    technique="raman",
    suffixes=(".txt",),
    description="Horiba LabSpec text export (#Key=value header + two columns)",
    sniff=looks_like_labspec,
    # Found by its header sniff; on a suffix-only match the generic raman.text must win.
    priority=95,
)

_TEXT_FIELDS = (("Grating", "grating"), ("Objective", "objective"), ("Instrument", "instrument"),
                ("Sample", "sample_name"), ("Title", "title"), ("Remark", "comment"))


def read(path: Path, **options: object) -> ParsedFile:
    """Read a LabSpec export into one ``spectrum`` block with its acquisition parameters."""
    text = parse_xy_text(path, READER.id)
    header = text.header
    warnings = list(text.warnings)
    if not text.labspec:
        warnings.append("no LabSpec #Key= header found; read as plain two-column text")
    quantities: list[ScalarQuantity] = []
    exposure = header_float(path, header, "Acq. time (s)", READER.id)
    if exposure is not None:
        quantities.append(ScalarQuantity("ExposureTime", exposure, "s"))
    accumulations = header_float(path, header, "Accumulations", READER.id)
    if accumulations is not None:
        quantities.append(ScalarQuantity("Accumulations", accumulations, "dimensionless"))
    metadata: dict[str, object] = {}
    laser = header.get("Laser", "")
    match = re.search(r"(\d+(?:\.\d+)?)\s*nm", laser, re.IGNORECASE)
    if match:
        quantities.append(ScalarQuantity("LaserWavelength", float(match.group(1)), "nm"))
        metadata["laser_wavelength_source"] = "header 'Laser'"
    elif laser:
        warnings.append(f"laser {laser!r} does not state a wavelength in nm; LaserWavelength not set")
    for key, meta_key in _TEXT_FIELDS:
        if header.get(key, "").strip():
            metadata[meta_key] = header[key].strip()
    for key in ("Acquired", "Date"):
        if header.get(key):
            start = labspec_datetime(header[key])
            if start is not None:
                metadata["start_time"] = start
                warnings.append(f"LabSpec '{key}' carries no time zone: start_time is naive local time")
                break
    block = Block("spectrum", arrays=shift_and_intensity(text.x, text.y))
    return ParsedFile(format_id=READER.id, blocks=[block], quantities=quantities, metadata=metadata,
                      raw_metadata={"header": header, "header_lines": text.header_lines}, warnings=warnings)
