"""The contract between vendor-format readers and the shared record path.

Every reader module (``ingest/<technique>/<vendor>_<format>.py``) exposes

* ``READER = ReaderInfo(...)``: id, technique, suffixes and magic bytes, so
  detection is data and the module import stays cheap;
* ``read(path: Path, **options) -> ParsedFile``: heavy imports go inside it.

A reader knows nothing about RDF, HDF5 or the store.  It returns arrays with
their quantity key and unit (keys are the friendly JSON-LD keys of
``ontology/battkg.ttl``, units are pint unit strings), scalar quantities,
normalised metadata and every vendor key it did not map, verbatim, in
``raw_metadata``.  The technique module turns that into a record.

Quantity keys used by readers (all defined in ``ontology/battkg.ttl``):

===================  ====================================  ===============
key                  meaning                               typical unit
===================  ====================================  ===============
TwoTheta             scattering angle 2θ                   degree
DiffractionIntensity detector counts (or cps)              count, count/s
IntensityUncertainty standard uncertainty of the above     count
Wavelength           radiation wavelength                  angstrom
BindingEnergy        photoelectron binding energy          eV
KineticEnergy        photoelectron kinetic energy          eV
RamanShift           Raman shift                           1/cm
Wavenumber           IR wavenumber                         1/cm
SpectralIntensity    counts of a spectrum                  count
Absorbance           absorbance (dimensionless)            dimensionless
Transmittance        transmittance                         percent
Reflectance          reflectance                           percent
Time                 time                                  s
CellVoltage          cell voltage                          V
CellCurrent          cell current                          A
ChargingCapacity     charge capacity                       A*h
DischargingCapacity  discharge capacity                    A*h
CycleIndex           cycle number                          dimensionless
ThermodynamicTemperature temperature                       K
Frequency            frequency                             Hz
RealImpedance        Re(Z)                                 ohm
NegativeImaginaryImpedance −Im(Z)                          ohm
ImpedanceModulus     |Z|                                   ohm
ImpedancePhase       phase of Z                            degree
===================  ====================================  ===============
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

from battkg.errors import FormatError


@dataclass
class ArrayData:
    """One bulk array destined for HDF5 (never for the graph)."""

    name: str
    values: np.ndarray
    quantity: str
    unit: str
    description: str = ""


@dataclass
class ScalarQuantity:
    """One value with a unit, destined for the graph (value + unit node)."""

    quantity: str
    value: float
    unit: str
    label: str | None = None  # e.g. "Kα1" when several quantities share a class
    block: str | None = None  # set by the record path for block-level quantities


@dataclass
class Block:
    """A self-contained data block: one scan, one XPS region, one spectrum."""

    name: str
    arrays: list[ArrayData] = field(default_factory=list)
    quantities: list[ScalarQuantity] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def array(self, name: str) -> ArrayData:
        for arr in self.arrays:
            if arr.name == name:
                return arr
        raise KeyError(f"block {self.name!r} has no array {name!r}")


@dataclass
class ParsedFile:
    """What a reader returns: everything it understood and everything it kept.

    ``metadata`` uses these normalised keys where the file has them:
    ``sample_name``, ``operator``, ``instrument``, ``start_time`` and
    ``end_time`` (timezone-aware ``datetime`` when the file says so),
    ``comment``; technique-specific keys are documented by each reader.
    """

    format_id: str
    blocks: list[Block]
    quantities: list[ScalarQuantity] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    raw_metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_points(self) -> int:
        return sum(int(b.arrays[0].values.shape[-1]) for b in self.blocks if b.arrays)

    def start_time(self) -> datetime | None:
        value = self.metadata.get("start_time")
        return value if isinstance(value, datetime) else None


@dataclass(frozen=True)
class ReaderOption:
    """A setting a reader takes when the file cannot say it (``--reader-option NAME=VALUE`` on the CLI).

    ``name`` ending in ``.*`` takes a family of keys (``units.current=mA`` → ``{"units": {"current": "mA"}}``).
    """

    name: str
    kind: type  # int or str: the CLI converts the text it is given
    help: str

    def matches(self, key: str) -> bool:
        """Whether ``key`` (e.g. ``units.current``) is this option."""
        if self.name.endswith(".*"):
            prefix = self.name[:-1]
            return key.startswith(prefix) and len(key) > len(prefix)
        return key == self.name


@dataclass(frozen=True)
class ReaderInfo:
    """Declarative description of a reader, used for detection and listing."""

    id: str  # namespaced, e.g. "xrd.panalytical.xrdml"
    technique: str  # "xrd", "xps", ...
    suffixes: tuple[str, ...]
    description: str
    magic: tuple[bytes, ...] = ()  # prefixes of the file's first bytes
    # Optional content test on the first 64 KiB for formats without magic.
    sniff: Callable[[bytes], bool] | None = None
    # Container formats share their magic (every HDF5 file starts with the same 8 bytes): a reader with a
    # ``probe`` claims a magic match only when ``probe(path)`` finds its own marks inside the file (e.g. an
    # HDF5 attribute).  Called only after the magic matched; must return False, not raise, on other files.
    probe: Callable[[Path], bool] | None = None
    priority: int = 50  # lower wins when several readers claim a file
    media_type: str | None = None  # IANA media type of the raw file (else guessed from the suffix)
    options: tuple[ReaderOption, ...] = ()  # settings a user may give (see ReaderOption)
    # Further files this reader reads (keys of its technique's ``file_options``, e.g. an MD "topology"): any
    # other such file given is refused, so a record never names a file battkg did not read.
    file_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reader:
    info: ReaderInfo
    module: ModuleType

    def read(self, path: Path, **options: Any) -> ParsedFile:
        return self.module.read(Path(path), **options)


def readers_for(technique: str) -> list[Reader]:
    """All built-in readers of one technique (found by package scan)."""
    package = importlib.import_module(f"battkg.ingest.{technique}")
    found: list[Reader] = []
    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{mod.name}")
        info = getattr(module, "READER", None)
        if isinstance(info, ReaderInfo):
            found.append(Reader(info, module))
    return sorted(found, key=lambda r: (r.info.priority, r.info.id))


def parse_reader_options(technique: str, items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` texts → reader options, checked against what the technique's readers declare.

    An unknown name (a typo) or a value of the wrong kind raises MetadataError naming the option and
    the known ones; ``units.current=mA`` becomes ``{"units": {"current": "mA"}}``.
    """
    from battkg.errors import MetadataError

    declared = [(option, reader.info.id) for reader in readers_for(technique) for option in reader.info.options]
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise MetadataError("reader option", f"{item!r}: expected NAME=VALUE")
        found = next((option for option, _ in declared if option.matches(key)), None)
        if found is None:
            known = "; ".join(f"{o.name} ({reader}: {o.help})" for o, reader in declared) or "none"
            raise MetadataError("reader option", f"unknown reader option {key!r} for {technique}; known: {known}")
        value: Any = text
        if found.kind is int:
            try:
                value = int(text)
            except ValueError:
                raise MetadataError("reader option", f"{key}={text!r}: must be a whole number") from None
        if found.name.endswith(".*"):
            family, _, member = key.partition(".")
            options.setdefault(family, {})[member] = value
        else:
            options[key] = value
    return options


