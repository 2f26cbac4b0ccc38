"""Records out of the store: JSON-LD (compacted with the project context)."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox

from battkg.errors import RecordNotFound
from battkg.ontology import context
from battkg.record import record_id_of, record_iri
from battkg.store import Repository


def record_quads(repo: Repository, record: str) -> list[ox.Quad]:
    iri = record_iri(record_id_of(record))
    if not repo.graphs.has_graph(iri):
        raise RecordNotFound(f"no record {record_id_of(record)} in the store at {repo.location}")
    return repo.graphs.graph_quads(iri)


def _no_remote_documents(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    from pyld.jsonld import JsonLdError

    raise JsonLdError(f"battkg never loads remote JSON-LD documents ({url})", "jsonld.LoadDocumentError")


def to_jsonld(quads: list[ox.Quad]) -> dict[str, Any]:
    """Compact JSON-LD with the battkg context inline (no remote context needed to read it)."""
    from pyld import jsonld

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
    options = {"documentLoader": _no_remote_documents}
    ctx = context()
    compacted = jsonld.compact(expanded, {"@context": ctx}, options)
    compacted["@context"] = ctx
    return compacted


def export_record(repo: Repository, record: str) -> dict[str, Any]:
    """A stored record as compacted JSON-LD."""
    return to_jsonld(record_quads(repo, record))
