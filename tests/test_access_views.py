"""Access views (read replicas per access level) stay exactly the graphs each view may see.

The expected content is computed from the main store by the access rule itself, after
every kind of write the project makes (ingest, status change, graph replace, access
level change, drop, update naming graphs by variable), for in-memory and on-disk stores,
and after a crash between the main write and the view write (journal replay).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from battkg.access_views import ACCESS_LEVEL, VIEWS
from battkg.api.auth import Caller, Visibility
from battkg.api.query_pool import ProcessQueryRunner, QueryJob, QueryTimeout
from battkg.ontology import ONTOLOGY_GRAPH
from battkg.record import RECORD_BASE, mark_status, record_iri
from battkg.store import OxigraphStore, Repository, memory_repository, open_repository
from tests.helpers import ORCID_A, ORCID_B, ingest, user, write_xy


def _expected(main: ox.Store, view: str) -> set[str]:
    """The quads ``view`` must hold, derived from the main store by the access rule."""
    levels: dict[str, set[str]] = {}
    for graph in main.named_graphs():
        levels[graph.value] = {q.object.value for q in main.quads_for_pattern(
            graph, ox.NamedNode(ACCESS_LEVEL), None, graph)}
    keep = [g for g, declared in levels.items()
            if g == ONTOLOGY_GRAPH or (g.startswith(RECORD_BASE) and declared and declared <= VIEWS[view])]
    return {str(q) for g in keep for q in main.quads_for_pattern(None, None, None, ox.NamedNode(g))}


def _assert_views_follow(repo: Repository) -> None:
    store = repo.graphs
    assert isinstance(store, OxigraphStore)
    for view in VIEWS:
        actual = {str(q) for q in store._view_store(view)}
        assert actual == _expected(store.native, view), f"view {view!r} differs from the access rule"


def _ingest_levels(repo: Repository, folder: Path) -> dict[str, str]:
    ids = {}
    for index, (level, operator) in enumerate((("public", ORCID_A), ("restricted", ORCID_A),
                                                ("confidential", ORCID_B))):
        path = write_xy(folder / f"{level}.xy", n=200 + index, start=10.0 + index)
        ids[level] = ingest(repo, path, user(sample=f"S-{level}", operator=operator, access=level)).record_id
    return ids


@pytest.fixture(params=["memory", "disk"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repository:
    if request.param == "memory":
        repository = memory_repository(tmp_path / "blobs")
    else:
        repository = open_repository(tmp_path / "store")
    yield repository
    repository.close()


def test_views_follow_every_kind_of_write(repo: Repository, tmp_path: Path) -> None:
    ids = _ingest_levels(repo, tmp_path)
    _assert_views_follow(repo)
    public = {str(q) for q in repo.graphs._view_store("public")}  # type: ignore[attr-defined]
    assert any(ids["public"] in q for q in public)
    assert not any(ids["restricted"] in q or ids["confidential"] in q for q in public)

    mark_status(repo, ids["public"], "invalid", "detector saturated", rating=2)
    _assert_views_follow(repo)

    # A record moved from public to confidential leaves the public and internal views at once.
    iri = record_iri(ids["public"])
    quads = [q for q in repo.graphs.graph_quads(iri)
             if not (q.subject.value == iri and q.predicate.value == ACCESS_LEVEL)]
    quads.append(ox.Quad(ox.NamedNode(iri), ox.NamedNode(ACCESS_LEVEL), ox.Literal("confidential"), ox.NamedNode(iri)))
    repo.graphs.put_graph(iri, quads)
    _assert_views_follow(repo)
    assert not any(ids["public"] in str(q) for q in repo.graphs._view_store("public"))  # type: ignore[attr-defined]

    # An update that names its graph by variable: every view is recomputed.
    repo.graphs.update(f"DELETE {{ GRAPH ?g {{ ?g battkg:accessLevel \"restricted\" }} }} "
                       f"INSERT {{ GRAPH ?g {{ ?g battkg:accessLevel \"public\" }} }} "
                       f"WHERE {{ GRAPH ?g {{ ?g battkg:accessLevel \"restricted\" }} }}")
    _assert_views_follow(repo)
    assert any(ids["restricted"] in str(q) for q in repo.graphs._view_store("public"))  # type: ignore[attr-defined]

    repo.graphs.update(f"DROP GRAPH <{record_iri(ids['restricted'])}>")
    _assert_views_follow(repo)

    # Graphs that are not records are admin-only: never copied into a view.
    repo.graphs.put_graph("https://example.org/scratch", [ox.Quad(
        ox.NamedNode("https://example.org/scratch"), ox.NamedNode(ACCESS_LEVEL), ox.Literal("public"))])
    _assert_views_follow(repo)


def test_crash_between_main_and_view_write_is_replayed(tmp_path: Path) -> None:
    location = tmp_path / "store"
    repo = open_repository(location)
    ids = _ingest_levels(repo, tmp_path)
    store = repo.graphs
    assert isinstance(store, OxigraphStore) and store._views is not None
    # Simulate a crash after the journal entry and the main write, before the views caught up.
    iri = record_iri(ids["public"])
    store._views.begin([iri])
    store.native.update(f"DROP GRAPH <{iri}>")
    repo.close()
    assert (location / "views" / "pending").read_text().strip() == iri

    reopened = open_repository(location)
    try:
        _assert_views_follow(reopened)
        assert not (location / "views" / "pending").exists()
    finally:
        reopened.close()


def test_views_are_built_for_a_store_without_them(tmp_path: Path) -> None:
    location = tmp_path / "store"
    repo = open_repository(location)
    _ingest_levels(repo, tmp_path)
    repo.close()
    shutil.rmtree(location / "views")  # a store written before views existed
    reopened = open_repository(location)
    try:
        assert reopened.graphs.view_names() == tuple(VIEWS)
        _assert_views_follow(reopened)
    finally:
        reopened.close()


def test_each_caller_gets_the_view_that_equals_their_visible_set(repo: Repository, tmp_path: Path) -> None:
    ids = _ingest_levels(repo, tmp_path)
    other = write_xy(tmp_path / "other.xy", n=250)  # confidential, someone else's: hidden from the owner
    ingest(repo, other, user(sample="S-other", operator=ORCID_A, access="confidential"))
    visibility = Visibility(repo)
    anonymous, reader, owner, admin = (Caller(), Caller("r", "reader"), Caller("o", "reader", ORCID_B),
                                       Caller("a", "admin"))
    assert visibility.dataset_for(admin) == (None, None)
    assert visibility.dataset_for(anonymous) == ("public", None)
    assert visibility.dataset_for(reader) == ("internal", None)
    view, graphs = visibility.dataset_for(owner)  # sees one confidential record: no view matches
    assert view is None and graphs is not None and record_iri(ids["confidential"]) in graphs

    records = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?g a battkg:GraphRecord } }"
    for caller in (anonymous, reader, owner):
        view, graphs = visibility.dataset_for(caller)
        seen = {s["g"].value for s in repo.graphs.query(records, graphs=graphs, **({"view": view} if view else {}))}
        assert seen == {g for g in visibility.graphs_for(caller) or [] if g != ONTOLOGY_GRAPH}

    repo.graphs._views.broken = "simulated failure"  # type: ignore[attr-defined]
    assert repo.graphs.view_names() == ()
    assert visibility.dataset_for(anonymous)[0] is None  # falls back to the explicit list


def test_waiting_for_a_busy_worker_counts_against_the_time_limit(tmp_path: Path) -> None:
    repo = open_repository(tmp_path / "store")
    _ingest_levels(repo, tmp_path)
    runner = ProcessQueryRunner(repo.graphs, Path(repo.graphs.path), workers=1, timeout=1.5)  # type: ignore[attr-defined]
    bomb = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    quick = QueryJob("ASK { ?s ?p ?o }", None, "application/sparql-results+json", "text/turtle", view="public")

    async def both() -> list[object]:
        return await asyncio.gather(runner.run(QueryJob(bomb, None, "application/sparql-results+json", "text/turtle")),
                                    runner.run(quick), return_exceptions=True)

    try:
        started = time.monotonic()
        first, second = asyncio.run(both())
        elapsed = time.monotonic() - started
        assert isinstance(first, QueryTimeout) and isinstance(second, QueryTimeout)
        assert "no query worker became free" in str(second) or "no query worker became free" in str(first)
        assert elapsed < 4  # both answered at the one deadline, not one limit after the other
        media, body = asyncio.run(runner.run(quick))  # the replaced worker answers from the public view
        assert b"true" in body
    finally:
        runner.close()
        repo.close()


def _new_records(count: int, level: str = "public", start: int = 0) -> dict[str, list[ox.Quad]]:
    """``count`` small record graphs of one access level, with blank nodes like real records."""
    graphs = {}
    for index in range(start, start + count):
        iri = f"{RECORD_BASE}bulk-{index:05d}"
        node, value = ox.NamedNode(iri), ox.BlankNode()
        graphs[iri] = [
            ox.Quad(node, ox.NamedNode(ACCESS_LEVEL), ox.Literal(level), node),
            ox.Quad(node, ox.NamedNode("https://w3id.org/battkg/vocab#title"), ox.Literal(f"record {index}"), node),
            ox.Quad(node, ox.NamedNode("https://w3id.org/battkg/vocab#hasQuantity"), value, node),
            ox.Quad(value, ox.NamedNode("https://w3id.org/battkg/vocab#hasNumberValue"), ox.Literal(str(index * 0.5)),
                    node),
        ]
    return graphs


class _FailingBulkStore:
    """The native store, except that ``bulk_extend`` writes half of what it is given and then fails."""

    def __init__(self, native: ox.Store) -> None:
        self._native = native

    def bulk_extend(self, quads) -> None:  # type: ignore[no-untyped-def]
        quads = list(quads)
        self._native.bulk_extend(quads[: len(quads) // 2])
        raise OSError("disk full (simulated)")

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._native, name)


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_a_failed_bulk_write_leaves_store_and_views_unchanged(where: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from battkg.errors import StoreError
    from battkg.store import GraphBatch

    monkeypatch.setattr(OxigraphStore, "BULK_QUADS", 100)  # 60 graphs x 4 quads take the bulk path
    repo = memory_repository(tmp_path / "blobs") if where == "memory" else open_repository(tmp_path / "store")
    try:
        _ingest_levels(repo, tmp_path)
        store = repo.graphs
        assert isinstance(store, OxigraphStore)
        before = {str(q) for q in store.native}
        views_before = {view: {str(q) for q in store._view_store(view)} for view in VIEWS}
        batch = GraphBatch()
        batch.add(_new_records(30, "public"))
        batch.add(_new_records(30, "restricted", start=30))
        native = store._store
        store._store = _FailingBulkStore(native)  # type: ignore[assignment]
        with pytest.raises(StoreError, match="disk full"):
            store.put_graphs(batch)
        store._store = native
        assert {str(q) for q in store.native} == before  # the half written was removed again
        assert {view: {str(q) for q in store._view_store(view)} for view in VIEWS} == views_before
        _assert_views_follow(repo)
        assert not (tmp_path / "store" / "graph.bulk-pending").exists()

        # The same batch then goes in whole, and each view gets exactly its share.
        store.put_graphs(batch)
        _assert_views_follow(repo)
        assert len({str(q) for q in store.native} - before) == 60 * 4
        public = {q.graph_name.value for q in store._view_store("public")}
        assert f"{RECORD_BASE}bulk-00000" in public and f"{RECORD_BASE}bulk-00030" not in public
        assert f"{RECORD_BASE}bulk-00030" in {q.graph_name.value for q in store._view_store("internal")}
    finally:
        repo.close()


def test_a_bulk_write_interrupted_by_a_crash_is_rolled_back_on_open(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from battkg.errors import StoreError

    monkeypatch.setattr(OxigraphStore, "BULK_QUADS", 100)
    location = tmp_path / "store"
    repo = open_repository(location)
    _ingest_levels(repo, tmp_path)
    store = repo.graphs
    assert isinstance(store, OxigraphStore)
    before = {str(q) for q in store.native}
    native = store._store
    store._store = _FailingBulkStore(native)  # type: ignore[assignment]

    def crash(names: list[str]) -> None:  # the process dies before it can remove the half written
        raise OSError("killed")

    monkeypatch.setattr(store, "_drop_graphs", crash)
    with pytest.raises(StoreError, match="next opened") as failure:
        store.put_graphs(_new_records(40))
    del failure  # its traceback holds the store open
    store._store = native
    del native
    assert len({str(q) for q in store.native} - before) > 0  # half of the batch is on disk
    assert (location / "graph.bulk-pending").exists()
    repo.close()

    reopened = open_repository(location)
    try:
        assert {str(q) for q in reopened.graphs.native} == before  # type: ignore[attr-defined]
        _assert_views_follow(reopened)
        assert not (location / "graph.bulk-pending").exists()
        assert not (location / "views" / "pending").exists()
    finally:
        reopened.close()
