"""The remote graph store (SPARQL 1.1 protocols) and the fsspec blob store.

Store behaviour shared by both graph stores runs through the parametrised
``repo`` fixture (embedded and ``oxigraph serve``); this file covers what is
specific to the HTTP path: location parsing, parameter binding, dataset
restriction, atomic replacement, errors and retries, credentials, and blobs
on other filesystems.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import h5py
import httpx
import pyoxigraph as ox
import pytest

from battkg.blobs import BlobStore, BlobTransaction, sha256_file
from battkg.errors import StoreError
from battkg.fsspec_blobs import FsspecBlobStore, open_blob_store
from battkg.sparql_store import SparqlStore, bind_parameters, parse_location
from battkg.store import open_repository
from tests.helpers import ingest, snapshot, write_xy

G1, G2 = "https://example.org/graph/public", "https://example.org/graph/secret"
P = ox.NamedNode("https://example.org/p")


def _quads(graph: str, *values: str) -> list[ox.Quad]:
    return [ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), P, ox.Literal(v), ox.NamedNode(graph))
            for i, v in enumerate(values)]


def _values(results) -> set[str]:  # type: ignore[no-untyped-def]
    return {s["o"].value for s in results}


# ------------------------------------------------------------------------------------ locations


def test_location_oxigraph_layout_and_explicit_endpoints() -> None:
    config = parse_location("sparql+http://db.example:7878/")
    assert (config.query_url, config.update_url, config.store_url, config.union) == (
        "http://db.example:7878/query", "http://db.example:7878/update", "http://db.example:7878/store", "request")
    fuseki = parse_location("sparql+https://kg.example/ds?query=sparql&update=update&store=data&timeout=5")
    assert (fuseki.query_url, fuseki.update_url, fuseki.store_url) == (
        "https://kg.example/ds/sparql", "https://kg.example/ds/update", "https://kg.example/ds/data")
    assert fuseki.union == "server" and fuseki.timeout == 5.0
    virtuoso = parse_location("sparql+http://v:8890/?query=/sparql&update=/sparql-auth&store=none&auth=digest")
    assert (virtuoso.update_url, virtuoso.store_url, virtuoso.auth) == ("http://v:8890/sparql-auth", None, "digest")


@pytest.mark.parametrize(("location", "message"), [
    ("sparql+http://alice:s3cret@db:7878/", "contains credentials"),
    ("sparql+http://db:7878/?colour=red", "colour unknown"),
    ("sparql+http://db:7878/?union=maybe", "union must be"),
    ("sparql+http://db:7878/?timeout=soon", "must be a number"),
    ("http://db:7878/", r"expected sparql\+http"),
])
def test_location_errors(location: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        parse_location(location)
    assert "s3cret" not in str(info.value)


def test_open_repository_refuses_other_url_schemes(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="expected sparql"):
        open_repository("ftp://db.example/store", blobs=tmp_path)


# ------------------------------------------------------------------------------------ parameters


def test_values_block_goes_into_the_outermost_where_group() -> None:
    x = {ox.Variable("x"): ox.Literal("v")}
    query = 'SELECT ?x (EXISTS { ?a ?b ?c } AS ?e) # WHERE { in a comment\n WHERE { ?s ?p "}{" . ?s <urn:a> ?x }'
    head, tail = query.split("WHERE { ?s")
    bound = bind_parameters(query, x)
    assert bound == (f'{head}WHERE {{ VALUES (?x) {{ ("v"^^<http://www.w3.org/2001/XMLSchema#string>) }}  ?s{tail}')
    construct = bind_parameters("CONSTRUCT { ?s ?p ?x } WHERE { ?s ?p ?x }", x)
    assert construct.startswith("CONSTRUCT { ?s ?p ?x } WHERE { VALUES (?x)")
    assert bind_parameters("ASK { ?s ?p ?x }", x).startswith("ASK { VALUES (?x)")
    with pytest.raises(SyntaxError, match="short form"):
        bind_parameters("CONSTRUCT WHERE { ?s ?p ?x }", x)
    with pytest.raises(SyntaxError, match="no WHERE group"):
        bind_parameters("DESCRIBE <urn:x>", x)
    with pytest.raises(ValueError, match="only IRIs and literals"):
        bind_parameters("SELECT ?x WHERE { }", {ox.Variable("x"): ox.BlankNode()})


NASTY = [
    ox.Literal('xrd" ) } ; DROP ALL ; SELECT * { #'),
    ox.Literal("back\\slash \\u0022 and \\n, a real\nnewline\r\tand } { >"),
    ox.Literal("Lithium-Nickeloxid ünd 电池 🔋"),
    ox.Literal("chat", language="fr"),
    ox.Literal("12.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
    ox.NamedNode("https://orcid.org/0000-0002-1825-0097?a=1&b='x'#frag"),
]


@pytest.mark.parametrize("term", NASTY, ids=range(len(NASTY)))
def test_parameter_values_arrive_unchanged_and_cannot_change_the_query(repo, term: ox.Term) -> None:
    repo.graphs.put_graph(G1, _quads(G1, "a"))
    results = list(repo.graphs.query(f"SELECT ?v (COUNT(*) AS ?n) WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }} GROUP BY ?v",
                                     substitutions={ox.Variable("v"): term}))
    assert [(r["v"], int(r["n"].value)) for r in results] == [(term, 1)]
    assert repo.graphs.graph_names() != []  # nothing was dropped


# ------------------------------------------------------------------------------------ datasets


def test_graph_restriction_holds_against_from_and_graph_clauses(repo) -> None:
    repo.graphs.put_graph(G1, _quads(G1, "public"))
    repo.graphs.put_graph(G2, _quads(G2, "secret"))
    assert _values(repo.graphs.query("SELECT ?o WHERE { ?s ?p ?o }", graphs=[G1])) == {"public"}
    widen = f"SELECT ?o FROM <{G2}> WHERE {{ ?s ?p ?o }}"
    if isinstance(repo.graphs, SparqlStore):  # refused: not every engine lets the protocol's dataset win
        with pytest.raises(SyntaxError, match="FROM / FROM NAMED cannot be used"):
            repo.graphs.query(widen, graphs=[G1])
    else:
        assert _values(repo.graphs.query(widen, graphs=[G1])) == {"public"}
    assert _values(repo.graphs.query(f"SELECT ?o WHERE {{ GRAPH <{G2}> {{ ?s ?p ?o }} }}", graphs=[G1])) == set()
    assert _values(repo.graphs.query("SELECT ?o WHERE { ?s ?p ?o }", graphs=[])) == set()
    assert {"public", "secret"} <= _values(repo.graphs.query("SELECT ?o WHERE { ?s ?p ?o }"))


def test_construct_and_ask_results_are_pyoxigraph_objects(repo) -> None:
    repo.graphs.put_graph(G1, _quads(G1, "a", "b"))
    triples = repo.graphs.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}")
    assert isinstance(triples, ox.QueryTriples)
    assert {t.object.value for t in triples} == {"a", "b"}
    assert isinstance(repo.graphs.query("ASK { ?s ?p ?o }"), ox.QueryBoolean)
    media, body = repo.graphs.query_serialized(f"SELECT ?o WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }} ORDER BY ?o",
                                               graphs=None, results_format="text/csv", graph_format="text/turtle")
    assert (media, body.replace(b"\r\n", b"\n")) == ("text/csv", b"o\na\nb\n")


def test_replacing_a_graph_and_reading_it_back(repo) -> None:
    repo.graphs.put_graph(G1, _quads(G1, "v1", "old"))
    repo.graphs.put_graph(G1, _quads(G1, "v2"))
    assert [q.object.value for q in repo.graphs.graph_quads(G1)] == ["v2"]
    assert repo.graphs.has_graph(G1) and not repo.graphs.has_graph(G2)


# ------------------------------------------------------------------------------------ HTTP path


class _CuttingTransport(httpx.HTTPTransport):
    """Sends writes cut inside a line, as if the connection broke mid-upload."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" or request.url.path.endswith("/update"):
            body = request.read()
            cut = body.rindex(b"\n", 0, len(body) // 2) + 12
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, content=body[:cut])
        return super().handle_request(request)


