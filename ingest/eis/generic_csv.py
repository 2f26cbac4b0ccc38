"""Generic impedance table: frequency, Re(Z), −Im(Z) columns in CSV/TSV/whitespace text.

Usage
    ``battkg ingest eis spectrum.csv`` (format id ``eis.generic.csv``), or from
    Python ``read(path, columns={"frequency": "f", "real": "ZR", "imag": "ZI"})``.

Schema
    Optional free-form header lines, an optional column-name line directly
    above the numbers, then numeric rows (delimiter: comma, semicolon, tab or
    whitespace, detected from the first row; see :mod:`battkg.textdata`).
    Columns are found by name (case and blanks ignored):

    * frequency: ``freq``, ``frequency``, ``f`` (``Hz``; ``kHz``/``MHz``/``mHz``
      in the name are converted);
    * Re(Z): ``Re(Z)``, ``Z'``, ``Zre``, ``Zreal``, ``real`` ...;
    * −Im(Z): a name starting with a minus: ``-Im(Z)``, ``-Z''``, ``-Zim`` ...;
    * Im(Z): ``Im(Z)``, ``Z''``, ``Z"``, ``Zim``, ``Zimag``, ``imag`` ... (negated);
    * optional |Z| (``|Z|``, ``Zmod``, ``Z``) and phase (``phase``, ``Zphz``,
      ``theta``; radians converted when the name says ``rad``).

    Impedance units ``kOhm``/``MOhm``/``mOhm`` written in a name are converted
    to ohm.  Without a column-name line the first three columns are taken as
    frequency, Re(Z), −Im(Z) and a warning says so.

Options
    ``columns``: role -> column name or 0-based index, overriding detection.
    Roles are ``frequency``, ``real``, ``minus_imag`` (the column holds −Im Z)
    or ``imag`` (it holds Im Z), ``modulus``, ``phase``; roles not given are
    still detected from the names.

Metadata
    Header lines verbatim in ``raw_metadata['header_lines']`` and as pairs in
    ``raw_metadata['header']``; the column names and the role each was given in
    ``raw_metadata['column_names']`` / ``raw_metadata['column_roles']``.
    Recognised header keys: ``instrument``, ``operator``, ``sample``.

Known gaps
    No technique, amplitude or time stamp is inferred.  Decimal commas are only
    read when the delimiter is not a comma (see :mod:`battkg.textdata`).

Sample files
    None in ``shared/samples``; tests write their own tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from battkg.errors import FormatError
from battkg.readers import Block, ParsedFile, ReaderInfo
from battkg.textdata import read_numeric_table

from ._common import (
    FREQUENCY,
    IMAG,
    MINUS_IMAG,
    MODULUS,
    PHASE,
    REAL,
    ROLE_TITLES,
    column_scale,
    map_columns,
    parse_rows,
    spectrum_arrays,
)

READER = ReaderInfo(
    id="eis.generic.csv",
    technique="eis",
    suffixes=(".csv", ".tsv", ".txt", ".dat"),
    description="generic impedance table: frequency, Re(Z), −Im(Z) (or Im(Z)) columns with optional header",
    priority=90,  # the fallback: vendor formats with magic bytes or a sniff win
)

_ROLES = (FREQUENCY, REAL, MINUS_IMAG, IMAG, MODULUS, PHASE)


def _resolve(path: Path, spec: Mapping[str, str | int], names: list[str], ncols: int) -> dict[str, int]:
    resolved: dict[str, int] = {}
    for role, ref in spec.items():
        if role not in _ROLES:
            raise FormatError(path, f"unknown column role {role!r} in 'columns' (known: {', '.join(_ROLES)})",
                              field=role, reader=READER.id)
        if isinstance(ref, int):
            if not 0 <= ref < ncols:
                raise FormatError(path, f"column index {ref} for {role} is outside 0..{ncols - 1}", field=role,
                                  reader=READER.id)
            resolved[role] = ref
            continue
        matches = [i for i, n in enumerate(names) if n.strip().lower() == str(ref).strip().lower()]
        if not matches:
            raise FormatError(path, f"no column named {ref!r} for {role} (columns: {', '.join(names) or 'none'})",
                              field=role, reader=READER.id)
        resolved[role] = matches[0]
    return resolved


def read(path: Path, *, columns: Mapping[str, str | int] | None = None, **options: Any) -> ParsedFile:
    """Read a frequency / Re(Z) / −Im(Z) table into one ``spectrum`` block."""
    table = read_numeric_table(path, reader=READER.id, min_columns=3)
    ncols = table.columns.shape[0]
    warnings: list[str] = []
    names = table.column_names
    names_line = table.first_data_line - 1 if names else None  # 1-based line of the column names
    if not names:
        # textdata only names columns from the line right above the numbers: look
        # further up for a line that names a frequency column.
        split = (lambda line: line.split(table.delimiter)) if table.delimiter else str.split
        names_index = next((i for i in range(len(table.header_lines) - 1, -1, -1)
                            if FREQUENCY in map_columns(split(table.header_lines[i]))), None)
        if names_index is not None:
            names = [c.strip().strip('"') for c in split(table.header_lines[names_index])]
            names_line = names_index + 1
            for index in range(names_index + 1, len(table.header_lines)):
                # A broken first data row lands in the header (the table starts at the
                # first all-numeric row): report it as the data error it is.
                if table.header_lines[index].strip():
                    parse_rows(path, table.header_lines, index, index + 1, len(names), READER.id,
                               delimiter=table.delimiter)
            if len(names) != ncols:
                raise FormatError(path, f"{len(names)} column names for {ncols} data columns",
                                  line=names_index + 1, reader=READER.id)
    if names:
        roles = map_columns(names)
    elif columns:
        roles = {}
    else:
        roles = {FREQUENCY: 0, REAL: 1, MINUS_IMAG: 2}
        warnings.append("no column-name line: columns 1-3 taken as frequency (Hz), Re(Z) (ohm), −Im(Z) (ohm)")
    if columns:
        # An explicit mapping overrides detection role by role; naming either imaginary
        # role replaces both detected ones, since the caller has decided the sign.
        explicit = _resolve(path, columns, names, ncols)
        if IMAG in explicit or MINUS_IMAG in explicit:
            roles.pop(IMAG, None)
            roles.pop(MINUS_IMAG, None)
        roles.update(explicit)
    if IMAG in roles and MINUS_IMAG in roles:
        del roles[IMAG]  # a file with both: −Im(Z) is what we store, take it as is
    imag_role = MINUS_IMAG if MINUS_IMAG in roles else IMAG
    missing = [r for r in (FREQUENCY, REAL) if r not in roles] + ([] if imag_role in roles else [IMAG])
    if missing:
        what = ", ".join(ROLE_TITLES[m] for m in missing)
        raise FormatError(path, f"cannot find the {what} column(s) among {names}; pass "
                          "columns={'frequency': ..., 'real': ..., 'minus_imag' or 'imag': ...}",
                          line=names_line, reader=READER.id)

    def column(role: str) -> np.ndarray:
        values = table.columns[roles[role]]
        return values * column_scale(names[roles[role]], role) if names else values

    minus_imag = column(imag_role) if imag_role == MINUS_IMAG else -column(imag_role)
    phase = None
    if PHASE in roles:
        phase = column(PHASE)
        if names and "rad" in names[roles[PHASE]].lower():
            phase = np.degrees(phase)
    arrays = spectrum_arrays(path, READER.id, column(FREQUENCY), column(REAL), minus_imag,
                             column(MODULUS) if MODULUS in roles else None, phase,
                             first_line=table.first_data_line)
    if not names and not columns and np.count_nonzero(minus_imag < 0) > minus_imag.size / 2:
        warnings.append("the third column is mostly negative: if it holds Im(Z) rather than −Im(Z), pass "
                        "columns={'frequency': 0, 'real': 1, 'imag': 2}")
    header = dict(table.header)
    metadata: dict[str, Any] = {}
    lowered = {k.lower(): v for k, v in header.items()}
    for key, target in (("instrument", "instrument"), ("operator", "operator"), ("sample", "sample_name")):
        if lowered.get(key):
            metadata[target] = lowered[key]
    return ParsedFile(
        format_id=READER.id,
        blocks=[Block("spectrum", arrays=arrays)],
        metadata=metadata,
        raw_metadata={"header": header, "header_lines": table.header_lines, "column_names": names,
                      "column_roles": {role: (names[i] if names else i) for role, i in roles.items()}},
        warnings=warnings,
    )
