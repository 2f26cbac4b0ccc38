"""The application ontology and everything derived from it.

* ``battkg.ttl`` — the application ontology (source of truth);
* ``context.jsonld`` — the JSON-LD ``@context`` generated from it by
  :func:`generate_context` and committed (a test fails when they drift);
* :class:`Vocabulary` — fast look-ups the ingest path needs (context key → IRI,
  technique classes, canonical units, pint ↔ EMMO unit mapping, materials);
* :func:`search` — label look-up over the application ontology and, when
  given, the reference BattINFO/EMMO ontologies (EMMO IRIs are opaque UUIDs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
ONTOLOGY_PATH = HERE / "battkg.ttl"
CONTEXT_PATH = HERE / "context.jsonld"

BATTKG = "https://w3id.org/battkg/vocab#"
DATA = "https://w3id.org/battkg/id/"
ONTOLOGY_GRAPH = "https://w3id.org/battkg/vocab"
EMMO = "https://w3id.org/emmo#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES: dict[str, str] = {
    "battkg": BATTKG,
    "finales": "https://w3id.org/battkg/finales#",
    "data": DATA,
    "emmo": EMMO,
    "echem": "https://w3id.org/emmo/domain/electrochemistry#",
    "battery": "https://w3id.org/emmo/domain/battery#",
    "chemsub": "https://w3id.org/emmo/domain/chemical-substance#",
    "chameo": "https://w3id.org/emmo/domain/characterisation-methodology/chameo#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "schema": "https://schema.org/",
    "skos": SKOS,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
}

# Namespaces whose IRIs must exist in the reference ontologies (conformance test).
REFERENCE_NAMESPACES: tuple[str, ...] = (
    "https://w3id.org/emmo#",
    "https://w3id.org/emmo/domain/",
    "https://w3id.org/battinfo/",
    "http://emmo.info/",
)


@lru_cache(maxsize=1)
def application_store() -> ox.Store:
    """The application ontology in an in-memory Oxigraph store (cached)."""
    store = ox.Store()
    store.bulk_load(path=str(ONTOLOGY_PATH), format=ox.RdfFormat.TURTLE)
    return store


def application_quads() -> list[ox.Quad]:
    """The application ontology's triples, placed in its own named graph."""
    graph = ox.NamedNode(ONTOLOGY_GRAPH)
    return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in application_store()]


# Bump when store_quads() changes, so stores reload their ontology graph.
STORE_ONTOLOGY_LAYOUT = "lookup-key-1"


def store_quads() -> list[ox.Quad]:
    """What the store's ontology graph holds: the application ontology plus ``battkg:lookupKey`` values.

    A lookup key is a class's label, synonym, key or formula normalised like :func:`lookup_key`.
    Named queries normalise the user's term the same way and *join* on it: matching names with a
    FILTER instead made Oxigraph compare every record's classes with every name (CQ2 at 10^6
    triples: 6.5 s with the filter, 1.1 s with the join).
    """
    graph = ox.NamedNode(ONTOLOGY_GRAPH)
    store = application_store()
    quads = [ox.Quad(q.subject, q.predicate, q.object, graph) for q in store]
    lookup = ox.NamedNode(BATTKG + "lookupKey")
    names = store.query("SELECT DISTINCT ?c ?name WHERE { ?c skos:prefLabel|battkg:synonym|battkg:techniqueKey|"
                        "battkg:contextKey|battkg:formula ?name FILTER(isIRI(?c) && isLiteral(?name)) }",
                        prefixes=PREFIXES)
    keys = {(solution["c"], lookup_key(solution["name"].value)) for solution in names}
    quads.extend(ox.Quad(c, lookup, ox.Literal(key), graph) for c, key in sorted(keys, key=str) if key)
    return quads


def lookup_key(term: str) -> str:
    """A term as ``battkg:lookupKey`` holds it; the same as SPARQL ``LCASE(REPLACE(STR(?t), "[ _-]", ""))``."""
    return re.sub(r"[ _-]", "", term).lower()


