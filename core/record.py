"""The record: one ingest = one JSON-LD document = one named graph.

:func:`build_record` turns what a reader parsed plus what the user said into a
JSON-LD document that uses the friendly keys of ``ontology/context.jsonld``.
The shape of a record::

    Record (battkg:Record, dcat:Dataset)  ── the named graph's own IRI
      ├─ describes → measurement activity (technique class, CharacterisationMeasurementProcess, prov:Activity)
      │     ├─ hasMeasurementSample → Sample ── hasMaterial → material (chemical-substance class)
      │     ├─ hasOperator → Operator (ORCID IRI)     ├─ hasInstrument → instrument
      │     ├─ hasMeasurementParameter → quantity (value + unit, canonical; original kept)
      │     ├─ hasOutput → derived quantity           └─ hasObservable → observable classes
      ├─ distribution → raw file (sha256, size, media type), arrays file (HDF5) ── hasArray → DataArray
      ├─ wasGeneratedBy → IngestActivity (used raw file, wasAssociatedWith battkg SoftwareAgent + version)
      └─ status / accessLevel / success / rating / wasRevisionOf

Record IRIs are deterministic: UUIDv5 of technique, raw-file SHA-256 and the
canonical JSON of the ingest options, so re-ingesting the same file with the
same options finds the existing record.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyoxigraph as ox

from battkg import __version__
from battkg.arrays import ArrayDescription
from battkg.blobs import BlobRef
from battkg.errors import MetadataError
from battkg.ontology import DATA, context, vocabulary
from battkg.readers import ScalarQuantity
from battkg.units import convert, parse_unit

RECORD_NAMESPACE = uuid.UUID("5b0e4c1e-2f7a-5d4e-9c39-6a1f2b7c8d90")
RECORD_BASE = DATA + "record/"
ACCESS_LEVELS = ("public", "restricted", "confidential")
STATUSES = ("active", "deleted", "invalid")
ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


def record_iri(record_id: str) -> str:
    return RECORD_BASE + record_id


def record_id_of(iri_or_id: str) -> str:
    """Accept a full record IRI or the bare id; return the bare id."""
    return iri_or_id[len(RECORD_BASE):] if iri_or_id.startswith(RECORD_BASE) else iri_or_id


def compute_record_id(technique: str, raw_sha256: str, options: dict[str, Any]) -> str:
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{technique}\n{raw_sha256}\n{canonical}"))


def slug(text: str) -> str:
    """A stable IRI path segment for a name (sample, instrument, person)."""
    cleaned = re.sub(r"[^A-Za-z0-9._~-]+", "-", text.strip()).strip("-")
    return cleaned or uuid.uuid5(RECORD_NAMESPACE, text).hex


def orcid_iri(value: str) -> str | None:
    """Normalise an ORCID iD (bare or as URL) and check its ISO 7064 checksum."""
    match = ORCID.match(value.strip())
    if not match:
        return None
    digits = match.group(1).replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[-1] != expected:
        raise MetadataError("operator", f"{value!r} is not a valid ORCID iD (checksum digit should be {expected})")
    return f"https://orcid.org/{match.group(1)}"


def operator_node(value: str) -> dict[str, Any]:
    orcid = orcid_iri(value)
    if orcid:
        return {"@id": orcid, "@type": ["Operator", "Person", "Agent"], "identifier": orcid}
    if value.startswith(("http://", "https://")):
        raise MetadataError("operator", f"{value!r}: give an ORCID iD (https://orcid.org/...) or a person's name")
    return {"@id": f"{DATA}person/{slug(value)}", "@type": ["Operator", "Person", "Agent"], "label": value.strip()}


@dataclass(frozen=True)
class CompanionFile:
    """A further file of the same run, kept as a blob beside the raw file (an MD topology, an energy file)."""

    role: str  # the reader option that named it: "topology", "energies"
    ref: BlobRef
    name: str  # original file name
    media_type: str
    relation: str  # "input": the process used it; "output": the process generated it


@dataclass
class RecordInputs:
    """Everything that goes into one record besides the arrays themselves."""

    technique: str
    record_id: str
    title: str
    activity_types: list[str]  # context keys
    observables: list[str]  # context keys
    sample: str
    material: str | None
    operator: str | None
    instrument: str | None
    access: str
    success: bool | None
    rating: int | None
    parameters: list[ScalarQuantity]  # measurement parameters (file + user)
    outputs: list[ScalarQuantity]  # derived results
    raw: BlobRef
    raw_name: str
    raw_media_type: str
    format_id: str
    arrays_blob: BlobRef | None
    arrays: list[ArrayDescription]
    started: datetime | None
    ended: datetime | None
    options: dict[str, Any]
    raw_metadata: dict[str, Any]
    extra_activity: dict[str, Any] = field(default_factory=dict)  # technique-specific keys (anode, ...)
    warnings: list[str] = field(default_factory=list)
    revises: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    process_types: tuple[str, ...] = ("CharacterisationMeasurementProcess",)  # simulations override
    # How the activity links its sample and parameters: a simulation has no measurement sample
    # (EMMO hasSimulatedObject) and its settings are inputs (EMMO hasInput), not MeasurementParameters.
    sample_key: str = "hasMeasurementSample"
    parameter_key: str = "hasMeasurementParameter"
    parameter_kinds: tuple[str, ...] = ("MeasurementParameter", "ConventionalProperty")
    conditions: Any = None  # battkg.ingest.technique.Conditions: the characterisation environment
    analyses: list[Any] = field(default_factory=list)  # battkg.ingest.technique.Analysis
    sample_extra: dict[str, Any] = field(default_factory=dict)  # e.g. hasFormulation
    extra_nodes: list[dict[str, Any]] = field(default_factory=list)  # formulation, cell, ... nodes
    companion_files: list[CompanionFile] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        # A naive instrument time is kept as written; xsd:dateTime allows no zone.
        return moment.replace(microsecond=moment.microsecond).isoformat()
    return moment.isoformat()


def quantity_node(node_id: str, quantity: ScalarQuantity, kinds: list[str], block: str | None = None) -> dict[str, Any]:
    """A value+unit node in EMMO's pattern, in the quantity's canonical unit (original kept)."""
    vocab = vocabulary()
    class_iri = vocab.iri(quantity.quantity)
    canonical_iri = vocab.canonical_unit.get(class_iri)
    value = float(quantity.value)
    source_unit = quantity.unit
    parse_unit(source_unit)  # MetadataError for an unknown unit
    if canonical_iri is not None:
        unit_key = vocab.key_of[canonical_iri]
        target = vocab.pint_of_unit[canonical_iri]
        stored = float(convert(value, source_unit, target))
    else:
        unit_key = vocab.unit_key_for_pint(source_unit)
        if unit_key is None:
            raise MetadataError(quantity.quantity, f"unit {source_unit!r} has no EMMO unit known to battkg")
        stored = value
    node: dict[str, Any] = {
        "@id": node_id,
        "@type": [quantity.quantity, *kinds],
        "hasNumericalPart": {"@id": node_id + "-value", "@type": "RealData", "hasNumberValue": stored},
        "hasMeasurementUnit": unit_key,
    }
    target_unit = vocab.pint_of_unit.get(vocab.iri(unit_key), "")
    if target_unit and parse_unit(target_unit) != parse_unit(source_unit):
        node["originalValue"] = value
        node["originalUnit"] = source_unit
    if quantity.label:
        node["role"] = quantity.label
    if block:
        node["block"] = block
    return node


def build_record(inputs: RecordInputs) -> dict[str, Any]:
    """The JSON-LD document of one record (context inline, ``@graph`` form)."""
    vocab = vocabulary()
    rec = record_iri(inputs.record_id)
    activity_id = rec + "#measurement"
    sample_id = f"{DATA}sample/{slug(inputs.sample)}"
    nodes: list[dict[str, Any]] = []

    if inputs.access not in ACCESS_LEVELS:
        raise MetadataError("access", f"must be one of {', '.join(ACCESS_LEVELS)} (got {inputs.access!r})")
    if inputs.rating is not None and not (1 <= int(inputs.rating) <= 5):
        raise MetadataError("rating", f"must be an integer from 1 to 5 (got {inputs.rating!r})")

    # Sample and material -------------------------------------------------------------------
    sample: dict[str, Any] = {"@id": sample_id, "@type": ["Sample", "Entity"], "label": inputs.sample,
                              **inputs.sample_extra}
    if inputs.material:
        material_id = f"{DATA}material/{slug(inputs.material)}"
        material_class = vocab.material_class(inputs.material)
        material = {"@id": material_id, "@type": ["Material"], "label": inputs.material}
        if material_class:
            material["@type"].append(vocab.key_of.get(material_class, material_class))
        sample["hasMaterial"] = material_id
        nodes.append(material)
    nodes.append(sample)

    # Measurement activity -------------------------------------------------------------------
    activity: dict[str, Any] = {
        "@id": activity_id,
        "@type": [*inputs.activity_types, *inputs.process_types, "Activity"],
        "label": inputs.title,
        inputs.sample_key: sample_id,
        "used": sample_id,
    }
    if inputs.observables:
        activity["hasObservable"] = inputs.observables
    if inputs.started:
        activity["startedAtTime"] = _iso(inputs.started)
    if inputs.ended:
        activity["endedAtTime"] = _iso(inputs.ended)
    if inputs.operator:
        operator = operator_node(inputs.operator)
        nodes.append(operator)
        activity["hasOperator"] = operator["@id"]
        activity["wasAssociatedWith"] = operator["@id"]
    if inputs.instrument:
        instrument_id = f"{DATA}instrument/{slug(inputs.instrument)}"
        nodes.append({"@id": instrument_id, "@type": ["CharacterisationMeasurementInstrument", "Entity"],
                      "label": inputs.instrument})
        activity["hasInstrument"] = instrument_id
    parameters = []
    for index, quantity in enumerate(inputs.parameters):
        parameters.append(quantity_node(f"{rec}#parameter-{index}", quantity,
                                        list(inputs.parameter_kinds), block=quantity.block))
    if parameters:
        activity[inputs.parameter_key] = parameters
    outputs = []
    for index, quantity in enumerate(inputs.outputs):
        outputs.append(quantity_node(f"{rec}#output-{index}", quantity, ["MeasuredProperty"],
                                     block=quantity.block))
    if outputs:
        activity["hasOutput"] = outputs
    if inputs.conditions:
        environment: dict[str, Any] = {"@id": rec + "#environment", "@type": "CharacterisationEnvironment"}
        properties = [quantity_node(f"{rec}#condition-{index}", quantity, ["CharacterisationEnvironmentProperty"])
                      for index, quantity in enumerate(inputs.conditions.quantities)]
        if properties:
            environment["hasEnvironmentProperty"] = properties
        for word, key in (("atmosphere", "atmosphere"), ("mode", "measurementMode"), ("cell_type", "cellType")):
            if word in inputs.conditions.words:
                environment[key] = inputs.conditions.words[word]
        activity["hasCharacterisationEnvironment"] = environment
    activity.update(inputs.extra_activity)
    nodes.append(activity)
    nodes.extend(inputs.extra_nodes)

    # Files ----------------------------------------------------------------------------------
    raw = _file_node(inputs.raw, inputs.raw_name, inputs.raw_media_type)
    raw_id = raw["@id"]
    raw.update({"formatId": inputs.format_id, "wasGeneratedBy": activity_id})
    distributions = [raw_id]
    nodes.append(raw)
    companion_ids = []
    for companion in inputs.companion_files:
        node = _file_node(companion.ref, companion.name, companion.media_type)
        companion_id = node["@id"]
        node["fileRole"] = companion.role
        if companion.relation == "output":
            node["wasGeneratedBy"] = activity_id
        else:
            activity["used"] = [*_as_list(activity["used"]), companion_id]
        nodes.append(node)
        companion_ids.append(companion_id)
    distributions.extend(companion_ids)
    arrays_id: str | None = None
    if inputs.arrays_blob is not None:
        arrays_id = f"{DATA}blob/{inputs.arrays_blob.sha256}"
        array_nodes = []
        for array in inputs.arrays:
            unit_key = vocab.unit_key_for_pint(array.unit)
            if unit_key is None:
                raise MetadataError(f"array {array.hdf5_path}", f"unit {array.unit!r} has no EMMO unit known to battkg")
            node = {
                # Block names carry spaces ("C 1s"): an IRI may not, and the JSON-LD parser drops such nodes.
                "@id": f"{rec}#array{quote(array.hdf5_path.replace('/', '-'), safe='-._~')}",
                "@type": "DataArray",
                "label": array.name,
                "hdf5Path": array.hdf5_path,
                "quantityKind": array.quantity,
                "hasMeasurementUnit": unit_key,
                "shape": ",".join(str(n) for n in array.shape),
                "dtype": array.dtype,
                "block": array.block,
            }
            vocab.iri(array.quantity)  # KeyError naming an unknown quantity key
            array_nodes.append(node)
        nodes.append({
            "@id": arrays_id,
            "@type": ["Distribution", "Entity"],
            "label": f"{inputs.record_id}.h5",
            "sha256": inputs.arrays_blob.sha256,
            "byteSize": inputs.arrays_blob.size,
            "mediaType": "application/x-hdf5",
            "wasDerivedFrom": raw_id,
            "hasArray": array_nodes,
        })
        distributions.append(arrays_id)

    # Analyses: each its own activity, informed by the measurement, using its arrays ----------
    for analysis in inputs.analyses:
        analysis_id = f"{rec}#analysis-{analysis.key}"
        node: dict[str, Any] = {
            "@id": analysis_id,
            "@type": ["AnalysisActivity", "Activity"],
            "label": analysis.label,
            "analysisMethod": analysis.method,
            "wasInformedBy": activity_id,
            "used": arrays_id or raw_id,
        }
        if analysis.software:
            software_node_id = f"{DATA}software/{slug(analysis.software)}/{analysis.software_version}"
            software_node: dict[str, Any] = {"@id": software_node_id, "@type": ["SoftwareAgent", "Agent"],
                                             "label": analysis.software}
            if analysis.software_version:
                software_node["softwareVersion"] = analysis.software_version
            nodes.append(software_node)
            node["wasAssociatedWith"] = software_node_id
        if analysis.parameters:
            node["hasInput"] = [quantity_node(f"{analysis_id}-parameter-{i}", q, ["ConventionalProperty"],
                                              block=q.block) for i, q in enumerate(analysis.parameters)]
        node["hasOutput"] = [quantity_node(f"{analysis_id}-output-{i}", q, ["MeasuredProperty"], block=q.block)
                             for i, q in enumerate(analysis.outputs)]
        node.update(analysis.extra)
        nodes.append(node)

    # Provenance of the record itself --------------------------------------------------------
    software_id = f"{DATA}software/battkg/{__version__}"
    nodes.append({"@id": software_id, "@type": ["SoftwareAgent", "Agent"], "label": "battkg",
                  "softwareVersion": __version__})
    ingest_id = rec + "#ingest"
    nodes.append({
        "@id": ingest_id,
        "@type": ["IngestActivity", "Activity"],
        "used": [raw_id, *companion_ids] if companion_ids else raw_id,
        "wasAssociatedWith": software_id,
        "startedAtTime": _iso(inputs.created),
        "ingestOptions": inputs.options,
    })
    record: dict[str, Any] = {
        "@id": rec,
        "@type": ["Record", "DcatDataset", "Entity"],
        "title": inputs.title,
        "identifier": inputs.record_id,
        "created": _iso(inputs.created),
        "technique": inputs.technique,
        "status": "active",
        "accessLevel": inputs.access,
        "describes": activity_id,
        "distribution": distributions,
        "wasGeneratedBy": ingest_id,
        "wasAttributedTo": software_id,
    }
    if inputs.success is not None:
        record["success"] = bool(inputs.success)
    if inputs.rating is not None:
        record["rating"] = int(inputs.rating)
    if inputs.revises:
        record["wasRevisionOf"] = record_iri(record_id_of(inputs.revises))
    if inputs.raw_metadata:
        record["rawMetadata"] = _jsonable(inputs.raw_metadata)
    if inputs.warnings:
        record["ingestWarning"] = list(inputs.warnings)
    nodes.insert(0, record)
    return {"@context": context(), "@graph": nodes}


def _file_node(ref: BlobRef, name: str, media_type: str) -> dict[str, Any]:
    """A kept file (raw or further file of the run) as a Distribution named by its checksum."""
    return {"@id": f"{DATA}blob/{ref.sha256}", "@type": ["Distribution", "Entity"], "label": name,
            "originalFileName": name, "sha256": ref.sha256, "byteSize": ref.size, "mediaType": media_type}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _jsonable(value: Any) -> Any:
    """Vendor metadata as plain JSON (numpy scalars, datetimes and bytes made printable)."""
    return json.loads(json.dumps(value, default=lambda o: o.isoformat() if isinstance(o, datetime) else
                                 (o.item() if hasattr(o, "item") and getattr(o, "size", 1) == 1 else str(o))))


def jsonld_to_quads(document: dict[str, Any] | str | bytes, graph: str | None = None) -> list[ox.Quad]:
    """Parse a JSON-LD document with pyoxigraph (remote contexts are refused by design)."""
    data = document if isinstance(document, (str, bytes)) else json.dumps(document)
    if isinstance(data, str):
        data = data.encode()
    triples = ox.parse(data, format=ox.RdfFormat.JSON_LD)
    target = ox.NamedNode(graph) if graph else ox.DefaultGraph()
    return [ox.Quad(q.subject, q.predicate, q.object, target) for q in triples]


def mark_status(repo: Any, record: str, status: str, reason: str, *, rating: int | None = None,
                now: datetime | None = None) -> str:
    """Change a record's status (or rating) without deleting anything.

    The record's ``status`` triple is replaced and a ``StatusEvent`` with the
    previous status, the reason and the time is added to the record's graph,
    in one SPARQL update transaction.  Returns the event IRI.
    """
    from battkg.errors import RecordNotFound

    if status not in STATUSES:
        raise MetadataError("status", f"must be one of {', '.join(STATUSES)} (got {status!r})")
    if rating is not None and not 1 <= rating <= 5:
        raise MetadataError("rating", f"must be an integer from 1 to 5 (got {rating!r})")
    if not reason.strip():
        raise MetadataError("reason", "a status change needs a reason")
    rid = record_id_of(record)
    iri = record_iri(rid)
    if not repo.graphs.has_graph(iri):
        raise RecordNotFound(f"no record {rid}")
    moment = (now or datetime.now(timezone.utc)).isoformat()
    event = f"{iri}#status-{uuid.uuid4().hex[:12]}"
    reason_literal = str(ox.Literal(reason))
    rating_update = ""
    if rating is not None:
        rating_update = (f"DELETE {{ GRAPH <{iri}> {{ <{iri}> battkg:rating ?r }} }} "
                         f"WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:rating ?r }} }} ;\n"
                         f"INSERT DATA {{ GRAPH <{iri}> {{ <{iri}> battkg:rating {int(rating)} . "
                         f"<{event}> battkg:rating {int(rating)} }} }} ;\n")
    repo.graphs.update(f"""
        INSERT {{ GRAPH <{iri}> {{
            <{event}> a battkg:StatusEvent, prov:Activity ; battkg:status "{status}" ;
                battkg:statusReason {reason_literal} ; battkg:statusTime "{moment}"^^xsd:dateTime ;
                prov:wasInformedBy ?previous_event ; rdfs:comment ?previous_text .
            <{iri}> battkg:hasStatusEvent <{event}> . }} }}
        WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:status ?previous .
                 BIND(CONCAT("previous status: ", STR(?previous)) AS ?previous_text)
                 OPTIONAL {{ <{iri}> battkg:hasStatusEvent ?previous_event }} }} }} ;
        {rating_update}
        DELETE {{ GRAPH <{iri}> {{ <{iri}> battkg:status ?old }} }}
        INSERT {{ GRAPH <{iri}> {{ <{iri}> battkg:status "{status}" }} }}
        WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:status ?old }} }}
    """)
    return event
