"""Shared conventions of the impedance (EIS) readers.

Every EIS reader returns one :class:`~battkg.readers.Block` per spectrum with
these arrays (name -> quantity key, unit):

=================================  ==========================  ======
``frequency``                      Frequency                   Hz
``real_impedance``                 RealImpedance               ohm
``negative_imaginary_impedance``   NegativeImaginaryImpedance  ohm
``impedance_modulus``              ImpedanceModulus            ohm
``impedance_phase``                ImpedancePhase              degree
=================================  ==========================  ======

Sign conventions, because vendors differ:

* ``negative_imaginary_impedance`` is −Im(Z), so a capacitive arc is
  *positive*.  Gamry ``Zimag``, ZPlot ``Z''``, CH Instruments ``Z"`` and the
  MADAP ``imaginary impedance Z''`` column hold Im(Z) (negative for a
  capacitive arc) and are negated by the readers; EC-Lab ``-Im(Z)`` is taken
  as is.
* ``impedance_phase`` is arg(Z) in degrees, i.e. *negative* for a capacitive
  arc (the convention of Gamry ``Zphz``, CHI ``Phase/deg`` and EC-Lab
  ``Phase(Z)``).  Where the file has no phase or modulus column they are
  computed from Re(Z) and Im(Z).

Scalar quantities the EIS readers emit (quantity key, label) are named by the
constants below; they are not all in the reader-contract table yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, ScalarQuantity

# Quantity keys beyond the reader-contract table (EMMO names; reported to the
# ontology owner).  Labels distinguish quantities that share a key.
VOLTAGE = "Voltage"
CURRENT = "ElectricCurrent"
RESISTANCE = "ElectricResistance"
CONDUCTIVITY = "IonicConductivity"
CELL_CONSTANT = "CellConstant"
MASS = "Mass"
TEMPERATURE = "ThermodynamicTemperature"

LABEL_DC_POTENTIAL = "DC potential"
LABEL_AC_VOLTAGE = "AC voltage amplitude"
LABEL_DC_CURRENT = "DC current"
LABEL_AC_CURRENT = "AC current amplitude"
LABEL_OCV = "open-circuit potential"

# Canonical column roles, in the order of the arrays of a spectrum block.
FREQUENCY, REAL, MINUS_IMAG, IMAG, MODULUS, PHASE = "frequency", "real", "minus_imag", "imag", "modulus", "phase"

# How an error message names each role.
ROLE_TITLES = {FREQUENCY: "frequency", REAL: "Re(Z)", MINUS_IMAG: "−Im(Z)", IMAG: "Im(Z)", MODULUS: "|Z|",
               PHASE: "phase"}

# Header-name patterns (lower-case, blanks removed) for each role.  Order
# matters: −Im must be tried before Im, Im before Re ("z''" before "z'").
_ROLE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (FREQUENCY, re.compile(r"^(freq|frequency|f)(\b|[/(\[_]|$)")),
    (MINUS_IMAG, re.compile(r"^[-−](im\b|im\(|imz|imag|z''|z\"|z″|zim|zi\b|zimag|z_?imag|z2)")),
    (IMAG, re.compile(r"^(im\b|im\(|imz|imag|z''|z\"|z″|zim|zi\b|zimag|z_?imag|z2\b)")),
    (REAL, re.compile(r"^(re\b|re\(|rez|real|z'(?!')|z′|zre|zr\b|zreal|z_?real|z1\b)")),
    (MODULUS, re.compile(r"^(\|z\||mod|zmod|z_?mod|modulus|z\b|z/|z\(|z\[|absz|abs\(z)")),
    (PHASE, re.compile(r"^(phase|phz|zphz|zphase|theta|phi|arg)")),
)

_FREQ_SCALE = {"hz": 1.0, "khz": 1e3}
_OHM_SCALE = {"ohm": 1.0, "ohms": 1.0, "Ω": 1.0, "kohm": 1e3, "kω": 1e3, "mohm": 1e-3, "mω": 1e-3, "Mohm": 1e6,
              "MΩ": 1e6}


def _squash(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def column_role(name: str) -> str | None:
    """The role (``frequency``, ``real``, ``imag``, ``minus_imag``, ``modulus``, ``phase``) a header names."""
    squashed = _squash(name.strip().strip('"'))
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(squashed):
            return role
    return None


def column_scale(name: str, role: str) -> float:
    """Factor to Hz / ohm from a unit written in the header (``Z'/kOhm``, ``f [kHz]``); 1.0 if none."""
    match = re.search(r"(?:/|\[|\()\s*([kKmM]?(?:Hz|hz|HZ|[Oo]hms?|Ω))\s*[\])]?\s*$", name.strip())
    if not match:
        return 1.0
    unit = match.group(1)
    if role == FREQUENCY:
        # Case matters: "MHz" is mega, "mHz" milli.
        return {"MHz": 1e6, "mHz": 1e-3}.get(unit, _FREQ_SCALE.get(unit.lower(), 1.0))
    if unit[0] == "M":  # mega, case matters: "MOhm" vs "mOhm"
        return 1e6
    return _OHM_SCALE.get(unit.lower(), 1.0)


def map_columns(names: Sequence[str]) -> dict[str, int]:
    """Role -> column index for the first column of each role found in ``names``."""
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        role = column_role(name)
        if role and role not in found:
            found[role] = index
    return found


def spectrum_arrays(
    path: Path,
    reader: str,
    frequency: np.ndarray,
    real: np.ndarray,
    minus_imag: np.ndarray,
    modulus: np.ndarray | None = None,
    phase: np.ndarray | None = None,
    *,
    first_line: int | None = None,
) -> list[ArrayData]:
    """The five spectrum arrays, validated; modulus/phase computed when the file has none.

    ``first_line`` is the file line of the first data row, so an error on a
    bad frequency can name the line.
    """
    frequency = np.asarray(frequency, dtype=np.float64)
    real = np.asarray(real, dtype=np.float64)
    minus_imag = np.asarray(minus_imag, dtype=np.float64)
    if frequency.size == 0:
        raise FormatError(path, "the impedance spectrum has no data points", reader=reader)
    if not (frequency.shape == real.shape == minus_imag.shape):
        raise FormatError(path, "frequency, Re(Z) and Im(Z) have different lengths", reader=reader)
    for name, values in (("frequency", frequency), ("Re(Z)", real), ("Im(Z)", minus_imag)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            line = first_line + int(bad[0]) if first_line is not None else None
            raise FormatError(path, f"non-finite {name} value in the spectrum", line=line, reader=reader)
    bad = np.flatnonzero(frequency <= 0)
    if bad.size:
        line = first_line + int(bad[0]) if first_line is not None else None
        raise FormatError(path, f"frequency must be > 0 Hz (got {frequency[bad[0]]!r}); is the first column "
                          "really the frequency?", line=line, reader=reader)
    z = real - 1j * minus_imag
    if modulus is None:
        modulus = np.abs(z)
    if phase is None:
        phase = np.degrees(np.angle(z))
    return [
        ArrayData("frequency", frequency, "Frequency", "Hz", "excitation frequency"),
        ArrayData("real_impedance", real, "RealImpedance", "ohm", "Re(Z)"),
        ArrayData("negative_imaginary_impedance", minus_imag, "NegativeImaginaryImpedance", "ohm",
                  "−Im(Z): positive for a capacitive arc"),
        ArrayData("impedance_modulus", np.asarray(modulus, dtype=np.float64), "ImpedanceModulus", "ohm", "|Z|"),
        ArrayData("impedance_phase", np.asarray(phase, dtype=np.float64), "ImpedancePhase", "degree",
                  "arg(Z): negative for a capacitive arc"),
    ]


def parse_rows(
    path: Path,
    lines: Sequence[str],
    start: int,
    end: int,
    ncols: int,
    reader: str,
    *,
    delimiter: str | None = None,
    decimal_comma: bool = False,
) -> np.ndarray:
    """Parse ``lines[start:end]`` as a numeric table of ``ncols`` columns -> shape (ncols, n).

    Every row must have ``ncols`` numbers; otherwise a :class:`FormatError`
    names the 1-based file line, because dropping a row would silently change
    the spectrum.  ``decimal_comma`` accepts "1,5" for 1.5 (Gamry in some
    Windows locales writes tab-separated rows with decimal commas).
    """
    rows: list[list[float]] = []
    for index in range(start, end):
        text = lines[index]
        if not text.strip():
            raise FormatError(path, "blank line inside the data block", line=index + 1, reader=reader)
        parts = text.strip().split(delimiter) if delimiter else text.split()
        parts = [p.strip() for p in parts]
        if len(parts) != ncols:
            raise FormatError(path, f"row has {len(parts)} column(s), expected {ncols} (truncated or "
                              "inconsistent row)", line=index + 1, reader=reader)
        values: list[float] = []
        for column, part in enumerate(parts, start=1):
            try:
                values.append(float(part.replace(",", ".") if decimal_comma else part))
            except ValueError:
                raise FormatError(path, f"non-numeric value {part!r} in column {column} of the data block",
                                  line=index + 1, reader=reader) from None
        rows.append(values)
    if not rows:
        raise FormatError(path, "the data table has a header but no data rows", line=start + 1, reader=reader)
    return np.asarray(rows, dtype=np.float64).T.copy()


@dataclass(frozen=True)
class UnitValue:
    """A number with the unit written beside it in a vendor header."""

    value: float
    unit: str


_UNIT_WORDS = {
    "v": "V", "mv": "mV", "uv": "uV", "µv": "uV",
    "a": "A", "ma": "mA", "ua": "uA", "µa": "uA", "na": "nA",
    "hz": "Hz", "khz": "kHz", "s": "s", "sec": "s", "ohm": "ohm", "ohms": "ohm",
    "cm^2": "cm**2", "cm2": "cm**2",
}


def pint_unit(word: str) -> str | None:
    """A pint unit string for a vendor unit word ("mV rms" -> "mV"), or None."""
    token = word.strip().split()[0] if word.strip() else ""
    return _UNIT_WORDS.get(token.lower())


def quantity(key: str, value: float, unit: str, label: str) -> ScalarQuantity:
    return ScalarQuantity(key, float(value), unit, label)


def parse_date_time(date: str, time: str | None, *, month_first: bool = True) -> datetime | None:
    """A naive ``datetime`` from vendor date/time strings, or None when the form is unknown.

    ``month_first`` decides slash/dash dates ("4/23/2018", "10-12-2018"):
    Gamry and ZPlot write the US order; a dotted date ("23.04.2018") is always
    day first.  The files carry no time zone, so the result is naive.
    """
    date = date.strip()
    time = (time or "").strip()
    patterns: list[str] = []
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", date):
        patterns = ["%Y-%m-%d"]
    elif re.fullmatch(r"\d{1,2}[/-]\d{1,2}[/-]\d{2,4}", date):
        sep = "/" if "/" in date else "-"
        year = "%Y" if len(date.split(sep)[-1]) == 4 else "%y"
        patterns = [f"%m{sep}%d{sep}{year}" if month_first else f"%d{sep}%m{sep}{year}"]
    elif re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2,4}", date):
        patterns = ["%d.%m.%Y" if len(date.split(".")[-1]) == 4 else "%d.%m.%y"]
    for pattern in patterns:
        for time_pattern in ("%H:%M:%S", "%H:%M"):
            try:
                if time:
                    return datetime.strptime(f"{date} {time}", f"{pattern} {time_pattern}")
                return datetime.strptime(date, pattern)
            except ValueError:
                continue
    return None