@pytest.mark.parametrize("store", ["store", "none"], ids=["graph-store-put", "sparql-update"])
def test_failed_upload_leaves_the_previous_version(oxigraph_server: str, store: str) -> None:
    from tests.servers import clear

    clear(oxigraph_server)
    config = parse_location(f"{oxigraph_server}?store={store}")
    good = SparqlStore(config)
    broken = SparqlStore(config, transport=_CuttingTransport())
    try:
        good.put_graph(G1, _quads(G1, *(f"version 1, value {i}" for i in range(50))))
        with pytest.raises(StoreError, match=r"upload of graph .*HTTP 400.*[Ee]rror|refused") as info:
            broken.put_graph(G1, _quads(G1, *(f"version 2, value {i}" for i in range(60))))
        assert G1 in str(info.value)
        assert sorted(q.object.value for q in good.graph_quads(G1)) == sorted(f"version 1, value {i}" for i in range(50))
    finally:
        good.close()
        broken.close()


def test_server_errors_name_status_url_and_message(oxigraph_server: str) -> None:
    with pytest.raises(StoreError, match=r"HTTP 404 from http://127\.0\.0\.1:\d+/no-such-endpoint"):
        SparqlStore(parse_location(f"{oxigraph_server}?query=no-such-endpoint&union=request"))


