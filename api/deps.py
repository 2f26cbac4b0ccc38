"""Shared state and FastAPI dependencies: settings, the repository, the caller, visible graphs."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from battkg.api.auth import ANONYMOUS, Caller, UserStore, Visibility
from battkg.api.query_pool import ProcessQueryRunner, ThreadQueryRunner
from battkg.errors import AccessDenied
from battkg.store import Repository


@dataclass(frozen=True)
class Settings:
    """Limits of one running app (``battkg serve`` options map onto these)."""

    query_timeout: float = 30.0  # seconds; a query still running then is stopped
    query_workers: int = 2  # worker processes for on-disk stores (0: run queries on threads)
    max_upload_bytes: int = 256 * 1024 * 1024  # one request body (upload, update, graph)
    allow_service: bool = False  # SERVICE makes the server fetch arbitrary URLs: refused unless enabled


@dataclass
class AppState:
    """What every request handler needs; built once by :func:`battkg.api.app.create_app`."""

    repo: Repository
    settings: Settings
    users: UserStore
    visibility: Visibility
    runner: ProcessQueryRunner | ThreadQueryRunner
    extras: dict[str, object] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    """The app's :class:`AppState`."""
    return request.app.state.battkg  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


def get_caller(request: Request, state: StateDep) -> Caller:
    """Anonymous without an Authorization header; a bad token is an error, never anonymous."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessDenied("the Authorization header must be 'Bearer <token>'")
    return state.users.authenticate(token.strip())


CallerDep = Annotated[Caller, Depends(get_caller)]


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without reading it all."""
    from fastapi import HTTPException

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
