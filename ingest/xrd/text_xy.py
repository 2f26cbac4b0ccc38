"""Two- or three-column XRD text: ``.xy``, ``.xye``, ``.dat``, ``.csv``.

Usage
    ``battkg ingest xrd pattern.xy --wavelength 1.5406`` (format id ``xrd.text.xy``)

Schema
    column 1: 2θ in degrees; column 2: intensity in counts; optional column 3:
    the standard uncertainty of the intensity (``.xye``).  Delimiter is
    whitespace, comma, semicolon or tab (detected from the first data row).

Metadata
    Header lines before the numeric block are kept verbatim in
    ``raw_metadata['header_lines']`` and, where they read ``key = value`` or
    ``key: value`` (``#``, ``'``, ``/*`` comment marks stripped), as pairs in
    ``raw_metadata['header']``.  Recognised keys: a wavelength ("wavelength",
    "Calibrated wavelength", "lambda", "Alpha1", in Å), the anode ("Anode",
    "Target"), the operator ("Operator"), the sample ("Sample", "User sample
    name", "Id"), the scan type and time per step.  The Bruker DIFFRAC.EVA
    export puts ``Key: "value"`` pairs on one quoted first line; they are
    split into the same pairs.

Known gaps
    Intensity is taken as counts unless a header says counts per second
    ("cps").  Files whose first column is not 2θ (d-spacing, Q) are not
    recognised as such: use the vendor format or convert first.

Sample files
    ``shared/samples/xrd/*.xy``, ``*.xye`` (APS 11-BM-B, Bruker EVA, PANalytical).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity
from battkg.textdata import parse_header_pairs, read_numeric_table

READER = ReaderInfo(
    id="xrd.text.xy",
    technique="xrd",
    suffixes=(".xy", ".xye", ".dat", ".csv", ".txt"),
    description="two/three-column 2θ–intensity text (xy, xye, dat, csv) with optional header",
    priority=90,  # the generic fallback: vendor formats with magic bytes win
    media_type="text/plain",
)

_EVA_PAIR = re.compile(r'(\w[\w ()./-]*?):\s*"([^"]*)"')
_WAVELENGTH_KEYS = ("calibrated wavelength", "wavelength", "lambda", "alpha1", "kalpha1", "used_lambda")
_ANODE_KEYS = ("anode", "target", "anode material", "tube")
_SAMPLE_KEYS = ("user sample name", "sample", "sample name", "sample id", "id")
_OPERATOR_KEYS = ("operator", "user")
_TIME_KEYS = ("measurement time", "start time", "starttime", "timestamp", "date time", "datetime", "date")


def _lookup(header: dict[str, str], keys: tuple[str, ...]) -> tuple[str, str] | None:
    lowered = {k.lower().strip(): (k, v) for k, v in header.items()}
    for key in keys:
        for candidate, (original, value) in lowered.items():
            if candidate == key or candidate.startswith(key + " ("):
                if value.strip():
                    return original, value.strip()
    return None


def read(path: Path, **options: object) -> ParsedFile:
    """Read a 2θ/intensity text file into one block with ``two_theta`` and ``intensity``."""
    table = read_numeric_table(path, reader=READER.id, min_columns=2, max_columns=3)
    header: dict[str, str] = {}
    for line in table.header_lines:
        eva_pairs = _EVA_PAIR.findall(line)
        if len(eva_pairs) >= 2:  # Bruker EVA: several Key: "value" pairs on one line
            for key, value in eva_pairs:
                header.setdefault(key.strip(), value)
        else:
            for key, value in parse_header_pairs([line]).items():
                header.setdefault(key, value)
    two_theta, intensity = table.columns[0], table.columns[1]
    if two_theta.size < 2:
        raise FormatError(path, "a diffraction pattern needs at least 2 points", line=table.first_data_line,
                          reader=READER.id)
    steps = np.diff(two_theta)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        bad = int(np.argmax(~(steps > 0))) if steps[0] > 0 else int(np.argmax(~(steps < 0)))
        raise FormatError(path, "2θ column is not monotonic (is the first column really 2θ?)",
                          line=table.first_data_line + bad + 1, reader=READER.id)
    if np.any(two_theta <= -180) or np.any(two_theta >= 180):
        raise FormatError(path, "2θ values outside (-180°, 180°): first column is not 2θ in degrees",
                          reader=READER.id)
    header_text = " ".join(table.header_lines).lower()
    intensity_unit = "count/s" if re.search(r"\bcps\b|counts per second|counts/s", header_text) else "count"
    arrays = [
        ArrayData("two_theta", two_theta, "TwoTheta", "degree", "scattering angle 2θ"),
        ArrayData("intensity", intensity, "DiffractionIntensity", intensity_unit, "detector intensity"),
    ]
    if table.columns.shape[0] == 3:
        arrays.append(ArrayData("intensity_uncertainty", table.columns[2], "IntensityUncertainty",
                                intensity_unit, "standard uncertainty of the intensity (.xye third column)"))
    quantities: list[ScalarQuantity] = []
    metadata: dict[str, object] = {}
    found = _lookup(header, _WAVELENGTH_KEYS)
    if found:
        try:
            quantities.append(ScalarQuantity("Wavelength", float(found[1].split()[0]), "angstrom", "Kα1"))
            metadata["wavelength_source"] = f"file header '{found[0]}'"
        except ValueError:
            pass
    anode = _lookup(header, _ANODE_KEYS)
    if anode:
        metadata["anode"] = anode[1]
    sample = _lookup(header, _SAMPLE_KEYS)
    if sample:
        metadata["sample_name"] = sample[1]
    operator = _lookup(header, _OPERATOR_KEYS)
    if operator and "@" not in operator[1]:
        metadata["operator"] = operator[1]
    stamp = _lookup(header, _TIME_KEYS)
    if stamp:
        # Only unambiguous ISO 8601 times (operando series are ordered by them); others stay in the header.
        try:
            metadata["start_time"] = datetime.fromisoformat(stamp[1].strip().strip('"').replace("Z", "+00:00"))
        except ValueError:
            pass
    block = Block("pattern", arrays=arrays, metadata={"scan_axis": "2Theta"})
    return ParsedFile(
        format_id=READER.id,
        blocks=[block],
        quantities=quantities,
        metadata=metadata,
        raw_metadata={"header": header, "header_lines": table.header_lines,
                      "column_names": table.column_names},
    )
