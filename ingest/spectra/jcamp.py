"""JCAMP-DX single-spectrum parser (4.24 / 5.x): AFFN, PAC, SQZ, DIF, DUP.

Layout
    Labelled data records ``##LABEL=value``; a value continues on following
    lines until the next ``##``.  ``$$`` starts a comment.  Labels compare
    after upper-casing and removing spaces, ``-``, ``/`` and ``_``
    (JCAMP-DX 4.24 §4).  The data table ``##XYDATA=(X++(Y..Y))`` holds one
    abscissa (in file units) followed by ordinates per line; ``##XYPOINTS=(XY..XY)``
    holds pairs.  Values are multiplied by ``##XFACTOR``/``##YFACTOR``.

ASDF compression (4.24 §5.9)

    ==========  ===========================================  ==============
    form        characters                                   meaning
    ==========  ===========================================  ==============
    AFFN/PAC    digits, ``+``, ``-``, space, ``,``           plain numbers
    SQZ         ``@ A-I`` / ``a-i``                          first digit 0…9 / −1…−9
    DIF         ``% J-R`` / ``j-r``                          difference 0…9 / −1…−9
    DUP         ``S-Z s``                                    repeat count 1…9
    ==========  ===========================================  ==============

    A line ending in DIF form repeats its last ordinate as the first ordinate
    of the next line (the "Y check"); it is verified and dropped.

Checks
    ``NPOINTS`` must equal the number of decoded ordinates; ``FIRSTX``/``LASTX``
    define the abscissa grid and every line's leading X must sit on it
    (a missing or extra value is an error naming the line); ``FIRSTY`` must
    equal the first decoded ordinate.

Not JCAMP-DX
    Files with JCAMP headers over a plain x/y table (no ``##XYDATA``) are read
    with :mod:`battkg.textdata` and flagged ``valid_jcamp=False`` with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.textdata import read_numeric_table, read_text

_SQZ = {c: v for v, c in enumerate("@ABCDEFGHI")} | {c: -(v + 1) for v, c in enumerate("abcdefghi")}
_DIF = {c: v for v, c in enumerate("%JKLMNOPQR")} | {c: -(v + 1) for v, c in enumerate("jklmnopqr")}
_DUP = {c: v + 1 for v, c in enumerate("STUVWXYZs")}
_ASDF_ONLY = re.compile(r"[@A-DF-Ia-df-i%J-Rj-rS-Zs]")  # E/e alone may be an AFFN exponent
_AFFN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?")
_ASDF_TOKEN = re.compile(r"[@A-Ia-i%J-Rj-rS-Zs+-]?(?:\d+\.?\d*|\.\d+)?")


def looks_like_jcamp(head: bytes) -> bool:
    """Sniff: the first non-blank line is a ``##TITLE=`` record."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"##TITLE=")


def normalise_label(label: str) -> str:
    return re.sub(r"[\s\-/_]", "", label).upper()


@dataclass
class JcampSpectrum:
    """A decoded JCAMP-DX spectrum: abscissa and ordinate in file units × factors."""

    x: np.ndarray
    y: np.ndarray
    labels: dict[str, str]  # normalised label -> value
    raw_labels: dict[str, str]  # label as written -> value
    valid_jcamp: bool
    data_form: str | None
    warnings: list[str] = field(default_factory=list)


def _float_label(path: Path, labels: dict[str, str], key: str, reader: str, lines: dict[str, int],
                 required: bool = True) -> float | None:
    value = labels.get(key)
    if value is None or not value.strip():
        if required:
            raise FormatError(path, f"required record ##{key}= is missing", field=key, reader=reader)
        return None
    try:
        return float(value.split()[0])
    except ValueError:
        raise FormatError(path, f"##{key}= value {value!r} is not a number", line=lines.get(key),
                          field=key, reader=reader) from None


