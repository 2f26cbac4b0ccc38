"""Unit conversion with pint, and the mapping between pint units and EMMO unit classes.

battkg stores each quantity in one canonical unit (``battkg:canonicalUnit`` in
the ontology) and keeps the value and unit the source gave.  Conversion uses
pint, never EMMO's conversion-multiplier restrictions (IRI-GUIDE 2.4: their
Celsius offset has the opposite sign of QUDT's).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pint

from battkg.errors import MetadataError

# Where pint may keep its parsed unit definitions between processes (see ``registry``).
ENV_UNIT_CACHE = "BATTKG_UNIT_CACHE"


def unit_cache_folder() -> Path | None:
    """The folder for pint's definition cache: ``$BATTKG_UNIT_CACHE`` (empty: no cache), else
    ``$XDG_CACHE_HOME/battkg/pint`` (``~/.cache/battkg/pint``); None when it cannot be created."""
    given = os.environ.get(ENV_UNIT_CACHE)
    if given is not None and not given.strip():
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(given) if given else base / "battkg" / "pint"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner = folder.stat().st_uid
    except OSError:
        return None
    if hasattr(os, "getuid") and owner != os.getuid():
        return None  # the entries are pickles: only ever load ones this user wrote
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


class _SafeDiskCache:
    """Mixed into pint's definition cache (a flexcache ``DiskCache``): an entry is written to a
    temporary file and renamed into place, so a process starting at the same time reads a whole
    entry or none; an entry that cannot be read is rebuilt, never an error."""

    def rawload(self, header: Any, cache_path: Path | None = None) -> Any:
        try:
            return super().rawload(header, cache_path)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - truncated, foreign or unreadable: the cache only saves time
            return None  # pint parses the definitions again and rewrites the entry

    def rawsave(self, header: Any, converted_object: Any, cache_path: Path | None = None) -> Path:
        cache_path = Path(cache_path or self.cache_path_for(header))  # type: ignore[attr-defined]
        try:
            handle, name = tempfile.mkstemp(dir=cache_path.parent, prefix=".", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(converted_object, out)
                os.replace(name, cache_path)
            except BaseException:
                os.unlink(name)
                raise
        except (OSError, pickle.PicklingError, AttributeError, TypeError):
            pass  # the cache only saves time: a full disk or an unpicklable entry is no error
        return cache_path


class _UnitRegistry(pint.UnitRegistry):
    """pint's registry with its definition cache made safe for concurrent processes (``_SafeDiskCache``)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        cache = getattr(self, "_diskcache", None)  # pint >= 0.20; parsed and used from _after_init on
        if cache is not None:
            cache.__class__ = type("SafeDiskCache", (_SafeDiskCache, type(cache)), {})


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The one unit registry of the process.

    Building it parses pint's definition file (0.25-0.5 s, the largest fixed cost of a
    command-line ingest); pint keeps the parsed definitions in ``unit_cache_folder()``,
    which makes it ~0.02 s from the second process on.  The cache entries are named after
    the content of the definition files and pint's version, so a changed file or another
    pint never reads a stale entry."""
    folder = unit_cache_folder()
    # Detector counts are dimensionless numbers, but keeping "count" readable matters.
    return _UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=folder)


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
