"""Scribner ZPlot ``.z`` impedance files (``ZPLOT2 ASCII``).

Usage
    ``battkg ingest eis sweep.z`` (format id ``eis.zplot.z``).

Schema
    First line ``ZPLOT2 ASCII``, then ``Key: value`` lines, some grouped between
    ``Begin <Section>:`` and ``End <Section>:``; the tab-separated column-name
    line (``Freq(Hz) Ampl Bias Time(Sec) Z'(a) Z''(b) GD Err Range``) comes just
    before ``End Comments``, after which every line is a data row.  ``Freq(Hz)``,
    ``Z'(a)`` = Re(Z) and ``Z''(b)`` = Im(Z) (negated into −Im(Z)) are found by
    name; ``Time(Sec)`` becomes ``time``.  Exports without the metadata header
    (the first line is the column-name line) are read too.

Metadata
    ``start_time`` from ``Date`` (month-day-year, ZPlot's US order) and
    ``Time``; ``software`` from ``Measured Data, ZPlot``; ``technique`` PEIS when
    ``Experiment Type`` says "Control Voltage", GEIS for "Control Current".
    Quantities: open-circuit potential (``Open Circuit Potential (V)``), and
    for the controlled variable the DC level and AC amplitude
    (``Potential-DC`` in V and ``Potential-AC`` in mV, or ``Current-DC`` /
    ``Current-AC`` in mA).  Every header key is kept in
    ``raw_metadata['header']``; keys inside a section are prefixed
    ``"<Section>/"`` because sections repeat key names (``Error Beep``).

Known gaps
    The amplitude units (mV, mA) follow ZPlot's defaults and are confirmed
    only for the potential by the ``Ampl`` column (volts) of the sample file.
    ``Ampl``, ``Bias``, ``GD``, ``Err`` and ``Range`` columns are not kept.
    When ``Data Points`` disagrees with the rows present (a sweep stopped
    early) a warning is added.  Multi-sweep files have not been seen.

Sample files
    ``shared/samples/eis/impedance_exampleDataZPlot.z``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
    MINUS_IMAG,
    REAL,
    ROLE_TITLES,
    VOLTAGE,
    map_columns,
    parse_date_time,
    parse_rows,
    spectrum_arrays,
)


def _sniff(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return b"Freq(Hz)" in first and b"Z'(a)" in first


READER = ReaderInfo(
    id="eis.zplot.z",
    technique="eis",
    suffixes=(".z",),
    description="Scribner ZPlot .z impedance sweep (ZPLOT2 ASCII)",
    magic=(b"ZPLOT2 ASCII", b"ZPLOT"),
    sniff=_sniff,
    priority=20,
)

_HEADER_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*(.*?)\s*$")


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a ZPlot ``.z`` file into one ``spectrum`` block."""
    text = read_text(path, READER.id)
    lines = text.splitlines()
    header: dict[str, str] = {}
    warnings: list[str] = []
    first = lines[0].strip() if lines else ""
    if first.startswith("ZPLOT"):
        end_comments = next((i for i, line in enumerate(lines) if line.strip().startswith("End Comments")), None)
        if end_comments is None:
            raise FormatError(path, "no 'End Comments' line: the header is truncated or this is not a ZPlot file",
                              reader=READER.id)
        names_index = end_comments - 1
        section: list[str] = []
        for line in lines[1:names_index]:
            match = _HEADER_LINE.match(line)
            if not match:
                if line.strip():
                    header[("/".join(section) + "/" if section else "") + line.strip()] = ""
                continue
            key, value = match.group(1), match.group(2)
            if key.startswith("Begin ") and key not in ("Begin User Comments",):
                section.append(key[len("Begin "):])
                header[key] = value
                continue
            if key.startswith("End ") and section and key[len("End "):] == section[-1]:
                section.pop()
                header[key] = value
                continue
            header[("/".join(section) + "/" if section else "") + key] = value
        data_start = end_comments + 1
    elif "Freq(Hz)" in first:
        names_index, data_start = 0, 1
    else:
        raise FormatError(path, "not a ZPlot file: the first line must be 'ZPLOT2 ASCII' or the column names",
                          line=1, reader=READER.id)
    # Tab-separated as written by ZPlot; some exports use ", " (impedance.py accepts both).
    delimiter = "\t" if "\t" in lines[names_index] else ","
    names = [n.strip() for n in lines[names_index].strip().split(delimiter) if n.strip()]
    roles = map_columns(names)
    imag_role = MINUS_IMAG if MINUS_IMAG in roles else IMAG
    missing = [r for r in (FREQUENCY, REAL) if r not in roles] + ([] if imag_role in roles else [IMAG])
    if missing:
        raise FormatError(path, f"column-name line has no column for {', '.join(ROLE_TITLES[m] for m in missing)} "
                          f"(got {' '.join(names) or 'nothing'})", line=names_index + 1, reader=READER.id)
    end = len(lines)
    while end > data_start and not lines[end - 1].strip():
        end -= 1
    data = parse_rows(path, lines, data_start, end, len(names), READER.id, delimiter=delimiter)
    minus_imag = data[roles[imag_role]] if imag_role == MINUS_IMAG else -data[roles[imag_role]]
    arrays = spectrum_arrays(path, READER.id, data[roles[FREQUENCY]], data[roles[REAL]], minus_imag,
                             first_line=data_start + 1)
    if "Time(Sec)" in names:
        arrays.append(ArrayData("time", data[names.index("Time(Sec)")], "Time", "s",
                                "time since the start of the sweep"))

    metadata: dict[str, Any] = {}
    if "Date" in header:
        started = parse_date_time(header["Date"], header.get("Time"), month_first=True)
        if started is not None:
            metadata["start_time"] = started
        else:
            warnings.append(f"date {header['Date']!r} not understood; kept raw")
    if header.get("Measured Data, ZPlot"):
        metadata["software"] = f"ZPlot {header['Measured Data, ZPlot']}"
    experiment = header.get("Experiment Type", "")
    controls_current = "control current" in experiment.lower()
    if "control voltage" in experiment.lower():
        metadata["technique"] = "PEIS"
    elif controls_current:
        metadata["technique"] = "GEIS"
    quantities: list[ScalarQuantity] = []
    ocv = _float(header.get("Open Circuit Potential (V)"))
    if ocv is not None:
        quantities.append(ScalarQuantity(VOLTAGE, ocv, "V", LABEL_OCV))
    if metadata.get("technique"):
        controls = ((CURRENT, "Experiment/Current-DC", "mA", LABEL_DC_CURRENT),
                    (CURRENT, "Experiment/Current-AC", "mA", LABEL_AC_CURRENT)) if controls_current else (
                   (VOLTAGE, "Experiment/Potential-DC", "V", LABEL_DC_POTENTIAL),
                   (VOLTAGE, "Experiment/Potential-AC", "mV", LABEL_AC_VOLTAGE))
        for qkey, hkey, unit, label in controls:
            value = _float(header.get(hkey))
            if value is not None:
                quantities.append(ScalarQuantity(qkey, value, unit, label))
    declared = _float(header.get("Data Points"))
    n_rows = arrays[0].values.size
    if declared is not None and int(declared) != n_rows:
        warnings.append(f"header declares {int(declared)} data points but the file has {n_rows} rows "
                        "(sweep stopped early?)")
    return ParsedFile(
        format_id=READER.id,
        blocks=[Block("spectrum", arrays=arrays)],
        quantities=quantities,
        metadata=metadata,
        raw_metadata={"header": header, "column_names": names},
        warnings=warnings,
    )
