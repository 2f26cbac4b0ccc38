"""Gamry Framework ``.DTA`` impedance files (potentiostatic and galvanostatic EIS).

Usage
    ``battkg ingest eis cell.DTA`` (format id ``eis.gamry.dta``).

Schema
    A tab-separated text file (Windows code page, read as Latin-1 when it is not
    UTF-8) that starts with ``EXPLAIN`` and a ``TAG`` line (``EISPOT`` or
    ``EISGALV``).  Header lines are ``KEY<TAB>TYPE<TAB>value...<TAB>label``; a
    ``NOTES`` entry is followed by its count of indented note lines.  Tables
    are ``NAME<TAB>TABLE[<TAB>n]`` followed by a column-name line, a unit line
    and indented data rows.  The spectrum is the ``ZCURVE`` table:
    ``Pt Time Freq Zreal Zimag Zsig Zmod Zphz Idc Vdc IERange``.  ``Freq`` (Hz),
    ``Zreal``, ``Zimag`` = Im(Z) (negated into −Im(Z)), ``Zmod`` (ohm) and
    ``Zphz`` (arg Z, degree) become the spectrum arrays; ``Time`` (s), ``Idc``
    (A) and ``Vdc`` (V) become ``time``, ``dc_current`` and ``dc_voltage``.
    Columns are found by name, not position.  Rows with decimal commas
    (some Windows locales) are accepted.  A trailing ``EXPERIMENTABORTED``
    line ends the table and adds a warning.

Metadata
    ``technique`` (PEIS for ``EISPOT``, GEIS for ``EISGALV``), ``start_time``
    (``DATE`` + ``TIME``, naive, US month/day order unless the date is dotted),
    ``instrument`` (``PSTAT``, prefixed "Gamry"), ``comment`` (``NOTES``),
    ``title`` (``TITLE``).  Scalar quantities: DC potential (``VDC``), AC
    voltage amplitude (``VAC``, rms), DC current (``IDC``), AC current
    amplitude (``IACREQ``), open-circuit potential (``EOC``), each in the unit
    written in its label.  Every header entry is kept verbatim in
    ``raw_metadata['header']`` as ``KEY -> [TYPE, fields...]``; the column names
    and units of each table in ``raw_metadata['tables']``.

Known gaps
    The ``OCVCURVE`` pre-measurement table is only summarised (row count in
    ``raw_metadata['tables']``) unless ``include_ocv=True`` is passed, which
    adds a second block ``ocv_curve`` (time, Vf).  The ``Pt``, ``Zsig`` and
    ``IERange`` columns are not kept.  Hybrid EIS and multi-sine files have
    not been seen.

Sample files
    ``shared/samples/eis/impedance_exampleDataGamry.DTA`` (REF3000, EISPOT).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block, ParsedFile, ReaderInfo, ScalarQuantity
from battkg.textdata import read_text

from ._common import (
    CURRENT,
    FREQUENCY,
    IMAG,
    LABEL_AC_CURRENT,
    LABEL_AC_VOLTAGE,
    LABEL_DC_CURRENT,
    LABEL_DC_POTENTIAL,
    LABEL_OCV,
    MODULUS,
    PHASE,
    REAL,
    ROLE_TITLES,
    VOLTAGE,
    map_columns,
    parse_date_time,
    parse_rows,
    pint_unit,
    spectrum_arrays,
)


def _sniff(head: bytes) -> bool:
    return head.startswith(b"EXPLAIN") and b"ZCURVE" in head


READER = ReaderInfo(
    id="eis.gamry.dta",
    technique="eis",
    suffixes=(".dta",),
    description="Gamry Framework .DTA impedance file (EISPOT/EISGALV, ZCURVE table)",
    magic=(b"EXPLAIN",),
    sniff=_sniff,
    priority=20,
)

_TECHNIQUES = {"EISPOT": "PEIS", "EISGALV": "GEIS"}
# header key -> (quantity key, label)
_QUANTITIES = {
    "VDC": (VOLTAGE, LABEL_DC_POTENTIAL),
    "VAC": (VOLTAGE, LABEL_AC_VOLTAGE),
    "IDC": (CURRENT, LABEL_DC_CURRENT),
    "IACREQ": (CURRENT, LABEL_AC_CURRENT),
    "EOC": (VOLTAGE, LABEL_OCV),
}
_UNIT_IN_LABEL = re.compile(r"\(([^()]*)\)\s*$")
_KEY_LINE = re.compile(r"^[A-Z][A-Z0-9_]*(\t|\s*$)")
_NUMBER = re.compile(r"^[+-]?(\d+[.,]?\d*|[.,]\d+)([eE][+-]?\d+)?$")


def _number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


def read(path: Path, *, include_ocv: bool = False, **options: Any) -> ParsedFile:
    """Read a Gamry EIS ``.DTA`` file into one ``spectrum`` block (plus ``ocv_curve`` on request)."""
    text = read_text(path, READER.id)
    lines = text.splitlines()
    if not lines or lines[0].strip() != "EXPLAIN":
        raise FormatError(path, "not a Gamry .DTA file: the first line must be 'EXPLAIN'", line=1,
                          reader=READER.id)
    header: dict[str, list[str]] = {}
    tables: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    warnings: list[str] = []
    zcurve: tuple[int, int, list[str], list[str]] | None = None  # (first row idx, end idx, names, units)
    ocv: tuple[int, int, list[str], list[str]] | None = None
    index = 1
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        fields = line.rstrip("\r\n").split("\t")
        key = fields[0].strip()
        if key == "EXPERIMENTABORTED":
            warnings.append(f"line {index + 1}: the experiment was aborted (EXPERIMENTABORTED)")
            header[key] = fields[1:]
            index += 1
            continue
        if not key:
            # An indented line outside a table or a NOTES block: keep it, it is not data.
            header.setdefault("_unassigned_lines", []).append(line)
            index += 1
            continue
        kind = fields[1].strip() if len(fields) > 1 else ""
        if kind == "NOTES":
            count = int(_number(fields[2]) or 0) if len(fields) > 2 else 0
            notes = [lines[j].strip() for j in range(index + 1, min(index + 1 + count, len(lines)))]
            header[key] = fields[1:]
            index += 1 + count
            continue
        if kind == "TABLE":
            if index + 2 >= len(lines):
                raise FormatError(path, f"table {key} is truncated: its column-name and unit lines are missing",
                                  line=index + 1, reader=READER.id)
            names = [n.strip() for n in lines[index + 1].strip("\r\n").split("\t")[1:]]
            units = [u.strip() for u in lines[index + 2].strip("\r\n").split("\t")[1:]]
            start = index + 3
            end = start
            # Table rows are indented with a tab; the first non-indented line ends the table.
            while end < len(lines) and lines[end].startswith("\t") and lines[end].strip():
                end += 1
            # What follows a table must be the next header key; an indented row after
            # a blank line or a stray text line means the table itself is broken.
            following = end
            while following < len(lines) and not lines[following].strip():
                following += 1
            if following < len(lines) and (lines[following].startswith("\t")
                                           or not _KEY_LINE.match(lines[following])):
                problem = ("blank line inside the data block" if following > end
                           else f"line is not a data row of table {key} (rows are tab-indented)")
                raise FormatError(path, problem, line=end + 1, field=key, reader=READER.id)
            tables[key] = {"columns": names, "units": units, "rows": end - start, "first_line": start + 1}
            if key == "ZCURVE":
                zcurve = (start, end, names, units)
            elif key == "OCVCURVE":
                ocv = (start, end, names, units)
            index = end
            continue
        header[key] = fields[1:]
        index += 1

    if "TAG" not in header:
        raise FormatError(path, "no TAG line: not a Gamry experiment file", reader=READER.id)
    if zcurve is None:
        tag = header["TAG"][0].strip() if header["TAG"] else "?"
        raise FormatError(path, f"no ZCURVE table (TAG {tag}): not an impedance measurement", reader=READER.id)
    start, end, names, units = zcurve
    roles = map_columns(names)
    missing = [r for r in (FREQUENCY, REAL, IMAG) if r not in roles]
    if missing:
        what = ", ".join(ROLE_TITLES[m] for m in missing)
        raise FormatError(path, f"ZCURVE has no column for {what} (columns: {' '.join(names)})", line=start - 1, field="ZCURVE",
                          reader=READER.id)
    decimal_comma = any("," in lines[i] for i in range(start, min(end, start + 5)))
    data = parse_rows(path, lines, start, end, len(names), READER.id, delimiter="\t",
                      decimal_comma=decimal_comma)
    column = {name: data[i] for i, name in enumerate(names)}
    arrays = spectrum_arrays(
        path, READER.id,
        data[roles[FREQUENCY]], data[roles[REAL]], -data[roles[IMAG]],
        data[roles[MODULUS]] if MODULUS in roles else None,
        data[roles[PHASE]] if PHASE in roles else None,
        first_line=start + 1,
    )
    for name, array_name, key, unit, desc in (
        ("Time", "time", "Time", "s", "time since the start of the sweep"),
        ("Idc", "dc_current", "CellCurrent", "A", "DC current during each frequency"),
        ("Vdc", "dc_voltage", "CellVoltage", "V", "DC potential during each frequency"),
    ):
        if name in column:
            arrays.append(ArrayData(array_name, column[name], key, unit, desc))

    tag = header["TAG"][0].strip() if header["TAG"] else ""
    metadata: dict[str, Any] = {}
    if tag in _TECHNIQUES:
        metadata["technique"] = _TECHNIQUES[tag]
    if "PSTAT" in header and len(header["PSTAT"]) > 1:
        metadata["instrument"] = f"Gamry {header['PSTAT'][1].strip()}"
    if "TITLE" in header and len(header["TITLE"]) > 1:
        metadata["title"] = header["TITLE"][1].strip()
    if "DATE" in header and len(header["DATE"]) > 1:
        time = header["TIME"][1] if "TIME" in header and len(header["TIME"]) > 1 else None
        started = parse_date_time(header["DATE"][1], time, month_first=True)
        if started is not None:
            metadata["start_time"] = started
        else:
            warnings.append(f"date {header['DATE'][1]!r} / time {time!r} not understood; kept raw")
    if any(n for n in notes):
        metadata["comment"] = "\n".join(n for n in notes if n)

    quantities: list[ScalarQuantity] = []
    for key, (qkey, label) in _QUANTITIES.items():
        entry = header.get(key)
        if not entry or len(entry) < 2:
            continue
        value = _number(entry[1])
        unit_match = _UNIT_IN_LABEL.search(entry[-1])
        unit = pint_unit(unit_match.group(1)) if unit_match else None
        if unit is None and key == "EOC":
            unit = "V"  # "Open Circuit (V)" is matched above; keep a fallback for older files
        if value is None or unit is None:
            continue
        quantities.append(ScalarQuantity(qkey, value, unit, label))

    blocks = [Block("spectrum", arrays=arrays, metadata={"table": "ZCURVE"})]
    if include_ocv and ocv is not None:
        blocks.append(_ocv_block(path, lines, ocv))
    return ParsedFile(
        format_id=READER.id,
        blocks=blocks,
        quantities=quantities,
        metadata=metadata,
        raw_metadata={"header": header, "tables": tables, "notes": notes},
        warnings=warnings,
    )


def _ocv_block(path: Path, lines: list[str], table: tuple[int, int, list[str], list[str]]) -> Block:
    """The OCVCURVE table: time and measured potential (the ``Over`` column is a flag string)."""
    start, end, names, _units = table
    wanted = [names.index(n) for n in ("T", "Vf") if n in names]
    if len(wanted) != 2:
        raise FormatError(path, "OCVCURVE has no T/Vf columns", line=start - 1, reader=READER.id)
    time, vf = [], []
    for index in range(start, end):
        parts = lines[index].strip().split("\t")
        try:
            time.append(float(parts[wanted[0]].replace(",", ".")))
            vf.append(float(parts[wanted[1]].replace(",", ".")))
        except (ValueError, IndexError):
            raise FormatError(path, "malformed OCVCURVE row", line=index + 1, reader=READER.id) from None
    return Block("ocv_curve", arrays=[
        ArrayData("time", np.asarray(time), "Time", "s", "time before the EIS sweep"),
        ArrayData("voltage", np.asarray(vf), "CellVoltage", "V", "open-circuit potential (Vf)"),
    ], metadata={"table": "OCVCURVE"})