def _probe(info: ReaderInfo, path: Path) -> bool:
    """``info.probe(path)``, a file it cannot open counting as not its format."""
    try:
        return bool(info.probe(path)) if info.probe is not None else True
    except Exception:  # noqa: BLE001 - a probe looks at foreign files; any failure means "not mine"
        return False


def detect_reader(technique: str, path: Path, format_id: str | None = None) -> Reader:
    """Pick the reader for ``path``: by explicit id, then content, then suffix."""
    candidates = readers_for(technique)
    if format_id:
        for reader in candidates:
            if reader.info.id == format_id or reader.info.id.endswith("." + format_id):
                return reader
        known = ", ".join(r.info.id for r in candidates)
        raise FormatError(path, f"unknown format '{format_id}' for {technique}; known: {known}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise FormatError(path, f"cannot open file: {exc.strerror or exc}") from exc
    if not head:
        raise FormatError(path, "file is empty")
    suffix = "".join(Path(path).suffixes[-1:]).lower()
    by_magic = [r for r in candidates if r.info.magic and any(head.startswith(m) for m in r.info.magic)
                and (r.info.probe is None or _probe(r.info, path))]
    by_sniff = [r for r in candidates if r.info.sniff is not None and r.info.sniff(head)]
    for group in (by_magic, by_sniff):
        if group:
            # Prefer a content match that also agrees on the suffix.
            agreeing = [r for r in group if suffix in r.info.suffixes]
            return (agreeing or group)[0]
    by_suffix = [r for r in candidates if suffix in r.info.suffixes]
    if by_suffix:
        return by_suffix[0]
    known = ", ".join(f"{r.info.id} ({' '.join(r.info.suffixes)})" for r in candidates)
    raise FormatError(path, f"no {technique} reader recognises this file; known formats: {known}")
