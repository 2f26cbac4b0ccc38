"""The few errors battkg raises, each with a location and a pointer.

Hierarchy::

    BattkgError                 base; ``str(err)`` is a complete, plain sentence
    ├── FormatError             a file cannot be read: path, line/field, reader, rule broken
    ├── MetadataError           required metadata missing or malformed (CLI option / sidecar field)
    ├── ShapeViolation          a record does not conform to the SHACL shapes (carries Violations)
    ├── StoreError              the graph store or blob store cannot be opened/written
    ├── DuplicateRecord         not an error for users: the record already exists (re-ingest)
    ├── RecordNotFound          an unknown record id
    └── AccessDenied            the caller may not see or change a record

CLI exit codes (see ``battkg.cli``): 0 success, 1 data problem (format,
metadata, shapes), 2 usage/configuration/store problem, 3 not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class BattkgError(Exception):
    """Base class; ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class FormatError(BattkgError):
    """A file cannot be parsed by the reader that was asked to read it."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        reader: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reader = reader
        self.message = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        by = f" [reader {reader}]" if reader else ""
        super().__init__(f"{where}: {message}{by}")


class MetadataError(BattkgError):
    """Required metadata is missing or has the wrong form."""

    def __init__(self, field: str, message: str, *, source: str | None = None) -> None:
        self.field = field
        self.source = source
        src = f" (in {source})" if source else ""
        super().__init__(f"metadata '{field}'{src}: {message}")


@dataclass(frozen=True)
class Violation:
    """One SHACL result, translated into words."""

    record: str
    node: str
    property: str | None
    message: str
    shape_file: str | None
    severity: str = "Violation"
    value: str | None = None

    def __str__(self) -> str:
        prop = f", property {self.property}" if self.property else ""
        val = f" (value {self.value})" if self.value else ""
        shp = f" [shape file {self.shape_file}]" if self.shape_file else ""
        return f"{self.severity}: record {self.record}, node {self.node}{prop}: {self.message}{val}{shp}"


class ShapeViolation(BattkgError):
    """The record graph does not conform to the SHACL shapes."""

    def __init__(self, violations: list[Violation], *, source: str | None = None) -> None:
        self.violations = violations
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n  ".join(str(v) for v in violations)
        super().__init__(
            f"{head}record does not conform to the battkg shapes ({len(violations)} problem(s)):\n  {lines}"
        )


class StoreError(BattkgError):
    """The graph store or blob store cannot be opened, read or written."""

    exit_code = 2


class RecordNotFound(BattkgError):
    """No record with that identifier."""

    exit_code = 1


@dataclass
class DuplicateRecord(BattkgError):
    """Raised internally when an identical record already exists."""

    record_id: str
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"record {self.record_id} already exists (same raw file and options); nothing was changed"


class AccessDenied(BattkgError):
    """The caller's role or the record's access level forbids the operation."""

    exit_code = 2
