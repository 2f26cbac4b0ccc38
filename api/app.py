"""FastAPI application factory: wiring, error mapping, health and ontology look-up.

Where things are:

* ``api/sparql.py``   — ``/sparql`` (SPARQL 1.1 Protocol), ``/sparql/update``, ``/store`` (Graph Store Protocol)
* ``api/records.py``  — ``/records``, ``/records/{id}`` (+ ``/arrays/{name}``, ``/raw``, ``/status``, ``/export``), ``/export``
* ``api/ingest.py``   — ``POST /ingest/{technique}`` (multipart upload)
* ``api/auth.py``     — users, roles, hashed tokens, which graphs a caller may see
* ``api/query_pool.py`` — query time limit (worker processes that can be stopped)
* ``api/html.py``     — the record page (inline SVG plot)

No ``from __future__ import annotations`` in the route modules: FastAPI resolves
``Annotated`` dependencies at import time.
"""

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from battkg import __version__
from battkg.api import ingest as ingest_routes
from battkg.api import records as record_routes
from battkg.api import sparql as sparql_routes
from battkg.api.auth import UserStore, Visibility
from battkg.api.deps import AppState, Settings
from battkg.api.query_pool import make_runner
from battkg.errors import AccessDenied, BattkgError, MetadataError, RecordNotFound, ShapeViolation, StoreError
from battkg.store import Repository, open_repository


def create_app(location: "str | None" = None, repo: "Repository | None" = None,
               settings: "Settings | None" = None) -> FastAPI:
    """Build the app over the store at ``location`` (or an already open repository).

    Query worker processes start here and stop at the app's shutdown (uvicorn's lifespan,
    or leaving ``with TestClient(app)``).
    """
    settings = settings or Settings()
    repository = repo or open_repository(location)

    state = AppState(repository, settings, UserStore.for_repository(repository), Visibility(repository),
                     make_runner(repository.graphs, workers=settings.query_workers, timeout=settings.query_timeout))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.runner.close()  # workers also exit on their own when this process ends (EOF on stdin)

    app = FastAPI(title="battkg", version=__version__, lifespan=lifespan,
                  description="Battery research knowledge graph: SPARQL 1.1 endpoint, records, uploads, "
                              "archive export. Write operations need `Authorization: Bearer <token>` "
                              "(create users with `battkg users add`).")
    app.state.battkg = state

    @app.exception_handler(BattkgError)
    async def battkg_error(request: Request, exc: BattkgError) -> JSONResponse:
        if isinstance(exc, AccessDenied):
            anonymous = "authorization" not in request.headers
            return JSONResponse({"detail": str(exc)}, status_code=401 if anonymous else 403,
                                headers={"WWW-Authenticate": "Bearer"} if anonymous else None)
        if isinstance(exc, RecordNotFound):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        if isinstance(exc, ShapeViolation):
            return JSONResponse({"detail": str(exc), "violations": [str(v) for v in exc.violations]},
                                status_code=422)
        if isinstance(exc, StoreError):
            return JSONResponse({"detail": str(exc)}, status_code=503)
        status = 422 if isinstance(exc, MetadataError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: the version and that the app is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/ontology/search", tags=["service"])
    def ontology_search(q: str, limit: int = 25) -> list[dict[str, object]]:
        """Ontology terms whose label, synonym or abbreviation contains ``q``."""
        from battkg.ontology import search

        return [{"label": h.label, "iri": h.iri, "parents": list(h.parents), "definition": h.definition}
                for h in search(q, None, max(1, min(limit, 200)))]

    app.include_router(sparql_routes.router)
    app.include_router(record_routes.router)
    app.include_router(ingest_routes.router)
    return app
