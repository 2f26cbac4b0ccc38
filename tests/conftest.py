"""Shared fixtures: the ../shared reference folder and its MANIFEST oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
SAMPLES = SHARED / "samples"
ONTOLOGY_REFERENCE = SHARED / "ontology-reference"
FINALES_REFERENCE = SHARED / "reference" / "finales"

requires_shared_samples = pytest.mark.skipif(
    not (SAMPLES / "MANIFEST.json").exists(),
    reason="../shared/samples is absent (fresh clone without the shared reference data)",
)
requires_shared_ontology = pytest.mark.skipif(
    not (ONTOLOGY_REFERENCE / "catalog-v001.xml").exists(),
    reason="../shared/ontology-reference is absent (fresh clone without the shared reference data)",
)


def manifest_entries(technique: str, *, suffixes: tuple[str, ...] | None = None,
                     formats: tuple[str, ...] | None = None) -> list[Any]:
    """MANIFEST.json entries of one technique as pytest params (id = path).

    Returns an empty list when ../shared is absent; pytest then reports the
    parametrised test as skipped with "got empty parameter set".
    """
    manifest = SAMPLES / "MANIFEST.json"
    if not manifest.exists():
        return []
    params = []
    for entry in json.loads(manifest.read_text()):
        if entry["technique"] != technique:
            continue
        if suffixes and not entry["path"].lower().endswith(tuple(s.lower() for s in suffixes)):
            continue
        if formats and not any(f in entry["format"] for f in formats):
            continue
        params.append(pytest.param(entry, id=entry["path"]))
    return params


def sample_path(entry: dict[str, Any]) -> Path:
    return SAMPLES / entry["path"]


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The ``sparql+http://`` location of one ``oxigraph serve`` process shared by the session."""
    from tests.servers import start_oxigraph

    try:
        server, location = start_oxigraph(tmp_path_factory.mktemp("oxigraph-server"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield location
    server.stop()


@pytest.fixture(params=["embedded", "oxigraph-server"])
def repo(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh store: embedded Oxigraph on disk, and the same tests against a SPARQL 1.1 server."""
    from battkg.store import open_repository

    if request.param == "embedded":
        repository = open_repository(tmp_path / "store")
    else:
        from tests.servers import clear

        location = request.getfixturevalue("oxigraph_server")
        clear(location)
        repository = open_repository(location, blobs=tmp_path / "store")
    yield repository
    repository.close()
