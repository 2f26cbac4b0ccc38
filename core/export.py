"""Records out of the store, for people and archives; shared by the CLI and the HTTP API.

* :func:`export_record` — JSON-LD, framed on the record node and compacted with the
  project context (inline: no remote context is needed to read it).
* :func:`record_info` — the facts a record page, an archive crate or an InvenioRDM
  deposit need (title, sample, operator, files with checksums, arrays).
* :func:`write_ro_crate` — an RO-Crate 1.1 zip of one record or a whole campaign:
  ``ro-crate-metadata.json`` (schema.org), each record's JSON-LD, raw file and HDF5.
* :func:`invenio_record` — InvenioRDM record JSON (metadata + files) for the BIG-MAP
  Archive or Zenodo upload API.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import pyoxigraph as ox

from battkg import __version__
from battkg.errors import RecordNotFound
from battkg.ontology import ONTOLOGY_GRAPH, context, vocabulary
from battkg.record import record_id_of, record_iri
from battkg.store import Repository

DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
LICENSE_NAMES = {DEFAULT_LICENSE: ("CC BY 4.0", "cc-by-4.0"),
                 "https://creativecommons.org/publicdomain/zero/1.0/": ("CC0 1.0", "cc0-1.0"),
                 "https://creativecommons.org/licenses/by-sa/4.0/": ("CC BY-SA 4.0", "cc-by-sa-4.0")}
EXPORT_FORMATS = ("jsonld", "ro-crate", "invenio")


def record_quads(repo: Repository, record: str) -> list[ox.Quad]:
    """All quads of one record graph; :class:`RecordNotFound` if there is none."""
    iri = record_iri(record_id_of(record))
    if not repo.graphs.has_graph(iri):
        raise RecordNotFound(f"no record {record_id_of(record)} in the store at {repo.location}")
    return repo.graphs.graph_quads(iri)


def _no_remote_documents(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    from pyld.jsonld import JsonLdError

    raise JsonLdError(f"battkg never loads remote JSON-LD documents ({url})", "jsonld.LoadDocumentError")


def to_jsonld(quads: list[ox.Quad], root: str | None = None) -> dict[str, Any]:
    """Compact JSON-LD with the battkg context inline; framed on ``root`` (nested tree) when given."""
    from pyld import jsonld

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    options = {"documentLoader": _no_remote_documents}
    ctx = context()
    if root is None:
        expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
        result = jsonld.compact(expanded, {"@context": ctx}, options)
    else:
        # pyld's own RDF reader gives rdf:type as @type, which framing needs; one record is small.
        nquads = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()
        expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
        result = jsonld.frame(expanded, {"@context": ctx, "@id": root, "@embed": "@once"},
                              {**options, "omitGraph": False})
    result["@context"] = ctx
    return result


def export_record(repo: Repository, record: str) -> dict[str, Any]:
    """A stored record as JSON-LD, framed on the record node and compacted (``@graph`` with one tree)."""
    return to_jsonld(record_quads(repo, record), record_iri(record_id_of(record)))


# ------------------------------------------------------------------------------------ record facts


@dataclass(frozen=True)
class FileInfo:
    """A blob the record references (raw file or HDF5)."""

    sha256: str
    name: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ArrayInfo:
    """One HDF5 dataset the record describes."""

    name: str  # "<block>.<array>", the name used in URLs
    hdf5_path: str
    quantity: str  # context key (or IRI when the key is unknown)
    unit: str  # unit context key
    shape: str
    dtype: str


@dataclass
class RecordInfo:
    """What pages, crates and deposits say about one record."""

    iri: str
    id: str
    title: str
    technique: str
    status: str
    access: str
    created: str
    sample: str | None = None
    material: str | None = None
    material_class: str | None = None  # ontology label
    operator: str | None = None  # IRI (ORCID) or person IRI
    operator_name: str | None = None
    instrument: str | None = None
    rating: int | None = None
    technique_labels: list[str] = field(default_factory=list)
    quantity_labels: list[str] = field(default_factory=list)
    observable_labels: list[str] = field(default_factory=list)
    parameters: list[tuple[str, str, str]] = field(default_factory=list)  # (quantity, value, unit)
    raw: FileInfo | None = None
    arrays_file: FileInfo | None = None
    companions: dict[str, FileInfo] = field(default_factory=dict)  # file role (topology, energies) -> file
    arrays: list[ArrayInfo] = field(default_factory=list)
    status_events: list[tuple[str, str, str]] = field(default_factory=list)  # (time, status, reason)
    revision_of: str | None = None


# ``?c`` is a quantity class (Wavelength, TwoTheta, ...) rather than one of the role classes a
# parameter node also carries (MeasurementParameter, ConventionalProperty).  The application
# ontology is an extract: EMMO's base quantities (Wavelength, Angle, Time, ...) are declared with
# the unit battkg stores them in (battkg:canonicalUnit) but without their EMMO superclass chain
# up to PhysicalQuantity, so "subClassOf* PhysicalQuantity" alone matched no XRD parameter at all.
# A class counts when it or an ancestor has a canonical unit, or when it does reach PhysicalQuantity.
_QUANTITY_CLASS = """FILTER EXISTS { GRAPH <%(onto)s> {
    { ?c rdfs:subClassOf*/battkg:canonicalUnit ?canonical }
    UNION { ?c rdfs:subClassOf* emmo:EMMO_02c0621e_a527_4790_8a0f_2bb51973c819 } } }"""

_INFO = """
SELECT ?title ?technique ?status ?access ?created ?rating ?revises ?sample ?material ?materialClass
       ?operator ?operatorName ?instrument WHERE {
  GRAPH ?g {
    ?g dcterms:title ?title ; battkg:technique ?technique ; battkg:status ?status ;
       battkg:accessLevel ?access ; dcterms:created ?created ; battkg:describes ?a .
    OPTIONAL { ?g battkg:rating ?rating } OPTIONAL { ?g prov:wasRevisionOf ?revises }
    OPTIONAL { ?a chameo:hasMeasurementSample ?s . ?s rdfs:label ?sample
               OPTIONAL { ?s battkg:hasMaterial ?m . ?m rdfs:label ?material
                          OPTIONAL { ?m a ?mc . FILTER(?mc != emmo:EMMO_4207e895_8b83_4318_996a_72cfb32acd94) } } }
    OPTIONAL { ?a chameo:hasOperator ?operator OPTIONAL { ?operator rdfs:label ?operatorName } }
    OPTIONAL { ?a chameo:hasCharacterisationMeasurementInstrument/rdfs:label ?instrument }
  }
  OPTIONAL { GRAPH <%(onto)s> { ?mc skos:prefLabel ?materialClass } }
} LIMIT 1"""

_LABELS = """
SELECT DISTINCT ?kind ?label WHERE {
  { GRAPH ?g { ?g battkg:describes ?a . ?a a ?c } BIND("technique" AS ?kind)
    GRAPH <%(onto)s> { ?c rdfs:subClassOf* chameo:CharacterisationTechnique } }
  UNION { GRAPH ?g { ?g battkg:describes ?a . ?a battkg:hasObservable ?c } BIND("observable" AS ?kind) }
  UNION { GRAPH ?g { ?x battkg:quantityKind ?c } BIND("quantity" AS ?kind) }
  UNION { GRAPH ?g { ?g battkg:describes/chameo:hasMeasurementParameter ?p . ?p a ?c } BIND("quantity" AS ?kind)
          %(quantity_class)s }
  GRAPH <%(onto)s> { ?c skos:prefLabel ?label }
} ORDER BY ?kind ?label"""

_FILES = """
SELECT ?d ?sha ?size ?media ?name ?role ?hasArrays WHERE {
  GRAPH ?g { ?g dcat:distribution ?d . ?d battkg:sha256 ?sha ; dcat:byteSize ?size ; dcat:mediaType ?media
             OPTIONAL { ?d rdfs:label ?name } OPTIONAL { ?d battkg:fileRole ?role }
             BIND(EXISTS { ?d battkg:hasArray ?x } AS ?hasArrays) }
}"""

_ARRAYS = """
SELECT ?label ?path ?kind ?unit ?shape ?dtype ?block WHERE {
  GRAPH ?g { ?x a battkg:DataArray ; rdfs:label ?label ; battkg:hdf5Path ?path ; battkg:quantityKind ?kind ;
             emmo:EMMO_bed1d005_b04e_4a90_94cf_02bc678a8569 ?unit ; battkg:shape ?shape ; battkg:dtype ?dtype
             OPTIONAL { ?x battkg:block ?block } }
} ORDER BY ?path"""

_EVENTS = """
SELECT ?time ?status ?reason WHERE {
  GRAPH ?g { ?g battkg:hasStatusEvent ?e . ?e battkg:statusTime ?time ; battkg:status ?status ;
             battkg:statusReason ?reason }
} ORDER BY ?time"""

_PARAMETERS = """
SELECT ?kind ?value ?unit ?role WHERE {
  GRAPH ?g { ?g battkg:describes/chameo:hasMeasurementParameter ?p . ?p a ?c ;
             emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?value ;
             emmo:EMMO_bed1d005_b04e_4a90_94cf_02bc678a8569 ?unit OPTIONAL { ?p battkg:role ?role } }
  GRAPH <%(onto)s> { ?c skos:prefLabel ?kind }
  %(quantity_class)s
} ORDER BY ?kind ?p  # ?p: the ingest order (2θ start, end, step)"""


