"""SPARQL 1.1 Protocol (``/sparql``), Update (``/sparql/update``) and Graph Store Protocol (``/store``).

Reads: every query runs over the caller's visible graphs only (default graph
*and* the graphs ``GRAPH ?g`` can reach), so ``FROM``/``FROM NAMED`` in the
text, ``GRAPH <hidden>``, property paths and ``DESCRIBE`` see nothing else.
``default-graph-uri``/``named-graph-uri`` are intersected with that set.
``SERVICE`` is refused (the server would fetch arbitrary URLs).

Writes (writer or admin token): an update runs against a scratch copy of the
graphs it names; every graph it changed is SHACL-validated as a record, and
only then replaced in the store.  Updates may only touch record graphs the
caller can see (or create new ones), never the default or ontology graph.
"""

import re
from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from battkg.api.auth import Caller
from battkg.api.deps import AppState, CallerDep, StateDep, read_body_limited
from battkg.api.query_pool import QueryFailed, QueryJob, QueryTimeout
from battkg.errors import AccessDenied, RecordNotFound
from battkg.ontology import ONTOLOGY_GRAPH, PREFIXES
from battkg.record import RECORD_BASE
from battkg.store import GRAPH_FORMATS, RESULT_FORMATS
from battkg.validation import validate_graph

router = APIRouter(tags=["sparql"])

_ALIASES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml",
            "text/plain": "application/n-triples", "application/x-turtle": "text/turtle"}
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
GRAPH_RECORD = "https://w3id.org/battkg/vocab#GraphRecord"
INPUT_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


def _media_ranges(accept: str) -> list[str]:
    """Accept header media types, highest q first (ties keep the header's order)."""
    ranked = []
    for index, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = _ALIASES.get(fields[0].lower(), fields[0].lower())
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranked.append((-q, index, media))
    return [media for _, _, media in sorted(ranked)]


def negotiate(accept: str | None) -> tuple[str, str]:
    """(results media type, graph media type) for an Accept header; 406 if it allows neither kind."""
    ranges = _media_ranges(accept or "*/*")
    results = next((m for m in ranges if m in RESULT_FORMATS), None)
    graph = next((m for m in ranges if m in GRAPH_FORMATS), None)
    wildcard = any(m in ("*/*", "application/*", "text/*") for m in ranges)
    if results is None and graph is None and not wildcard:
        raise HTTPException(406, f"cannot answer in {accept!r}; results: {', '.join(RESULT_FORMATS)}; "
                                 f"graphs: {', '.join(GRAPH_FORMATS)}")
    return results or "application/sparql-results+json", graph or "text/turtle"


def refuse_service(text: str, allow: bool) -> None:
    """400 for SERVICE; ``\\uXXXX`` escapes are decoded first so they cannot spell the keyword."""
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
    if not allow and _SERVICE.search(decoded):
        raise HTTPException(400, "SERVICE (federated query) is refused by this endpoint")


def _dataset(state: AppState, caller: Caller, default_uris: list[str], named_uris: list[str]
             ) -> tuple[str | None, list[str] | None, list[str] | None]:
    """(access view, default graphs, named graphs) for a query: the caller's visible set, narrowed by the protocol."""
    if not default_uris and not named_uris:
        view, visible = state.visibility.dataset_for(caller)
        return view, visible, None
    visible = state.visibility.graphs_for(caller)
    allowed = set(state.repo.graphs.graph_names()) if visible is None else set(visible)
    # Invisible graphs are dropped silently: an error would tell the caller they exist.
    return None, [g for g in default_uris if g in allowed], [g for g in named_uris if g in allowed]


