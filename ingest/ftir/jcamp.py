"""JCAMP-DX infrared spectra: ``.jdx``, ``.dx``, ``.jcamp``.

Usage
    ``battkg ingest ftir spectrum.jdx`` (format id ``ftir.jcamp``)

Schema
    One block ``spectrum`` with ``wavenumber`` (Wavenumber, 1/cm) and one
    ordinate array chosen from ``##YUNITS``: ``ABSORBANCE`` → ``absorbance``
    (Absorbance, dimensionless); ``TRANSMITTANCE`` → ``transmittance``
    (Transmittance, dimensionless fraction as JCAMP-DX defines it; percent
    when the values exceed 1.5, with a warning); ``%T`` → percent;
    ``REFLECTANCE``/``%R`` likewise.  Other or missing ``##YUNITS``:
    ``intensity`` (SpectralIntensity), ``metadata['ordinate'] = None`` and a
    warning.  ``##XUNITS`` ``1/CM`` is used as is; ``MICROMETERS`` and
    ``NANOMETERS`` are converted to wavenumber (noted in ``warnings`` and
    ``metadata['abscissa_converted_from']``); anything else is an error.
    Decoding and checks (ASDF, Y-check, NPOINTS/FIRSTX/LASTX/FIRSTY) are in
    :mod:`battkg.ingest.spectra.jcamp`.

Metadata
    ``sample_name`` ← ``##TITLE``; ``instrument`` ← ``##SPECTROMETER/DATA SYSTEM``;
    ``operator`` ← ``##OWNER`` is not used (it is the data owner);
    ``start_time`` ← ``##LONGDATE`` or ``##DATE`` (YY/MM/DD) + ``##TIME``, naive
    (noted in ``warnings``); ``comment`` ← ``##DATA PROCESSING``;
    ``resolution_cm-1`` ← ``##RESOLUTION`` when numeric.  Every record is kept
    verbatim in ``raw_metadata['records']`` (label as written).

Known gaps
    Compound files (``##BLOCKS``, ``##LINK``), ``##PEAK TABLE`` and
    ``##NTUPLES`` are refused with a FormatError.  JCAMP headers over a plain
    x/y table (not valid JCAMP-DX) are read with ``valid_jcamp=False`` and a
    warning.  In an AFFN line without other ASDF characters, ``E``/``e`` is
    read as an exponent, not as SQZ ±5.

Sample files
    ``shared/samples/ftir/jcamp_PE1800.DX`` (Perkin-Elmer, PAC),
    ``jcamp_ethanol.jdx`` (NIST WebBook, AFFN), ``datalab_FTIRText020.jdx.txt``
    (JCAMP header over an xy table).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from battkg.errors import FormatError
from battkg.ingest.spectra.common import ordinate_from_label
from battkg.ingest.spectra.jcamp import looks_like_jcamp, parse_jcamp
from battkg.readers import ParsedFile, ReaderInfo

from ._common import file_metadata, spectrum_block, wavenumber_axis

READER = ReaderInfo(
    id="ftir.jcamp",
    technique="ftir",
    suffixes=(".jdx", ".dx", ".jcamp", ".jcm"),
    description="JCAMP-DX infrared spectrum (XYDATA with AFFN/ASDF, XYPOINTS)",
    sniff=looks_like_jcamp,
    priority=40,
)

_X_UNITS = {"1/CM": "1/cm", "CM-1": "1/cm", "CM^-1": "1/cm", "MICROMETERS": "micrometer", "MICRONS": "micrometer",
            "UM": "micrometer", "NANOMETERS": "nanometer", "NM": "nanometer"}


def _jcamp_datetime(labels: dict[str, str]) -> datetime | None:
    if labels.get("LONGDATE"):
        text = labels["LONGDATE"].strip()
        for fmt, width in (("%Y/%m/%d %H:%M:%S", 19), ("%Y/%m/%d %H:%M", 16), ("%Y/%m/%d", 10)):
            try:
                return datetime.strptime(text[:width], fmt)  # drops fractions and zone suffixes
            except ValueError:
                continue
    date = re.fullmatch(r"\s*(\d{2})/(\d{1,2})/(\d{1,2})\s*", labels.get("DATE", ""))
    if not date:
        return None
    year = int(date.group(1))
    year += 1900 if year >= 50 else 2000  # JCAMP-DX 4.24 writes YY
    hour = minute = second = 0
    time = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*", labels.get("TIME", ""))
    if time:
        hour, minute, second = int(time.group(1)), int(time.group(2)), int(time.group(3) or 0)
    try:
        return datetime(year, int(date.group(2)), int(date.group(3)), hour, minute, second)
    except ValueError:
        return None


def read(path: Path, **options: object) -> ParsedFile:
    """Read a JCAMP-DX IR spectrum into one ``spectrum`` block."""
    spectrum = parse_jcamp(path, READER.id)
    labels = spectrum.labels
    warnings = list(spectrum.warnings)
    metadata: dict[str, object] = {"valid_jcamp": spectrum.valid_jcamp}
    data_type = labels.get("DATATYPE", "")
    if data_type and "INFRARED" not in data_type.upper():
        warnings.append(f"##DATA TYPE={data_type!r} is not an infrared spectrum")
    xunits = labels.get("XUNITS", "").strip().upper().replace(" ", "")
    if not xunits:
        raise FormatError(path, "##XUNITS= is missing: cannot tell wavenumber from wavelength", field="XUNITS",
                          reader=READER.id)
    unit = _X_UNITS.get(xunits)
    if unit is None:
        raise FormatError(path, f"##XUNITS={labels['XUNITS']!r} is not 1/CM, MICROMETERS or NANOMETERS",
                          field="XUNITS", reader=READER.id)
    wavenumber = wavenumber_axis(path, spectrum.x, unit, "XUNITS", READER.id, warnings, metadata)
    yunits = labels.get("YUNITS")
    ordinate = ordinate_from_label(yunits, spectrum.y, f"JCAMP ##YUNITS={yunits!r}" if yunits else "JCAMP ##YUNITS")
    metadata.update(file_metadata(ordinate, warnings))
    if labels.get("TITLE"):
        metadata["sample_name"] = labels["TITLE"].strip()
    if labels.get("SPECTROMETERDATASYSTEM"):
        metadata["instrument"] = labels["SPECTROMETERDATASYSTEM"].strip()
    if labels.get("DATAPROCESSING"):
        metadata["comment"] = labels["DATAPROCESSING"].strip()
    try:
        metadata["resolution_cm-1"] = float(labels.get("RESOLUTION", "").split()[0])
    except (ValueError, IndexError):
        pass
    start = _jcamp_datetime(labels)
    if start is not None:
        metadata["start_time"] = start
        warnings.append("##DATE/##TIME carry no time zone: start_time is naive local time")
    block = spectrum_block(path, "spectrum", wavenumber, spectrum.y, ordinate, READER.id,
                           {"data_form": spectrum.data_form})
    return ParsedFile(format_id=READER.id, blocks=[block], metadata=metadata,
                      raw_metadata={"records": spectrum.raw_labels}, warnings=warnings)
