"""The application ontology: context drift, conformance with BattINFO/EMMO, label look-up."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import pyoxigraph as ox

from battkg import ontology
from tests.conftest import ONTOLOGY_REFERENCE, PROJECT_ROOT, requires_shared_ontology

SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"


def test_committed_context_matches_generator() -> None:
    committed = json.loads(ontology.CONTEXT_PATH.read_text())["@context"]
    assert committed == ontology.generate_context(), "run `battkg ontology context` and commit the result"


def test_context_keys_are_unique_per_iri_and_cover_reader_quantities() -> None:
    ctx = ontology.context()
    for key in ("TwoTheta", "DiffractionIntensity", "Wavelength", "BindingEnergy", "RamanShift", "Wavenumber",
                "CellVoltage", "IonicConductivity", "hasNumericalPart", "hasMeasurementUnit", "Angstrom"):
        assert key in ctx, key
    assert ctx["hasNumberValue"]["@type"] == "http://www.w3.org/2001/XMLSchema#double"
    assert ctx["hasMeasurementUnit"]["@type"] == "@vocab"


def test_owlready2_loads_the_ontology_and_every_battkg_class_is_linked() -> None:
    assert ontology.owl_check() == []


def test_label_search_finds_opaque_iris() -> None:
    hits = ontology.search("ionic conductivity")
    assert hits[0].iri.endswith("electrochemistry_25dabdc2_68bf_4a38_8cbe_11be017358bc")
    assert ontology.search("XPS")[0].iri.endswith("chameo#XpsVariableKinetic")
    assert ontology.search("no such thing at all") == []


@requires_shared_ontology
def test_label_search_over_reference_shows_parents_and_definitions() -> None:
    hits = ontology.search("ElectrolyticConductivity", ONTOLOGY_REFERENCE)
    top = hits[0]
    assert top.iri == "https://w3id.org/emmo#EMMO_e6e7277a_1d40_4be5_a3a9_afd3da53d937"
    assert "IonicConductivity" in top.parents and top.definition


# ---------------------------------------------------------------------------- conformance


@lru_cache(maxsize=1)
def _reference() -> ontology.ReferenceOntology:
    return ontology.load_reference(ONTOLOGY_REFERENCE)


def _project_iris() -> set[str]:
    """Every EMMO-family IRI used anywhere in ontology/, shapes/ or the context."""
    found: set[str] = set()
    for folder in ("ontology", "shapes"):
        for path in (PROJECT_ROOT / folder).glob("*.ttl"):
            store = ox.Store()
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
            for quad in store:
                for term in (quad.subject, quad.predicate, quad.object):
                    if isinstance(term, ox.NamedNode) and term.value.startswith(ontology.REFERENCE_NAMESPACES):
                        found.add(term.value)
    for value in ontology.context().values():
        iri = value if isinstance(value, str) else value.get("@id", "") if isinstance(value, dict) else ""
        if iri.startswith(ontology.REFERENCE_NAMESPACES):
            found.add(iri)
    # IRIs mentioned in Python code and queries (e.g. literal IRIs in .rq files)
    for path in list((PROJECT_ROOT / "query").glob("*.rq")):
        found |= {m for m in re.findall(r"https?://[^\s>\"')]+", path.read_text())
                  if m.startswith(ontology.REFERENCE_NAMESPACES)}
    # Namespace IRIs (context prefixes, STRSTARTS filters) are not terms.
    return {iri for iri in found if not iri.endswith(("#", "/"))}


@requires_shared_ontology
def test_reference_loads_and_skips_only_the_known_malformed_file() -> None:
    reference = _reference()
    skipped = [str(p.relative_to(ONTOLOGY_REFERENCE)) for p, _ in reference.skipped]
    assert skipped == ["emmo/disciplines/units/units.ttl"], skipped
    assert len(reference.store) > 70000


@requires_shared_ontology
def test_every_reused_iri_exists_upstream_with_the_claimed_label() -> None:
    reference = _reference().store
    app = ontology.application_store()
    missing, wrong_label = [], []
    for iri in sorted(_project_iris()):
        node = ox.NamedNode(iri)
        upstream = {q.object.value for q in reference.quads_for_pattern(node, ox.NamedNode(SKOS_PREF), None)}
        defined = upstream or any(True for _ in reference.quads_for_pattern(node, None, None))
        if not defined:
            missing.append(iri)
            continue
        claimed = {q.object.value for q in app.quads_for_pattern(node, ox.NamedNode(SKOS_PREF), None)}
        if claimed and not claimed <= upstream:
            wrong_label.append(f"{iri}: battkg claims {sorted(claimed)}, upstream has {sorted(upstream)}")
    assert not missing, f"IRIs not defined in the reference ontologies: {missing}"
    assert not wrong_label, "\n".join(wrong_label)
    assert len(_project_iris()) > 100


@requires_shared_ontology
def test_every_claimed_subclass_edge_holds_upstream() -> None:
    reference = _reference().store
    app = ontology.application_store()
    wrong = []
    for quad in app.quads_for_pattern(None, ox.NamedNode(SUBCLASS), None):
        sub, sup = quad.subject.value, quad.object.value
        if not (sub.startswith(ontology.REFERENCE_NAMESPACES) and sup.startswith(ontology.REFERENCE_NAMESPACES)):
            continue  # battkg's own terms define their own parents
        holds = reference.query(f"ASK {{ <{sub}> <{SUBCLASS}>+ <{sup}> }}")
        if not bool(holds):
            wrong.append(f"{sub} ⊑ {sup}")
    assert not wrong, f"subclass edges battkg asserts that upstream does not entail: {wrong}"


@requires_shared_ontology
def test_battkg_terms_are_not_lookalikes_of_upstream_terms() -> None:
    """A battkg term must not duplicate an upstream prefLabel (it would be an invented look-alike)."""
    reference = _reference().store
    app = ontology.application_store()
    clashes = []
    for quad in app.quads_for_pattern(None, ox.NamedNode(SKOS_PREF), None):
        if not quad.subject.value.startswith(ontology.BATTKG) or quad.subject.value.endswith(
                ("#contextKey", "#techniqueKey", "#pintUnit", "#canonicalUnit", "#observes", "#formula",
                 "#synonym", "#jsonldType")):
            continue
        label = quad.object.value
        result = reference.query(f'ASK {{ ?s <{SKOS_PREF}> ?l . FILTER(STR(?l) = "{label}") '
                                 f'FILTER(STRSTARTS(STR(?s), "https://w3id.org/emmo")) }}')
        if bool(result):
            clashes.append(f"{quad.subject.value} reuses the upstream label {label!r}")
    assert not clashes, clashes
