"""Integration: battkg on Virtuoso Open Source 7 through the standard protocols.

Runs when ``virtuoso-t`` is installed (Debian package virtuoso-opensource-7-bin;
``.ci/run`` installs it when apt is usable) and skips with that reason
otherwise.  Virtuoso is started in a temporary directory on free loopback
ports; writes go to its authenticated endpoints with digest authentication
(the fresh database's ``dba`` account), reads to the anonymous ``/sparql``.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from battkg.errors import StoreError
from battkg.query import run
from battkg.record import mark_status
from battkg.store import open_repository
from tests.helpers import ORCID_B, ingest, user, write_xy
from tests.servers import find_program

pytestmark = pytest.mark.skipif(find_program("virtuoso-t") is None,
                                reason="virtuoso-t is not installed (Debian package virtuoso-opensource-7-bin)")

G1, G2 = "https://example.org/graph/public", "https://example.org/graph/secret"


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.servers import start_virtuoso

    server, port = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield (f"sparql+http://127.0.0.1:{port}/?query=sparql&update=sparql-auth"
           f"&store=sparql-graph-crud-auth&auth=digest")
    server.stop()


@pytest.fixture
def vrepo(virtuoso: str, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BATTKG_STORE_USER", "dba")
    monkeypatch.setenv("BATTKG_STORE_PASSWORD", "dba")
    repository = open_repository(virtuoso, blobs=tmp_path / "blobs")
    for graph in repository.graphs.graph_names():
        if graph.startswith("https://w3id.org/battkg/id/") or graph.startswith("https://example.org/"):
            repository.graphs.update(f"DROP SILENT GRAPH <{graph}>")
    yield repository
    repository.close()


def _ids(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {row[0].value.rsplit("/", 1)[-1] for row in result.rows}


def test_records_and_competency_questions_on_virtuoso(vrepo, tmp_path: Path) -> None:
    lno = ingest(vrepo, write_xy(tmp_path / "lno.xy"))
    graphite = ingest(vrepo, write_xy(tmp_path / "gr.xy", n=150), user("GR-001", "graphite", ORCID_B))
    assert vrepo.graphs.has_graph(lno.record_iri)
    assert not ingest(vrepo, write_xy(tmp_path / "lno.xy")).created  # idempotent re-ingest
    assert _ids(run(vrepo, "experiments-by-material", {"material": "LNO"})) == {lno.record_id}
    assert _ids(run(vrepo, "experiments-by-operator", {"operator": ORCID_B})) == {graphite.record_id}
    assert _ids(run(vrepo, "experiments-by-observable", {"observable": "lattice parameters"})) == {
        lno.record_id, graphite.record_id}
    assert _ids(run(vrepo, "experiments-by-technique", {"technique": "xrd"})) == {lno.record_id, graphite.record_id}
    assert run(vrepo, "experiments-by-material", {"material": 'LNO" ) || true || ( "'}).rows == []
    mark_status(vrepo, lno.record_id, "deleted", "wrong sample holder")
    assert _ids(run(vrepo, "experiments-by-material", {"material": "LNO"})) == set()
    statuses = {row[0].value: row[1].value for row in run(
        vrepo, "SELECT ?r ?s WHERE { ?r a battkg:GraphRecord ; battkg:status ?s }").rows}
    assert statuses == {lno.record_iri: "deleted", graphite.record_iri: "active"}
    assert len(vrepo.graphs.graph_quads(lno.record_iri)) > 100


def test_graph_replacement_and_dataset_restriction_on_virtuoso(vrepo) -> None:
    p = ox.NamedNode("https://example.org/p")

    def quads(graph: str, value: str) -> list[ox.Quad]:
        return [ox.Quad(ox.NamedNode("https://example.org/s"), p, ox.Literal(value), ox.NamedNode(graph))]

    vrepo.graphs.put_graph(G1, quads(G1, "v1"))
    vrepo.graphs.put_graph(G1, quads(G1, "public"))
    vrepo.graphs.put_graph(G2, quads(G2, "secret"))
    assert [q.object.value for q in vrepo.graphs.graph_quads(G1)] == ["public"]
    seen = {s["o"].value for s in vrepo.graphs.query(f"SELECT ?o WHERE {{ ?s <{p.value}> ?o }}", graphs=[G1])}
    assert seen == {"public"}
    hidden = vrepo.graphs.query(f"SELECT ?o WHERE {{ GRAPH <{G2}> {{ ?s <{p.value}> ?o }} }}", graphs=[G1])
    assert list(hidden) == []
    with pytest.raises(SyntaxError, match="FROM / FROM NAMED"):  # Virtuoso would let FROM widen the dataset
        vrepo.graphs.query(f"SELECT ?o FROM <{G2}> WHERE {{ ?s <{p.value}> ?o }}", graphs=[G1])
    assert {s["o"].value for s in vrepo.graphs.query(f"SELECT ?o WHERE {{ ?s <{p.value}> ?o }}")} == {
        "public", "secret"}


def test_wrong_password_is_a_clear_error(virtuoso: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BATTKG_STORE_USER", "dba")
    monkeypatch.setenv("BATTKG_STORE_PASSWORD", "not-the-password")
    with pytest.raises(StoreError, match="HTTP 401") as info:
        with open_repository(virtuoso, blobs=tmp_path / "blobs") as repo:
            repo.graphs.put_graph(G1, [])
    assert "not-the-password" not in str(info.value)
