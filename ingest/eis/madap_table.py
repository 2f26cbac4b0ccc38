"""BIG-MAP MADAP electrolyte-conductivity table (``Dataframe_STRUCTURED_*.csv``).

Usage
    ``battkg ingest eis Dataframe_STRUCTURED_all508.csv`` (format id ``eis.madap.csv``).

Schema
    A pandas ``to_csv`` export with ``;`` as separator and the row index as an
    unnamed first column.  One row per experiment × temperature; list-valued
    cells are Python list literals (``[20000.0, 17698.0, ...]``), the cell
    constant is a tuple literal ``(value, standard deviation)`` and
    ``metadata`` is a Python dict literal (with bare ``nan``).  Columns used:

    =====================================  ==============================================
    ``experimentID``                       block metadata ``experiment_id``
    ``temperature [°C]``                   ThermodynamicTemperature, degC (as given)
    ``frequency [Hz]``                     ``frequency`` array
    ``real impedance Z' [Ohm]``            ``real_impedance`` array
    ``imaginary impedance Z'' [Ohm]``      Im(Z), negated into ``negative_imaginary_impedance``
    ``resistance [Ohm]``                   ElectricResistance, ohm, label "MADAP fitted resistance"
    ``conductivity [S/cm]``                IonicConductivity, S/cm, label "MADAP conductivity"
    ``cell constant, standard deviation``  CellConstant, 1/cm, labels "cell constant" and
                                           "cell constant standard deviation"
    ``<component> [g]``                    Mass, g, label = component (PC, EC, EMC, LiPF6)
    ``metadata``                           parsed into block metadata ``madap_metadata``
    =====================================  ==============================================

    The MADAP values are kept as given so battkg's own estimate can be
    compared with them.  The cell-constant unit 1/cm follows from the table
    itself: for every row ``conductivity [S/cm] == cell constant / resistance``
    to machine precision (MADAP ``EIS._conductivity_calculation``:
    ``cell_constant * 1 / R0`` in S/cm).  See :mod:`battkg.ingest.eis.analysis`.

Metadata
    Per block: ``experiment_id``, ``row_index`` (the pandas index),
    ``experiment_date`` (``metadata.experimentDate``, day-first), ``channel``,
    ``madap_metadata`` (the whole dict, ``nan`` as None).  The list columns
    battkg does not map (``amplitude [-]``, ``bias``, ``error``, ``GD``,
    ``range``) are kept per row in ``raw_metadata['rows']``; the column names
    in ``raw_metadata['columns']``.

Known gaps
    The ``amplitude [-]``, ``bias``, ``error``, ``GD`` and ``range`` lists are
    all zeros in the sample and their meaning is undocumented, so they are
    not arrays.  A row whose ``metadata`` cell cannot be parsed keeps the text
    and adds a warning.

Options
    ``experiment=ID`` keeps only the rows of one ``experimentID`` (one electrolyte), so that
    ``battkg ingest eis`` makes one record per electrolyte (CLI ``--experiment ID``).

Sample files
    ``shared/samples/eis/madap_conductivity_Dataframe_STRUCTURED_all508.csv`` (39 rows).
"""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import Block, ParsedFile, ReaderInfo, ScalarQuantity
from battkg.textdata import read_text

from ._common import CELL_CONSTANT, CONDUCTIVITY, MASS, RESISTANCE, TEMPERATURE, spectrum_arrays


