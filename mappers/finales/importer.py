"""Import FINALES JSON into the store: one record (named graph) per FINALES object.

Guarantees (see also ``docs`` in the notes):

* **Per file, all or nothing.**  A file is read, every object checked, mapped and
  SHACL-validated before anything is written; its raw JSON (checksummed) and HDF5 arrays
  enter the blob store, then all its new records are written in one store transaction and its
  status changes in one SPARQL update.  A malformed file stores nothing (FormatError with the
  file and the JSON path); other files of the same import are unaffected.
* **Incremental.**  A record's IRI is a UUIDv5 of the object kind and its FINALES UUID.  The
  same object again (same UUID, same content apart from status and ctime) changes nothing; a
  changed broker status adds a ``FinalesStatusEvent`` and replaces the current status triple
  (the history is kept).  Same UUID with different content is refused for that object and
  reported (FINALES objects are immutable apart from their status).
* **Schema conformance is data.**  Requests (parameters) and results (parameters and data)
  are validated with ``jsonschema`` against the capability's registered schemas, from this
  import or from the store.  A non-conforming object is stored with record status
  ``invalid`` and the validation message (the broker accepted it); without a known
  capability the record says ``schemaChecked false``.
* A result whose request is not known (in the store or this import) is kept and flagged
  ``requestKnown false``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pyoxigraph as ox

from battkg import __version__
from battkg.arrays import write_blocks
from battkg.blobs import BlobTransaction, sha256_file
from battkg.errors import BattkgError, FormatError, ShapeViolation
from battkg.ontology import DATA, context, vocabulary
from battkg.record import RECORD_NAMESPACE, _iso, record_iri
from battkg.store import GraphBatch
from battkg.validation import validate_graph

from battkg.mappers.finales.load import KINDS, FinalesObject, LoadedFile, collect, load_file
from battkg.mappers.finales.mapping import FINALES, FormulationCache, Mapped, map_object, node_iri
from battkg.mappers.finales.schemas import SchemaRegistry

# Records per pySHACL call: one call per record costs ~3x more (per-call overhead), one call per
# 10 000-record file would hold ~1M triples in rdflib; violations still name their own record.
VALIDATION_CHUNK = 500


@dataclass
class ImportReport:
    """What one ``import_paths`` call did (counts per outcome, messages per file)."""

    files: int = 0
    created: int = 0
    unchanged: int = 0
    status_changes: int = 0
    invalid: int = 0
    unknown_requests: int = 0
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def objects(self) -> int:
        return self.created + self.unchanged + self.status_changes

    def add_time(self, key: str, seconds: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + seconds


@dataclass
class _Stored:
    digest: str
    status: str | None
    record_status: str
    schema_valid: bool | None


def record_id_for(obj: FinalesObject) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"finales\n{obj.kind}\n{obj.uuid}"))


def import_paths(repo: Any, paths: Iterable[Path], *, source: str | None = None, access: str = "public",
                 now: datetime | None = None, raise_errors: bool = False) -> ImportReport:
    """Import FINALES JSON files and directories (see the module docstring for the guarantees).

    ``source`` names where the files came from when it is not the files themselves (the broker
    URL of a sync).  With ``raise_errors`` the first bad file raises instead of being reported.
    """
    report = ImportReport()
    moment = now or datetime.now(timezone.utc)
    loaded: list[LoadedFile] = []
    t = time.perf_counter()
    for path, explicit in collect([Path(p) for p in paths]):
        try:
            item = load_file(path, strict=explicit)
        except BattkgError as exc:
            if raise_errors:
                raise
            report.errors.append(str(exc))
            continue
        if item.skipped:
            report.skipped.append((str(path), item.skipped))
        else:
            loaded.append(item)
    report.add_time("read", time.perf_counter() - t)
    # Capabilities first (their schemas validate the rest), then agents, requests, results.
    loaded.sort(key=lambda f: min(KINDS.index(o.kind) for o in f.objects))
    importer = _Importer(repo, moment, access, source, report)
    for item in loaded:
        try:
            importer.import_file(item)
        except BattkgError as exc:
            if raise_errors:
                raise
            report.errors.append(str(exc))
        report.files += 1
        item.objects = []  # a broker dump's parsed JSON is not kept until the last file is done
    return report


class _Importer:
    def __init__(self, repo: Any, now: datetime, access: str, source: str | None, report: ImportReport) -> None:
        self.repo = repo
        self.now = now
        self.access = access
        self.source = source
        self.report = report
        self.schemas = SchemaRegistry.from_store(repo)
        self.stored = _stored_state(repo)
        self.requests = _known_requests(repo)
        self.shared_graphs: set[str] = set()
        self.formulations: FormulationCache = {}

    # ------------------------------------------------------------------------------------ file
    def import_file(self, loaded: LoadedFile) -> None:
        t = time.perf_counter()
        raw_ref = sha256_file(loaded.path)
        new: list[tuple[FinalesObject, str, Mapped, dict[str, Any]]] = []
        updates: list[str] = []
        pending_state: dict[str, _Stored] = {}
        seen_in_file: dict[str, FinalesObject] = {}
        for obj in loaded.objects:
            if obj.kind == "capability":
                self.schemas.add(obj)
            if obj.kind == "request":
                self.requests.add(obj.uuid)
        for obj in loaded.objects:
            rid = record_id_for(obj)
            iri = record_iri(rid)
            stored = pending_state.get(iri) or self.stored.get(iri)
            if stored is None:
                if iri in seen_in_file:
                    continue  # listed twice in one file with the same status: one record
                seen_in_file[iri] = obj
                checked, message = self.schemas.check(obj)
                mapped = map_object(obj, self.schemas, self.formulations)
                record_info = {"rid": rid, "checked": checked, "message": message}
                new.append((obj, iri, mapped, record_info))
                pending_state[iri] = _Stored(obj.digest, obj.status, _record_status(obj, message), message is None)
            elif stored.digest != obj.digest:
                self.report.conflicts.append(
                    f"{obj.source}, field '{obj.json_path}': {obj.kind} {obj.uuid} is already stored with different "
                    "content; FINALES objects only change their status, so this copy was not imported")
            elif obj.status is not None and obj.status != stored.status:
                updates.append(self._status_update(obj, iri, stored))
                pending_state[iri] = _Stored(stored.digest, obj.status,
                                             _record_status(obj, None if stored.schema_valid is not False else "x"),
                                             stored.schema_valid)
                self.report.status_changes += 1
            else:
                self.report.unchanged += 1
        self.report.add_time("map", time.perf_counter() - t)
        if not new and not updates:
            return
        self._commit(loaded, raw_ref, new, updates)
        self.stored.update(pending_state)

    # ---------------------------------------------------------------------------------- commit
    def _commit(self, loaded: LoadedFile, raw_ref: Any, new: list[tuple[FinalesObject, str, Mapped, dict[str, Any]]],
                updates: list[str]) -> None:
        t = time.perf_counter()
        blocks = [block for _, _, mapped, _ in new for block in mapped.blocks]
        staged = self.repo.blobs.staging_path(".h5") if blocks else None
        blobs = BlobTransaction(self.repo.blobs)
        added_shared: set[str] = set()
        try:
            arrays_ref, arrays = None, []
            if staged is not None:
                arrays = write_blocks(staged, blocks, attrs={"battkg_source": loaded.path.name, "format": "finales"})
                arrays_ref = sha256_file(staged)
            self.report.add_time("build", time.perf_counter() - t)
            where = {iri: f"{obj.kind} {obj.uuid} at {obj.json_path}" for obj, iri, _, _ in new}
            batch = GraphBatch()
            for start in range(0, len(new), VALIDATION_CHUNK):
                # Build, parse and SHACL-check a chunk of records at a time: a 10 000-record file's
                # JSON-LD, quads and rdflib graphs are never held at once, only its N-Quads bytes
                # until the one write below (a quarter of the memory of pyoxigraph Quad objects).
                t = time.perf_counter()
                graphs = []
                for obj, iri, mapped, info in new[start:start + VALIDATION_CHUNK]:
                    for shared_iri, shared_nodes in mapped.shared.items():
                        if shared_iri not in self.shared_graphs and not self.repo.graphs.has_graph(shared_iri):
                            graphs.append({"@id": shared_iri, "@graph": shared_nodes})
                            added_shared.add(shared_iri)
                        self.shared_graphs.add(shared_iri)
                    graphs.append({"@id": iri, "@graph": self._record_nodes(obj, iri, mapped, info, loaded, raw_ref,
                                                                            arrays_ref, arrays)})
                    mapped.nodes = []  # now in ``graphs``; only the quads are kept
                chunk: dict[str, list[ox.Quad]] = {}
                for quad in _parse({"@context": context(), "@graph": graphs}, loaded.path):
                    chunk.setdefault(quad.graph_name.value, []).append(quad)
                del graphs
                self.report.add_time("build", time.perf_counter() - t)
                t = time.perf_counter()
                self._validate(chunk, where, loaded)
                self.report.add_time("shacl", time.perf_counter() - t)
                t = time.perf_counter()
                batch.add(chunk)
                del chunk
                self.report.add_time("build", time.perf_counter() - t)
            t = time.perf_counter()
            if new:
                blobs.put_file(loaded.path, expected=raw_ref.sha256)
            if staged is not None:
                blobs.adopt(staged, arrays_ref)
            if batch.names:
                self.repo.graphs.put_graphs(batch)
            if updates:
                try:
                    self.repo.graphs.update(" ;\n".join(updates))
                except BaseException:
                    names = batch.names  # keep the file all-or-nothing
                    for begin in range(0, len(names), 1000):
                        self.repo.graphs.update(" ;\n".join(f"DROP SILENT GRAPH <{name}>"
                                                             for name in names[begin:begin + 1000]))
                    raise
            self.report.add_time("commit", time.perf_counter() - t)
        except BaseException:
            self.shared_graphs.difference_update(added_shared)  # not written after all
            if staged is not None:
                staged.unlink(missing_ok=True)
            blobs.rollback()
            raise
        for obj, _, mapped, info in new:
            self.report.created += 1
            self.report.warnings += [f"{obj.source} {obj.json_path}: {w}" for w in mapped.warnings]
            if info["message"]:
                self.report.invalid += 1
            if obj.kind == "result" and obj.body.get("request_uuid") and obj.body["request_uuid"] not in self.requests:
                self.report.unknown_requests += 1

    def _validate(self, graphs: dict[str, list[ox.Quad]], where: dict[str, str], loaded: LoadedFile) -> None:
        """SHACL-check several record graphs in one pySHACL run; a violation names its record and
        the FINALES object and JSON path (``where``) it came from (the caller refuses the file)."""
        names = list(graphs)
        try:
            validate_graph([q for g in names for q in graphs[g]],
                           names[0] if len(names) == 1 else f"(one of {len(names)} FINALES records of {loaded.path.name})",
                           source=str(loaded.path))
        except ShapeViolation as exc:
            named = [replace(v, record=f"{v.record} ({where[v.record]})") if v.record in where else v
                     for v in exc.violations]
            raise ShapeViolation(named, source=str(loaded.path)) from None

    def _record_nodes(self, obj: FinalesObject, iri: str, mapped: Mapped, info: dict[str, Any], loaded: LoadedFile,
                      raw_ref: Any, arrays_ref: Any, arrays: list[Any]) -> list[dict[str, Any]]:
        node = mapped.node
        nodes = list(mapped.nodes)
        software_id = f"{DATA}software/battkg/{__version__}"
        raw_id = f"{DATA}blob/{raw_ref.sha256}"
        where = self.source or str(loaded.path)
        if obj.kind in ("request", "result"):
            activity_id = node["@id"]
        else:  # tenants, capabilities: the record describes their registration at the broker
            activity_id = f"{iri}#registration"
            nodes.append({"@id": activity_id, "@type": ["FinalesRegistration", "Activity"],
                          "label": f"registration of {obj.kind} {node.get('label', obj.uuid)} at the FINALES broker",
                          "generated": node["@id"]})
        if obj.ctime:
            node["ctime"] = obj.ctime
            if obj.kind == "request":
                node["startedAtTime"] = obj.ctime
        if obj.uuid_derived:
            node["uuidDerived"] = True
        if obj.status is not None:
            node["brokerStatus"] = obj.status
            nodes.append({"@id": f"{iri}#status-0", "@type": ["FinalesStatusEvent", "StatusEvent", "Activity"],
                          "brokerStatus": obj.status, "statusTime": obj.ctime or _iso(self.now),
                          "statusReason": f"status when first imported from {where}"})
        warnings = list(mapped.warnings)
        if obj.kind == "result":
            request_uuid = obj.body.get("request_uuid") or ""
            known = bool(request_uuid) and request_uuid in self.requests
            node["requestKnown"] = known
            if not request_uuid:
                node["unsolicited"] = True
            elif not known:
                warnings.append(f"request {request_uuid} is not known (not in the store or this import): result kept")
        distributions = [raw_id]
        nodes.append({"@id": raw_id, "@type": ["Distribution", "Entity"], "label": loaded.path.name,
                      "originalFileName": loaded.path.name, "sha256": raw_ref.sha256, "byteSize": raw_ref.size,
                      "mediaType": "application/json", "formatId": "finales.json"})
        own_blocks = {b.name for b in mapped.blocks}
        if arrays_ref is not None and own_blocks:
            vocab = vocabulary()
            arrays_id = f"{DATA}blob/{arrays_ref.sha256}"
            described = [a for a in arrays if a.block in own_blocks]
            nodes.append({"@id": arrays_id, "@type": ["Distribution", "Entity"], "label": f"{loaded.path.name}.h5",
                          "sha256": arrays_ref.sha256, "byteSize": arrays_ref.size, "mediaType": "application/x-hdf5",
                          "wasDerivedFrom": raw_id,
                          "hasArray": [{"@id": f"{iri}#array-{a.block}-{a.name}", "@type": "DataArray",
                                        "label": a.name, "hdf5Path": a.hdf5_path, "quantityKind": a.quantity,
                                        "hasMeasurementUnit": vocab.unit_key_for_pint(a.unit), "shape":
                                        ",".join(str(n) for n in a.shape), "dtype": a.dtype, "block": a.block}
                                       for a in described]})
            distributions.append(arrays_id)
        ingest_id = f"{iri}#ingest"
        nodes += [
            {"@id": software_id, "@type": ["SoftwareAgent", "Agent"], "label": "battkg", "softwareVersion": __version__},
            {"@id": ingest_id, "@type": ["IngestActivity", "Activity"], "used": raw_id,
             "wasAssociatedWith": software_id, "startedAtTime": _iso(self.now),
             "ingestOptions": {"source": where, "jsonPath": obj.json_path}},
        ]
        record: dict[str, Any] = {
            "@id": iri, "@type": ["Record", "DcatDataset", "Entity"], "title": mapped.title,
            "identifier": info["rid"], "created": _iso(self.now), "technique": "finales",
            "status": _record_status(obj, info["message"]), "accessLevel": self.access,
            "describes": activity_id, "distribution": distributions, "wasGeneratedBy": ingest_id,
            "wasAttributedTo": software_id, "finalesObject": node["@id"], "finalesKind": obj.kind,
            "contentDigest": obj.digest, "jsonPath": obj.json_path, "importedFrom": where,
            "schemaChecked": info["checked"],
        }
        if obj.status is not None:
            record["hasStatusEvent"] = f"{iri}#status-0"
        if info["checked"]:
            record["schemaValid"] = info["message"] is None
        if info["message"]:
            record["validationMessage"] = info["message"]
            record["statusReason"] = f"does not conform to the capability's JSON Schema: {info['message']}"
        if mapped.success is not None:
            record["success"] = mapped.success
        if mapped.rating is not None and 1 <= mapped.rating <= 5:  # battkg ratings are 1-5; FINALES 0 stays on the node
            record["rating"] = mapped.rating
        if warnings:
            record["ingestWarning"] = warnings
        return [record, *nodes]

    def _status_update(self, obj: FinalesObject, iri: str, stored: _Stored) -> str:
        node = f"<{node_iri(obj.kind, obj.uuid)}>"
        event = f"<{iri}#status-{uuid.uuid4().hex[:12]}>"
        when = obj.ctime if obj.kind == "result" and obj.ctime else _iso(self.now).split("+")[0]
        reason = ox.Literal(f"broker status {stored.status} -> {obj.status} (seen in {self.source or obj.source})")
        new_record_status = _record_status(obj, None if stored.schema_valid is not False else "non-conforming")
        fin = FINALES
        return f"""
            DELETE {{ GRAPH <{iri}> {{ {node} <{fin}brokerStatus> ?old . <{iri}> battkg:status ?rs }} }}
            INSERT {{ GRAPH <{iri}> {{ {node} <{fin}brokerStatus> {ox.Literal(obj.status)} .
                <{iri}> battkg:status "{new_record_status}" ; battkg:hasStatusEvent {event} .
                {event} a <{fin}FinalesStatusEvent>, battkg:StatusEvent, prov:Activity ;
                    <{fin}brokerStatus> {ox.Literal(obj.status)} ; <{fin}previousBrokerStatus> ?old ;
                    battkg:statusReason {reason} ; battkg:statusTime "{when}"^^xsd:dateTime }} }}
            WHERE {{ GRAPH <{iri}> {{ {node} <{fin}brokerStatus> ?old . <{iri}> battkg:status ?rs }} }}"""


def _record_status(obj: FinalesObject, message: str | None) -> str:
    if obj.status == "deleted":
        return "deleted"
    return "invalid" if message else "active"


def _parse(document: dict[str, Any], path: Path) -> list[ox.Quad]:
    data = json.dumps(document).encode()
    try:
        return list(ox.parse(data, format=ox.RdfFormat.JSON_LD))
    except SyntaxError as exc:  # a mapping bug, not a user error: say where
        raise FormatError(path, f"internal JSON-LD error while mapping: {exc}", reader="finales") from exc


def _stored_state(repo: Any) -> dict[str, _Stored]:
    rows = repo.graphs.query(f"""
        SELECT ?record ?digest ?status ?rs ?valid WHERE {{
          ?record <{FINALES}contentDigest> ?digest ; <{FINALES}finalesObject> ?node ; battkg:status ?rs .
          OPTIONAL {{ ?node <{FINALES}brokerStatus> ?status }}
          OPTIONAL {{ ?record <{FINALES}schemaValid> ?valid }} }}""")
    return {r["record"].value: _Stored(r["digest"].value, r["status"].value if r["status"] else None, r["rs"].value,
                                       None if r["valid"] is None else r["valid"].value == "true") for r in rows}


def _known_requests(repo: Any) -> set[str]:
    rows = repo.graphs.query(f"SELECT ?u WHERE {{ ?r a <{FINALES}FinalesRequest> ; <{FINALES}finalesUuid> ?u }}")
    return {r["u"].value for r in rows}
