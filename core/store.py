"""The graph store: one interface, embedded Oxigraph by default.

Ingesters, queries and the API only use :class:`GraphStore`.  A second
implementation that speaks SPARQL 1.1 Query/Update and the Graph Store
Protocol to a remote server can be added without touching them: every
operation here is "whole named graph" or "SPARQL query", which both
protocols express.
"""

from __future__ import annotations

import abc
import ctypes
import hashlib
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

from battkg.access_views import VIEWS, AccessViews, ReadableParts, access_levels, open_view, view_includes
from battkg.blobs import BlobStore
from battkg.config import data_home, default_blob_location, default_store_location
from battkg.errors import StoreError
from battkg.ontology import ONTOLOGY_GRAPH, ONTOLOGY_PATH, PREFIXES, STORE_ONTOLOGY_LAYOUT, store_quads

ONTOLOGY_VERSION_MARKER = "https://w3id.org/battkg/vocab#loadedOntologyDigest"


class GraphBatch:
    """Many new named graphs held compactly as N-Quads bytes until they are written together.

    An importer adds the validated graphs of one file chunk by chunk; N-Quads take about a
    quarter of the memory of pyoxigraph ``Quad`` objects.  Each chunk is stored per group of
    access views that will hold its graphs (decided from the graphs' ``battkg:accessLevel``
    when they are added), so a view's copy is written from the same bytes without re-parsing.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.quad_count = 0
        self._seen: set[str] = set()
        self._parts: list[tuple[frozenset[str], bytes]] = []

    def add(self, graphs: dict[str, list[ox.Quad]]) -> None:
        """Add new graphs (name -> quads; the quads' own graph names are replaced by ``name``)."""
        groups: dict[frozenset[str], list[ox.Quad]] = {}
        for name, quads in graphs.items():
            if name in self._seen:
                raise ValueError(f"graph <{name}> is already in this batch")
            self._seen.add(name)
            self.names.append(name)
            self.quad_count += len(quads)
            views = frozenset(v for v in VIEWS if view_includes(v, name, access_levels(name, quads)))
            node = ox.NamedNode(name)
            groups.setdefault(views, []).extend(
                q if q.graph_name == node else ox.Quad(q.subject, q.predicate, q.object, node) for q in quads)
        for views, quads in groups.items():
            self._parts.append((views, ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""))

    def __len__(self) -> int:
        return len(self.names)

    def data(self, view: str | None = None) -> list[bytes]:
        """The N-Quads parts of every graph (``view`` None) or of the graphs ``view`` holds."""
        return [part for views, part in self._parts if view is None or view in views]

    def graphs(self) -> dict[str, list[ox.Quad]]:
        """Parsed back into quads per graph (for stores without a bulk path)."""
        out: dict[str, list[ox.Quad]] = {name: [] for name in self.names}
        for part in self.data():
            for quad in ox.parse(part, format=ox.RdfFormat.N_QUADS):
                out[quad.graph_name.value].append(quad)
        return out


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it after big RocksDB/rdflib frees)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to do
            pass