def _sniff(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return b"experimentID" in first and b"conductivity [S/cm]" in first


READER = ReaderInfo(
    id="eis.madap.csv",
    technique="eis",
    suffixes=(".csv",),
    description="BIG-MAP MADAP electrolyte-conductivity table: EIS spectrum, resistance, conductivity per row",
    sniff=_sniff,
    # Claimed by content (sniff) only: ranked after the generic reader so that a
    # plain table with the same suffix is never sent here by suffix alone.
    priority=95,
)

COL_ID = "experimentID"
COL_TEMPERATURE = "temperature [°C]"
COL_RESISTANCE = "resistance [Ohm]"
COL_CONDUCTIVITY = "conductivity [S/cm]"
COL_FREQUENCY = "frequency [Hz]"
COL_REAL = "real impedance Z' [Ohm]"
COL_IMAG = "imaginary impedance Z'' [Ohm]"
COL_CELL_CONSTANT = "cell constant, standard deviation"
COL_METADATA = "metadata"
_REQUIRED = (COL_ID, COL_FREQUENCY, COL_REAL, COL_IMAG)
_MASS_COLUMN = re.compile(r"^(.+?)\s*\[g\]$")
_UNMAPPED_LISTS = ("amplitude [-]", "bias", "error", "GD", "range")

LABEL_RESISTANCE = "MADAP fitted resistance"
LABEL_CONDUCTIVITY = "MADAP conductivity"
LABEL_CELL_CONSTANT = "cell constant"
LABEL_CELL_CONSTANT_SD = "cell constant standard deviation"


class _NanToNone(ast.NodeTransformer):
    """pandas writes missing values in dict cells as a bare ``nan``; read them as None."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("nan", "NaN", "None"):
            return ast.copy_location(ast.Constant(None), node)
        return node


def _literal(text: str) -> Any:
    tree = _NanToNone().visit(ast.parse(text.strip(), mode="eval"))
    return ast.literal_eval(tree)


def _number_list(path: Path, text: str, line: int, field: str) -> np.ndarray:
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise FormatError(path, f"expected a list '[x, y, ...]' (got {body[:40]!r}{'...' if len(body) > 40 else ''})",
                          line=line, field=field, reader=READER.id)
    values: list[float] = []
    for position, part in enumerate(body[1:-1].split(","), start=1):
        try:
            values.append(float(part))
        except ValueError:
            raise FormatError(path, f"non-numeric value {part.strip()!r} at list position {position}",
                              line=line, field=field, reader=READER.id) from None
    return np.asarray(values, dtype=np.float64)


def _number(path: Path, text: str, line: int, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FormatError(path, f"non-numeric value {text.strip()!r}", line=line, field=field,
                          reader=READER.id) from None


def read(path: Path, **options: Any) -> ParsedFile:
    """Read a MADAP conductivity table: one ``spectrum`` block per row."""
    text = read_text(path, READER.id)
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        columns = next(reader)
    except StopIteration:  # pragma: no cover - read_text rejects empty files
        raise FormatError(path, "file is empty", reader=READER.id) from None
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise FormatError(path, f"not a MADAP conductivity table: header lacks {', '.join(repr(m) for m in missing)}",
                          line=1, reader=READER.id)
    where = {name: i for i, name in enumerate(columns)}
    # One table holds several experiments (electrolytes); ``experiment=ID`` keeps one of them.
    wanted = str(options["experiment"]).strip() if options.get("experiment") else None
    seen: list[str] = []
    blocks: list[Block] = []
    raw_rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise FormatError(path, f"row has {len(row)} field(s), expected {len(columns)} (truncated or "
                              "inconsistent row)", line=line, reader=READER.id)
        cell = {name: row[i] for name, i in where.items()}
        if cell[COL_ID].strip() not in seen:
            seen.append(cell[COL_ID].strip())
        if wanted is not None and cell[COL_ID].strip() != wanted:
            continue
        frequency = _number_list(path, cell[COL_FREQUENCY], line, COL_FREQUENCY)
        real = _number_list(path, cell[COL_REAL], line, COL_REAL)
        imag = _number_list(path, cell[COL_IMAG], line, COL_IMAG)
        if not (frequency.size == real.size == imag.size):
            raise FormatError(path, f"spectrum lists differ in length (frequency {frequency.size}, Z' {real.size}, "
                              f"Z'' {imag.size})", line=line, field=COL_IMAG, reader=READER.id)
        try:
            arrays = spectrum_arrays(path, READER.id, frequency, real, -imag)
        except FormatError as exc:  # add the row's line: the lists live on one line
            raise FormatError(path, exc.message, line=line, field=COL_FREQUENCY, reader=READER.id) from None

        quantities: list[ScalarQuantity] = []
        if cell.get(COL_TEMPERATURE, "").strip():
            quantities.append(ScalarQuantity(TEMPERATURE, _number(path, cell[COL_TEMPERATURE], line, COL_TEMPERATURE),
                                             "degC", "cell temperature"))
        if cell.get(COL_RESISTANCE, "").strip():
            quantities.append(ScalarQuantity(RESISTANCE, _number(path, cell[COL_RESISTANCE], line, COL_RESISTANCE),
                                             "ohm", LABEL_RESISTANCE))
        if cell.get(COL_CONDUCTIVITY, "").strip():
            quantities.append(ScalarQuantity(CONDUCTIVITY,
                                             _number(path, cell[COL_CONDUCTIVITY], line, COL_CONDUCTIVITY),
                                             "S/cm", LABEL_CONDUCTIVITY))
        if cell.get(COL_CELL_CONSTANT, "").strip():
            try:
                value, sd = (float(v) for v in _literal(cell[COL_CELL_CONSTANT]))
            except (ValueError, TypeError, SyntaxError):
                raise FormatError(path, f"expected '(cell constant, standard deviation)' "
                                  f"(got {cell[COL_CELL_CONSTANT]!r})", line=line, field=COL_CELL_CONSTANT,
                                  reader=READER.id) from None
            quantities.append(ScalarQuantity(CELL_CONSTANT, value, "1/cm", LABEL_CELL_CONSTANT))
            quantities.append(ScalarQuantity(CELL_CONSTANT, sd, "1/cm", LABEL_CELL_CONSTANT_SD))
        for name in columns:
            match = _MASS_COLUMN.match(name)
            if match and cell[name].strip():
                quantities.append(ScalarQuantity(MASS, _number(path, cell[name], line, name), "g", match.group(1)))

        experiment_id = cell[COL_ID].strip()
        metadata: dict[str, Any] = {"experiment_id": experiment_id, "row_index": row[0].strip()}
        if COL_METADATA in cell and cell[COL_METADATA].strip():
            try:
                madap = _literal(cell[COL_METADATA])
                if not isinstance(madap, dict):
                    raise ValueError("not a dict")
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                warnings.append(f"line {line}: metadata cell is not a Python dict literal; kept as text")
                madap = cell[COL_METADATA]
            metadata["madap_metadata"] = madap
            if isinstance(madap, dict):
                when = _date(madap.get("experimentDate"))
                if when is not None:
                    metadata["experiment_date"] = when
                if madap.get("channel"):
                    metadata["channel"] = madap["channel"]
                if madap.get("experimentType"):
                    metadata["experiment_type"] = madap["experimentType"]
        temperature = cell.get(COL_TEMPERATURE, "").strip()
        name = f"{experiment_id} at {temperature} °C" if temperature else experiment_id
        blocks.append(Block(name, arrays=arrays, quantities=quantities, metadata=metadata))
        raw_rows.append({c: _number_list(path, cell[c], line, c).tolist() for c in _UNMAPPED_LISTS if c in cell})
    if not blocks and wanted is not None and seen:
        raise FormatError(path, f"no experiment {wanted!r} in the table; it holds {', '.join(seen)}",
                          field=COL_ID, reader=READER.id)
    if not blocks:
        raise FormatError(path, "the table has a header but no data rows", line=2, reader=READER.id)
    return ParsedFile(
        format_id=READER.id,
        blocks=blocks,
        metadata={},
        raw_metadata={"columns": columns, "rows": raw_rows},
        warnings=warnings,
    )


def _date(value: Any) -> date | None:
    """MADAP writes ``experimentDate`` day-first ("09.02.2021")."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%d.%m.%Y").date()
    except ValueError:
        return None
