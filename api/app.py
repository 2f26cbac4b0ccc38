"""FastAPI application: the SPARQL 1.1 Protocol endpoint over the record store.

This is the minimal endpoint of the foundation: ``/sparql`` (GET and POST,
form-encoded or ``application/sparql-query``), results serialized by
Oxigraph's native writers with content negotiation, ``/healthz``.
Records, uploads, access control and export come with the API issue.
"""


import re
from typing import Annotated

import pyoxigraph as ox
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from battkg import __version__
from battkg.store import Repository, open_repository

RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def _negotiate(accept: str, table: dict, default: str) -> tuple[str, object]:
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in table:
            return media, table[media]
    return default, table[default]


def create_app(location: "str | None" = None, repo: "Repository | None" = None) -> FastAPI:
    """Build the app over the store at ``location`` (or an already open repository)."""
    app = FastAPI(title="battkg", version=__version__,
                  description="Battery research knowledge graph: SPARQL 1.1 endpoint")
    state = {"repo": repo}

    def get_repo() -> Repository:
        if state["repo"] is None:
            state["repo"] = open_repository(location)
        return state["repo"]

    RepoDep = Annotated[Repository, Depends(get_repo)]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    async def _answer(query: str | None, request: Request, repo: Repository) -> Response:
        if not query:
            raise HTTPException(400, "missing 'query' parameter (SPARQL 1.1 Protocol)")
        if _SERVICE.search(query):
            raise HTTPException(400, "SERVICE (federated query) is refused by this endpoint")
        try:
            results = repo.graphs.query(query)
        except SyntaxError as exc:
            raise HTTPException(400, f"SPARQL syntax error: {exc}") from None
        accept = request.headers.get("accept", "*/*")
        if isinstance(results, ox.QueryTriples):
            media, fmt = _negotiate(accept, GRAPH_FORMATS, "text/turtle")
            body = results.serialize(format=fmt)
            return Response(body, media_type=media)
        media, fmt = _negotiate(accept, RESULT_FORMATS, "application/sparql-results+json")
        body = results.serialize(format=fmt)
        return Response(body, media_type="application/sparql-results+json" if media == "application/json" else media)

    @app.get("/sparql")
    async def sparql_get(request: Request, repo: RepoDep, query: str | None = None) -> Response:
        return await _answer(query, request, repo)

    @app.post("/sparql")
    async def sparql_post(request: Request, repo: RepoDep) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/sparql-query":
            query = (await request.body()).decode("utf-8")
        elif content_type == "application/x-www-form-urlencoded":
            query = (await request.form()).get("query")  # type: ignore[assignment]
        else:
            return JSONResponse({"detail": "POST needs application/sparql-query or form-encoded 'query'"},
                                status_code=415)
        return await _answer(query, request, repo)

    return app
