"""Unit conversion with pint, and the mapping between pint units and EMMO unit classes.

battkg stores each quantity in one canonical unit (``battkg:canonicalUnit`` in
the ontology) and keeps the value and unit the source gave.  Conversion uses
pint, never EMMO's conversion-multiplier restrictions (IRI-GUIDE 2.4: their
Celsius offset has the opposite sign of QUDT's).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pint

from battkg.errors import MetadataError


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    # Detector counts are dimensionless numbers, but keeping "count" readable matters.
    return ureg


@lru_cache(maxsize=512)
def parse_unit(expression: str) -> pint.Unit:
    """Parse a unit expression ("angstrom", "mA*h", "1/cm", "count/s"); MetadataError if unknown."""
    text = expression.strip()
    aliases = {"%": "percent", "a.u.": "dimensionless", "au": "dimensionless", "arb. units": "dimensionless",
               "": "dimensionless", "Å": "angstrom", "°": "degree", "deg": "degree", "cps": "count/second",
               "counts": "count", "cts": "count", "degC": "degree_Celsius", "°C": "degree_Celsius",
               "mAh": "milliampere_hour", "Ah": "ampere_hour", "cm-1": "1/centimeter", "cm^-1": "1/centimeter"}
    text = aliases.get(text, text)
    try:
        return registry().Unit(text)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, ValueError,
            TypeError, AssertionError) as exc:
        raise MetadataError("unit", f"unknown unit {expression!r} ({exc})") from None


def same_unit(a: str, b: str) -> bool:
    """True when two unit expressions denote the same unit (not merely the same dimension)."""
    ua, ub = parse_unit(a), parse_unit(b)
    if ua.dimensionality != ub.dimensionality:
        return False
    # Counts and plain numbers are both dimensionless in pint; keep them apart by name.
    if ua.dimensionless and ("count" in str(ua)) != ("count" in str(ub)):
        return False
    try:
        return bool(np.isclose(registry().Quantity(1.0, ua).to(ub).magnitude, 1.0)) and (
            registry().Quantity(0.0, ua).to(ub).magnitude == 0.0)
    except pint.errors.DimensionalityError:
        return False


def convert(value: float | np.ndarray, from_unit: str, to_unit: str) -> float | np.ndarray:
    """Convert a value or array; MetadataError naming both units when impossible."""
    try:
        return registry().Quantity(value, parse_unit(from_unit)).to(parse_unit(to_unit)).magnitude
    except pint.errors.DimensionalityError:
        raise MetadataError("unit", f"cannot convert {from_unit!r} to {to_unit!r} (different dimensions)") from None


def split_quantity(value: object, *, field: str, source: str | None = None) -> tuple[float, str]:
    """(number, unit) from ``"25 degC"``, ``"1.5e-3 S/cm"`` or ``{"value": 25, "unit": "degC"}``.

    A bare number is refused: a temperature or a cell constant without a unit is a guess.
    """
    if isinstance(value, dict) and "value" in value and "unit" in value:
        number, unit = value["value"], str(value["unit"])
    elif isinstance(value, str) and value.strip():
        head, _, tail = value.strip().partition(" ")
        number, unit = head, tail.strip()
    else:
        raise MetadataError(field, f"needs a number with a unit, e.g. \"25 degC\" (got {value!r})", source=source)
    try:
        magnitude = float(number)
    except (TypeError, ValueError):
        raise MetadataError(field, f"needs a number with a unit, e.g. \"25 degC\" (got {value!r})",
                            source=source) from None
    if not unit:
        raise MetadataError(field, f"needs a number with a unit, e.g. \"25 degC\" (got {value!r})", source=source)
    try:
        parse_unit(unit)
    except MetadataError as exc:
        raise MetadataError(field, str(exc).split(": ", 1)[-1], source=source) from None
    return magnitude, unit