def _select(query: str) -> list[dict[str, str]]:
    """Run a SELECT over the application ontology; rows as {variable: lexical value}."""
    solutions = application_store().query(query, prefixes=PREFIXES)
    names = [v.value for v in solutions.variables]
    return [{n: sol[n].value for n in names if sol[n] is not None} for sol in solutions]


def generate_context() -> dict[str, Any]:
    """Build the JSON-LD ``@context`` from the application ontology.

    Keys are ``battkg:contextKey`` or the ``skos:prefLabel``; object properties
    get ``"@type": "@id"``, ``battkg:jsonldType`` overrides (datatypes,
    ``@vocab`` for unit/class-valued properties, ``@json``).  A key claimed by
    two IRIs is an error in the ontology, not silently "last one wins" (the
    upstream generators' bug).
    """
    rows = _select(
        """
        SELECT ?s ?key ?kind ?jt WHERE {
          ?s skos:prefLabel ?label .
          OPTIONAL { ?s battkg:contextKey ?ck }
          BIND(COALESCE(?ck, STR(?label)) AS ?key)
          OPTIONAL { ?s a ?kind . FILTER(?kind IN (owl:ObjectProperty, owl:DatatypeProperty)) }
          OPTIONAL { ?s battkg:jsonldType ?jt }
          FILTER(?s != <https://w3id.org/battkg/vocab>)
          # battkg's own annotations steer the generators and are no data keys; upstream
          # annotation properties used on data (inchiKey, canonicalSMILES) are.
          FILTER NOT EXISTS { ?s a owl:AnnotationProperty . FILTER(STRSTARTS(STR(?s), "https://w3id.org/battkg/vocab#")) }
        } ORDER BY ?key
        """
    )
    context: dict[str, Any] = {"@version": 1.1}
    context.update(PREFIXES)
    owners: dict[str, str] = {}
    for row in rows:
        key, iri = row["key"], row["s"]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
            raise ValueError(f"ontology/battkg.ttl: context key {key!r} of <{iri}> is not a simple name")
        if key in owners and owners[key] != iri:
            raise ValueError(f"ontology/battkg.ttl: context key {key!r} claimed by <{owners[key]}> and <{iri}>")
        owners[key] = iri
        jsonld_type = row.get("jt")
        kind = row.get("kind")
        if jsonld_type:
            context[key] = {"@id": iri, "@type": jsonld_type}
        elif kind == OWL + "ObjectProperty":
            context[key] = {"@id": iri, "@type": "@id"}
        else:
            context[key] = iri
    return context


def write_context(path: Path = CONTEXT_PATH) -> None:
    """Regenerate the committed context file."""
    path.write_text(json.dumps({"@context": generate_context()}, indent=2, ensure_ascii=False) + "\n")


@lru_cache(maxsize=1)
def context() -> dict[str, Any]:
    """The committed JSON-LD context (the ``@context`` value)."""
    return json.loads(CONTEXT_PATH.read_text())["@context"]


