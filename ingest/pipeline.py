"""The one ingest path every technique uses.

Order matters for atomicity (nothing half-written on any failure):

1. the raw file, and any further file the technique takes (an MD topology or energy file), is copied
   into the blob store's staging area, checksummed while it is copied (its only read) → deterministic
   record id; an existing record → "exists", the copies are removed;
2. detect the reader and parse the staged copies (FormatError on bad input, naming the user's file);
3. the technique checks and derives; user metadata is merged (the file wins, conflicts are reported);
4. arrays are written to a *staged* HDF5 file (not yet in the blob store);
5. the JSON-LD record is built, parsed to quads and SHACL-validated (ShapeViolation);
6. only now blobs enter the store (the staged copies — the bytes that were parsed — and the HDF5),
   tracked by a BlobTransaction; a raw file or copy whose size or modification time changed since it
   was copied is refused ("changed while it was being ingested");
7. the named graph is written in one transaction; if that fails, the blobs this ingest added are removed.
"""

from __future__ import annotations

import json
import mimetypes
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from battkg.arrays import ArrayDescription, ChunkWriter, write_blocks
from battkg.blobs import BlobRef, BlobTransaction, StagedFile, sha256_file
from battkg.errors import BattkgError, FormatError, MetadataError
from battkg.readers import ParsedFile, ScalarQuantity, detect_reader
from battkg.record import CompanionFile, RecordInputs, build_record, compute_record_id, jsonld_to_quads, record_iri
from battkg.store import Repository
from battkg.validation import validate_graph

from battkg.ingest.technique import Derived, Technique, UserMetadata, parse_conditions, technique


# Above this size the raw file is hashed before it is staged, so re-ingesting an existing record reads it
# once and writes nothing; a new file of this size is then read twice (hash, then copy + hash).
HASH_BEFORE_STAGING_BYTES = 256 << 20


@dataclass
class IngestResult:
    record_id: str
    record_iri: str
    created: bool  # False when the identical record already existed
    path: Path
    format_id: str | None = None
    n_triples: int = 0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _merge_quantities(from_file: list[ScalarQuantity], from_user: list[ScalarQuantity],
                      warnings: list[str], from_blocks: list[ScalarQuantity] | None = None) -> list[ScalarQuantity]:
    """File values win over user defaults; a disagreement is reported, not silently dropped.

    ``from_blocks`` are per-block statements of the file (e.g. the X-ray energy of each XPS
    region): they are kept by the caller, and a user value for the same quantity is dropped.
    """
    from battkg.units import convert

    merged = list(from_file)
    for user_q in from_user:
        same = [q for q in [*from_file, *(from_blocks or [])]
                if q.quantity == user_q.quantity and (q.label or "") == (user_q.label or "")]
        if not same:
            merged.append(user_q)
            continue
        file_q = same[0]
        try:
            in_file_unit = float(convert(user_q.value, user_q.unit, file_q.unit))
        except MetadataError:
            in_file_unit = float("nan")
        if not abs(in_file_unit - file_q.value) <= 1e-6 * max(1.0, abs(file_q.value)):
            warnings.append(
                f"conflict: {user_q.quantity}{' ' + user_q.label if user_q.label else ''} given as "
                f"{user_q.value} {user_q.unit}, but the file says {file_q.value} {file_q.unit}; the file's value is kept"
            )
    return merged


def _metadata_conflicts(parsed: ParsedFile, user: UserMetadata, warnings: list[str]) -> None:
    for key, given in (("sample_name", user.sample), ("operator", user.operator), ("instrument", user.instrument)):
        in_file = parsed.metadata.get(key)
        if given and in_file and str(in_file).strip() != str(given).strip():
            warnings.append(f"note: the file names {key.replace('_', ' ')} {in_file!r}; the record uses {given!r} as given")


