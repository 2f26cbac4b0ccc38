"""Benchmark: the battkg SPARQL endpoint vs ``oxigraph serve`` on the same ~10^6 triples, in one run.

    python bench/endpoint.py [--triples 1000000] [--templates 240] [--requests 200] [--duration 20]
                             [--output bench/results/endpoint.txt]

1. Data.  ``--templates`` records (60 % XRD patterns, 20 % Raman, 20 % FTIR spectra, several
   materials and operators) go through the real ingest path (``ingest_file``: parse, HDF5, JSON-LD,
   SHACL, commit) into an on-disk store.  Their named graphs are then replicated as N-Quads with
   new record IRIs, identifiers, blob IRIs and sample names and bulk-loaded until the store holds
   ``--triples`` triples; copies get access levels 80 % public / 15 % restricted / 5 % confidential
   so that the anonymous view is a real restriction.  The whole store (ontology graph included) is
   dumped as N-Quads and loaded into a second directory with ``oxigraph load``.
2. Servers.  ``battkg serve`` (uvicorn, worker processes as shipped) and ``oxigraph serve`` (same
   Oxigraph version, via the PyPI package ``oxigraph``) on 127.0.0.1, free ports.
3. Queries.  The competency-question queries of ``query/*.rq`` with fixed parameters, inlined as a
   ``VALUES`` row at the top of the WHERE clause (the effect of battkg's parameter substitution);
   the same text (with PREFIX declarations) is POSTed to both.  Oxigraph gets ``union-default-graph``
   (all graphs as the default graph) — the same dataset battkg uses for an admin; an anonymous
   battkg caller sees only public records (+ ontology).  Each client thread cycles through the
   queries; a phase stops after ``--requests`` requests or ``--duration`` seconds, whichever is first.
4. Concurrent ingest.  While 8 anonymous clients query, one writer POSTs XRD files to /ingest/xrd;
   every failed request (query or upload) is counted and must be 0.

Client threads run on the same 2-core machine as the servers, so they take CPU from both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import numpy as np
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battkg.api.auth import UserStore  # noqa: E402
from battkg.ingest.pipeline import ingest_file  # noqa: E402
from battkg.ingest.technique import ScalarQuantity, UserMetadata  # noqa: E402
from battkg.ontology import PREFIXES  # noqa: E402
from battkg.query import _term_for, named_queries  # noqa: E402
from battkg.store import open_repository  # noqa: E402
from bench._common import machine  # noqa: E402
from bench.ingest_spectra import write_jcamp, write_raman  # noqa: E402

BIN = Path(sys.executable).parent
PROBE_LIMIT = 15  # seconds: a query oxigraph serve needs longer for is left out of the mix


def orcid(base15: str) -> str:
    """An ORCID iD for 15 digits, with its ISO 7064 MOD 11-2 check character (battkg checks it)."""
    total = 0
    for digit in base15:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    d = base15 + ("X" if check == 10 else str(check))
    return f"https://orcid.org/{d[0:4]}-{d[4:8]}-{d[8:12]}-{d[12:16]}"


OPERATORS = [orcid(f"000000021825{n:03d}") for n in range(8)]
MATERIALS = ["LiNiO2", "LiCoO2", "LiFePO4", "LiMn2O4", "graphite", "NMC811", "Li4Ti5O12", "silicon"]
# The parameters each named query is run with (fixed, so both servers answer the same question).
PARAMETERS: dict[str, dict[str, str]] = {
    "experiments-by-technique": {"technique": "raman"},
    "experiments-by-material": {"material": "LiCoO2"},
    "experiments-by-operator": {"operator": OPERATORS[1]},
    "experiments-by-observable": {"observable": "lattice parameter"},
    "records": {"technique": "ftir", "status": "active"},
}


# ------------------------------------------------------------------------------------------- data


def write_xrd(path: Path, rng: np.random.Generator, shift: float, points: int = 500) -> None:
    """A simulated powder pattern (one reflection on a background, Poisson noise) as .xy text."""
    two_theta = np.linspace(10, 80, points)
    counts = rng.poisson(200 + 3000 * np.exp(-((two_theta - 18.7 - shift) / 0.08) ** 2))
    np.savetxt(path, np.column_stack([two_theta, counts]), fmt=["%.4f", "%d"], header="Wavelength = 1.5406")


def ingest_templates(store: Path, folder: Path, n: int) -> float:
    """Ingest ``n`` generated records through the real record path; returns seconds taken."""
    rng = np.random.default_rng(7)
    repo = open_repository(store)
    start = time.perf_counter()
    for i in range(n):
        # Sample names are distinctive tokens so that replication can rewrite them safely.
        meta = UserMetadata(sample=f"SMP{i:04d}X", material=MATERIALS[i % len(MATERIALS)],
                            operator=OPERATORS[i % len(OPERATORS)], instrument="bench instrument")
        kind = i % 5
        if kind < 3:
            path = folder / f"p{i:04d}.xy"
            write_xrd(path, rng, (i % 7) * 0.01)
            meta.quantities = [ScalarQuantity("Wavelength", 1.5406, "angstrom", "Kα1")]
            ingest_file(repo, "xrd", path, meta)
        elif kind == 3:
            path = folder / f"r{i:04d}.txt"
            write_raman(path, 512, rng, (i % 11) * 0.1)
            ingest_file(repo, "raman", path, meta)
        else:
            path = folder / f"f{i:04d}.jdx"
            write_jcamp(path, 512, rng, (i % 13) * 0.2)
            ingest_file(repo, "ftir", path, meta)
    elapsed = time.perf_counter() - start
    repo.close()
    return elapsed


_HEX64 = re.compile(r"[0-9a-f]{64}")


def replicate(store: Path, target_triples: int, out: Path) -> tuple[int, dict[str, int]]:
    """Bulk-load rewritten copies of every record graph until the store holds ~``target_triples``.

    Returns (records in the store, records per access level).  Each copy gets a new record UUID
    (IRIs, dcterms:identifier, HDF5 label), new blob IRIs and checksums, its own sample name and
    an access level drawn 80/15/5 % public/restricted/confidential.
    """
    rng = np.random.default_rng(11)
    repo = open_repository(store)
    graphs = [g for g in repo.graphs.graph_names() if "/id/record/" in g]
    templates = []
    for graph in graphs:
        quads = repo.graphs.graph_quads(graph)
        text = ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode()
        sample = re.search(r"SMP\d{4}X", text).group(0)  # type: ignore[union-attr]
        templates.append((graph.rsplit("/", 1)[1], sorted(set(_HEX64.findall(text))), sample, text, len(quads)))
    have = repo.graphs.triple_count()
    per_record = statistics.mean(t[4] for t in templates)
    copies = max(0, int((target_triples - have) / per_record))
    levels = {"public": len(templates), "restricted": 0, "confidential": 0}
    with open(out, "w") as nq:
        for k in range(copies):
            rid, hashes, sample, text, _ = templates[k % len(templates)]
            level = rng.choice(["public", "restricted", "confidential"], p=[0.80, 0.15, 0.05])
            levels[level] += 1
            new = text.replace(rid, str(uuid.uuid4())).replace(sample, f"{sample}-{k}")
            for old in hashes:
                new = new.replace(old, uuid.uuid4().hex + uuid.uuid4().hex)
            new = new.replace('#accessLevel> "public"', f'#accessLevel> "{level}"')
            nq.write(new)
    repo.graphs.bulk_load(out)  # type: ignore[attr-defined]
    count = len(templates) + copies
    repo.close()
    return count, levels


# ---------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


# ---------------------------------------------------------------------------------------- queries


def query_texts() -> dict[str, str]:
    """Each named CQ query with its parameters inlined as a VALUES row, PREFIX declarations on top."""
    prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
    texts = {}
    for name, params in PARAMETERS.items():
        text = named_queries()[name].text
        values = "VALUES (" + " ".join(f"?{p}" for p in params) + ") { (" + \
                 " ".join(str(_term_for(v)) for v in params.values()) + ") }"
        head, _, body = text.partition("WHERE {")
        texts[name] = prologue + head + "WHERE {\n  " + values + body
    return texts


@dataclass
class Target:
    """One endpoint to send queries to: URL, extra query-string parameters, headers."""

    name: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PhaseResult:
    """Requests, errors and latencies of one measured phase."""

    requests: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` in ms (nearest rank)."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def send(client: httpx.Client, target: Target, text: str) -> httpx.Response:
    """POST one query as ``application/sparql-query`` (SPARQL 1.1 Protocol), JSON results."""
    return client.post(target.url, params=target.params, content=text.encode(),
                       headers={"content-type": "application/sparql-query",
                                "accept": "application/sparql-results+json", **target.headers})


def run_phase(target: Target, texts: dict[str, str], clients: int, max_requests: int, duration: float,
              stop: threading.Event | None = None) -> PhaseResult:
    """``clients`` threads cycle through the queries until ``max_requests`` in all or ``duration`` s."""
    result = PhaseResult(latencies={name: [] for name in texts})
    names = list(texts)
    lock = threading.Lock()
    issued = [0]
    deadline = time.monotonic() + duration

    def worker(offset: int) -> None:
        with httpx.Client(timeout=90) as client:
            i = offset
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                name = names[i % len(names)]
                i += 1
                t0 = time.perf_counter()
                try:
                    response = send(client, target, texts[name])
                    ok = response.status_code == 200
                    detail = f"{name}: HTTP {response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, f"{name}: {type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                with lock:
                    result.requests += 1
                    if ok:
                        result.latencies[name].append(elapsed)
                    else:
                        result.errors.append(detail)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    return result


def row_counts(target: Target, texts: dict[str, str]) -> dict[str, tuple[int, float]]:
    """(result rows, seconds) per query, one request each (-1 rows: the request failed)."""
    counts = {}
    with httpx.Client(timeout=PROBE_LIMIT + 10) as client:
        for name, text in texts.items():
            t0 = time.perf_counter()
            try:
                response = send(client, target, text)
                # oxigraph serve streams results: a query stopped by its timeout ends a 200
                # response with truncated JSON, so a body that does not parse counts as failed.
                rows = len(response.json()["results"]["bindings"]) if response.status_code == 200 else -1
            except (httpx.HTTPError, ValueError):
                rows = -1
            seconds = time.perf_counter() - t0
            counts[name] = (rows, seconds)
    return counts


# ----------------------------------------------------------------------------------------- ingest


def upload_loop(base: str, token: str, folder: Path, stop: threading.Event, outcome: dict[str, list]) -> None:
    """POST new XRD files to /ingest/xrd one after another until ``stop``; record latencies and errors."""
    rng = np.random.default_rng(99)
    k = 0
    with httpx.Client(timeout=120, headers={"authorization": f"Bearer {token}"}) as client:
        while not stop.is_set():
            path = folder / f"upload_{k:05d}.xy"
            write_xrd(path, rng, (k % 9) * 0.01 + 0.001 * k)
            t0 = time.perf_counter()
            try:
                response = client.post(f"{base}/ingest/xrd", files={"file": (path.name, path.read_bytes())},
                                       data={"sample": f"UPLOAD-{k}", "material": "LiNiO2", "wavelength": "1.5406",
                                             "operator": OPERATORS[0], "access": "public"})
                if response.status_code == 201:
                    outcome["latencies"].append(time.perf_counter() - t0)
                else:
                    outcome["errors"].append(f"upload HTTP {response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as exc:
                outcome["errors"].append(f"upload {type(exc).__name__}: {exc}")
            k += 1


# ----------------------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=240, help="records ingested through the real path")
    parser.add_argument("--requests", type=int, default=200, help="requests per phase (upper bound)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (upper bound)")
    parser.add_argument("--workers", type=int, default=2, help="battkg serve --query-workers")
    parser.add_argument("--query-timeout", type=float, default=60.0,
                        help="server-side query time limit, the same on both servers (battkg counts the wait "
                             "for a free worker in it, so it must cover queueing at 8 clients)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "endpoint.txt")
    args = parser.parse_args()

    lines: list[str] = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    emit(f"# python bench/endpoint.py --triples {args.triples} --templates {args.templates} "
         f"--requests {args.requests} --duration {args.duration:g} --workers {args.workers} "
         f"--query-timeout {args.query_timeout:g}")
    emit(machine())
    emit(f"pyoxigraph {ox.__version__}; oxigraph serve "
         f"{subprocess.run([BIN / 'oxigraph', '--version'], capture_output=True, text=True).stdout.strip()}")
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="battkg-endpoint-") as tmp:
        tmp_path = Path(tmp)
        store, oxi, files = tmp_path / "store", tmp_path / "oxigraph", tmp_path / "files"
        files.mkdir()
        try:
            t_ingest = ingest_templates(store, files, args.templates)
            t0 = time.perf_counter()
            n_records, levels = replicate(store, args.triples, tmp_path / "copies.nq")
            t_replicate = time.perf_counter() - t0
            repo = open_repository(store)
            triples = repo.graphs.triple_count()
            users = UserStore.for_repository(repo)
            admin, writer = users.add("bench-admin", "admin"), users.add("bench-writer", "writer")
            t0 = time.perf_counter()
            repo.graphs.dump(tmp_path / "all.nq")  # type: ignore[attr-defined]
            repo.close()
            subprocess.run([BIN / "oxigraph", "load", "--location", oxi, "--file", tmp_path / "all.nq"],
                           check=True, capture_output=True)
            t_copy = time.perf_counter() - t0
            emit(f"data: {triples} triples in {n_records} record graphs + ontology graph "
                 f"({args.templates} ingested through the record path in {t_ingest:.1f} s, the rest replicated "
                 f"in {t_replicate:.1f} s; dump + oxigraph load {t_copy:.1f} s); access levels: "
                 + ", ".join(f"{k} {v}" for k, v in levels.items()))

            battkg_port, oxi_port = free_port(), free_port()
            log = open(tmp_path / "servers.log", "wb")
            processes.append(subprocess.Popen(
                [BIN / "battkg", "serve", "--store", store, "--port", str(battkg_port),
                 "--query-workers", str(args.workers), "--query-timeout", str(args.query_timeout)], stdout=log, stderr=log))
            processes.append(subprocess.Popen(
                [BIN / "oxigraph", "serve", "--location", oxi, "--bind", f"127.0.0.1:{oxi_port}",
                 "--timeout-s", str(int(args.query_timeout))],
                stdout=log, stderr=log))
            battkg_url, oxi_url = f"http://127.0.0.1:{battkg_port}", f"http://127.0.0.1:{oxi_port}"
            wait_until(f"{battkg_url}/healthz")
            wait_until(f"{oxi_url}/query?query=ASK%7B%7D")

            texts = query_texts()
            targets = [
                Target("oxigraph serve (union default graph)", f"{oxi_url}/query", {"union-default-graph": ""}),
                Target("battkg admin (all graphs)", f"{battkg_url}/sparql", headers={"authorization": f"Bearer {admin}"}),
                Target("battkg anonymous (public only)", f"{battkg_url}/sparql"),
            ]
            # Probe each query once on oxigraph serve: a query it cannot answer within PROBE_LIMIT s
            # at this size is a query-shape problem, not an endpoint one; it is reported and left
            # out of the throughput mix (it would otherwise stall every phase).
            counts = {targets[0].name: row_counts(targets[0], texts)}
            slow = {n: c for n, c in counts[targets[0].name].items() if c[0] < 0 or c[1] > PROBE_LIMIT * 0.6}
            for name, (rows, seconds) in slow.items():
                emit(f"  EXCLUDED {name}: oxigraph serve answered {'nothing' if rows < 0 else f'{rows} rows'} "
                     f"after {seconds:.1f} s (limit {PROBE_LIMIT} s)")
            texts = {n: t for n, t in texts.items() if n not in slow}
            if slow:  # the server goes on with an abandoned query until its own limit: let it finish
                time.sleep(args.query_timeout)
            counts[targets[0].name] = {n: c for n, c in counts[targets[0].name].items() if n in texts}
            counts.update({t.name: row_counts(t, texts) for t in targets[1:]})  # also warms caches and workers
            emit("\nresult rows (first request's seconds) per query, parameters inlined as VALUES:")
            emit(f"  {'query':28s} {'parameters':42s} " + " ".join(f"{t.name.split(' (')[0]:>18s}" for t in targets))
            for name in texts:
                emit(f"  {name:28s} {json.dumps(PARAMETERS[name])[:42]:42s} "
                     + " ".join(f"{counts[t.name][name][0]:9d} ({counts[t.name][name][1]:5.2f})" for t in targets))
            if [c[0] for c in counts[targets[0].name].values()] != [c[0] for c in counts[targets[1].name].values()]:
                emit("  WARNING: battkg admin and oxigraph serve disagree on row counts")

            results: dict[tuple[str, int], PhaseResult] = {}
            emit(f"\nthroughput and latency (mixed workload: each client cycles through the {len(texts)} queries; "
                 f"phase bounded by {args.requests} requests or {args.duration:g} s)")
            emit(f"  {'server':38s} {'clients':>7s} {'requests':>8s} {'req/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>6s}")
            for clients in (1, 8):
                for target in targets:
                    r = run_phase(target, texts, clients, args.requests, args.duration)
                    results[(target.name, clients)] = r
                    lat = r.all_latencies()
                    emit(f"  {target.name:38s} {clients:7d} {r.requests:8d} {r.throughput:7.2f} "
                         f"{pct(lat, 0.5):8.1f} {pct(lat, 0.99):8.1f} {len(r.errors):6d}")
            emit("\nratio battkg / oxigraph serve throughput (goal >= 0.8):")
            for clients in (1, 8):
                base = results[(targets[0].name, clients)].throughput
                emit(f"  {clients} client(s): admin {results[(targets[1].name, clients)].throughput / base:.2f}, "
                     f"anonymous {results[(targets[2].name, clients)].throughput / base:.2f}")
            emit("\nper-query latency p50 / p99 ms, 8 clients:")
            emit(f"  {'query':28s} " + " ".join(f"{t.name.split(' (')[0]:>22s}" for t in targets))
            for name in texts:
                cells = []
                for t in targets:
                    values = results[(t.name, 8)].latencies[name]
                    cells.append(f"{pct(values, 0.5):9.1f} / {pct(values, 0.99):8.1f}" if values else f"{'-':>22s}")
                emit(f"  {name:28s} " + " ".join(f"{c:>22s}" for c in cells))

            # Concurrent ingest: 8 anonymous query clients + 1 uploader for the phase duration.
            stop = threading.Event()
            outcome: dict[str, list] = {"latencies": [], "errors": []}
            uploads = tmp_path / "uploads"
            uploads.mkdir()
            uploader = threading.Thread(target=upload_loop, args=(battkg_url, writer, uploads, stop, outcome))
            uploader.start()
            during = run_phase(targets[2], texts, 8, 10 ** 9, args.duration)
            stop.set()
            uploader.join()
            lat = during.all_latencies()
            quiet = results[(targets[2].name, 8)]
            emit(f"\nconcurrent ingest ({args.duration:g} s: 8 anonymous query clients + 1 writer POSTing /ingest/xrd):")
            emit(f"  queries: {during.requests} requests, {during.throughput:.2f} req/s "
                 f"({during.throughput / quiet.throughput:.2f} x without ingest), p50 {pct(lat, 0.5):.1f} ms, "
                 f"p99 {pct(lat, 0.99):.1f} ms, errors {len(during.errors)}")
            up = outcome["latencies"]
            emit(f"  uploads: {len(up)} records ingested ({len(up) / args.duration:.2f}/s), "
                 + (f"p50 {pct(up, 0.5):.1f} ms, p99 {pct(up, 0.99):.1f} ms, " if up else "")
                 + f"errors {len(outcome['errors'])}")
            errors = during.errors + outcome["errors"] + [e for r in results.values() for e in r.errors]
            for error in errors[:10]:
                emit(f"  error: {error}")
            emit(f"\ntotal errors: {len(errors)} (must be 0)")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