async def answer_query(state: AppState, caller: Caller, query: str | None, accept: str | None,
                       default_uris: list[str] | None = None, named_uris: list[str] | None = None) -> Response:
    """Evaluate a read query for ``caller`` and serialize it natively (shared by /sparql and the record routes)."""
    if not query or not query.strip():
        raise HTTPException(400, "missing 'query' parameter (SPARQL 1.1 Protocol)")
    refuse_service(query, state.settings.allow_service)
    results_media, graph_media = negotiate(accept)
    view, graphs, named = _dataset(state, caller, default_uris or [], named_uris or [])
    try:
        media, body = await state.runner.run(QueryJob(query, graphs, results_media, graph_media, named, view))
    except SyntaxError as exc:
        raise HTTPException(400, f"SPARQL syntax error: {exc}") from None
    except QueryTimeout as exc:
        raise HTTPException(503, str(exc)) from None
    except QueryFailed as exc:
        raise HTTPException(500, f"query failed: {exc}") from None
    return Response(body, media_type=media)


ListParam = Annotated[list[str] | None, Query(alias="default-graph-uri")]
NamedParam = Annotated[list[str] | None, Query(alias="named-graph-uri")]


@router.get("/sparql", summary="SPARQL 1.1 query (GET)")
async def sparql_get(request: Request, state: StateDep, caller: CallerDep, query: str | None = None,
                     default_graph_uri: ListParam = None, named_graph_uri: NamedParam = None) -> Response:
    """SPARQL 1.1 Protocol query via GET; results by content negotiation."""
    return await answer_query(state, caller, query, request.headers.get("accept"),
                              default_graph_uri, named_graph_uri)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post("/sparql", summary="SPARQL 1.1 query (POST)")
async def sparql_post(request: Request, state: StateDep, caller: CallerDep,
                      default_graph_uri: ListParam = None, named_graph_uri: NamedParam = None) -> Response:
    """SPARQL 1.1 Protocol query via POST: ``application/sparql-query`` body or form-encoded ``query``."""
    content_type = _content_type(request)
    body = await read_body_limited(request, state.settings.max_upload_bytes)
    if content_type == "application/sparql-query":
        query = body.decode("utf-8", errors="replace")
    elif content_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qs

        form = parse_qs(body.decode("utf-8", errors="replace"))
        query = (form.get("query") or [None])[0]
        default_graph_uri = (default_graph_uri or []) + form.get("default-graph-uri", [])
        named_graph_uri = (named_graph_uri or []) + form.get("named-graph-uri", [])
        if form.get("update"):
            raise HTTPException(400, "updates go to /sparql/update")
    else:
        raise HTTPException(415, "POST /sparql needs application/sparql-query or form-encoded 'query'")
    return await answer_query(state, caller, query, request.headers.get("accept"), default_graph_uri, named_graph_uri)


# ------------------------------------------------------------------------------------------ writes

# Graph names in an update: full IRIs, prefixed names (refused: write them in full), the keywords
# DEFAULT/ALL/NAMED (refused) or variables (they only range over the scratch copy).
_GRAPH_REF = re.compile(r"\b(?:GRAPH|WITH|INTO|USING(?:\s+NAMED)?|FROM(?:\s+NAMED)?|TO|DROP|CLEAR|CREATE|ADD|MOVE|COPY)"
                        r"\s+(?:SILENT\s+)?(<[^>]*>|[A-Za-z_][\w.-]*:[^\s{]*|DEFAULT\b|ALL\b|NAMED\b|[?$]\w+)",
                        re.IGNORECASE)


def _check_graph_writable(state: AppState, caller: Caller, graph: str) -> None:
    if graph == ONTOLOGY_GRAPH:
        raise AccessDenied("the ontology graph is read-only (it is loaded from ontology/battkg.ttl)")
    if not graph.startswith(RECORD_BASE):
        raise HTTPException(400, f"only record graphs ({RECORD_BASE}<id>) can be written through the API (got <{graph}>)")
    if state.repo.graphs.has_graph(graph) and not state.visibility.can_see(caller, graph):
        # Same answer as for a graph that does not exist when reading; here we must refuse.
        raise AccessDenied(f"you may not change <{graph}>")


