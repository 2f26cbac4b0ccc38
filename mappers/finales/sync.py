"""Live pull from a FINALES broker's read endpoints (httpx), imported like archived dumps.

Endpoints (FINALES2 v1.1.0, GUIDE §2): ``/capabilities/?currently_available=false``,
``/tenants/``, ``/all_requests/``, ``/results_requested/``.  Every call sends the bearer
token, has a timeout and is retried on connection errors and 5xx answers; a refused token
(401/403) or an unreachable broker raises :class:`SyncError` with the URL and the reason.
The responses are written to a staging directory and imported with
:func:`~battkg.mappers.finales.importer.import_paths`, so a sync is incremental too.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from battkg.errors import BattkgError

from battkg.mappers.finales.importer import ImportReport, import_paths

ENDPOINTS = {  # file name (import order comes from the content) -> path and query
    "capabilities.json": ("/capabilities/", {"currently_available": "false"}),
    "tenants.json": ("/tenants/", {}),
    "requests.json": ("/all_requests/", {}),
    "results_for_requests.json": ("/results_requested/", {}),
}


class SyncError(BattkgError):
    """The broker could not be read (unreachable, token refused, unexpected answer)."""

    exit_code = 2


def read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise SyncError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise SyncError(f"the token file {path} is empty")
    return token


def fetch(url: str, token: str, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5) -> dict[str, bytes]:
    """GET every read endpoint; returns file name → response body (JSON bytes)."""
    base = url.rstrip("/")
    bodies: dict[str, bytes] = {}
    with httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {token}"}) as client:
        for name, (path, query) in ENDPOINTS.items():
            bodies[name] = _get(client, base + path, query, retries, backoff)
    return bodies


def _get(client: httpx.Client, url: str, query: dict[str, str], retries: int, backoff: float) -> bytes:
    last: str = ""
    for attempt in range(retries + 1):
        try:
            response = client.get(url, params=query)
        except httpx.TransportError as exc:
            last = f"cannot reach the broker ({type(exc).__name__}: {exc})"
        else:
            if response.status_code in (401, 403):
                raise SyncError(f"{url}: the broker refused the token (HTTP {response.status_code}); "
                                "get a new one with POST /user_management/authenticate")
            if response.status_code < 500:
                if response.status_code != 200:
                    raise SyncError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
                return response.content
            last = f"HTTP {response.status_code}"
        if attempt < retries:
            time.sleep(backoff * 2 ** attempt)
    raise SyncError(f"{url}: {last} (after {retries + 1} attempts)")


def sync(repo: Any, url: str, token: str, **kwargs: Any) -> ImportReport:
    """Pull the broker's objects and import them (incremental: status changes become events)."""
    bodies = fetch(url, token, **kwargs)
    with tempfile.TemporaryDirectory(prefix="battkg-finales-") as tmp:
        for name, body in bodies.items():
            (Path(tmp) / name).write_bytes(body)
        return import_paths(repo, [Path(tmp)], source=url.rstrip("/"))