def _q(repo: Repository, text: str, iri: str) -> list[dict[str, ox.Term | None]]:
    # ``?g`` is not projected, so it cannot be a substitution; the IRI is inserted in its
    # N-Triples form, which NamedNode has already checked (no '>', spaces or quotes).
    graph = str(ox.NamedNode(iri))
    fill = {"onto": ONTOLOGY_GRAPH, "quantity_class": _QUANTITY_CLASS % {"onto": ONTOLOGY_GRAPH}}
    results = repo.graphs.query((text % fill).replace("?g", graph),
                                graphs=[iri, ONTOLOGY_GRAPH])
    names = [v.value for v in results.variables]  # type: ignore[union-attr]
    return [{n: sol[n] for n in names} for sol in results]  # type: ignore[union-attr]


def _v(term: ox.Term | None) -> str | None:
    return None if term is None else term.value


def _key(iri: str) -> str:
    return vocabulary().key_of.get(iri, iri)


def record_info(repo: Repository, record: str) -> RecordInfo:
    """The facts of one record, from its graph and the ontology labels."""
    rid = record_id_of(record)
    iri = record_iri(rid)
    if not repo.graphs.has_graph(iri):
        raise RecordNotFound(f"no record {rid} in the store at {repo.location}")
    rows = _q(repo, _INFO, iri)
    if not rows:
        raise RecordNotFound(f"graph <{iri}> holds no complete record")
    row = rows[0]
    info = RecordInfo(iri=iri, id=rid, title=_v(row["title"]) or rid, technique=_v(row["technique"]) or "",
                      status=_v(row["status"]) or "", access=_v(row["access"]) or "", created=_v(row["created"]) or "",
                      sample=_v(row["sample"]), material=_v(row["material"]), material_class=_v(row["materialClass"]),
                      operator=_v(row["operator"]), operator_name=_v(row["operatorName"]),
                      instrument=_v(row["instrument"]), revision_of=_v(row["revises"]),
                      rating=int(row["rating"].value) if row["rating"] is not None else None)
    for label_row in _q(repo, _LABELS, iri):
        target = {"technique": info.technique_labels, "observable": info.observable_labels,
                  "quantity": info.quantity_labels}[label_row["kind"].value]  # type: ignore[union-attr]
        if label_row["label"].value not in target:  # type: ignore[union-attr]
            target.append(label_row["label"].value)  # type: ignore[union-attr]
    for file_row in _q(repo, _FILES, iri):
        file = FileInfo(file_row["sha"].value, _v(file_row["name"]) or file_row["sha"].value,  # type: ignore[union-attr]
                        int(file_row["size"].value), file_row["media"].value)  # type: ignore[union-attr]
        if file_row["hasArrays"].value == "true":  # type: ignore[union-attr]
            info.arrays_file = file
        elif file_row["role"] is not None:
            info.companions[file_row["role"].value] = file
        else:
            info.raw = file
    for a in _q(repo, _ARRAYS, iri):
        path = a["path"].value  # type: ignore[union-attr]
        info.arrays.append(ArrayInfo(path.strip("/").replace("/", "."), path, _key(a["kind"].value),  # type: ignore[union-attr]
                                     _key(a["unit"].value), a["shape"].value, a["dtype"].value))  # type: ignore[union-attr]
    info.status_events = [(e["time"].value, e["status"].value, e["reason"].value)  # type: ignore[union-attr]
                          for e in _q(repo, _EVENTS, iri)]
    for p in _q(repo, _PARAMETERS, iri):
        kind = p["kind"].value + (f" ({p['role'].value})" if p["role"] is not None else "")  # type: ignore[union-attr]
        info.parameters.append((kind, p["value"].value, _key(p["unit"].value)))  # type: ignore[union-attr]
    return info