def test_syntax_errors_keep_the_embedded_error_type(repo) -> None:
    with pytest.raises(SyntaxError):
        repo.graphs.query("SELECT ?x WHERE { ?x ")
    with pytest.raises(SyntaxError):
        repo.graphs.update("INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> } }")


def test_server_without_union_default_graph_is_refused(oxigraph_server: str) -> None:
    from tests.servers import clear

    clear(oxigraph_server)
    store = SparqlStore(parse_location(oxigraph_server))
    store.put_graph(G1, _quads(G1, "x"))
    store.close()
    with pytest.raises(StoreError, match="does not show all named graphs as its default graph"):
        SparqlStore(parse_location(f"{oxigraph_server}?union=server"))


class _FlakyTransport(httpx.HTTPTransport):
    """Refuses the first ``failures`` connections, then behaves."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise httpx.ConnectError("connection refused (simulated)", request=request)
        return super().handle_request(request)


def test_connection_errors_are_retried_with_backoff(oxigraph_server: str) -> None:
    flaky = _FlakyTransport(failures=2)
    store = SparqlStore(parse_location(f"{oxigraph_server}?retries=2"), transport=flaky)
    assert flaky.attempts == 3  # the union check at open: two refusals, then the answer
    store.close()


def test_unreachable_server_gives_up_with_a_clear_message() -> None:
    from tests.servers import free_port

    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match=rf"cannot connect to http://127.0.0.1:{port}/query after 3 attempt"):
        SparqlStore(parse_location(f"sparql+http://127.0.0.1:{port}/?retries=2"))


def _recorded_authorization(env: dict[str, str], auth: str = "basic") -> str | None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"head": {}, "boolean": False},
                              headers={"Content-Type": "application/sparql-results+json"})

    SparqlStore(parse_location(f"sparql+http://db.example/?auth={auth}"), env=env,
                transport=httpx.MockTransport(answer)).close()
    return seen[0].headers.get("Authorization")


def test_credentials_come_from_environment_or_token_file(tmp_path: Path) -> None:
    import base64

    basic = _recorded_authorization({"BATTKG_STORE_USER": "alice", "BATTKG_STORE_PASSWORD": "s3cret"})
    assert basic == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    assert _recorded_authorization({"BATTKG_STORE_TOKEN_FILE": str(token)}) == "Bearer tok-123"
    assert _recorded_authorization({}) is None
    with pytest.raises(StoreError, match="BATTKG_STORE_PASSWORD is not"):
        _recorded_authorization({"BATTKG_STORE_USER": "alice"})
    with pytest.raises(StoreError, match="cannot read the token file"):
        _recorded_authorization({"BATTKG_STORE_TOKEN_FILE": str(tmp_path / "missing")})


def test_cli_on_a_remote_store(oxigraph_server: str, tmp_path: Path, monkeypatch) -> None:
    import csv
    import io

    from typer.testing import CliRunner

    from battkg.cli import app
    from battkg.demo import write_demo_files
    from tests.servers import clear

    clear(oxigraph_server)
    monkeypatch.setenv("BATTKG_BLOBS", str(tmp_path / "blobs"))
    runner = CliRunner()
    files = [str(p) for p in write_demo_files(tmp_path / "demo")]
    result = runner.invoke(app, ["ingest", "xrd", *files, "--store", oxigraph_server], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["records", "list", "--format", "csv", "--store", oxigraph_server])
    assert len(list(csv.DictReader(io.StringIO(listed.stdout)))) == 3
    gc = runner.invoke(app, ["gc", "--dry-run", "--store", oxigraph_server])
    assert gc.exit_code == 0 and "would remove 0 unreferenced blob(s)" in gc.stderr
    assert len(list((tmp_path / "blobs" / "blobs" / "sha256").glob("*/*"))) == 6  # raw file + HDF5 per record


# ------------------------------------------------------------------------------------ blobs


@pytest.fixture(params=["local", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The local directory store and the same store on fsspec's in-memory filesystem."""
    if request.param == "local":
        return open_blob_store(f"file://{tmp_path / 'blobs'}", tmp_path / "cache")
    store = open_blob_store(f"memory://battkg-test-{uuid.uuid4().hex}", tmp_path / "cache")
    assert isinstance(store, FsspecBlobStore)
    return store