class Vocabulary:
    """Look-ups over the application ontology that the ingest path needs."""

    def __init__(self) -> None:
        ctx = context()
        self._unit_keys: dict[str, str | None] = {}
        self.iri_of: dict[str, str] = {}
        for key, value in ctx.items():
            if key.startswith("@") or key in PREFIXES:
                continue
            self.iri_of[key] = value if isinstance(value, str) else value["@id"]
        self.key_of: dict[str, str] = {iri: key for key, iri in self.iri_of.items()}
        self.techniques: dict[str, str] = {
            r["tech"]: r["s"] for r in _select("SELECT ?s ?tech WHERE { ?s battkg:techniqueKey ?tech }")
        }
        self.canonical_unit: dict[str, str] = {
            r["s"]: r["unit"] for r in _select("SELECT ?s ?unit WHERE { ?s battkg:canonicalUnit ?unit }")
        }
        self.pint_of_unit: dict[str, str] = {
            r["s"]: r["pint"] for r in _select("SELECT ?s ?pint WHERE { ?s battkg:pintUnit ?pint }")
        }
        self.observables: dict[str, list[str]] = {}
        for r in _select("SELECT ?s ?obs WHERE { ?s battkg:observes ?obs }"):
            self.observables.setdefault(r["s"], []).append(r["obs"])
        self.materials: dict[str, str] = {}
        for r in _select(
            """SELECT ?s ?label WHERE {
                 ?s a owl:Class .
                 FILTER(STRSTARTS(STR(?s), "https://w3id.org/emmo/domain/chemical-substance#"))
                 { ?s skos:prefLabel ?name } UNION { ?s battkg:formula ?name } UNION { ?s battkg:synonym ?name }
                 BIND(STR(?name) AS ?label)
               }"""
        ):
            self.materials[r["label"].lower()] = r["s"]

    def iri(self, key: str) -> str:
        """IRI of a context key; KeyError names the key."""
        try:
            return self.iri_of[key]
        except KeyError:
            raise KeyError(f"'{key}' is not a term of the battkg context (ontology/battkg.ttl)") from None

    def technique_iri(self, technique: str) -> str:
        return self.techniques[technique]

    def material_class(self, name: str) -> str | None:
        """The chemical-substance class for a material name, formula or abbreviation, if known."""
        return self.materials.get(name.strip().lower())

    def unit_key_for_pint(self, pint_unit: str) -> str | None:
        """Context key of the EMMO unit whose pint expression equals ``pint_unit`` (after parsing)."""
        # Called for every array of every record: resolve each unit expression once.
        if pint_unit not in self._unit_keys:
            from battkg.units import same_unit

            self._unit_keys[pint_unit] = next(
                (self.key_of.get(iri) for iri, expr in self.pint_of_unit.items() if same_unit(expr, pint_unit)), None)
        return self._unit_keys[pint_unit]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return Vocabulary()


# ------------------------------------------------------------------------------------------
# Reference ontologies and label search
# ------------------------------------------------------------------------------------------


@dataclass
class ReferenceOntology:
    store: ox.Store
    files: list[Path]
    skipped: list[tuple[Path, str]]


def load_reference(directory: Path) -> ReferenceOntology:
    """Load every ``.ttl`` below ``directory`` (the shared BattINFO/EMMO copy).

    Malformed upstream files (e.g. ``emmo/disciplines/units/units.ttl``) are
    skipped and reported, not fatal.
    """
    store = ox.Store()
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(Path(directory).rglob("*.ttl")):
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
            files.append(path)
        except SyntaxError as exc:
            skipped.append((path, str(exc).splitlines()[0]))
    return ReferenceOntology(store, files, skipped)


@dataclass(frozen=True)
class SearchHit:
    label: str
    iri: str
    matched: str  # the label text that matched
    parents: tuple[str, ...]
    definition: str | None
    source: str  # "battkg" or "reference"


_SEARCH_QUERY = """
SELECT ?s ?label ?matched ?parentLabel ?definition ?needle WHERE {
  ?s ?lp ?matched .
  VALUES ?lp { skos:prefLabel skos:altLabel rdfs:label battkg:synonym battkg:formula battkg:contextKey battkg:techniqueKey }
  FILTER(CONTAINS(LCASE(REPLACE(STR(?matched), "[ _-]", "")), ?needle))
  OPTIONAL { ?s skos:prefLabel ?pl }
  BIND(COALESCE(STR(?pl), STR(?matched)) AS ?label)
  OPTIONAL { ?s rdfs:subClassOf ?parent . ?parent skos:prefLabel ?ppl . BIND(STR(?ppl) AS ?parentLabel) }
  OPTIONAL { ?s emmo:EMMO_967080e5_2f42_4eb2_a3a9_c58143e835f9 ?elucidation }
  OPTIONAL { ?s skos:definition ?skosdef }
  BIND(COALESCE(STR(?skosdef), STR(?elucidation)) AS ?definition)
}
"""


