"""What a technique adds to the shared record path.

A technique package (``ingest/<technique>/__init__.py``) exposes
``TECHNIQUE = <Technique subclass>()``.  The pipeline asks it only for what
differs between techniques: the activity classes, the observables, derived
quantities and technique-specific checks.  Reading files is the readers'
job; record building, validation and storage are shared.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from battkg.readers import ParsedFile, ScalarQuantity


@dataclass
class UserMetadata:
    """What the user says about a measurement (CLI options or a sidecar file)."""

    sample: str | None = None
    material: str | None = None
    operator: str | None = None
    instrument: str | None = None
    access: str = "public"
    success: bool | None = None
    rating: int | None = None
    title: str | None = None
    quantities: list[ScalarQuantity] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    revises: str | None = None

    def identity_options(self) -> dict[str, Any]:
        """The options that, with the raw file, decide the record's identity."""
        return {
            "sample": self.sample,
            "material": self.material,
            "operator": self.operator,
            "instrument": self.instrument,
            "access": self.access,
            "success": self.success,
            "rating": self.rating,
            "title": self.title,
            "quantities": sorted([q.quantity, q.value, q.unit, q.label] for q in self.quantities),
            "conditions": self.conditions,
        }


@dataclass
class Derived:
    """What a technique derives from a parsed file."""

    parameters: list[ScalarQuantity] = field(default_factory=list)
    outputs: list[ScalarQuantity] = field(default_factory=list)
    activity: dict[str, Any] = field(default_factory=dict)  # extra JSON-LD keys on the activity
    warnings: list[str] = field(default_factory=list)


class Technique:
    """Base class; subclasses set ``key`` and override what they need."""

    key: str = ""
    activity_types: tuple[str, ...] = ()  # context keys of the technique classes
    observables: tuple[str, ...] = ()  # context keys
    # Metadata fields (sidecar key / CLI option) that are quantities: field -> (quantity key, unit, role).
    user_quantities: dict[str, tuple[str, str, str | None]] = {}

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        """Raise MetadataError/FormatError when the combination cannot make a valid record."""

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        return Derived()

    def title(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> str:
        return user.title or f"{self.key.upper()} of {user.sample or parsed.metadata.get('sample_name')} ({path.name})"

    def types_for(self, parsed: ParsedFile, user: UserMetadata) -> list[str]:
        return list(self.activity_types)


def technique(key: str) -> Technique:
    """The technique object of ``battkg.ingest.<key>``."""
    try:
        module = importlib.import_module(f"battkg.ingest.{key}")
    except ModuleNotFoundError:
        raise KeyError(f"unknown technique {key!r}") from None
    found = getattr(module, "TECHNIQUE", None)
    if not isinstance(found, Technique):
        raise KeyError(f"technique {key!r} has no ingester yet")
    return found