def test_blob_put_read_and_dedup(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "raw.bin"
    source.write_bytes(b"\x00battery" * 1000)
    ref, added = blobs.put_file(source)
    assert added and blobs.exists(ref.sha256) and ref.size == 8000
    assert blobs.open_verified(ref.sha256) == source.read_bytes()
    assert blobs.local_path(ref.sha256).read_bytes() == source.read_bytes()
    again, added_again = blobs.put_file(source)
    assert (again, added_again) == (ref, False)
    assert list(blobs.keys()) == [ref.sha256]
    assert list(blobs.tmp_dir.iterdir()) == []  # staging is cleaned up
    with pytest.raises(StoreError, match="changed while it was being ingested"):
        blobs.put_file(source, expected="0" * 64)


def test_staged_file_is_copied_and_hashed_in_one_read_then_adopted(blobs: BlobStore, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import battkg.blobs as blobs_module

    monkeypatch.setattr(blobs_module, "_COPY_CHUNK", 1000)  # ten chunks: hashed by the second thread
    source = tmp_path / "gcpl.mpt"
    source.write_bytes(bytes(range(256)) * 40)
    staged = blobs.stage_file(source)
    assert staged.path.name == "gcpl.mpt" and staged.path.parent.parent == blobs.tmp_dir
    assert staged.path.read_bytes() == source.read_bytes() and staged.ref == sha256_file(source)
    assert BlobTransaction(blobs).adopt_staged(staged) == staged.ref
    staged.discard()
    assert blobs.open_verified(staged.ref.sha256) == source.read_bytes()
    assert list(blobs.tmp_dir.iterdir()) == []
    again = blobs.stage_file(source)
    with open(source, "ab") as handle:  # the instrument still writes: refused at adoption
        handle.write(b"one more record")
    with pytest.raises(StoreError, match="gcpl.mpt changed while it was being ingested"):
        BlobTransaction(blobs).adopt_staged(again)
    again.discard()
    assert list(blobs.keys()) == [staged.ref.sha256]
    blobs.stage_file(source)  # left behind by a crash: garbage collection sweeps the folder
    blobs.garbage_collect({staged.ref.sha256})
    assert list(blobs.tmp_dir.iterdir()) == []


def test_blob_corruption_is_detected_on_read(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "raw.bin"
    source.write_bytes(b"original bytes")
    ref, _ = blobs.put_file(source)
    if isinstance(blobs, FsspecBlobStore):
        blobs.fs.pipe_file(blobs._key(ref.sha256), b"tampered bytes")
    else:
        path = blobs.path_of(ref.sha256)
        path.chmod(0o644)
        path.write_bytes(b"tampered bytes")
    with pytest.raises(StoreError, match="is corrupt"):
        blobs.open_verified(ref.sha256)
    if isinstance(blobs, FsspecBlobStore):
        with pytest.raises(StoreError, match="is corrupt"):
            blobs.local_path(ref.sha256)
    with pytest.raises(StoreError, match="is missing"):
        blobs.open_verified("f" * 64)


def test_blob_rollback_and_gc(blobs: BlobStore, tmp_path: Path) -> None:
    keep, orphan = tmp_path / "keep.bin", tmp_path / "orphan.bin"
    keep.write_bytes(b"referenced")
    orphan.write_bytes(b"left over")
    kept, _ = blobs.put_file(keep)
    transaction = BlobTransaction(blobs)
    transaction.put_file(keep)  # already there: a rollback must not remove it
    added = transaction.put_file(orphan)
    transaction.rollback()
    assert list(blobs.keys()) == [kept.sha256]
    blobs.put_file(orphan)
    if isinstance(blobs, FsspecBlobStore):  # an upload interrupted before its rename
        blobs.fs.pipe_file(blobs._key(added.sha256) + ".part-dead", b"half")
    assert blobs.garbage_collect({kept.sha256}) == [added.sha256]
    assert list(blobs.keys()) == [kept.sha256]
    if isinstance(blobs, FsspecBlobStore):
        assert [p for p in blobs.fs.glob(f"{blobs.prefix}/blobs/sha256/*/*") if ".part-" in p] == []


def test_ingest_with_blobs_on_an_fsspec_filesystem(tmp_path: Path, monkeypatch) -> None:
    url = f"memory://battkg-test-{uuid.uuid4().hex}"
    with open_repository(tmp_path / "store", blobs=url) as repo:
        assert isinstance(repo.blobs, FsspecBlobStore)
        path = write_xy(tmp_path / "p.xy", n=120)
        result = ingest(repo, path)
        (hdf5,) = {s["sha"].value for s in repo.graphs.query(
            f"SELECT ?sha WHERE {{ GRAPH <{result.record_iri}> {{ ?d battkg:hasArray ?a ; battkg:sha256 ?sha }} }}")}
        assert len(set(repo.blobs.keys())) == 2  # raw file and HDF5 file
        assert repo.blobs.open_verified(sha256_file(path).sha256) == path.read_bytes()
        with h5py.File(repo.blobs.local_path(hdf5), "r") as h5:
            assert h5["/pattern/two_theta"].shape == (120,)
        before = snapshot(repo)

        def broken_put_graph(graph, quads):  # type: ignore[no-untyped-def]
            raise StoreError("graph store unreachable (simulated)")

        monkeypatch.setattr(repo.graphs, "put_graph", broken_put_graph)
        with pytest.raises(StoreError, match="unreachable"):
            ingest(repo, write_xy(tmp_path / "q.xy", n=90))
        assert snapshot(repo) == before  # the uploaded blobs were removed again
