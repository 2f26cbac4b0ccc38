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

from battkg.errors import MetadataError
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
    # Technique-specific non-numeric fields (e.g. FTIR ``ordinate``), see Technique.user_fields.
    fields: dict[str, str] = field(default_factory=dict)

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
            # Only when present, so records without technique fields keep their ids.
            **({"fields": dict(sorted(self.fields.items()))} if self.fields else {}),
        }


# Measurement conditions a user can state (sidecar "conditions:" or CLI --condition KEY=VALUE).
CONDITION_QUANTITIES: dict[str, str] = {"temperature": "ThermodynamicTemperature", "pressure": "Pressure"}
CONDITION_WORDS: dict[str, tuple[str, ...] | None] = {
    "atmosphere": None,  # free text: "argon", "air", "vacuum (1e-9 mbar)"
    "mode": ("operando", "in situ", "ex situ"),
    "cell_type": None,  # free text: "CR2032 coin cell", "capillary", "pouch"
}


@dataclass
class Conditions:
    """Parsed measurement conditions: the record's characterisation environment."""

    quantities: list[ScalarQuantity] = field(default_factory=list)
    words: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.quantities or self.words)


def parse_conditions(raw: dict[str, Any] | None, *, source: str | None = None) -> Conditions:
    """Check and parse a ``conditions`` mapping; MetadataError names the field and the rule."""
    from battkg.units import convert, split_quantity

    conditions = Conditions()
    if not raw:
        return conditions
    if not isinstance(raw, dict):
        raise MetadataError("conditions", "must be a mapping such as {temperature: 25 degC, mode: operando}",
                            source=source)
    known = sorted([*CONDITION_QUANTITIES, *CONDITION_WORDS])
    for name, value in raw.items():
        where = f"conditions.{name}"
        if name in CONDITION_QUANTITIES:
            number, unit = split_quantity(value, field=where, source=source)
            quantity = CONDITION_QUANTITIES[name]
            probe = {"ThermodynamicTemperature": "kelvin", "Pressure": "pascal"}[quantity]
            try:
                kelvin_or_pascal = float(convert(number, unit, probe))
            except MetadataError:
                raise MetadataError(where, f"{value!r} is not a {name}", source=source) from None
            if quantity == "ThermodynamicTemperature" and kelvin_or_pascal < 0:
                raise MetadataError(where, f"{value!r} is below absolute zero", source=source)
            conditions.quantities.append(ScalarQuantity(quantity, number, unit, name))
        elif name in CONDITION_WORDS:
            text = str(value).strip()
            allowed = CONDITION_WORDS[name]
            if allowed is not None:
                text = text.lower().replace("-", " ").replace("_", " ")
                if text not in allowed:
                    raise MetadataError(where, f"must be one of {', '.join(allowed)} (got {value!r})", source=source)
            if not text:
                raise MetadataError(where, "is empty", source=source)
            conditions.words[name] = text
        else:
            raise MetadataError(where, f"unknown condition; known: {', '.join(known)}", source=source)
    return conditions


@dataclass
class Analysis:
    """A data analysis on the measurement's data (fit, intercept, MSD slope): its own PROV activity.

    The record shows it as an ``AnalysisActivity`` that used the measurement's arrays, was
    informed by the measurement, and generated ``outputs``; ``method`` says how, in words a
    reviewer can check (fit window, model, software and version).
    """

    key: str  # IRI fragment, e.g. "bulk-resistance"
    label: str
    method: str
    outputs: list[ScalarQuantity] = field(default_factory=list)
    parameters: list[ScalarQuantity] = field(default_factory=list)
    software: str | None = None  # e.g. "impedance" (the library that did the analysis) ...
    software_version: str | None = None  # ... and its version (required by the shapes when software is given)
    extra: dict[str, Any] = field(default_factory=dict)  # further JSON-LD keys on the activity


@dataclass
class Derived:
    """What a technique derives from a parsed file."""

    parameters: list[ScalarQuantity] = field(default_factory=list)
    outputs: list[ScalarQuantity] = field(default_factory=list)
    activity: dict[str, Any] = field(default_factory=dict)  # extra JSON-LD keys on the activity
    warnings: list[str] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)
    sample: dict[str, Any] = field(default_factory=dict)  # extra JSON-LD keys on the sample (hasFormulation, ...)
    nodes: list[dict[str, Any]] = field(default_factory=list)  # further JSON-LD nodes (formulation, cell, ...)


class Technique:
    """Base class; subclasses set ``key`` and override what they need."""

    key: str = ""
    activity_types: tuple[str, ...] = ()  # context keys of the technique classes
    observables: tuple[str, ...] = ()  # context keys
    # What kind of process the record describes: a measurement by default; simulations override
    # (e.g. ("MolecularDynamicsSimulation", "Simulation")).
    process_types: tuple[str, ...] = ("CharacterisationMeasurementProcess",)
    # Activity keys for the sample and the parameters (see battkg.record.RecordInputs); simulations
    # override with ("hasSimulatedObject", "hasInput", ("ConventionalProperty",)).
    sample_key: str = "hasMeasurementSample"
    parameter_key: str = "hasMeasurementParameter"
    parameter_kinds: tuple[str, ...] = ("MeasurementParameter", "ConventionalProperty")
    # (axis array, signal array) of one member when the technique supports operando series
    # (battkg.ingest.series), e.g. XRD ("two_theta", "intensity"); None = no series ingest.
    series_arrays: tuple[str, str] | None = None
    # Metadata fields (sidecar key / CLI option) that are quantities: field -> (quantity key, unit, role).
    user_quantities: dict[str, tuple[str, str, str | None]] = {}
    # Metadata fields that are words, not quantities: field -> allowed values (lower case), None = free text.
    user_fields: dict[str, tuple[str, ...] | None] = {}
    # Reader options that name a further file of the same run (an MD topology, an energy file) -> how the
    # process relates to it: "input" (the simulation used it) or "output" (the simulation wrote it).
    # Such a file is kept as a blob of its own and named in the record; the record's identity uses its
    # checksum, not its path, so the same inputs from another directory give the same record.
    file_options: dict[str, str] = {}
    # True when the reader's arrays go into the HDF5 as read (derive() and for_record() only add blocks):
    # their compression then starts on other cores while derive() runs.  Left False where for_record()
    # drops bulky arrays (MD coordinates), whose compression would be wasted work.
    compress_while_deriving: bool = False

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        """Raise MetadataError/FormatError when the combination cannot make a valid record."""

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        return Derived()

    def for_record(self, parsed: ParsedFile, user: UserMetadata) -> ParsedFile:
        """The parsed file as it goes into the record, after derive() (default: unchanged).

        A technique may drop in-memory data it only needed for derive() (e.g. MD positions
        for transport) or relabel what the reader could not classify.
        """
        return parsed

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