def ingest_file(
    repo: Repository,
    technique_key: str,
    path: Path,
    user: UserMetadata,
    *,
    format_id: str | None = None,
    reader_options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest one file as one record; see the module docstring for the guarantees."""
    path = Path(path)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if not path.is_file():
        raise FormatError(path, "no such file")
    tech = technique(technique_key)
    companions = stage_companion_files(repo, tech, reader_options or {})
    try:
        return _ingest_staged(repo, tech, technique_key, path, user, companions, timings, t0, format_id=format_id,
                              reader_options=reader_options or {}, now=now)
    finally:
        for _, staged_companion in companions.values():
            staged_companion.discard()


def _ingest_staged(repo: Repository, tech: Technique, technique_key: str, path: Path, user: UserMetadata,
                   companions: dict[str, tuple[CompanionFile, StagedFile]], timings: dict[str, float], t0: float, *,
                   format_id: str | None, reader_options: dict[str, Any], now: datetime | None) -> IngestResult:
    """:func:`ingest_file` once the further files are staged: stage the raw file, parse, store."""
    options = {"user": user.identity_options(), "format": format_id,
               "reader": _identity_reader_options(reader_options, companions)}
    if path.stat().st_size > HASH_BEFORE_STAGING_BYTES:
        # A large file (an MD trajectory) that may already be a record: one read answers that, where
        # staging would write a copy of it only to remove it again.
        existing = compute_record_id(technique_key, sha256_file(path).sha256, options)
        if repo.graphs.has_graph(record_iri(existing)):
            return IngestResult(existing, record_iri(existing), False, path)
    t = time.perf_counter()
    raw = repo.blobs.stage_file(path)  # the one read of the raw file: copy + checksum
    timings["checksum"] = time.perf_counter() - t
    staged_files = [raw, *(staged for _, staged in companions.values())]
    # The reader parses the staged copies, which are what gets stored.
    read_options = {**reader_options, **{key: staged.path for key, (_, staged) in companions.items()}}
    try:
        raw_ref = raw.ref
        record_id = compute_record_id(technique_key, raw_ref.sha256, options)
        iri = record_iri(record_id)
        if repo.graphs.has_graph(iri):
            return IngestResult(record_id, iri, False, path)

        t = time.perf_counter()
        try:
            reader = detect_reader(technique_key, raw.path, format_id)
            for key, (_, staged_companion) in companions.items():
                if key not in reader.info.file_options:
                    takes = ", ".join(reader.info.file_options) or "no further files"
                    raise FormatError(staged_companion.source, f"the {reader.info.id} reader "
                                      f"({reader.info.description}) does not read {key} files; it takes {takes}",
                                      field=key, reader=reader.info.id)
            parsed = reader.read(raw.path, **read_options)
        except BattkgError as exc:
            _name_user_files(exc, staged_files)
            raise
        for staged_file in staged_files:
            parsed.warnings[:] = [w.replace(str(staged_file.path), str(staged_file.source)) for w in parsed.warnings]
        timings["parse"] = time.perf_counter() - t

        staged = repo.blobs.staging_path(".h5")
        blobs = BlobTransaction(repo.blobs)
        try:
            with ChunkWriter() as chunk_writer:
                if tech.compress_while_deriving:
                    chunk_writer.precompress(parsed.blocks)  # on other cores, while the checks and derive() run
                t = time.perf_counter()
                prepared = prepare_record(tech, parsed, user, path)
                parsed, warnings = prepared.parsed, prepared.warnings
                timings["derive"] = time.perf_counter() - t
                t = time.perf_counter()
                arrays = write_blocks(staged, parsed.blocks, attrs={"battkg_record": record_id,
                                                                    "format": reader.info.id},
                                      chunk_writer=chunk_writer)
            arrays_ref = sha256_file(staged)
            timings["hdf5"] = time.perf_counter() - t

            start, end = parsed.metadata.get("start_time"), parsed.metadata.get("end_time")
            inputs = record_inputs(
                tech, technique_key, record_id, prepared, user, path,
                title=tech.title(parsed, user, path), raw=raw_ref, raw_name=path.name,
                raw_media_type=(reader.info.media_type or mimetypes.guess_type(path.name)[0]
                                or "application/octet-stream"),
                format_id=reader.info.id, arrays_blob=arrays_ref, arrays=arrays,
                started=start if isinstance(start, datetime) else None,
                ended=end if isinstance(end, datetime) else None,
                options=options, raw_metadata=parsed.raw_metadata, now=now)
            inputs.companion_files = [companion for companion, _ in companions.values()]

            def add_blobs() -> None:
                for staged_file in staged_files:  # the parsed copies, not a second read of the user's files
                    blobs.adopt_staged(staged_file)
                blobs.adopt(staged, arrays_ref)

            n_triples = validate_and_commit(repo, inputs, iri, source=str(path), add_blobs=add_blobs,
                                            timings=timings)
        except BaseException:
            staged.unlink(missing_ok=True)
            blobs.rollback()
            raise
    finally:
        raw.discard()
    timings["total"] = time.perf_counter() - t0
    return IngestResult(record_id, iri, True, path, reader.info.id, n_triples, warnings, timings)


def _name_user_files(exc: BattkgError, staged_files: list[StagedFile]) -> None:
    """Make an error a reader raised about staged copies name the user's files instead (in place)."""
    for staged_file in staged_files:
        staged, given = str(staged_file.path), str(staged_file.source)
        exc.args = tuple(a.replace(staged, given) if isinstance(a, str) else a for a in exc.args)
        for attribute in ("path", "source", "message"):
            value = getattr(exc, attribute, None)
            if isinstance(value, str) and staged in value:
                setattr(exc, attribute, value.replace(staged, given))


def stage_companion_files(repo: Repository, tech: Technique,
                          reader_options: dict[str, Any]) -> dict[str, tuple[CompanionFile, StagedFile]]:
    """The further files the reader options name (``tech.file_options``: an MD topology, an energy file),
    each copied into the staging area and checksummed in one read, as the raw file is: the reader parses
    the copy, the record names it and the store adopts it; option -> (description, staged copy).
    The caller discards the copies."""
    found: dict[str, tuple[CompanionFile, StagedFile]] = {}
    try:
        for key, relation in tech.file_options.items():
            if reader_options.get(key) is None:
                continue
            given = Path(reader_options[key])
            if not given.is_file():
                raise FormatError(given, "no such file", field=key)
            staged = repo.blobs.stage_file(given)
            media_type = mimetypes.guess_type(given.name)[0] or "application/octet-stream"
            found[key] = (CompanionFile(key, staged.ref, given.name, media_type, relation), staged)
    except BaseException:
        for _, staged in found.values():
            staged.discard()
        raise
    return found


def _identity_reader_options(reader_options: dict[str, Any],
                             companions: dict[str, tuple[CompanionFile, StagedFile]]) -> dict[str, Any]:
    """Reader options as they decide the record id: a further file (``tech.file_options``) by checksum.

    The path of a topology says where it was, not what it is: the same trajectory and topology ingested
    from another directory is the same record, and an edited topology is another one."""
    out = dict(reader_options)
    for key, (companion, _) in companions.items():
        out[key] = {"sha256": companion.ref.sha256}
    return out


@dataclass
class PreparedRecord:
    """A parsed file after the technique's checks and derivations, with the user's metadata merged."""

    parsed: ParsedFile
    derived: Derived
    sample: str
    parameters: list[ScalarQuantity]
    warnings: list[str]


def prepare_record(tech: Technique, parsed: ParsedFile, user: UserMetadata, path: Path) -> PreparedRecord:
    """Technique check and derive, metadata merge (the file wins, conflicts reported), the sample name.

    Shared by :func:`ingest_file` and the operando series (for its first member)."""
    warnings = list(parsed.warnings)
    tech.check(parsed, user, path)
    derived = tech.derive(parsed, user)
    warnings += derived.warnings
    parsed = tech.for_record(parsed, user)
    _metadata_conflicts(parsed, user, warnings)
    sample = user.sample or parsed.metadata.get("sample_name")
    if not sample:
        raise MetadataError("sample", "no sample name: give --sample (the file does not name one)", source=str(path))
    parameters = _merge_quantities(list(parsed.quantities), list(user.quantities), warnings,
                                   [q for block in parsed.blocks for q in block.quantities])
    for block in parsed.blocks:
        for quantity in block.quantities:
            parameters.append(ScalarQuantity(quantity.quantity, quantity.value, quantity.unit, quantity.label,
                                             block=block.name))
    parameters += derived.parameters
    return PreparedRecord(parsed, derived, str(sample), parameters, warnings)


def record_inputs(tech: Technique, technique_key: str, record_id: str, prepared: PreparedRecord,
                  user: UserMetadata, path: Path, *, title: str, raw: BlobRef, raw_name: str, raw_media_type: str,
                  format_id: str, arrays_blob: BlobRef | None, arrays: list[ArrayDescription],
                  started: datetime | None, ended: datetime | None, options: dict[str, Any],
                  raw_metadata: dict[str, Any], now: datetime | None = None) -> RecordInputs:
    """The record's inputs: what the technique, the user and the derivation say (the same for every
    kind of ingest), plus the file-specific parts given as arguments."""
    parsed, derived = prepared.parsed, prepared.derived
    return RecordInputs(
        technique=technique_key, record_id=record_id, title=title,
        activity_types=tech.types_for(parsed, user), observables=list(tech.observables), sample=prepared.sample,
        material=user.material, operator=user.operator or parsed.metadata.get("operator"),
        instrument=user.instrument or parsed.metadata.get("instrument"), access=user.access,
        success=user.success, rating=user.rating, parameters=prepared.parameters, outputs=derived.outputs,
        raw=raw, raw_name=raw_name, raw_media_type=raw_media_type, format_id=format_id,
        arrays_blob=arrays_blob, arrays=arrays, started=started, ended=ended, options=options,
        raw_metadata=raw_metadata, extra_activity=derived.activity, warnings=prepared.warnings,
        revises=user.revises, created=now or datetime.now(timezone.utc), process_types=tech.process_types,
        sample_key=tech.sample_key, parameter_key=tech.parameter_key, parameter_kinds=tech.parameter_kinds,
        conditions=parse_conditions(user.conditions, source=str(path)), analyses=derived.analyses,
        sample_extra=derived.sample, extra_nodes=derived.nodes,
    )


def validate_and_commit(repo: Repository, inputs: RecordInputs, iri: str, *, source: str,
                        add_blobs: Callable[[], None], timings: dict[str, float]) -> int:
    """JSON-LD → quads → SHACL; only then the blobs (``add_blobs``, tracked by the caller's
    BlobTransaction) and the named graph in one write. Returns the number of quads."""
    t = time.perf_counter()
    document = build_record(inputs)
    timings["build"] = time.perf_counter() - t
    t = time.perf_counter()
    quads = jsonld_to_quads(document, iri)
    timings["jsonld_to_rdf"] = time.perf_counter() - t
    t = time.perf_counter()
    validate_graph(quads, iri, source=source)
    timings["shacl"] = time.perf_counter() - t
    t = time.perf_counter()
    add_blobs()
    repo.graphs.put_graph(iri, quads)
    timings["commit"] = time.perf_counter() - t
    return len(quads)


def load_sidecar(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON sidecar metadata file (see README: "Metadata files")."""
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ModuleNotFoundError as exc:  # pragma: no cover - pyyaml is a dependency
            raise MetadataError("sidecar", "PyYAML is needed to read YAML metadata files") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MetadataError("sidecar", f"not valid YAML: {exc}", source=str(path)) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetadataError("sidecar", f"not valid JSON: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise MetadataError("sidecar", "must be a mapping of field names to values", source=str(path))
    return data


SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")
COMMON_FIELDS = ("sample", "material", "operator", "instrument", "access", "success", "rating", "title",
                 "conditions", "revises")


def user_metadata(technique_key: str, path: Path, overrides: dict[str, Any] | None = None,
                  meta_file: Path | None = None) -> UserMetadata:
    """What the user says about ``path``: its sidecar, overridden by explicit values (CLI options, form fields).

    The sidecar is ``meta_file`` if given, else ``<file>.meta.json`` / ``.meta.yaml`` beside the file.
    Known fields are the common ones plus the technique's ``user_quantities`` (e.g. XRD ``wavelength`` in Å).
    """
    tech = technique(technique_key)
    sidecar: dict[str, Any] = {}
    source = None
    candidates = [meta_file] if meta_file else [path.with_name(path.name + s) for s in SIDECAR_SUFFIXES]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            sidecar, source = load_sidecar(candidate), str(candidate)
            break
    known = set(COMMON_FIELDS) | set(tech.user_quantities) | set(tech.user_fields)
    unknown = set(sidecar) - known
    if unknown:
        raise MetadataError(", ".join(sorted(unknown)), f"unknown field(s); known: {', '.join(sorted(known))}",
                            source=source)
    merged = {**sidecar, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    if isinstance(sidecar.get("conditions"), dict) and isinstance((overrides or {}).get("conditions"), dict):
        merged["conditions"] = {**sidecar["conditions"], **overrides["conditions"]}  # per key: explicit wins
    quantities = []
    for name, (quantity, unit, role) in tech.user_quantities.items():
        if merged.get(name) is None:
            continue
        try:
            quantities.append(ScalarQuantity(quantity, float(merged[name]), unit, role))
        except (TypeError, ValueError):
            raise MetadataError(name, f"must be a number in {unit} (got {merged[name]!r})", source=source) from None
    fields: dict[str, str] = {}
    for name, allowed in tech.user_fields.items():
        if merged.get(name) is None:
            continue
        # Structured values (an MD formulation: a list of components) travel as canonical JSON text.
        value = (json.dumps(merged[name], sort_keys=True) if isinstance(merged[name], (list, dict))
                 else str(merged[name]).strip())
        if allowed is not None:
            value = value.lower()
            if value not in allowed:
                raise MetadataError(name, f"must be one of {', '.join(allowed)} (got {merged[name]!r})",
                                    source=source)
        fields[name] = value
    rating = merged.get("rating")
    try:
        rating = int(rating) if rating is not None else None
    except (TypeError, ValueError):
        raise MetadataError("rating", f"must be an integer from 1 to 5 (got {rating!r})", source=source) from None
    parse_conditions(merged.get("conditions"), source=source)  # refuse bad conditions before any parsing
    return UserMetadata(
        sample=merged.get("sample"), material=merged.get("material"), operator=merged.get("operator"),
        instrument=merged.get("instrument"), access=merged.get("access") or "public",
        success=merged.get("success"), rating=rating, title=merged.get("title"), quantities=quantities,
        conditions=merged.get("conditions") or {}, revises=merged.get("revises"), fields=fields,
    )