class GraphStore(abc.ABC):
    """What battkg needs from a quad store."""

    @abc.abstractmethod
    def has_graph(self, graph: str) -> bool: ...

    @abc.abstractmethod
    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        """Create or replace one named graph atomically."""

    def put_graphs(self, graphs: "dict[str, list[ox.Quad]] | GraphBatch") -> None:
        """Create several new named graphs; stores that can do it in one transaction override this."""
        for name, quads in (graphs.graphs() if isinstance(graphs, GraphBatch) else graphs).items():
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

    def view_names(self) -> tuple[str, ...]:
        """Access views this store keeps (see :mod:`battkg.access_views`); none by default."""
        return ()

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

    def __init__(self, path: Path | None, *, read_only: bool = False, views_path: Path | None = None) -> None:
        self.path = path
        self.read_only = read_only
        self.views_path = views_path
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
        if not read_only and path is not None:
            self._roll_back_unfinished_bulk_write()
        # Writers keep the access views in step; read-only handles open them on first use.
        self._views: AccessViews | None = None
        self._read_views: dict[str, ox.Store] = {}
        if not read_only and (path is None or views_path is not None):
            try:
                self._views = AccessViews(self._store, views_path)
            except (OSError, RuntimeError) as exc:
                raise StoreError(f"cannot open the access views at {views_path}: {exc}") from exc

    def has_graph(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def _writing(self, graphs: Iterable[str] | None) -> "_ViewedWrite":
        return _ViewedWrite(self, graphs)

    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        node = ox.NamedNode(graph)
        quads = [ox.Quad(q.subject, q.predicate, q.object, node) for q in quads]
        with self._writing([graph]):
            try:
                if self._store.contains_named_graph(node):
                    # Replacing must not leave a window with the graph missing: do
                    # the removal and insertion in one update transaction.
                    self._store.update(f"DROP SILENT GRAPH <{graph}>")
                self._store.extend(quads)  # atomic: all quads or none
            except OSError as exc:
                raise StoreError(f"cannot write graph <{graph}>: {exc}") from exc
            if self._views is not None:
                self._views.put({graph: quads})

    # Batches of at least this many quads take the bulk path (see ``put_graphs``); smaller ones
    # one transaction.  A class attribute so tests can send small batches down the bulk path.
    BULK_QUADS = 50_000

    @property
    def _bulk_journal(self) -> Path | None:
        # Next to the RocksDB directory, never inside it.
        return None if self.path is None else self.path.parent / f"{self.path.name}.bulk-pending"

    def put_graphs(self, graphs: "dict[str, list[ox.Quad]] | GraphBatch") -> None:
        """Many new graphs, all or none (a FINALES file: all its records or none).

        Up to :attr:`BULK_QUADS` quads are one ``extend`` transaction.  Larger batches use
        Oxigraph's bulk loader, which writes sorted files straight to disk: about twice as fast,
        and memory stays flat, where a transaction of 10^6 quads grew RocksDB's write buffers by
        ~1 GB per store.  The bulk loader is not transactional, so all-or-nothing is kept by
        compensation: the graph names are journalled (fsync) before loading; if loading fails
        they are dropped again, and a journal left by a crash is rolled back the next time the
        store is opened for writing.  Only graphs that did not exist before take this path, so
        dropping them restores the previous state exactly.  Unlike a transaction, a reader
        running during the load can see part of the batch.
        """
        batch = graphs if isinstance(graphs, GraphBatch) else None
        names = batch.names if batch is not None else list(graphs)
        if any(self._store.contains_named_graph(ox.NamedNode(name)) for name in names):
            return super().put_graphs(graphs)  # replacing needs the per-graph path; new graphs are the common case
        if batch is None:
            batch = GraphBatch()
            batch.add(graphs)  # type: ignore[arg-type]
        if not batch.names:
            return
        bulk = batch.quad_count >= self.BULK_QUADS
        with self._writing(batch.names):
            if bulk:
                self._bulk_write(batch)
            else:
                try:
                    self._store.extend(ox.parse(ReadableParts(batch.data()), format=ox.RdfFormat.N_QUADS))
                except (OSError, SyntaxError) as exc:
                    raise StoreError(f"cannot write {len(batch)} graphs: {exc}") from exc
            if self._views is not None:
                self._views.put_batch(batch, bulk=bulk)
        if bulk:
            release_memory()

    def _bulk_write(self, batch: GraphBatch) -> None:
        journal = self._bulk_journal
        if journal is not None:
            with open(journal, "w", encoding="utf-8") as out:
                out.write("".join(name + "\n" for name in batch.names))
                out.flush()
                os.fsync(out.fileno())
        try:
            self._store.bulk_extend(ox.parse(ReadableParts(batch.data()), format=ox.RdfFormat.N_QUADS))
            if self.path is not None:
                self._store.flush()  # the new files are durable before the journal goes
        except BaseException as exc:
            try:
                self._drop_graphs(batch.names)
            except BaseException:  # the journal stays: the next open rolls back
                raise StoreError(f"cannot write {len(batch)} graphs ({exc}), and removing the part written "
                                 f"failed too; it is removed when the store is next opened") from exc
            if journal is not None:
                journal.unlink(missing_ok=True)
            if isinstance(exc, (OSError, SyntaxError)):
                raise StoreError(f"cannot write {len(batch)} graphs: {exc}") from exc
            raise
        if journal is not None:
            journal.unlink(missing_ok=True)

    def _drop_graphs(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):
            self._store.update(" ;\n".join(f"DROP SILENT GRAPH <{name}>" for name in names[start:start + 1000]))

    def _roll_back_unfinished_bulk_write(self) -> None:
        """Drop the graphs of a bulk write that a crash interrupted (see ``put_graphs``).

        The views' own journal also lists them, so the views resync them (to nothing) next.
        """
        journal = self._bulk_journal
        if journal is None or not journal.exists():
            return
        names = [line.strip() for line in journal.read_text(encoding="utf-8").splitlines() if line.strip()]
        try:
            self._drop_graphs(names)
            self._store.flush()
        except OSError as exc:
            raise StoreError(f"cannot roll back an interrupted bulk write ({journal}): {exc}") from exc
        journal.unlink()

    def bulk_load(self, path: Path, format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        """Load a large dump fast (not transactional: for building stores, not for ingest); views are rebuilt."""
        with self._writing(None):
            self._store.bulk_load(path=str(path), format=format)
            if self._views is not None:
                self._views.resync(["*"])

    def graph_quads(self, graph: str) -> list[ox.Quad]:
        return list(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def update(self, sparql: str) -> None:
        touched = _updated_graphs(sparql)
        with self._writing(touched):
            try:
                self._store.update(sparql, prefixes=PREFIXES)
            except OSError as exc:
                raise StoreError(f"update failed: {exc}") from exc
            finally:
                # Also after a failed update: resyncing unchanged graphs is harmless.
                if self._views is not None:
                    self._views.resync(["*"] if touched is None else touched)

    def view_names(self) -> tuple[str, ...]:
        if self._views is not None and self._views.broken is None or (self.read_only and self.views_path is not None
                                       and (self.views_path / "LAYOUT").exists()):
            return tuple(VIEWS)
        return ()

    def _view_store(self, view: str) -> ox.Store:
        if self._views is not None:
            return self._views.stores[view]
        if view not in self._read_views:
            if self.views_path is None:
                raise StoreError(f"this store keeps no access views (asked for {view!r})")
            self._read_views[view] = open_view(self.views_path, view)
        return self._read_views[view]

    def query(self, sparql, *, substitutions=None, graphs=None, view=None):  # type: ignore[no-untyped-def]
        if view is not None:  # an access view: its union graph is exactly what the caller may see
            return self._view_store(view).query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True,
                                                substitutions=substitutions)
        if graphs is None:
            return self._store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True,
                                     substitutions=substitutions)
        named = [ox.NamedNode(g) for g in graphs]
        return self._store.query(sparql, prefixes=PREFIXES, default_graph=named, named_graphs=named,
                                 substitutions=substitutions)

    def graph_names(self) -> list[str]:
        return [g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)]

    def query_serialized(self, sparql: str, *, graphs: list[str] | None, results_format: str,
                         graph_format: str, named_graphs: list[str] | None = None,
                         view: str | None = None) -> tuple[str, bytes]:
        if named_graphs is None:
            results = self.query(sparql, graphs=graphs, view=view)
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
        """The underlying pyoxigraph store, for reading: writes through it bypass the access views."""
        return self._store

    def close(self) -> None:
        if self.path is not None and not self.read_only:
            try:
                self._store.flush()
                if self._views is not None:
                    self._views.flush()
            except OSError:
                pass
        if self._views is not None and self.path is not None:
            self._views.close()
            self._views = None
        self._read_views = {}
        if self.path is not None:
            # Dropping the last reference closes RocksDB and releases its lock, so the
            # same process (tests, notebooks) can open the store again.
            self._store = ox.Store()


