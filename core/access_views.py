"""Read replicas of the graph store per access level ("access views").

Why: anonymous callers may only see public records, so their queries cannot
use the store's union default graph; passing the ~10^4 visible record graphs
as an explicit dataset makes Oxigraph evaluate every pattern graph by graph,
which measured 5-15x slower than the union graph (bench/results/endpoint.txt).
Instead the store keeps, next to the main store, one store per access view
holding exactly the graphs that view may see, and such callers query the
view with its union default graph: the same speed as an admin query.

A view holds the ontology graph plus every record graph (``RECORD_BASE``...)
whose ``battkg:accessLevel`` values all lie in the view's levels; graphs that
are not records are admin-only and never copied.  This is the same rule as
:class:`battkg.api.auth.Visibility`, which decides which view a caller gets
(and falls back to an explicit graph list when no view matches, e.g. a reader
who may see some confidential records of their own).

Consistency: every write to the main store is followed, under the same lock,
by the same change to the views.  Before a write the touched graph names are
appended to a journal file (``<views>/pending``); after the views caught up it
is emptied.  Opening the store replays a non-empty journal from the main
store, and rebuilds all views when they are missing or from an older layout,
so a crash between the two writes leaves nothing stale.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyoxigraph as ox

from battkg.ontology import DATA, ONTOLOGY_GRAPH

if TYPE_CHECKING:
    from battkg.store import GraphBatch

log = logging.getLogger(__name__)
ACCESS_LEVEL = "https://w3id.org/battkg/vocab#accessLevel"
RECORD_GRAPH_BASE = DATA + "record/"
# View name -> the access levels of the records it holds.
VIEWS: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "internal": frozenset({"public", "restricted"}),
}
_LAYOUT = "battkg access views 1"  # bump when the view rule changes: views are then rebuilt
_ACCESS_QUERY = f"SELECT ?g ?level WHERE {{ GRAPH ?g {{ ?g <{ACCESS_LEVEL}> ?level }} }}"


def access_levels(graph: str, quads: Iterable[ox.Quad]) -> set[str]:
    """The ``battkg:accessLevel`` values the record node ``graph`` declares in ``quads``."""
    return {q.object.value for q in quads
            if q.predicate.value == ACCESS_LEVEL and q.subject.value == graph}


def view_includes(view: str, graph: str, levels: set[str]) -> bool:
    """Whether ``view`` holds ``graph`` (with these declared access levels)."""
    if graph == ONTOLOGY_GRAPH:
        return True
    return graph.startswith(RECORD_GRAPH_BASE) and bool(levels) and levels <= VIEWS[view]


class AccessViews:
    """The view stores of one main store, on disk under ``root`` or in memory (``root`` None)."""

    def __init__(self, main: ox.Store, root: Path | None) -> None:
        self.main = main
        self.root = root
        self._lock = threading.RLock()
        self.broken: str | None = None  # why the views stopped following the main store, if they did
        self.stores: dict[str, ox.Store] = {}
        if root is None:
            self.stores = {name: ox.Store() for name in VIEWS}
            self.rebuild()
            return
        root.mkdir(parents=True, exist_ok=True)
        layout = root / "LAYOUT"
        current = layout.exists() and layout.read_text().strip() == _LAYOUT
        if not current:
            for name in VIEWS:
                shutil.rmtree(root / name, ignore_errors=True)
        self.stores = {name: ox.Store(str(root / name)) for name in VIEWS}
        if not current:
            self.rebuild()
            layout.write_text(_LAYOUT + "\n")
            self._journal_path.unlink(missing_ok=True)
        else:
            pending = self._pending()
            if pending:
                self.resync(pending)

    # ---------------------------------------------------------------- journal

    @property
    def _journal_path(self) -> Path:
        assert self.root is not None
        return self.root / "pending"

    def _pending(self) -> list[str]:
        if self.root is None or not self._journal_path.exists():
            return []
        return sorted({line.strip() for line in self._journal_path.read_text().splitlines() if line.strip()})

    def begin(self, graphs: Iterable[str] | None) -> None:
        """Note the graphs about to change (None: unknown, rebuild everything) before the main write."""
        if self.root is None:
            return
        names = ["*"] if graphs is None else list(graphs)
        with open(self._journal_path, "a", encoding="utf-8") as journal:
            journal.write("".join(name + "\n" for name in names))
            journal.flush()
            os.fsync(journal.fileno())

    def _done(self) -> None:
        if self.root is not None:
            self._journal_path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ writes

    @property
    def lock(self) -> threading.RLock:
        """Held by the main store around a write and its view update."""
        return self._lock

    def put(self, graphs: dict[str, list[ox.Quad]]) -> None:
        """After the main store wrote these graphs (quads carry any graph name): mirror them.

        The main write has happened, so a failure here must not fail the caller's write: the
        views are marked broken instead (callers fall back to explicit graph lists) and the
        journal keeps the names for the replay when the store is next opened.
        """
        try:
            self._mirror(graphs)
        except (OSError, RuntimeError) as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            log.warning("access views out of step (queries fall back to graph lists until reopen): %s",
                        self.broken)
            return
        self._done()

    def put_batch(self, batch: GraphBatch, *, bulk: bool) -> None:
        """After the main store wrote the new graphs of ``batch``: load each view's share of its N-Quads.

        ``bulk`` uses Oxigraph's bulk loader (not transactional: a failure leaves the journal,
        marks the views broken and the replay on the next open rewrites these graphs from the
        main store, as for :meth:`put`).
        """
        try:
            for name, store in self.stores.items():
                stale = [g for g in batch.names if store.contains_named_graph(ox.NamedNode(g))]
                if stale:  # left over from an earlier failure: the main store's version wins
                    store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in stale))
                parts = batch.data(name)
                if not parts:
                    continue
                if bulk:
                    store.bulk_extend(ox.parse(ReadableParts(parts), format=ox.RdfFormat.N_QUADS))
                else:
                    store.extend(ox.parse(ReadableParts(parts), format=ox.RdfFormat.N_QUADS))
        except (OSError, RuntimeError, SyntaxError) as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            log.warning("access views out of step (queries fall back to graph lists until reopen): %s",
                        self.broken)
            return
        self._done()

    def _mirror(self, graphs: dict[str, list[ox.Quad]]) -> None:
        for name, store in self.stores.items():
            keep: list[ox.Quad] = []
            for graph, quads in graphs.items():
                node = ox.NamedNode(graph)
                if store.contains_named_graph(node):
                    store.update(f"DROP SILENT GRAPH <{graph}>")
                if view_includes(name, graph, access_levels(graph, quads)):
                    keep.extend(ox.Quad(q.subject, q.predicate, q.object, node) for q in quads)
            if keep:
                store.extend(keep)

    def resync(self, graphs: Iterable[str]) -> None:
        """Copy these graphs' current content from the main store (``"*"``: everything)."""
        names = set(graphs)
        if "*" in names:
            try:
                self.rebuild()
            except (OSError, RuntimeError) as exc:
                self.broken = f"{type(exc).__name__}: {exc}"
                log.warning("access views could not be rebuilt (queries fall back to graph lists): %s", exc)
            return
        self.put({g: list(self.main.quads_for_pattern(None, None, None, ox.NamedNode(g))) for g in sorted(names)})

    def rebuild(self) -> None:
        """Recompute every view from the main store."""
        levels: dict[str, set[str]] = {}
        for solution in self.main.query(_ACCESS_QUERY):
            levels.setdefault(solution["g"].value, set()).add(solution["level"].value)
        levels[ONTOLOGY_GRAPH] = set()
        for name in VIEWS:
            if self.root is None:
                self.stores[name] = ox.Store()
            else:
                self.stores[name].clear()
            store = self.stores[name]
            graphs = [g for g, declared in levels.items() if view_includes(name, g, declared)]
            store.bulk_extend(q for g in graphs for q in self.main.quads_for_pattern(None, None, None, ox.NamedNode(g)))
            if self.root is not None:
                store.flush()
        self._done()

    def flush(self) -> None:
        for store in self.stores.values():
            if self.root is not None:
                store.flush()

    def close(self) -> None:
        """Release the RocksDB locks of the on-disk views."""
        self.flush()
        self.stores = {}


class ReadableParts:
    """A read()-able stream over byte strings (the bulk loader reads it without joining them)."""

    def __init__(self, parts: list[bytes]) -> None:
        self._parts = parts
        self._index = 0
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if self._offset < len(part):
                end = len(part) if size is None or size < 0 else min(len(part), self._offset + size)
                chunk = part[self._offset:end]
                self._offset = end
                return chunk
            self._index += 1
            self._offset = 0
        return b""


def open_view(root: Path, name: str) -> ox.Store:
    """A read-only handle on one on-disk view (for query worker processes)."""
    if name not in VIEWS:
        raise KeyError(f"no access view {name!r}")
    return ox.Store.read_only(str(root / name))