def _validated(graph: str, quads: list[ox.Quad], source: str) -> list[ox.Quad]:
    """Check one record graph holds its own record node and conforms to the shapes."""
    types = {q.object.value for q in quads if q.subject.value == graph and q.predicate.value == RDF_TYPE}
    if GRAPH_RECORD not in types:
        raise HTTPException(422, f"graph <{graph}> must describe its own record: <{graph}> a battkg:GraphRecord")
    validate_graph(quads, graph, source=source)
    return quads


def _same(a: list[ox.Quad], b: list[ox.Quad]) -> bool:
    return {str(q) for q in a} == {str(q) for q in b}


def apply_update(state: AppState, caller: Caller, update: str) -> list[str]:
    """Run a SPARQL Update on a scratch copy of the graphs it names; validate; write back. Returns changed graphs."""
    caller.require_writer()
    refuse_service(update, allow=False)
    if re.search(r"\bLOAD\b", update, re.IGNORECASE):
        raise HTTPException(400, "LOAD is refused: the server does not fetch remote documents")
    named: set[str] = set()
    for match in _GRAPH_REF.finditer(update):
        target = match.group(1)
        if target.upper() in ("DEFAULT", "ALL", "NAMED"):
            raise HTTPException(400, f"{match.group(0)!r}: updates may only name record graphs, by full IRI")
        if target.startswith("?") or target.startswith("$"):
            continue  # a variable ranges over the scratch copy only
        if not target.startswith("<"):
            raise HTTPException(400, f"{match.group(0)!r}: write graph names as full IRIs <...> in updates")
        named.add(target[1:-1])
    for graph in named:
        if graph != ONTOLOGY_GRAPH:
            _check_graph_writable(state, caller, graph)
    scratch = ox.Store()
    before: dict[str, list[ox.Quad]] = {}
    for graph in named:
        if state.repo.graphs.has_graph(graph):
            before[graph] = state.repo.graphs.graph_quads(graph)
            scratch.extend(before[graph])
    try:
        scratch.update(update, prefixes=PREFIXES)
    except SyntaxError as exc:
        raise HTTPException(400, f"SPARQL syntax error: {exc}") from None
    if any(True for _ in scratch.quads_for_pattern(None, None, None, ox.DefaultGraph())):
        raise HTTPException(400, "updates may not write the default graph: put triples in a record graph")
    after: dict[str, list[ox.Quad]] = {}
    for node in scratch.named_graphs():
        after[node.value] = list(scratch.quads_for_pattern(None, None, None, node))
    changed = [g for g in sorted(set(before) | set(after)) if not _same(before.get(g, []), after.get(g, []))]
    for graph in changed:
        _check_graph_writable(state, caller, graph)
        if not after.get(graph):
            raise HTTPException(400, f"the update would empty <{graph}>; records are never deleted: "
                                     "mark them with POST /records/{id}/status")
        _validated(graph, after[graph], "SPARQL update")
    for graph in changed:  # all validated: now write, one atomic replace per graph
        state.repo.graphs.put_graph(graph, after[graph])
    return changed


@router.post("/sparql/update", summary="SPARQL 1.1 Update (token)")
async def sparql_update(request: Request, state: StateDep, caller: CallerDep) -> Response:
    """SPARQL 1.1 Update (``application/sparql-update`` or form ``update``); writes are SHACL-validated."""
    caller.require_writer()
    body = await read_body_limited(request, state.settings.max_upload_bytes)
    content_type = _content_type(request)
    if content_type == "application/sparql-update":
        update = body.decode("utf-8", errors="replace")
    elif content_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qs

        update = (parse_qs(body.decode("utf-8", errors="replace")).get("update") or [""])[0]
    else:
        raise HTTPException(415, "POST /sparql/update needs application/sparql-update or form-encoded 'update'")
    if not update.strip():
        raise HTTPException(400, "missing 'update'")
    changed = apply_update(state, caller, update)
    return Response(status_code=204, headers={"X-Battkg-Changed-Graphs": str(len(changed))})