def _decode_line(path: Path, text: str, lineno: int, reader: str) -> tuple[list[float], bool]:
    """Decode one XYDATA line into [X, Y1, Y2, ...]; returns (values, ended_in_DIF)."""
    body = text.split("$$", 1)[0].strip()
    if not body:
        return [], False
    if not _ASDF_ONLY.search(body):
        tokens = _AFFN.findall(body)
        leftover = _AFFN.sub("", body).replace(",", "").replace(";", "").strip()
        if leftover:
            raise FormatError(path, f"unexpected characters {leftover[:20]!r} in the data table", line=lineno,
                              field="XYDATA", reader=reader)
        return [float(t) for t in tokens], False
    values: list[float] = []
    last_dif: float | None = None
    ended_dif = False
    pos = 0
    squeezed = body
    while pos < len(squeezed):
        char = squeezed[pos]
        if char in " \t,;":
            pos += 1
            continue
        match = _ASDF_TOKEN.match(squeezed, pos)
        token = match.group(0) if match else ""
        if not token:
            raise FormatError(path, f"unexpected character {char!r} in ASDF data", line=lineno, field="XYDATA",
                              reader=reader)
        pos += len(token)
        head, digits = token[0], token[1:]
        if head in _SQZ:
            values.append(float(f"{_SQZ[head]}{digits}") if _SQZ[head] >= 0 else -float(f"{-_SQZ[head]}{digits}"))
            last_dif, ended_dif = None, False
        elif head in _DIF:
            if not values:
                raise FormatError(path, "DIF value without a preceding ordinate", line=lineno, field="XYDATA",
                                  reader=reader)
            step = float(f"{_DIF[head]}{digits}") if _DIF[head] >= 0 else -float(f"{-_DIF[head]}{digits}")
            values.append(values[-1] + step)
            last_dif, ended_dif = step, True
        elif head in _DUP:
            count = int(f"{_DUP[head]}{digits}")
            if not values:
                raise FormatError(path, "DUP count without a preceding value", line=lineno, field="XYDATA",
                                  reader=reader)
            for _ in range(count - 1):
                values.append(values[-1] + (last_dif or 0.0))
        else:  # AFFN/PAC number, sign or digit first
            try:
                values.append(float(token))
            except ValueError:
                raise FormatError(path, f"malformed number {token!r} in ASDF data", line=lineno,
                                  field="XYDATA", reader=reader) from None
            last_dif, ended_dif = None, False
    return values, ended_dif


def parse_jcamp(path: Path, reader: str) -> JcampSpectrum:
    """Parse a single-spectrum JCAMP-DX file (or a JCAMP header over an xy table)."""
    text = read_text(path, reader)
    lines = text.splitlines()
    labels: dict[str, str] = {}
    raw_labels: dict[str, str] = {}
    label_lines: dict[str, int] = {}
    data_key: str | None = None
    data_form: str | None = None
    data_start = data_end = None
    current: str | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("##"):
            if data_key is not None and data_end is None:
                data_end = index
            body = stripped[2:]
            if "=" not in body:
                raise FormatError(path, f"record {stripped[:40]!r} has no '='", line=index + 1, reader=reader)
            raw_label, value = body.split("=", 1)
            key = normalise_label(raw_label)
            value = value.split("$$", 1)[0].strip()
            if key in ("BLOCKS", "LINK") or (key == "TITLE" and "TITLE" in labels):
                raise FormatError(path, "compound (multi-block) JCAMP-DX files are not supported; "
                                  "split the blocks into separate files", line=index + 1, field=key, reader=reader)
            if key in ("XYDATA", "XYPOINTS", "PEAKTABLE", "DATATABLE"):
                if data_key is not None:
                    raise FormatError(path, f"second data table ##{raw_label}= in one block", line=index + 1,
                                      field=key, reader=reader)
                data_key, data_form, data_start = key, value, index + 1
                current = None
                continue
            if key == "END":
                current = None
                if data_key is not None and data_end is None:
                    data_end = index
                continue
            labels.setdefault(key, value)
            raw_labels.setdefault(raw_label.strip(), value)
            label_lines.setdefault(key, index + 1)
            current = key
        elif current is not None and data_key is None and stripped and not _looks_numeric_row(stripped):
            # Continuation of a multi-line value (e.g. SPECTROMETER SETTINGS).
            labels[current] += "\n" + stripped
            raw_labels[list(raw_labels)[-1]] += "\n" + stripped
        elif data_key is None and stripped and _looks_numeric_row(stripped):
            break
    if "TITLE" not in labels:
        raise FormatError(path, "not a JCAMP-DX file: no ##TITLE= record", line=1, field="TITLE", reader=reader)
    if data_key is None:
        return _header_over_table(path, text, labels, raw_labels, reader)
    if data_key in ("PEAKTABLE", "DATATABLE"):
        raise FormatError(path, f"##{data_key}= is not supported (only XYDATA and XYPOINTS)",
                          line=data_start, field=data_key, reader=reader)
    if data_end is None:
        data_end = len(lines)
    xfactor = _float_label(path, labels, "XFACTOR", reader, label_lines, required=False) or 1.0
    yfactor = _float_label(path, labels, "YFACTOR", reader, label_lines, required=False) or 1.0
    npoints_f = _float_label(path, labels, "NPOINTS", reader, label_lines)
    npoints = int(npoints_f)  # type: ignore[arg-type]
    firstx = _float_label(path, labels, "FIRSTX", reader, label_lines)
    lastx = _float_label(path, labels, "LASTX", reader, label_lines)
    if npoints < 1:
        raise FormatError(path, f"empty spectrum: ##NPOINTS={npoints}", line=label_lines.get("NPOINTS"),
                          field="NPOINTS", reader=reader)
    if data_key == "XYPOINTS":
        x, y = _decode_xypoints(path, lines, data_start, data_end, reader)
        x, y = x * xfactor, y * yfactor
    else:
        form = data_form.replace(" ", "").upper() if data_form else ""
        if form not in ("(X++(Y..Y))", "(X++(R..R))", "(X++(I..I))"):
            raise FormatError(path, f"XYDATA form {data_form!r} is not supported (expected (X++(Y..Y)))",
                              line=data_start, field="XYDATA", reader=reader)
        y = _decode_xydata(path, lines, data_start, data_end, npoints, firstx, lastx, xfactor, reader)
        y = y * yfactor
        x = np.linspace(firstx, lastx, npoints) if npoints > 1 else np.array([firstx])
    if y.size != npoints:
        raise FormatError(path, f"##NPOINTS={npoints} but the data table holds {y.size} ordinates "
                          "(truncated or inconsistent point count)", line=label_lines.get("NPOINTS"),
                          field="NPOINTS", reader=reader)
    firsty = _float_label(path, labels, "FIRSTY", reader, label_lines, required=False)
    warnings: list[str] = []
    if firsty is not None and not np.isclose(y[0], firsty, rtol=1e-4, atol=abs(yfactor)):
        raise FormatError(path, f"##FIRSTY={firsty} but the first decoded ordinate is {y[0]:.6g} "
                          "(wrong YFACTOR or corrupted data)", line=label_lines.get("FIRSTY"), field="FIRSTY",
                          reader=reader)
    return JcampSpectrum(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), labels, raw_labels,
                         True, data_form, warnings)


