"""Run SPARQL queries with a time limit that actually stops them.

pyoxigraph has no cancellation: a query started in a thread runs to its end
even after the client has been told it took too long.  So for an on-disk
store, queries run in a small pool of worker *processes*, each holding a
read-only view of the store (``Store.read_only``); a worker that passes the
deadline is killed (SIGKILL) and replaced, and the next query goes on at
once.  A worker reopens its view when the store's write generation changed,
so it sees every write the serving process made (RocksDB replays the
write-ahead log on a read-only open).

Stores without a path (in memory, or a remote store that applies its own
server-side timeout) use :class:`ThreadQueryRunner`: the deadline is enforced
on the answer, and the API answers at the deadline, but the evaluation is
not stopped.  The choice and its measurements are in the API notes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from battkg.store import GraphStore


class QueryTimeout(Exception):
    """The query ran past the configured time limit and was stopped."""


class QueryFailed(Exception):
    """The store reported an error evaluating the query (not a syntax error)."""


@dataclass(frozen=True)
class QueryJob:
    sparql: str
    graphs: list[str] | None
    results_format: str
    graph_format: str
    named_graphs: list[str] | None = None
    view: str | None = None  # an access view of the store (battkg.access_views) instead of a graph list

    def store_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``GraphStore.query_serialized`` (dataset ones only when set)."""
        extra: dict[str, Any] = {}
        if self.named_graphs is not None:
            extra["named_graphs"] = self.named_graphs
        if self.view is not None:
            extra["view"] = self.view
        return {"graphs": self.graphs, "results_format": self.results_format,
                "graph_format": self.graph_format, **extra}


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _recv(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("query worker pipe closed")
    (size,) = struct.unpack("!Q", header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("query worker pipe closed")
    return pickle.loads(data)  # noqa: S301 - frames come from our own child process only


def _worker_main(path: str, views_path: str) -> None:  # pragma: no cover - runs in the child process
    """Worker loop on stdin/stdout: (generation, job) in; ("ok", media, bytes) / ("syntax"|"error", msg, b"") out."""
    from battkg.store import OxigraphStore

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    store: OxigraphStore | None = None
    opened = -1
    while True:
        try:
            generation, job = _recv(requests)
        except EOFError:
            return
        try:
            if store is None or generation != opened:
                if store is not None:
                    store.close()
                store = OxigraphStore(Path(path), read_only=True, views_path=Path(views_path) if views_path else None)
                opened = generation
            media, body = store.query_serialized(job.sparql, **job.store_arguments())
            _send(replies, ("ok", media, body))
        except SyntaxError as exc:
            _send(replies, ("syntax", str(exc), b""))
        except Exception as exc:  # noqa: BLE001 - reported to the client as a query failure
            _send(replies, ("error", f"{type(exc).__name__}: {exc}", b""))


class _Worker:
    """One child process (``python -m battkg.api.query_pool PATH``) speaking length-prefixed pickle frames."""

    def __init__(self, path: str, views_path: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "battkg.api.query_pool", path, views_path],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, message: Any) -> None:
        assert self.process.stdin is not None
        _send(self.process.stdin, message)

    def wait_readable(self, timeout: float) -> bool:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return bool(ready)

    def recv(self) -> Any:
        assert self.process.stdout is not None
        return _recv(self.process.stdout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class ProcessQueryRunner:
    """A fixed pool of query worker processes over an on-disk Oxigraph store."""

    def __init__(self, store: GraphStore, path: Path, *, workers: int = 2, timeout: float = 30.0) -> None:
        self.store = store
        self.path = str(path)
        views = getattr(store, "views_path", None)
        self.views_path = str(views) if views is not None else ""
        self.timeout = timeout
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.killed = 0  # workers stopped for running past the deadline
        self.size = workers
        for _ in range(workers):
            self._idle.put(_Worker(self.path, self.views_path))

    def _run(self, job: QueryJob, arrived: float) -> tuple[str, bytes]:
        # The time limit runs from the request's arrival: waiting for a free worker counts too,
        # so a burst of clients gets clear 503s instead of unbounded queueing.
        try:
            worker = self._idle.get(timeout=max(0.0, arrived + self.timeout - time.monotonic()))
        except queue.Empty:
            raise QueryTimeout(f"no query worker became free within the time limit of {self.timeout:g} s "
                               f"({self.size} workers, all busy)") from None
        generation = getattr(self.store, "generation", 0)
        try:
            worker.send((generation, job))
            if not worker.wait_readable(max(0.0, arrived + self.timeout - time.monotonic())):
                worker.kill()
                with self._lock:
                    self.killed += 1
                worker = _Worker(self.path, self.views_path)
                raise QueryTimeout(f"the query ran longer than the time limit of {self.timeout:g} s and was stopped")
            status, message, body = worker.recv()
        except (EOFError, OSError, BrokenPipeError):
            worker.kill()
            worker = _Worker(self.path, self.views_path)
            raise QueryFailed("the query worker died while evaluating the query") from None
        finally:
            if not self._closed:
                self._idle.put(worker)
            else:
                worker.kill()
        if status == "syntax":
            raise SyntaxError(message)
        if status == "error":
            raise QueryFailed(message)
        return message, body

    async def run(self, job: QueryJob) -> tuple[str, bytes]:
        """Evaluate ``job`` in a worker without blocking the event loop."""
        return await asyncio.to_thread(self._run, job, time.monotonic())

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return

    def worker_pids(self) -> list[int]:
        """Pids of idle workers (tests check a stopped worker is really gone)."""
        workers = []
        while True:
            try:
                workers.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in workers:
            self._idle.put(worker)
        return [w.process.pid for w in workers]


class ThreadQueryRunner:
    """Queries on a thread (GIL released by pyoxigraph); answers at the deadline, cannot stop the evaluation."""

    def __init__(self, store: GraphStore, *, timeout: float = 30.0) -> None:
        self.store = store
        self.timeout = timeout
        self.killed = 0

    async def run(self, job: QueryJob) -> tuple[str, bytes]:
        call = asyncio.to_thread(self.store.query_serialized, job.sparql, **job.store_arguments())
        try:
            return await asyncio.wait_for(call, self.timeout)
        except asyncio.TimeoutError:
            raise QueryTimeout(f"the query ran longer than the time limit of {self.timeout:g} s "
                               "(this in-memory store cannot stop it; it is abandoned)") from None

    def close(self) -> None:
        """Nothing to stop."""


def make_runner(store: GraphStore, *, workers: int, timeout: float) -> ProcessQueryRunner | ThreadQueryRunner:
    """Worker processes for an on-disk Oxigraph store, threads otherwise."""
    path = getattr(store, "path", None)
    if path is not None and workers > 0 and os.path.isdir(path):
        return ProcessQueryRunner(store, Path(path), workers=workers, timeout=timeout)
    return ThreadQueryRunner(store, timeout=timeout)


if __name__ == "__main__":  # pragma: no cover - the worker child process
    _worker_main(sys.argv[1], sys.argv[2])
