"""Thermo Galactic SPC infrared spectra (GRAMS, OMNIC export): ``.spc``.

Usage
    ``battkg ingest ftir spectrum.spc`` (format id ``ftir.galactic.spc``)

Schema
    One block per subfile (``subfile_1`` …) with ``wavenumber`` (Wavenumber,
    1/cm) and one ordinate array from ``fytype``: 2 → ``absorbance``
    (Absorbance, dimensionless); 128 → ``transmittance`` and 129 →
    ``reflectance``, whose scale SPC does not state: percent when values exceed
    1.5, else a fraction, with a warning saying it was inferred.  Other
    ``fytype`` codes (arbitrary, counts, Kubelka-Munk, …): ``intensity``
    (SpectralIntensity), ``metadata['ordinate'] = None`` and a warning.
    ``fxtype`` 1 (cm⁻¹) is used as is; 2 (µm) and 3 (nm) are converted to
    wavenumber with a note; other x types are an error.  Binary layout: see
    :mod:`battkg.ingest.spectra.spc`.

Metadata
    ``start_time`` ← ``fdate`` (naive, noted); ``instrument`` ← ``fsource``;
    ``comment`` ← ``fcmnt``; ``resolution`` ← ``fres`` (text);
    ``experiment_type`` ← ``fexper``; ``n_spectra`` = number of subfiles.
    All header fields, subfile headers and the log block (``key=value``
    pairs) go to ``raw_metadata``.

Known gaps
    Old-format (0x4D) and big-endian (0x4C) SPC are refused; no sample has them.

Sample files
    ``shared/samples/ftir/galactic_BENZENE.SPC`` (absorbance),
    ``galactic_HCL.SPC`` (gas-phase transmittance, percent).
"""

from __future__ import annotations

from pathlib import Path

from battkg.ingest.spectra.common import ordinate_from_kind, unknown_ordinate
from battkg.ingest.spectra.spc import EXPERIMENT_TYPES, looks_like_spc, parse_spc
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

READER = ReaderInfo(
    id="ftir.galactic.spc",
    technique="ftir",
    suffixes=(".spc",),
    description="Thermo Galactic SPC (new format 0x4B), single or multi-subfile",
    sniff=looks_like_spc,
    priority=40,
)

_ORDINATE_KIND = {2: "absorbance", 128: "transmittance", 129: "reflectance"}


def read(path: Path, **options: object) -> ParsedFile:
    """Read an SPC file: one block per subfile with wavenumber and the stated ordinate."""
    spc = parse_spc(path, READER.id)
    warnings = list(spc.warnings)
    metadata: dict[str, object] = {"n_spectra": len(spc.subfiles)}
    code, name, unit = spc.x_type
    y_code, y_name = spc.y_type
    kind = _ORDINATE_KIND.get(y_code)
    source = f"SPC fytype={y_code} ({y_name})"
    blocks = []
    for index, sub in enumerate(spc.subfiles, start=1):
        sub_meta: dict[str, object] = {}
        wavenumber = wavenumber_axis(path, sub.x, unit if code in (1, 2, 3) else f"{name} (fxtype {code})",
                                     "fxtype", READER.id, warnings if index == 1 else [], sub_meta)
        ordinate = (ordinate_from_kind(kind, sub.y, source, percent=None) if kind
                    else unknown_ordinate(source, y_name))
        blocks.append(spectrum_block(path, f"subfile_{index}", wavenumber, sub.y, ordinate, READER.id,
                                     {"subfile_index": index, **sub_meta}))
        if index == 1:
            # The file-level ordinate (and its warning, once) follows the first subfile.
            metadata.update(file_metadata(ordinate, warnings))
            metadata.update(sub_meta)
    header = spc.header
    if spc.date is not None:
        metadata["start_time"] = spc.date
        warnings.append("SPC fdate carries no time zone: start_time is naive local time")
    if header["fsource"]:
        metadata["instrument"] = header["fsource"]
    if header["fcmnt"]:
        metadata["comment"] = header["fcmnt"]
    if header["fres"]:
        metadata["resolution"] = header["fres"]
    metadata["experiment_type"] = EXPERIMENT_TYPES.get(header["fexper"], f"code {header['fexper']}")
    raw = {"header": {k: v for k, v in header.items()}, "subfile_headers": [s.header for s in spc.subfiles],
           "log": spc.log, "log_text": spc.log_text}
    return ParsedFile(format_id=READER.id, blocks=blocks, metadata=metadata, raw_metadata=raw, warnings=warnings)