def _looks_numeric_row(text: str) -> bool:
    return bool(re.match(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?[\s,;]+[+-]?[\d.]", text))


def _decode_xydata(path: Path, lines: list[str], start: int, end: int, npoints: int, firstx: float,
                   lastx: float, xfactor: float, reader: str) -> np.ndarray:
    ys: list[float] = []
    prev_dif = False
    deltax = (lastx - firstx) / (npoints - 1) if npoints > 1 else 0.0
    for index in range(start, end):
        values, ended_dif = _decode_line(path, lines[index], index + 1, reader)
        if not values:
            continue
        if len(values) < 2 and not prev_dif:
            raise FormatError(path, "data line has an abscissa but no ordinates", line=index + 1, field="XYDATA",
                              reader=reader)
        x_line, line_ys = values[0] * xfactor, values[1:]
        if prev_dif:
            # Y check value: repeats the last ordinate of the previous line.
            if not line_ys or not np.isclose(line_ys[0], ys[-1], rtol=0, atol=0.5):
                got = line_ys[0] if line_ys else "nothing"
                raise FormatError(path, f"DIF Y-check failed: line starts with {got}, previous line ended "
                                  f"with {ys[-1]} (corrupted or reordered data)", line=index + 1,
                                  field="XYDATA", reader=reader)
            line_ys = line_ys[1:]
            expected_x = firstx + (len(ys) - 1) * deltax
        else:
            expected_x = firstx + len(ys) * deltax
        if deltax and abs(x_line - expected_x) > 0.5 * abs(deltax) + 1e-6 * max(abs(firstx), abs(lastx)):
            raise FormatError(path, f"line abscissa {x_line:g} does not match the FIRSTX/LASTX/NPOINTS grid "
                              f"(expected {expected_x:g}): points are missing or extra", line=index + 1,
                              field="XYDATA", reader=reader)
        ys.extend(line_ys)
        prev_dif = ended_dif
    return np.asarray(ys, dtype=np.float64)


def _decode_xypoints(path: Path, lines: list[str], start: int, end: int, reader: str) -> tuple[np.ndarray, np.ndarray]:
    values: list[float] = []
    for index in range(start, end):
        decoded, _ = _decode_line(path, lines[index], index + 1, reader)
        values.extend(decoded)
    if len(values) % 2:
        raise FormatError(path, f"XYPOINTS holds an odd number of values ({len(values)})", line=start,
                          field="XYPOINTS", reader=reader)
    pairs = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _header_over_table(path: Path, text: str, labels: dict[str, str], raw_labels: dict[str, str],
                       reader: str) -> JcampSpectrum:
    table = read_numeric_table(path, reader=reader, min_columns=2, max_columns=2, text=text)
    warning = ("not valid JCAMP-DX: JCAMP header records over a plain x/y table (no ##XYDATA=, ##NPOINTS=, "
               "##FIRSTX=); read as a two-column table")
    return JcampSpectrum(table.columns[0], table.columns[1], labels, raw_labels, False, None, [warning])
