"""Abscissa and ordinate conventions shared by the spectra readers.

FTIR files state their ordinate in different ways (JCAMP ``##YUNITS``, SPC
``fytype``, OPUS block type, OMNIC header code).  Each reader turns what its
file says into an :class:`Ordinate` with :func:`ordinate_from_label`, or
:func:`unknown_ordinate` when the file says nothing; nothing is guessed
silently.  Transmittance and reflectance may be a fraction (0–1) or percent:
when the file names the scale, it is used; when it names only the quantity,
the scale is inferred from the value range and a warning says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData


@dataclass(frozen=True)
class Ordinate:
    """What the y values of a spectrum are, as stated by the file."""

    ordinate: str | None  # "absorbance" | "transmittance" | "reflectance" | None (unknown)
    quantity: str  # battkg quantity key
    unit: str  # pint unit string
    source: str  # the field that stated it, e.g. "JCAMP ##YUNITS='%T'"
    warning: str | None = None


def unknown_ordinate(source: str, stated: str | None = None) -> Ordinate:
    """The file does not say what the ordinate is: the user must say it at ingest."""
    what = f"states {stated!r}, which is not absorbance, transmittance or reflectance" if stated else "does not state"
    return Ordinate(
        None,
        "SpectralIntensity",
        "dimensionless",
        source,
        f"the ordinate is unknown ({source} {what}); stored as SpectralIntensity, "
        "please state absorbance/transmittance/reflectance at ingest",
    )


def _percent_or_fraction(kind: str, y: np.ndarray, source: str, stated_percent: bool | None) -> Ordinate:
    quantity = kind.capitalize()
    if stated_percent is True:
        return Ordinate(kind, quantity, "percent", source)
    if stated_percent is False:
        if np.nanmax(np.abs(y)) > 1.5:
            # The file says "fraction" but the values say percent: trust the values, loudly.
            return Ordinate(kind, quantity, "percent", source,
                            f"{source} states {kind} as a fraction but values reach {np.nanmax(y):.4g}; "
                            "taken as percent")
        return Ordinate(kind, quantity, "dimensionless", source)
    unit = "percent" if np.nanmax(np.abs(y)) > 1.5 else "dimensionless"
    scale = "percent" if unit == "percent" else "a fraction (0-1)"
    return Ordinate(kind, quantity, unit, source,
                    f"{source} states {kind} without a scale; taken as {scale} from the value range "
                    f"(max {np.nanmax(y):.4g})")


def ordinate_from_label(label: str | None, y: np.ndarray, source: str) -> Ordinate:
    """Map a textual ordinate label (JCAMP YUNITS, column header) to an :class:`Ordinate`.

    Recognised: ``ABSORBANCE``/``A``/``AU``; ``TRANSMITTANCE``/``%T``/``T``;
    ``REFLECTANCE``/``%R``/``R``.  ``%`` or ``PERCENT`` in the label means percent;
    JCAMP-DX's bare ``TRANSMITTANCE``/``REFLECTANCE`` is a fraction by the standard.
    """
    if label is None or not label.strip():
        return unknown_ordinate(source)
    text = label.strip().upper().replace(" ", "")
    percent = "%" in text or "PERCENT" in text
    if text in ("ABSORBANCE", "A", "AU", "A.U.ABSORBANCE", "ABS") or text.startswith("ABSORBANCE"):
        return Ordinate("absorbance", "Absorbance", "dimensionless", source)
    for kind, names in (("transmittance", ("%T", "T", "TRANSMITTANCE", "TRANSMISSION")),
                        ("reflectance", ("%R", "R", "REFLECTANCE"))):
        if text in names or kind[:7].upper() in text:
            # Bare JCAMP-DX TRANSMITTANCE/REFLECTANCE is a fraction by the standard; other bare
            # labels ("T", "TRANSMISSION") name no scale, so it is inferred (with a warning).
            stated: bool | None = True if percent else (False if text == kind.upper() else None)
            return _percent_or_fraction(kind, y, source, stated)
    return unknown_ordinate(source, label.strip())


def ordinate_from_kind(kind: str | None, y: np.ndarray, source: str, *, percent: bool | None) -> Ordinate:
    """An ordinate stated by a binary code (SPC fytype, OMNIC code, OPUS block)."""
    if kind is None:
        return unknown_ordinate(source)
    if kind == "absorbance":
        return Ordinate("absorbance", "Absorbance", "dimensionless", source)
    return _percent_or_fraction(kind, y, source, percent)


def to_wavenumber(x: np.ndarray, unit: str) -> tuple[np.ndarray, str | None]:
    """Convert an abscissa in ``"1/cm"``, ``"micrometer"`` or ``"nanometer"`` to 1/cm.

    Returns the wavenumbers and a note describing the conversion (None when
    the axis already was wavenumber).
    """
    if unit == "1/cm":
        return x, None
    if np.any(x <= 0):
        raise ValueError(f"cannot convert a {unit} axis with values <= 0 to wavenumber")
    factor = {"micrometer": 1e4, "nanometer": 1e7}[unit]
    return factor / x, f"abscissa converted from {unit} to wavenumber (1/cm = {factor:g} / x)"


def ordinate_array(y: np.ndarray, ordinate: Ordinate) -> ArrayData:
    """The FTIR ordinate array for a spectrum."""
    name = ordinate.ordinate or "intensity"
    return ArrayData(name, y, ordinate.quantity, ordinate.unit, f"{name} ({ordinate.source})")


def check_spectrum(path: Path, x: np.ndarray, y: np.ndarray, reader: str, *, min_points: int = 2,
                   line: int | None = None) -> None:
    """Reject empty or non-finite spectra and x/y length mismatches with a :class:`FormatError`."""
    if x.shape[-1] != y.shape[-1]:
        raise FormatError(path, f"abscissa has {x.shape[-1]} points but ordinate has {y.shape[-1]}",
                          line=line, reader=reader)
    if y.shape[-1] < min_points:
        raise FormatError(path, f"empty spectrum: {y.shape[-1]} point(s), need at least {min_points}",
                          line=line, reader=reader)
    if not np.all(np.isfinite(x)):
        raise FormatError(path, "non-finite value in the abscissa", line=line, reader=reader)
    if not np.all(np.isfinite(y)):
        raise FormatError(path, "non-finite value (nan/inf) in the spectrum", line=line, reader=reader)
