"""The graph store: one interface, embedded Oxigraph by default.

Ingesters, queries and the API only use :class:`GraphStore`.  A second
implementation that speaks SPARQL 1.1 Query/Update and the Graph Store
Protocol to a remote server can be added without touching them: every
operation here is "whole named graph" or "SPARQL query", which both
protocols express.
"""

from __future__ import annotations

import abc
import hashlib
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

from battkg.blobs import BlobStore
from battkg.config import data_home, default_blob_location, default_store_location
from battkg.errors import StoreError
from battkg.ontology import ONTOLOGY_GRAPH, ONTOLOGY_PATH, PREFIXES, application_quads

ONTOLOGY_VERSION_MARKER = "https://w3id.org/battkg/vocab#loadedOntologyDigest"


class GraphStore(abc.ABC):
    """What battkg needs from a quad store."""

    @abc.abstractmethod
    def has_graph(self, graph: str) -> bool: ...

    @abc.abstractmethod
    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        """Create or replace one named graph atomically."""

    def put_graphs(self, graphs: dict[str, list[ox.Quad]]) -> None:
        """Create several new named graphs; stores that can do it in one transaction override this."""
        for name, quads in graphs.items():
            self.put_graph(name, quads)

    @abc.abstractmethod
    def graph_quads(self, graph: str) -> list[ox.Quad]: ...

    @abc.abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update as one transaction."""

    @abc.abstractmethod
    def query(
        self,
        sparql: str,
        *,
        substitutions: dict[ox.Variable, ox.Term] | None = None,
        graphs: list[str] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run a query; ``graphs=None`` means the union of all graphs as default graph."""

    @abc.abstractmethod
    def graph_names(self) -> list[str]: ...

    def query_serialized(self, sparql: str, *, graphs: list[str] | None, results_format: str,
                         graph_format: str, named_graphs: list[str] | None = None) -> tuple[str, bytes]:
        """Run a query and serialize its answer with the store's native writer.

        ``graphs`` is the default graph (None: union of all graphs) and, unless ``named_graphs``
        is given, also the graphs ``GRAPH`` can reach.  ``results_format`` (SELECT/ASK) and
        ``graph_format`` (CONSTRUCT/DESCRIBE) are media types from :data:`RESULT_FORMATS` /
        :data:`GRAPH_FORMATS`; returns (media type used, bytes).  Raises ``SyntaxError`` for a
        malformed query.  A remote store forwards the query with the same dataset instead.
        """
        raise NotImplementedError(f"{type(self).__name__} has no native serializer")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (flush, locks)."""


RESULT_FORMATS = {  # SPARQL results media type -> Oxigraph writer
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {  # RDF graph media type -> Oxigraph writer
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


class OxigraphStore(GraphStore):
    """Embedded Oxigraph (RocksDB) on disk, or in memory when ``path`` is None."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        # Bumped on every write through this object: read-only views in other processes
        # (the API's query workers) reopen when it changes.
        self.generation = 0
        try:
            if path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(path))
            else:
                self._store = ox.Store(str(path))
        except (OSError, RuntimeError) as exc:  # RocksDB reports corruption as RuntimeError
            raise StoreError(
                f"cannot open the graph store at {path}: {exc}. Is another battkg process using it, "
                "or is the directory not a battkg store?"
            ) from exc

    def has_graph(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        node = ox.NamedNode(graph)
        quads = [ox.Quad(q.subject, q.predicate, q.object, node) for q in quads]
        try:
            if self._store.contains_named_graph(node):
                # Replacing must not leave a window with the graph missing: do
                # the removal and insertion in one update transaction.
                self._store.update(f"DROP SILENT GRAPH <{graph}>")
            self._store.extend(quads)  # atomic: all quads or none
        except OSError as exc:
            raise StoreError(f"cannot write graph <{graph}>: {exc}") from exc
        finally:
            self.generation += 1

    def put_graphs(self, graphs: dict[str, list[ox.Quad]]) -> None:
        """Many new graphs in one transaction (a FINALES file: all its records or none)."""
        existing = [name for name in graphs if self._store.contains_named_graph(ox.NamedNode(name))]
        if existing:  # replacing needs the per-graph path; new graphs are the common case
            return super().put_graphs(graphs)
        quads = [ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(name))
                 for name, part in graphs.items() for q in part]
        try:
            self._store.extend(quads)
        except OSError as exc:
            raise StoreError(f"cannot write {len(graphs)} graphs: {exc}") from exc
        finally:
            self.generation += 1

    def graph_quads(self, graph: str) -> list[ox.Quad]:
        return list(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def update(self, sparql: str) -> None:
        try:
            self._store.update(sparql, prefixes=PREFIXES)
        except OSError as exc:
            raise StoreError(f"update failed: {exc}") from exc
        finally:
            self.generation += 1

    def query(self, sparql, *, substitutions=None, graphs=None):  # type: ignore[no-untyped-def]
        if graphs is None:
            return self._store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True,
                                     substitutions=substitutions)
        named = [ox.NamedNode(g) for g in graphs]
        return self._store.query(sparql, prefixes=PREFIXES, default_graph=named, named_graphs=named,
                                 substitutions=substitutions)

    def graph_names(self) -> list[str]:
        return [g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)]

    def query_serialized(self, sparql: str, *, graphs: list[str] | None, results_format: str,
                         graph_format: str, named_graphs: list[str] | None = None) -> tuple[str, bytes]:
        if named_graphs is None:
            results = self.query(sparql, graphs=graphs)
        else:  # a protocol dataset (default-graph-uri / named-graph-uri), already access-checked
            results = self._store.query(sparql, prefixes=PREFIXES,
                                        default_graph=[ox.NamedNode(g) for g in graphs or []],
                                        named_graphs=[ox.NamedNode(g) for g in named_graphs])
        if isinstance(results, ox.QueryTriples):
            return graph_format, results.serialize(format=GRAPH_FORMATS[graph_format])
        return results_format, results.serialize(format=RESULT_FORMATS[results_format])

    def triple_count(self) -> int:
        return len(self._store)

    def dump(self, output: Path, format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        self._store.dump(output=str(output), format=format)

    @property
    def native(self) -> ox.Store:
        """The underlying pyoxigraph store (for native serializers in the API)."""
        return self._store

    def close(self) -> None:
        if self.path is not None and not self.read_only:
            try:
                self._store.flush()
            except OSError:
                pass
        if self.path is not None:
            # Dropping the last reference closes RocksDB and releases its lock, so the
            # same process (tests, notebooks) can open the store again.
            self._store = ox.Store()


class Repository:
    """A graph store plus its blob store: what one ``--store`` location means."""

    def __init__(self, graphs: GraphStore, blobs: BlobStore, location: str, *, read_only: bool = False) -> None:
        self.graphs = graphs
        self.blobs = blobs
        self.location = location
        self.read_only = read_only
        if not read_only:
            self._ensure_ontology()

    def _ensure_ontology(self) -> None:
        """Keep the application ontology in its own graph, so queries can use the class hierarchy."""
        quads = application_quads()
        digest = hashlib.sha256(ONTOLOGY_PATH.read_bytes()).hexdigest()
        marker = ox.NamedNode(ONTOLOGY_VERSION_MARKER)
        current = self.graphs.query(
            f"SELECT ?d WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ <{ONTOLOGY_GRAPH}> <{marker.value}> ?d }} }}",
            graphs=[ONTOLOGY_GRAPH],
        ) if self.graphs.has_graph(ONTOLOGY_GRAPH) else []
        if any(sol["d"].value == digest for sol in current):
            return
        quads.append(ox.Quad(ox.NamedNode(ONTOLOGY_GRAPH), marker, ox.Literal(digest), ox.NamedNode(ONTOLOGY_GRAPH)))
        self.graphs.put_graph(ONTOLOGY_GRAPH, quads)

    def close(self) -> None:
        self.graphs.close()

    def __enter__(self) -> "Repository":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_repository(location: str | Path | None = None, *, read_only: bool = False,
                    blobs: str | Path | None = None) -> Repository:
    """Open (creating if needed) the store at ``location``; default from the environment.

    ``location`` is a directory (embedded Oxigraph) or a ``sparql+http(s)://`` URL
    (a SPARQL 1.1 server, see :mod:`battkg.sparql_store`).  ``blobs`` is the blob
    store's directory or fsspec URL (default ``$BATTKG_BLOBS``, else the store
    directory, else for a remote store a local directory per server).
    """
    from battkg.fsspec_blobs import open_blob_store

    location = str(location or default_store_location())
    blobs = blobs or default_blob_location()
    if "://" in location:
        from battkg.sparql_store import SparqlStore, parse_location

        config = parse_location(location)
        local = data_home() / "battkg" / "remote" / hashlib.sha256(config.location.encode()).hexdigest()[:16]
        remote = SparqlStore(config)
        try:
            return Repository(remote, open_blob_store(blobs or local, local), config.location, read_only=read_only)
        except BaseException:
            remote.close()
            raise
    root = Path(location)
    if root.exists() and not root.is_dir():
        raise StoreError(f"store location {root} is a file, not a directory")
    graph_dir = root / "graph"
    if root.exists() and any(root.iterdir()) and not graph_dir.exists() and not (root / "blobs").exists():
        raise StoreError(f"{root} is a non-empty directory that is not a battkg store (no graph/ or blobs/ in it)")
    if read_only and not graph_dir.exists():
        raise StoreError(f"no battkg store at {root} (nothing ingested yet?)")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create store directory {root}: {exc.strerror or exc}") from exc
    graphs = OxigraphStore(graph_dir, read_only=read_only)
    return Repository(graphs, open_blob_store(blobs or root, root), str(root), read_only=read_only)


def memory_repository(blob_root: Path) -> Repository:
    """An in-memory graph store with blobs under ``blob_root`` (tests, benchmarks)."""
    return Repository(OxigraphStore(None), BlobStore(blob_root), f"memory:{blob_root}")


def iter_solutions(results: ox.QuerySolutions) -> Iterator[dict[str, ox.Term | None]]:
    names = [v.value for v in results.variables]
    for sol in results:
        yield {n: sol[n] for n in names}