# ---------------------------------------------------------------------------------------- RO-Crate


def _person(info: RecordInfo) -> dict[str, Any] | None:
    if not info.operator:
        return None
    person: dict[str, Any] = {"@id": info.operator, "@type": "Person",
                              "name": info.operator_name or info.operator.rsplit("/", 1)[-1]}
    if info.operator.startswith("https://orcid.org/"):
        person["identifier"] = info.operator
    return person


def _file_entity(path: str, file: FileInfo, description: str) -> dict[str, Any]:
    return {"@id": path, "@type": "File", "name": file.name, "description": description,
            "contentSize": str(file.size), "encodingFormat": file.media_type, "sha256": file.sha256}


def _safe_name(name: str) -> str:
    """A file name from the record, never a path (crates are unzipped by other people's tools)."""
    base = Path(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else "raw"


def ro_crate_metadata(repo: Repository, records: Iterable[str], *, name: str | None = None,
                      license_url: str = DEFAULT_LICENSE) -> tuple[dict[str, Any], dict[str, tuple[str, str | None]]]:
    """The ``ro-crate-metadata.json`` document and the files to pack: crate path -> (kind, sha256 or None)."""
    infos = [record_info(repo, r) for r in records]
    if not infos:
        raise RecordNotFound("no records to export")
    graph: list[dict[str, Any]] = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork",
         "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"}, "about": {"@id": "./"}},
    ]
    files: dict[str, tuple[str, str | None]] = {}
    parts: list[dict[str, str]] = []
    people: dict[str, dict[str, Any]] = {}
    keywords: list[str] = []
    for info in infos:
        folder = f"{info.id}/"
        record_path = f"{folder}record.jsonld"
        files[record_path] = ("jsonld", None)
        graph.append({"@id": record_path, "@type": "File", "name": f"{info.title} (JSON-LD record)",
                      "encodingFormat": "application/ld+json", "about": {"@id": info.iri},
                      "conformsTo": {"@id": "https://w3id.org/battkg/vocab"}})
        parts.append({"@id": record_path})
        if info.raw is not None:
            raw_path = folder + _safe_name(info.raw.name)
            files[raw_path] = ("blob", info.raw.sha256)
            graph.append(_file_entity(raw_path, info.raw, f"original instrument file of {info.title}"))
            parts.append({"@id": raw_path})
        taken = {files_key for files_key in files if files_key.startswith(folder)}
        for role, companion in sorted(info.companions.items()):
            companion_path = folder + _safe_name(companion.name)
            if companion_path in taken:  # a topology named like the trajectory: keep both
                companion_path = f"{folder}{role}-{_safe_name(companion.name)}"
            files[companion_path] = ("blob", companion.sha256)
            graph.append(_file_entity(companion_path, companion, f"{role} file of {info.title}"))
            parts.append({"@id": companion_path})
            taken.add(companion_path)
        if info.arrays_file is not None:
            h5_path = f"{folder}{info.id}.h5"
            files[h5_path] = ("blob", info.arrays_file.sha256)
            graph.append(_file_entity(h5_path, info.arrays_file,
                                      "arrays (HDF5): " + ", ".join(a.hdf5_path for a in info.arrays)))
            parts.append({"@id": h5_path})
        person = _person(info)
        if person:
            people[person["@id"]] = person
        for word in [info.technique, *info.technique_labels, info.material or "", info.material_class or "",
                     *info.quantity_labels]:
            if word and word not in keywords:
                keywords.append(word)
    title = name or (infos[0].title if len(infos) == 1 else f"battkg campaign of {len(infos)} records")
    root: dict[str, Any] = {
        "@id": "./", "@type": "Dataset", "name": title,
        "description": "; ".join(i.title for i in infos[:20]) + (" ..." if len(infos) > 20 else ""),
        "datePublished": date.today().isoformat(), "license": {"@id": license_url},
        "keywords": keywords, "hasPart": parts,
        "identifier": [i.iri for i in infos],
    }
    if people:
        root["author"] = [{"@id": p} for p in people]
    license_name = LICENSE_NAMES.get(license_url, (license_url, None))[0]
    graph[1:1] = [root]
    graph.append({"@id": license_url, "@type": "CreativeWork", "name": license_name})
    graph.extend(people.values())
    graph.append({"@id": "https://w3id.org/battkg", "@type": "SoftwareApplication", "name": "battkg",
                  "version": __version__})
    return {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": graph}, files


def write_ro_crate(repo: Repository, records: Iterable[str], target: Path | Any, **kwargs: Any) -> None:
    """Write an RO-Crate 1.1 zip of ``records`` to ``target`` (path or binary file object)."""
    metadata, files = ro_crate_metadata(repo, list(records), **kwargs)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ro-crate-metadata.json", json.dumps(metadata, indent=2, ensure_ascii=False))
        for path, (kind, sha) in files.items():
            if kind == "jsonld":
                document = export_record(repo, path.split("/", 1)[0])
                zf.writestr(path, json.dumps(document, indent=2, ensure_ascii=False))
            else:
                zf.write(repo.blobs.path_of(sha), path)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- InvenioRDM


def _creator(info: RecordInfo, affiliation_ror: str | None) -> dict[str, Any]:
    person: dict[str, Any] = {"type": "personal"}
    name = info.operator_name
    if name and "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
    elif name and " " in name.strip():
        given, family = name.strip().rsplit(" ", 1)
    else:
        # An ORCID alone carries no name in the record: InvenioRDM needs family_name, so the iD stands in.
        given, family = "", name or (info.operator or "unknown").rsplit("/", 1)[-1]
    person["family_name"] = family
    if given:
        person["given_name"] = given
    if info.operator and info.operator.startswith("https://orcid.org/"):
        person["identifiers"] = [{"scheme": "orcid", "identifier": info.operator.rsplit("/", 1)[-1]}]
    creator: dict[str, Any] = {"person_or_org": person, "role": {"id": "datacollector"}}
    if affiliation_ror:
        creator["affiliations"] = [{"id": affiliation_ror.rstrip("/").rsplit("/", 1)[-1]}]
    return creator


def invenio_record(repo: Repository, record: str, *, affiliation_ror: str | None = None,
                   license_url: str = DEFAULT_LICENSE, base_url: str | None = None) -> dict[str, Any]:
    """An InvenioRDM draft (``POST /api/records`` body) plus the files to upload (``files.entries``).

    Field names follow the InvenioRDM metadata reference: ``resource_type``, ``creators``
    (``person_or_org`` with ORCID identifiers, ``affiliations`` by ROR id), ``title``,
    ``publication_date``, ``subjects`` (keywords), ``related_identifiers``, ``rights``.
    """
    info = record_info(repo, record)
    keywords: list[str] = []
    for word in [*info.technique_labels, info.technique.upper(), info.material or "", info.material_class or "",
                 *info.quantity_labels, *info.observable_labels]:
        if word and word not in keywords:
            keywords.append(word)
    related = [{"identifier": info.iri, "scheme": "url", "relation_type": {"id": "isvariantformof"},
                "resource_type": {"id": "dataset"}}]
    if info.revision_of:
        related.append({"identifier": info.revision_of, "scheme": "url", "relation_type": {"id": "isnewversionof"},
                        "resource_type": {"id": "dataset"}})
    if base_url:
        related.append({"identifier": f"{base_url.rstrip('/')}/records/{info.id}", "scheme": "url",
                        "relation_type": {"id": "isidenticalto"}, "resource_type": {"id": "dataset"}})
    description = [f"{info.title}. Technique: {', '.join(info.technique_labels) or info.technique}."]
    if info.sample:
        description.append(f"Sample {info.sample}" + (f" ({info.material})" if info.material else "") + ".")
    if info.instrument:
        description.append(f"Instrument: {info.instrument}.")
    description.append(f"Exported from battkg {__version__}, record {info.iri}.")
    files = {}
    named = [(_safe_name(info.raw.name), info.raw)] if info.raw is not None else []
    for role, companion in sorted(info.companions.items()):
        key = _safe_name(companion.name)
        named.append((f"{role}-{key}" if key in dict(named) else key, companion))
    if info.arrays_file is not None:
        named.append((f"{info.id}.h5", info.arrays_file))
    for key, file in named:
        files[key] = {"key": key, "size": file.size, "mimetype": file.media_type,
                      "checksum": f"sha256:{file.sha256}"}
    rights_id = LICENSE_NAMES.get(license_url, (None, None))[1]
    return {
        "access": {"record": "public" if info.access == "public" else "restricted",
                   "files": "public" if info.access == "public" else "restricted"},
        "files": {"enabled": bool(files), "entries": files},
        "metadata": {
            "resource_type": {"id": "dataset"},
            "title": info.title,
            "publication_date": date.today().isoformat(),
            "creators": [_creator(info, affiliation_ror)] if info.operator else [],
            "description": " ".join(description),
            "subjects": [{"subject": word} for word in keywords],
            "related_identifiers": related,
            "rights": [{"id": rights_id}] if rights_id else [{"link": license_url, "title": {"en": license_url}}],
            "publisher": "battkg",
            "dates": [{"date": info.created[:10], "type": {"id": "created"}}],
            "formats": sorted({f["mimetype"] for f in files.values()}),
        },
    }