def _search_store(store: ox.Store, needle: str, source: str) -> list[SearchHit]:
    merged: dict[str, dict[str, Any]] = {}
    for sol in store.query(_SEARCH_QUERY, prefixes=PREFIXES, substitutions={ox.Variable("needle"): ox.Literal(needle)}):
        if not isinstance(sol["s"], ox.NamedNode):
            continue
        iri = sol["s"].value
        hit = merged.setdefault(iri, {"label": sol["label"].value, "matched": sol["matched"].value,
                                      "parents": set(), "definition": None})
        if sol["parentLabel"] is not None:
            hit["parents"].add(sol["parentLabel"].value)
        if sol["definition"] is not None and not hit["definition"]:
            hit["definition"] = sol["definition"].value
    return [SearchHit(h["label"], iri, h["matched"], tuple(sorted(h["parents"])), h["definition"], source)
            for iri, h in merged.items()]


def search(text: str, reference_dir: Path | None = None, limit: int = 25) -> list[SearchHit]:
    """Find terms whose labels contain ``text`` (case, space, '-' and '_' ignored).

    Exact label matches rank first, then battkg's own terms, then shorter labels.
    """
    needle = re.sub(r"[ _-]", "", text.strip().lower())
    if not needle:
        return []
    hits = _search_store(application_store(), needle, "battkg")
    if reference_dir is not None:
        # Upstream parents and elucidations complete battkg's view of a reused term.
        upstream = {h.iri: h for h in _search_store(load_reference(reference_dir).store, needle, "reference")}
        merged = []
        for hit in hits:
            ref = upstream.pop(hit.iri, None)
            if ref is not None:
                hit = SearchHit(hit.label, hit.iri, hit.matched, tuple(sorted(set(hit.parents) | set(ref.parents))),
                                hit.definition or ref.definition, "battkg+reference")
            merged.append(hit)
        hits = merged + list(upstream.values())

    def rank(hit: SearchHit) -> tuple[int, int, int]:
        exact = re.sub(r"[ _-]", "", hit.matched.lower()) == needle
        return (0 if exact else 1, 0 if hit.source.startswith("battkg") else 1, len(hit.label))

    return sorted(hits, key=rank)[:limit]


def owl_check() -> list[str]:
    """Load the application ontology with owlready2 and report structural problems.

    Checks that it is loadable as OWL (via RDF/XML, since owlready2 reads no
    Turtle) and that every battkg class is linked to something upstream
    (a named superclass or a SKOS mapping).  Returns problems as sentences.
    """
    import tempfile

    import owlready2
    import rdflib

    graph = rdflib.Graph()
    graph.parse(ONTOLOGY_PATH, format="turtle")
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "battkg.owl"
        graph.serialize(path, format="xml")
        world = owlready2.World()
        onto = world.get_ontology(path.as_uri()).load()
        for cls in onto.world.classes():
            if not cls.iri.startswith(BATTKG):
                continue
            parents = [p for p in cls.is_a if isinstance(p, owlready2.ThingClass) and p is not owlready2.Thing]
            mapped = graph.value(rdflib.URIRef(cls.iri), rdflib.URIRef(SKOS + "broadMatch")) or graph.value(
                rdflib.URIRef(cls.iri), rdflib.URIRef(SKOS + "closeMatch"))
            if not parents and mapped is None:
                problems.append(f"battkg class {cls.name} has neither a superclass nor a SKOS mapping to EMMO")
            if cls in cls.ancestors(include_self=False):
                problems.append(f"battkg class {cls.name} is its own ancestor (subclass cycle)")
        world.close()
    return problems
