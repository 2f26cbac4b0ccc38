"""CH Instruments "A.C. Impedance" text export (``.txt``).

Usage
    ``battkg ingest eis run.txt`` (format id ``eis.chi.txt``).

Schema
    A free-form header (date/time on the first line, the technique name, then
    ``Key: value`` and ``Key (unit) = value`` lines), the comma-separated
    column-name line ``Freq/Hz, Z'/ohm, Z"/ohm, Z/ohm, Phase/deg``, a blank
    line and comma-separated numeric rows.  Columns are matched by name:
    ``Freq/Hz`` (Hz), ``Z'`` = Re(Z), ``Z"`` = Im(Z) (negated into −Im(Z)),
    ``Z`` = |Z| and ``Phase`` = arg(Z) in degrees.

Metadata
    ``start_time`` from the first line ("Feb. 20, 2020   15:55:08", naive),
    ``technique`` PEIS for "A.C. Impedance" (CHI's impedance is potentiostatic),
    ``instrument`` from ``Instrument Model`` ("CH Instruments CHI660E"),
    ``comment`` from ``Note``; quantities: DC potential (``Init E (V)``) and
    AC voltage amplitude (``Amplitude (V)``).  All header pairs are kept in
    ``raw_metadata['header']`` and the header lines verbatim in
    ``raw_metadata['header_lines']``.

Known gaps
    Only the impedance technique is read; other CHI text exports (CV, i-t) are
    rejected with a pointer to the technique line.  Amplitude is taken as
    written (CHI documents it as amplitude, not rms).

Sample files
    ``shared/samples/eis/impedance_exampleDataCHInstruments.txt`` (CHI660E).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from battkg.errors import FormatError
from battkg.readers import Block, ParsedFile, ReaderInfo, ScalarQuantity
from battkg.textdata import parse_header_pairs, read_numeric_table, read_text

from ._common import (
    FREQUENCY,
    IMAG,
    LABEL_AC_VOLTAGE,
    LABEL_DC_POTENTIAL,
    MINUS_IMAG,
    MODULUS,
    PHASE,
    REAL,
    ROLE_TITLES,
    VOLTAGE,
    map_columns,
    parse_rows,
    spectrum_arrays,
)


def _sniff(head: bytes) -> bool:
    return b"A.C. Impedance" in head[:2048] and b"Freq/Hz" in head


READER = ReaderInfo(
    id="eis.chi.txt",
    technique="eis",
    suffixes=(".txt",),
    description="CH Instruments A.C. Impedance text export",
    sniff=_sniff,
    # Claimed by content (sniff) only: ranked after the generic reader so that a
    # plain table with the same suffix is never sent here by suffix alone.
    priority=95,
)

_CHI_DATE = re.compile(r"^\s*([A-Z][a-z]{2,4})\.?\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}:\d{2}:\d{2})\s*$")


def _start_time(line: str) -> datetime | None:
    match = _CHI_DATE.match(line)
    if not match:
        return None
    month = match.group(1)[:3]  # "Sept." -> "Sep"
    try:
        return datetime.strptime(f"{month} {match.group(2)} {match.group(3)} {match.group(4)}", "%b %d %Y %H:%M:%S")
    except ValueError:
        return None


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a CHI impedance text export into one ``spectrum`` block."""
    text = read_text(path, READER.id)
    table = read_numeric_table(path, reader=READER.id, min_columns=3, text=text)
    header_lines = table.header_lines
    names_index = next((i for i, line in enumerate(header_lines)
                        if FREQUENCY in map_columns(line.split(","))), None)
    if names_index is None:
        raise FormatError(path, "no column-name line 'Freq/Hz, Z'/ohm, Z\"/ohm, ...' before the data: not a CHI "
                          "impedance export", line=table.first_data_line, reader=READER.id)
    names = [n.strip() for n in header_lines[names_index].split(",")]
    roles = map_columns(names)
    imag_role = MINUS_IMAG if MINUS_IMAG in roles else IMAG
    missing = [r for r in (FREQUENCY, REAL) if r not in roles] + ([] if imag_role in roles else [IMAG])
    if missing or len(names) != table.columns.shape[0]:
        what = (f"no column for {', '.join(ROLE_TITLES[m] for m in missing)}" if missing
                else f"{len(names)} column names for {table.columns.shape[0]} data columns")
        raise FormatError(path, f"column-name line does not describe an impedance table: {what} "
                          f"(got {header_lines[names_index].strip()!r})", line=names_index + 1, reader=READER.id)
    for index in range(names_index + 1, len(header_lines)):
        # textdata starts the table at the first all-numeric row, so a broken first
        # row lands in the header: report it as the data error it is.
        if header_lines[index].strip():
            parse_rows(path, header_lines, index, index + 1, len(names), READER.id, delimiter=",")
            raise FormatError(path, "unexpected line between the column names and the data", line=index + 1,
                              reader=READER.id)  # pragma: no cover - parse_rows raises first
    if not any("impedance" in line.lower() for line in header_lines[:names_index]):
        raise FormatError(path, "no 'A.C. Impedance' technique line in the header: not a CHI impedance export",
                          reader=READER.id)
    cols = table.columns
    imag = cols[roles[imag_role]]
    arrays = spectrum_arrays(
        path, READER.id, cols[roles[FREQUENCY]], cols[roles[REAL]], imag if imag_role == MINUS_IMAG else -imag,
        cols[roles[MODULUS]] if MODULUS in roles else None,
        cols[roles[PHASE]] if PHASE in roles else None,
        first_line=table.first_data_line,
    )
    header = parse_header_pairs(header_lines[1:names_index])
    metadata: dict[str, Any] = {}
    warnings: list[str] = []
    started = _start_time(header_lines[0]) if header_lines else None
    if started is not None:
        metadata["start_time"] = started
    elif header_lines:
        warnings.append(f"first line {header_lines[0].strip()!r} is not a CHI date/time; start time unknown")
    if any(line.strip() == "A.C. Impedance" for line in header_lines):
        metadata["technique"] = "PEIS"
    if header.get("Instrument Model"):
        metadata["instrument"] = f"CH Instruments {header['Instrument Model']}"
    if header.get("Note"):
        metadata["comment"] = header["Note"]
    quantities: list[ScalarQuantity] = []
    for key, label in (("Init E (V)", LABEL_DC_POTENTIAL), ("Amplitude (V)", LABEL_AC_VOLTAGE)):
        try:
            quantities.append(ScalarQuantity(VOLTAGE, float(header[key]), "V", label))
        except (KeyError, ValueError):
            continue
    return ParsedFile(
        format_id=READER.id,
        blocks=[Block("spectrum", arrays=arrays)],
        quantities=quantities,
        metadata=metadata,
        raw_metadata={"header": header, "header_lines": header_lines, "column_names": names},
        warnings=warnings,
    )