_IRI = re.compile(r"<([^<>\s]+)>")
_UNNAMED_TARGET = re.compile(r"\b(?:GRAPH|WITH)\s+[?$]|\b(?:CLEAR|DROP)\s+(?:SILENT\s+)?(?:ALL|NAMED|DEFAULT)\b",
                             re.IGNORECASE)


def _updated_graphs(sparql: str) -> list[str] | None:
    """Graph IRIs an update may touch (every IRI in its text), or None when it names graphs by variable."""
    if _UNNAMED_TARGET.search(sparql):
        return None
    return sorted(set(_IRI.findall(sparql)))


class _ViewedWrite:
    """Lock + journal around one write: the views learn of it before, and catch up after (see access_views)."""

    def __init__(self, store: OxigraphStore, graphs: Iterable[str] | None) -> None:
        self.store = store
        self.graphs = None if graphs is None else list(graphs)

    def __enter__(self) -> None:
        views = self.store._views
        if views is not None:
            views.lock.acquire()
            views.begin(self.graphs)

    def __exit__(self, *exc: object) -> None:
        self.store.generation += 1  # after the views caught up: query workers reopen on it
        if self.store._views is not None:
            self.store._views.lock.release()


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
        quads = store_quads()
        digest = hashlib.sha256(ONTOLOGY_PATH.read_bytes() + STORE_ONTOLOGY_LAYOUT.encode()).hexdigest()
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
    graphs = OxigraphStore(graph_dir, read_only=read_only, views_path=root / "views")
    return Repository(graphs, open_blob_store(blobs or root, root), str(root), read_only=read_only)


def memory_repository(blob_root: Path) -> Repository:
    """An in-memory graph store with blobs under ``blob_root`` (tests, benchmarks)."""
    return Repository(OxigraphStore(None), BlobStore(blob_root), f"memory:{blob_root}")


def iter_solutions(results: ox.QuerySolutions) -> Iterator[dict[str, ox.Term | None]]:
    names = [v.value for v in results.variables]
    for sol in results:
        yield {n: sol[n] for n in names}
