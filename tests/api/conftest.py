"""Fixtures for the HTTP API: a store with public, restricted and confidential records, users, a live server."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from battkg.api.auth import UserStore
from battkg.api.deps import Settings
from battkg.store import Repository, open_repository
from tests.helpers import ORCID_A, ORCID_B, ingest, user, write_xy


@dataclass
class World:
    repo: Repository
    ids: dict[str, str]  # access level -> record id
    files: dict[str, Path]
    tokens: dict[str, str]  # user name -> token


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    repo = open_repository(tmp_path / "store")
    ids, files = {}, {}
    for index, (level, operator) in enumerate((("public", ORCID_A), ("restricted", ORCID_A),
                                                ("confidential", ORCID_B))):
        path = write_xy(tmp_path / f"{level}.xy", n=300 + index, start=10.0 + index)
        result = ingest(repo, path, user(sample=f"S-{level}", operator=operator, access=level))
        ids[level], files[level] = result.record_id, path
    users = UserStore.for_repository(repo)
    tokens = {"reader": users.add("reader", "reader"), "writer": users.add("writer", "writer"),
              "owner": users.add("owner", "reader", orcid=ORCID_B), "admin": users.add("admin", "admin")}
    yield World(repo, ids, files, tokens)
    repo.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    from battkg.api.app import create_app

    app = create_app(repo=world.repo, settings=Settings(query_timeout=2.0, query_workers=1,
                                                        max_upload_bytes=2_000_000))
    with TestClient(app) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(world: World) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1:<free port>, stopped afterwards."""
    import uvicorn

    from battkg.api.app import create_app

    port = free_port()
    app = create_app(repo=world.repo, settings=Settings(query_timeout=1.5, query_workers=2))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