def _graph_param(graph: str | None, default: str | None) -> str:
    if default is not None:
        raise HTTPException(400, "battkg keeps no data in the default graph; name a record graph with ?graph=")
    if not graph:
        raise HTTPException(400, "give ?graph=<record IRI> (Graph Store Protocol, indirect identification)")
    return graph


async def _parse_body(request: Request, state: AppState, graph: str) -> list[ox.Quad]:
    content_type = _content_type(request)
    if content_type not in INPUT_FORMATS:
        raise HTTPException(415, f"cannot read {content_type or 'no content type'}; send one of {', '.join(INPUT_FORMATS)}")
    body = await read_body_limited(request, state.settings.max_upload_bytes)
    try:
        # pyoxigraph's JSON-LD parser has no document loader: remote @context is a SyntaxError.
        triples = ox.parse(body, format=INPUT_FORMATS[content_type], base_iri=graph)
        return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples]
    except (SyntaxError, ValueError) as exc:
        raise HTTPException(400, f"cannot parse the {content_type} body: {exc}") from None


GraphParam = Annotated[str | None, Query(description="The record graph IRI")]
DefaultParam = Annotated[str | None, Query(description="The default graph (not used by battkg)")]


@router.get("/store", summary="Graph Store Protocol: read a graph")
async def store_get(request: Request, state: StateDep, caller: CallerDep, graph: GraphParam = None,
                    default: DefaultParam = None) -> Response:
    """One named graph (a record) in Turtle, N-Triples or JSON-LD; 404 unless the caller may see it."""
    iri = _graph_param(graph, default)
    if not (iri == ONTOLOGY_GRAPH or state.visibility.can_see(caller, iri)):
        raise RecordNotFound(f"no graph <{iri}>")
    _, graph_media = negotiate(request.headers.get("accept"))
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"
    media, body = state.repo.graphs.query_serialized(query, graphs=[iri], results_format="text/csv",
                                                     graph_format=graph_media)
    return Response(body, media_type=media)


async def _write_graph(request: Request, state: AppState, caller: Caller, iri: str, merge: bool) -> Response:
    caller.require_writer()
    _check_graph_writable(state, caller, iri)
    quads = await _parse_body(request, state, iri)
    existed = state.repo.graphs.has_graph(iri)
    if merge and existed:
        quads = state.repo.graphs.graph_quads(iri) + quads
    _validated(iri, quads, f"{request.method} /store")
    state.repo.graphs.put_graph(iri, quads)
    return Response(status_code=204 if existed else 201)


@router.put("/store", summary="Graph Store Protocol: replace a graph (token)")
async def store_put(request: Request, state: StateDep, caller: CallerDep, graph: GraphParam = None,
                    default: DefaultParam = None) -> Response:
    """Replace (or create) a record graph; the new content must conform to the record shapes."""
    return await _write_graph(request, state, caller, _graph_param(graph, default), merge=False)


@router.post("/store", summary="Graph Store Protocol: add to a graph (token)")
async def store_post(request: Request, state: StateDep, caller: CallerDep, graph: GraphParam = None,
                     default: DefaultParam = None) -> Response:
    """Merge triples into a record graph; the result must conform to the record shapes."""
    return await _write_graph(request, state, caller, _graph_param(graph, default), merge=True)


@router.delete("/store", summary="Graph Store Protocol: drop a graph (admin)")
async def store_delete(state: StateDep, caller: CallerDep, graph: GraphParam = None,
                       default: DefaultParam = None) -> Response:
    """Drop a record graph: admins only; everyone else marks records deleted via /records/{id}/status."""
    iri = _graph_param(graph, default)
    caller.require_writer()
    if caller.role != "admin":
        raise AccessDenied("only admins drop graphs; mark a record deleted with POST /records/{id}/status")
    _check_graph_writable(state, caller, iri)
    if not state.repo.graphs.has_graph(iri):
        raise RecordNotFound(f"no graph <{iri}>")
    state.repo.graphs.update(f"DROP GRAPH <{iri}>")
    return Response(status_code=204)
